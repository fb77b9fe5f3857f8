// GatewayConfig: defaults, TOML, environment precedence, and the malformed settings
// refused with a message naming the key.
#include "vp/http/config.h"

#include <gtest/gtest.h>

#include <map>

namespace vp::http {
namespace {

GetEnvFn Env(std::map<std::string, std::string> vars) {
  return [vars](const std::string& k) -> std::optional<std::string> {
    auto it = vars.find(k);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(Config, DefaultsAreValid) {
  GatewayConfig c;
  EXPECT_TRUE(Validate(c).ok());
  EXPECT_EQ(c.listen, "127.0.0.1:8080");
  EXPECT_EQ(c.body_bytes, 64 * 1024);
  EXPECT_EQ(c.DbUrl(), "var/vaultproof.db");
}

TEST(Config, TomlThenEnv) {
  GatewayConfig c;
  ASSERT_TRUE(ApplyToml(R"(
[server]
listen = "0.0.0.0:9000"
threads = 3
[cors]
origins = ["https://a.example", "https://b.example"]
[rate_limits]
per_key_limit = 10
[rate_limits.routes."POST /v1/echo"]
per_key = 2
window_ms = 1000
)", c).ok());
  EXPECT_EQ(c.listen, "0.0.0.0:9000");
  EXPECT_EQ(c.threads, 3);
  EXPECT_EQ(c.cors_origins.size(), 2u);
  EXPECT_EQ(c.per_key_limit, 10);
  ASSERT_EQ(c.route_limits.count("POST /v1/echo"), 1u);
  EXPECT_EQ(c.route_limits["POST /v1/echo"].per_key, 2);
  ASSERT_TRUE(ApplyEnv(Env({{"VAULTPROOF_SERVER_THREADS", "5"},
                            {"VAULTPROOF_CORS_ORIGINS", "https://x.example, https://y.example"},
                            {"VAULTPROOF_LOG_ACCESS_LOG", "true"}}),
                       c).ok());
  EXPECT_EQ(c.threads, 5);
  EXPECT_EQ(c.cors_origins, (std::vector<std::string>{"https://x.example", "https://y.example"}));
  EXPECT_TRUE(c.access_log);
}

TEST(Config, RefusesUnknownKeysAndWrongTypes) {
  GatewayConfig c;
  EXPECT_EQ(ApplyToml("[server]\nlisten = 5\n", c).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ApplyToml("[server]\nnope = 5\n", c).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ApplyToml("[nosection]\nx = 1\n", c).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ApplyToml("[server\n", c).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ApplyToml("x = 1\n", c).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ApplyToml("[cors]\norigins = [1]\n", c).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ApplyToml("[rate_limits.routes.\"GET /\"]\nfoo = 1\n", c).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ApplyEnv(Env({{"VAULTPROOF_SERVER_THREADS", "x"}}), c).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ApplyEnv(Env({{"VAULTPROOF_LOG_ACCESS_LOG", "maybe"}}), c).code(), StatusCode::kInvalidArgument);
}

// [web] root: "auto" (beside the binary) by default, a path, or "" for no pages.
TEST(Config, WebRoot) {
  GatewayConfig c;
  EXPECT_EQ(c.web_root, "auto");
  ASSERT_TRUE(ApplyToml("[web]\nroot = \"/srv/vaultproof/web\"\n", c).ok());
  EXPECT_EQ(c.web_root, "/srv/vaultproof/web");
  ASSERT_TRUE(ApplyEnv(Env({{"VAULTPROOF_WEB_ROOT", ""}}), c).ok());
  EXPECT_EQ(c.web_root, "");
  EXPECT_EQ(ApplyToml("[web]\nroot = 1\n", c).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ApplyToml("[web]\ndir = \"x\"\n", c).code(), StatusCode::kInvalidArgument);
}

TEST(Config, ValidateChecksRanges) {
  GatewayConfig c;
  c.body_bytes = 0;
  EXPECT_FALSE(Validate(c).ok());
  c = GatewayConfig{};
  c.listen = "nohost";
  EXPECT_FALSE(Validate(c).ok());
  c.listen = "127.0.0.1:70000";
  EXPECT_FALSE(Validate(c).ok());
  c = GatewayConfig{};
  c.tls_cert = "cert.pem";
  EXPECT_FALSE(Validate(c).ok());
  for (const int64_t idle : {int64_t{0}, int64_t{999}, int64_t{86'400'001}}) {
    c = GatewayConfig{};
    c.ballot_prover_idle_exit_ms = idle;
    EXPECT_FALSE(Validate(c).ok()) << idle;
  }
  c.ballot_prover_idle_exit_ms = 1000;
  EXPECT_TRUE(Validate(c).ok());
  // Tally segments: any leaf count up to 2^20; blocks a power of two.
  for (const int64_t leaves : {int64_t{0}, int64_t{-1}, (int64_t{1} << 20) + 1}) {
    c = GatewayConfig{};
    c.ballot_max_segment_leaves = leaves;
    EXPECT_FALSE(Validate(c).ok()) << leaves;
  }
  for (const int64_t block : {int64_t{0}, int64_t{3}, int64_t{1000}, int64_t{1} << 21}) {
    c = GatewayConfig{};
    c.ballot_segment_block_leaves = block;
    EXPECT_FALSE(Validate(c).ok()) << block;
  }
  c = GatewayConfig{};
  c.ballot_max_segment_leaves = 3 * 1024 + 5;
  c.ballot_segment_block_leaves = 1;
  EXPECT_TRUE(Validate(c).ok());
}

TEST(Config, ParseListen) {
  auto a = ParseListen("127.0.0.1:0");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->first, "127.0.0.1");
  EXPECT_EQ(a->second, 0);
  auto b = ParseListen("[::1]:8080");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->first, "::1");
  EXPECT_FALSE(ParseListen(":80").ok());
  EXPECT_FALSE(ParseListen("h:").ok());
}

}  // namespace
}  // namespace vp::http
