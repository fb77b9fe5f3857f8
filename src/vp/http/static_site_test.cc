// StaticSite: the pages and hashed assets of a built web/ directory with their types, cache
// headers and security headers; only names found at load time are served, so traversal in
// any spelling, hidden files and links out of the folder are 404; a missing build is a JSON
// 404 that says so; oversized files are refused at load.
#include "vp/http/static_site.h"

#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace vp::http {
namespace {

namespace fs = std::filesystem;

std::string Header(const Response& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

class StaticSiteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/vp-static-site-XXXXXX";
    const char* made = ::mkdtemp(tmpl);
    ASSERT_NE(made, nullptr);
    top_ = made;
    root_ = top_ + "/web";
    fs::create_directories(root_ + "/assets");
    Write(top_ + "/config.toml", "secret = 1\n");  // beside the web root: must never be served
    Write(root_ + "/config.toml", "secret = 2\n");  // inside it, but not a page or an asset
    Write(root_ + "/index.html", "<!doctype html><title>home</title>");
    Write(root_ + "/vote.html", "<!doctype html><title>vote</title>");
    Write(root_ + "/verify.html", "<!doctype html><title>verify</title>");
    Write(root_ + "/assets/verify-skH0YqBv.js", "export {};");
    Write(root_ + "/assets/panel-CxcAq8H2.css", "body{}");
    Write(root_ + "/assets/ballot_verifier-CbbgrACS.wasm", std::string("\0asm\1\0\0\0", 8));
    Write(root_ + "/assets/.hidden.js", "hidden");
    Write(root_ + "/assets/data.bin", "x");
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(top_, ec);
  }
  static void Write(const std::string& path, const std::string& body) {
    std::ofstream(path, std::ios::binary) << body;
  }
  StaticSite Load() {
    auto site = StaticSite::Load(root_);
    EXPECT_TRUE(site.ok()) << site.status().ToString();
    return site.ok() ? std::move(*site) : StaticSite();
  }
  static void ExpectSecurityHeaders(const Response& r) {
    EXPECT_EQ(Header(r, "Content-Security-Policy"), std::string(StaticSite::kContentSecurityPolicy));
    EXPECT_EQ(Header(r, "X-Content-Type-Options"), "nosniff");
    EXPECT_EQ(Header(r, "Referrer-Policy"), "no-referrer");
    EXPECT_EQ(Header(r, "X-Frame-Options"), "DENY");
  }
  static void ExpectNotFound(const Response& r, const std::string& path) {
    EXPECT_EQ(r.status, 404u) << path;
    EXPECT_EQ(r.content_type, "application/json") << path;
    const auto j = nlohmann::json::parse(r.body, nullptr, false);
    ASSERT_TRUE(j.is_object()) << r.body;
    EXPECT_EQ(j.value("error", ""), "NOT_FOUND") << path;
    EXPECT_EQ(j.value("requestId", ""), "req_1") << path;
    EXPECT_EQ(Header(r, "Cache-Control"), "no-store") << path;
    ExpectSecurityHeaders(r);
  }
  std::string top_, root_;
};

TEST_F(StaticSiteTest, PagesAreHtmlRevalidatedEachTime) {
  const StaticSite site = Load();
  EXPECT_TRUE(site.built());
  for (const auto& [path, title] : {std::pair<std::string, std::string>{"/", "home"}, {"/vote", "vote"},
                                    {"/verify", "verify"}}) {
    const Response r = site.Serve(path, "req_1");
    EXPECT_EQ(r.status, 200u) << path;
    EXPECT_EQ(r.content_type, "text/html; charset=utf-8") << path;
    EXPECT_NE(r.body.find("<title>" + title + "</title>"), std::string::npos) << path;
    EXPECT_EQ(Header(r, "Cache-Control"), "no-cache") << path;
    ExpectSecurityHeaders(r);
  }
}

TEST_F(StaticSiteTest, AssetsHaveTheirTypesAndAreImmutable) {
  const StaticSite site = Load();
  const std::pair<std::string, std::string> cases[] = {
      {"/assets/verify-skH0YqBv.js", "text/javascript; charset=utf-8"},
      {"/assets/panel-CxcAq8H2.css", "text/css; charset=utf-8"},
      {"/assets/ballot_verifier-CbbgrACS.wasm", "application/wasm"},
      {"/assets/data.bin", "application/octet-stream"},
  };
  for (const auto& [path, type] : cases) {
    const Response r = site.Serve(path, "req_1");
    EXPECT_EQ(r.status, 200u) << path;
    EXPECT_EQ(r.content_type, type) << path;
    EXPECT_EQ(Header(r, "Cache-Control"), "public, max-age=31536000, immutable") << path;
    ExpectSecurityHeaders(r);
  }
  EXPECT_EQ(site.Serve("/assets/ballot_verifier-CbbgrACS.wasm", "r").body, std::string("\0asm\1\0\0\0", 8));
  EXPECT_EQ(site.file_count(), 7u);  // 3 pages + 4 assets; .hidden.js and config.toml skipped
}

TEST_F(StaticSiteTest, TheCspIsStrict) {
  const std::string csp(StaticSite::kContentSecurityPolicy);
  for (const char* directive : {"default-src 'self'", "script-src 'self' 'wasm-unsafe-eval'", "object-src 'none'",
                                "base-uri 'none'", "frame-ancestors 'none'", "connect-src 'self'"}) {
    EXPECT_NE(csp.find(directive), std::string::npos) << directive;
  }
  EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos);
  EXPECT_EQ(csp.find("'unsafe-eval'"), std::string::npos);
  EXPECT_EQ(csp.find('*'), std::string::npos);
}

TEST_F(StaticSiteTest, OnlyNamesFoundAtLoadTimeAreServed) {
  // A link inside assets/ pointing out of the web root, made before the load: skipped.
  fs::create_symlink(top_ + "/config.toml", root_ + "/assets/linked.js");
  const StaticSite site = Load();
  // Files appearing after the load are not served either.
  Write(root_ + "/assets/late-AAAA.js", "late");
  Write(root_ + "/aggregate.html", "late");
  for (const char* path : {
           "/assets/../config.toml", "/assets/%2e%2e/config.toml", "/assets/%2e%2e", "/assets/..%2fconfig.toml",
           "/assets/..", "/assets/.", "/assets/", "/assets", "/assets//verify-skH0YqBv.js",
           "/assets/verify-skH0YqBv.js/", "/assets/VERIFY-SKH0YQBV.JS", "/assets/unknown-0000.js",
           "/assets/.hidden.js", "/assets/linked.js", "/assets/late-AAAA.js", "/aggregate", "/config.toml",
           "/../config.toml", "/index.html", "/vote.html", "/vote/", "//", "/console", "/web/index.html", ""}) {
    ExpectNotFound(site.Serve(path, "req_1"), path);
  }
}

TEST_F(StaticSiteTest, AMissingBuildAnswersJson404SayingSo) {
  for (const std::string& root : {std::string(), top_ + "/nowhere", top_}) {  // top_ has no index.html
    auto site = StaticSite::Load(root);
    ASSERT_TRUE(site.ok()) << root;
    EXPECT_FALSE(site->built()) << root;
    for (const auto& [path, file] : StaticSite::Pages()) {
      const Response r = site->Serve(path, "req_1");
      ExpectNotFound(r, path);
      EXPECT_NE(r.body.find("not built"), std::string::npos) << r.body;
    }
  }
}

TEST_F(StaticSiteTest, OversizedFilesAreRefusedAtLoad) {
  {
    std::ofstream(root_ + "/assets/huge.js");
  }
  fs::resize_file(root_ + "/assets/huge.js", StaticSite::kMaxFileBytes + 1);  // sparse: costs no disk
  auto site = StaticSite::Load(root_);
  ASSERT_FALSE(site.ok());
  EXPECT_EQ(site.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(site.status().message().find("huge.js"), std::string::npos);
}

TEST(StaticSite, ContentTypes) {
  EXPECT_EQ(ContentTypeFor("a.html"), "text/html; charset=utf-8");
  EXPECT_EQ(ContentTypeFor("a.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(ContentTypeFor("a.wasm"), "application/wasm");
  EXPECT_EQ(ContentTypeFor("a.svg"), "image/svg+xml");
  EXPECT_EQ(ContentTypeFor("a.js.exe"), "application/octet-stream");
  EXPECT_EQ(ContentTypeFor("js"), "application/octet-stream");
}

TEST(StaticSite, WebRootResolution) {
  EXPECT_EQ(ResolveWebRoot(""), "");
  EXPECT_EQ(ResolveWebRoot("/srv/web"), "/srv/web");
  const std::string auto_root = ResolveWebRoot("auto");
  const fs::path exe = fs::read_symlink("/proc/self/exe");
  EXPECT_EQ(auto_root, (exe.parent_path().parent_path() / "web").string());
}

}  // namespace
}  // namespace vp::http
