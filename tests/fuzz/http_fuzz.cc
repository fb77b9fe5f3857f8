// libFuzzer target: the gateway's decoders of untrusted input must refuse anything with a
// Status (never crash, throw, hang or leak), and what they accept must read back the same.
//
// The input is read as:
//   1. a stream of pipelined HTTP/1.1 requests, through the steps the gateway takes before
//      a handler runs (server.cc): Beast's request parser with the gateway's header and
//      body limits (a parse error becomes the 400/413/431 envelope), then, per request, the
//      router (the gateway's route table), ParseVp1Authorization on the Authorization
//      header, Vp1Verify / Vp1CheckSkew, and ParseJsonObject on the body with its envelope;
//   2. whole, as an Authorization header value, a JSON body, a gateway TOML config
//      (ApplyToml, then Validate), VAULTPROOF_* environment lines (ApplyEnv) and a listen
//      address (ParseListen).
// Invariants: a route match captures one non-empty, slash-free value per {param}; an
// accepted Authorization header re-serialised parses to the same fields, and verifies
// exactly when its signature is the one Vp1Signature computes; every envelope is a JSON
// object with the right statusCode; an accepted listen address round-trips.
//
// Seeds: with VP_FUZZ_WRITE_SEEDS=DIR the binary writes valid, signed requests, a full
// config and the other forms into DIR and exits. Run: tests/fuzz/smoke.sh BUILD_DIR --target http_fuzz
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "seed_file.h"
#include "vp/base/bytes.h"
#include "vp/http/config.h"
#include "vp/http/envelope.h"
#include "vp/http/router.h"
#include "vp/http/types.h"
#include "vp/http/vp1_auth.h"

namespace {

namespace bhttp = boost::beast::http;
using nlohmann::json;

constexpr std::string_view kSecret = "PQDUtrVtInWi0pqcZH7avNxSR7pV60njh5P3Cu9513g";
constexpr int64_t kNow = 1'700'000'000;
constexpr size_t kMaxRequests = 8;  // pipelined requests read from one input

void Require(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "http_fuzz: invariant broken: %s\n", what);
  std::abort();
}

// The gateway's route table (gateway.cc, Gateway::Impl's constructor).
const std::vector<std::pair<std::string, std::string>>& RouteTable() {
  static const std::vector<std::pair<std::string, std::string>> kRoutes = {
      {"GET", "/healthz"},
      {"GET", "/metrics"},
      {"GET", "/v1/ping"},
      {"POST", "/v1/echo"},
      {"POST", "/v1/api-keys"},
      {"GET", "/v1/api-keys"},
      {"POST", "/v1/api-keys/{id}/disable"},
      {"POST", "/v1/wallets"},
      {"GET", "/v1/wallets"},
      {"POST", "/v1/wallets/import/prepare"},
      {"POST", "/v1/wallets/import"},
      {"GET", "/v1/wallets/{id}"},
      {"POST", "/v1/wallets/{id}/addresses"},
      {"POST", "/v1/wallets/{id}/sign/{what}"},
      {"PUT", "/v1/wallets/{id}/policy"},
      {"GET", "/v1/wallets/{id}/policy"},
      {"POST", "/v1/wallets/{id}/transactions"},
      {"GET", "/v1/transactions"},
      {"GET", "/v1/transactions/{id}"},
      {"POST", "/v1/transactions/{id}/{decision}"},
      {"GET", "/v1/custody/health"},
      {"GET", "/v1/audit/events"},
  };
  return kRoutes;
}

const vp::http::Router& Routes() {
  static const vp::http::Router kRouter = [] {
    vp::http::Router r;
    for (const auto& [method, pattern] : RouteTable()) {
      if (!r.Add(method, pattern).ok()) std::abort();
    }
    return r;
  }();
  return kRouter;
}

size_t ParamCount(std::string_view pattern) {
  size_t n = 0;
  for (char c : pattern) n += c == '{' ? 1 : 0;
  return n;
}

// An envelope body must be a JSON object; returns it parsed.
json EnvelopeBody(const vp::http::Response& r) {
  json j = json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  Require(!j.is_discarded() && j.is_object(), "an envelope is not a JSON object");
  return j;
}

void CheckError(const vp::Status& s, unsigned http_status) {
  const vp::http::Response r = vp::http::ErrorResponse(s, "req_fuzz", http_status);
  const json j = EnvelopeBody(r);
  Require(j.contains("error") && j.contains("message") && j.value("statusCode", 0u) == r.status,
          "an error envelope lacks its fields");
}

void CheckMatch(std::string_view method, std::string_view path) {
  const vp::http::RouteMatch m = Routes().Match(method, path);
  if (m.kind == vp::http::RouteMatch::kFound) {
    Require(m.index < RouteTable().size(), "route index out of range");
    const auto& [route_method, pattern] = RouteTable()[m.index];
    Require(route_method == method, "matched a route of another method");
    Require(m.params.size() == ParamCount(pattern), "wrong number of route params");
    for (const auto& [name, value] : m.params) {
      Require(!value.empty() && value.find('/') == std::string::npos, "a route param is empty or holds '/'");
    }
  } else if (m.kind == vp::http::RouteMatch::kMethodNotAllowed) {
    Require(!m.allowed.empty(), "405 without allowed methods");
  }
}

void CheckAuthorization(std::string_view header, std::string_view method, std::string_view path,
                        std::string_view query, std::string_view body) {
  auto auth = vp::http::ParseVp1Authorization(header);
  if (!auth.ok()) {
    Require(auth.status().code() == vp::StatusCode::kUnauthenticated, "a bad header is not kUnauthenticated");
    return;
  }
  Require(!auth->key_id.empty() && auth->key_id.size() <= 64, "Credential length out of range");
  Require(auth->timestamp >= 0 && auth->timestamp <= 999'999'999'999, "Timestamp out of range");
  const std::string again = std::string(vp::http::kVp1Scheme) + " Credential=" + auth->key_id +
                            ", Timestamp=" + std::to_string(auth->timestamp) +
                            ", Signature=" + vp::HexEncode(auth->signature);
  auto reparsed = vp::http::ParseVp1Authorization(again);
  Require(reparsed.ok() && reparsed->key_id == auth->key_id && reparsed->timestamp == auth->timestamp &&
              reparsed->signature == auth->signature,
          "Authorization does not round-trip");
  const vp::ByteSpan secret = vp::AsBytes(kSecret);
  const auto expected = vp::http::Vp1Signature(
      secret, vp::http::Vp1StringToSign(method, path, query, auth->timestamp, body));
  const vp::Status verified = vp::http::Vp1Verify(*auth, secret, method, path, query, body);
  Require(verified.ok() == (auth->signature == expected), "Vp1Verify disagrees with Vp1Signature");
  const vp::Status skew = vp::http::Vp1CheckSkew(auth->timestamp, kNow);
  const int64_t d = auth->timestamp - kNow;
  Require(skew.ok() == (d <= vp::http::kVp1MaxSkewSeconds && -d <= vp::http::kVp1MaxSkewSeconds),
          "Vp1CheckSkew disagrees with the skew");
}

void CheckBody(std::string_view body) {
  auto j = vp::http::ParseJsonObject(body);
  if (!j.ok()) {
    Require(j.status().code() == vp::StatusCode::kInvalidArgument, "a bad body is not kInvalidArgument");
    return;
  }
  Require(j->is_object(), "ParseJsonObject returned a non-object");
  const json env = EnvelopeBody(vp::http::DataResponse(*j));
  Require(env.size() == 1 && env.contains("data") && env["data"] == *j, "the data envelope changed the body");
}

// One parsed request, as server.cc hands it to the gateway.
void CheckRequest(const bhttp::request<bhttp::string_body>& msg) {
  vp::http::Request req;
  req.method = std::string(msg.method_string());
  req.target = std::string(msg.target());
  const size_t q = req.target.find('?');
  req.path = req.target.substr(0, q);
  req.query = q == std::string::npos ? "" : req.target.substr(q + 1);
  for (const auto& f : msg) {
    std::string name(f.name_string());
    for (char& c : name) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    req.headers.emplace_back(std::move(name), std::string(f.value()));
  }
  req.body = msg.body();
  CheckMatch(req.method, req.path);
  if (req.HasHeader("authorization")) {
    CheckAuthorization(req.Header("authorization"), req.method, req.path, req.query, req.body);
  }
  CheckBody(req.body);
}

// Requests one after another, as a keep-alive connection delivers them.
void CheckStream(const uint8_t* data, size_t size) {
  size_t offset = 0;
  for (size_t n = 0; n < kMaxRequests && offset < size; ++n) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(16 * 1024);  // GatewayConfig's defaults
    parser.body_limit(64 * 1024);
    parser.eager(true);
    boost::beast::error_code ec;
    while (!parser.is_done()) {
      const size_t used = parser.put(boost::asio::buffer(data + offset, size - offset), ec);
      offset += used;
      // need_more (or no progress) means the rest of the input is not a whole message. Beast
      // expects strictly more bytes on the next put, and there are none: the peer closed.
      if (ec == bhttp::error::need_more || (!ec && used == 0 && !parser.is_done())) {
        ec = {};
        parser.put_eof(ec);
        break;
      }
      if (ec) break;
    }
    if (ec || !parser.is_done()) {
      // The transport's answers: 413, 431, or 400 naming the parse error; else it just closes.
      if (ec == bhttp::error::body_limit) CheckError(vp::ResourceExhaustedError("body too large"), 413);
      else if (ec == bhttp::error::header_limit) CheckError(vp::ResourceExhaustedError("headers too large"), 431);
      else if (ec) CheckError(vp::InvalidArgumentError("malformed HTTP request: " + ec.message()), 400);
      return;
    }
    CheckRequest(parser.get());
    if (!parser.get().keep_alive()) return;
  }
}

void CheckListen(std::string_view text) {
  auto hp = vp::http::ParseListen(text);
  if (!hp.ok()) return;
  auto again = vp::http::ParseListen("[" + hp->first + "]:" + std::to_string(hp->second));
  Require(again.ok() && *again == *hp, "listen address does not round-trip");
}

void CheckConfig(std::string_view text) {
  vp::http::GatewayConfig cfg;
  const vp::Status s = vp::http::ApplyToml(text, cfg);
  if (!s.ok()) {
    Require(s.code() == vp::StatusCode::kInvalidArgument, "a bad config is not kInvalidArgument");
    return;
  }
  if (vp::http::Validate(cfg).ok()) Require(vp::http::ParseListen(cfg.listen).ok(), "validated listen does not parse");
  CheckListen(cfg.listen);
}

// "NAME=VALUE" lines as the process environment.
void CheckEnv(std::string_view text) {
  std::map<std::string, std::string, std::less<>> vars;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    const size_t eq = line.find('=');
    if (eq != std::string_view::npos) vars[std::string(line.substr(0, eq))] = std::string(line.substr(eq + 1));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  if (vars.empty()) return;
  vp::http::GatewayConfig cfg;
  const vp::Status s = vp::http::ApplyEnv(
      [&](const std::string& name) -> std::optional<std::string> {
        auto it = vars.find(name);
        if (it == vars.end()) return std::nullopt;
        return it->second;
      },
      cfg);
  if (!s.ok()) Require(s.code() == vp::StatusCode::kInvalidArgument, "a bad variable is not kInvalidArgument");
}

// ---- seeds --------------------------------------------------------------------------------

std::string SignedRequest(std::string_view method, std::string_view path, std::string_view query,
                          std::string_view body) {
  const std::string auth = vp::http::Vp1AuthorizationHeader("k_fuzz-1", vp::AsBytes(kSecret), method, path, query,
                                                            kNow, body);
  std::string r = std::string(method) + " " + std::string(path) + (query.empty() ? "" : "?" + std::string(query)) +
                  " HTTP/1.1\r\nHost: gw\r\nAuthorization: " + auth + "\r\n";
  if (!body.empty() || method != "GET") {
    r += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  }
  return r + "\r\n" + std::string(body);
}

std::vector<std::pair<std::string, std::string>> Seeds() {
  const std::string echo = SignedRequest("POST", "/v1/echo", "", R"({"hello":"world","n":[1,2.5,null]})");
  return {
      {"get_ping", SignedRequest("GET", "/v1/ping", "", "")},
      {"post_echo", echo},
      {"disable_key", SignedRequest("POST", "/v1/api-keys/k_abc/disable", "", "{}")},
      {"sign_tx", SignedRequest("POST", "/v1/wallets/w_1/sign/transaction", "",
                                R"({"tx":{"chainId":1,"to":null,"nonce":"0x0"}})")},
      {"list_query", SignedRequest("GET", "/v1/transactions", "status=pending&limit=10&after=tx%5F1", "")},
      {"pipelined", SignedRequest("GET", "/healthz", "", "") + echo},
      {"chunked", "POST /v1/echo HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "4\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\n\r\n"},
      {"head_405", "DELETE /v1/ping HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n"},
      {"authorization", vp::http::Vp1AuthorizationHeader("key-2", vp::AsBytes(kSecret), "GET", "/v1/ping", "",
                                                         kNow, "")},
      {"json_body", R"({"name":"ops","role":"operator","limits":{"perTx":"10","chains":[1,5]}})"},
      {"config", R"(# every section of docs/api.md, "Configuration"
[server]
listen = "[::1]:8443"
data_dir = "/var/lib/vp"
threads = 4
max_connections = 100
[limits]
body_bytes = 65536
read_timeout_ms = 5000
[cors]
origins = ["https://a.example", "*"]
[auth]
max_skew_s = 60
[rate_limits]
per_key_limit = 10
[rate_limits.routes."POST /v1/echo"]
per_key = 5
window_ms = 1000
[store]
url = "postgres://vp@localhost/vp"
[audit]
reads = false
[custody]
enabled = true
kms_backend = "external"
signer_uid = 1000
[log]
level = "debug"
)"},
      {"env", "VAULTPROOF_SERVER_THREADS=-3\nVAULTPROOF_CORS_ORIGINS= a, b ,\nVAULTPROOF_AUDIT_READS=true\n"
              "VAULTPROOF_SERVER_LISTEN=0.0.0.0:0\n"},
      {"listen", "127.0.0.1:8080"},
  };
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  const char* dir = std::getenv("VP_FUZZ_WRITE_SEEDS");
  if (dir == nullptr) return 0;
  for (const auto& [name, text] : Seeds()) {
    vp::fuzz::WriteSeed(dir, name, text.data(), text.size());
  }
  // The config seed must load and validate, or it leads the fuzzer nowhere.
  vp::http::GatewayConfig cfg;
  for (const auto& [name, text] : Seeds()) {
    if (name == "config" && !(vp::http::ApplyToml(text, cfg).ok() && vp::http::Validate(cfg).ok())) {
      std::fprintf(stderr, "seed config does not load\n");
      std::abort();
    }
  }
  std::exit(0);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  CheckStream(data, size);
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  CheckAuthorization(text, "GET", "/v1/ping", "", "");
  CheckBody(text);
  CheckConfig(text);
  CheckEnv(text);
  CheckListen(text);
  return 0;
}
