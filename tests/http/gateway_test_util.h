// Test support shared by the tests that drive the real `vaultproof serve` over raw HTTP/1.1
// (tests/http/gateway_integration_test.cc, tests/custody/custody_e2e_test.cc): a Server
// that starts the binary on an ephemeral port with a temporary data directory and creates
// API keys with `vaultproof api-key create`, VP1-HMAC signed requests (each with a unique
// `n=` query parameter, so identical requests in one second are not replays), and a
// Content-Length framed response reader.
//
//   Server server("[worker]\nthreads = 2\n");
//   Key admin = server.CreateKey("admin");
//   HttpResponse r = RawExchange(server.port(), SignedRequest(admin, "GET", "/v1/ping", "", "", NowS()));
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <string_view>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "vp/base/bytes.h"
#include "vp/base/test_util.h"
#include "vp/http/vp1_auth.h"

namespace vp::gateway_test {

using nlohmann::json;
using namespace std::chrono_literals;
using vp::testing::RunCapture;

inline std::string BinDir() {
  const char* d = std::getenv("VP_BIN_DIR");
  return d != nullptr ? d : "build/bin";
}

inline int64_t NowS() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  bool ok = false;  // a complete response was read
  json Json() const { return json::parse(body, nullptr, false); }
  std::string Header(const std::string& n) const {
    auto it = headers.find(n);
    return it == headers.end() ? "" : it->second;
  }
};

inline int Connect(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return fd;
}

inline bool SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Reads one response (Content-Length framed) from fd; carries extra bytes in *pending.
inline HttpResponse ReadResponse(int fd, std::string* pending) {
  HttpResponse r;
  std::string& buf = *pending;
  char tmp[8192];
  size_t header_end;
  while ((header_end = buf.find("\r\n\r\n")) == std::string::npos) {
    ssize_t n = ::recv(fd, tmp, sizeof(tmp), 0);
    if (n <= 0) return r;
    buf.append(tmp, static_cast<size_t>(n));
  }
  std::string head = buf.substr(0, header_end);
  buf.erase(0, header_end + 4);
  if (head.size() < 12) return r;
  r.status = std::atoi(head.substr(9, 3).c_str());
  size_t pos = head.find("\r\n");
  while (pos != std::string::npos) {
    size_t next = head.find("\r\n", pos + 2);
    std::string line = head.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
    size_t colon = line.find(':');
    if (colon != std::string::npos) {
      std::string name = line.substr(0, colon);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      size_t v = colon + 1;
      while (v < line.size() && line[v] == ' ') ++v;
      r.headers[name] = line.substr(v);
    }
    pos = next;
  }
  size_t len = static_cast<size_t>(std::atoll(r.Header("content-length").c_str()));
  while (buf.size() < len) {
    ssize_t n = ::recv(fd, tmp, sizeof(tmp), 0);
    if (n <= 0) return r;
    buf.append(tmp, static_cast<size_t>(n));
  }
  r.body = buf.substr(0, len);
  buf.erase(0, len);
  r.ok = true;
  return r;
}

inline HttpResponse RawExchange(uint16_t port, const std::string& raw) {
  int fd = Connect(port);
  if (fd < 0) return {};
  SendAll(fd, raw);
  std::string pending;
  HttpResponse r = ReadResponse(fd, &pending);
  ::close(fd);
  return r;
}

struct Key {
  std::string id;
  std::string secret;
};

inline std::atomic<uint64_t> g_nonce{0};

// A signed request; `query` gets a unique n=<counter> appended unless told otherwise.
inline std::string SignedRequest(const Key& k, const std::string& method, const std::string& path, std::string query,
                          const std::string& body, int64_t ts, const std::string& extra_headers = "",
                          bool add_nonce = true, const std::string* signed_body = nullptr) {
  if (add_nonce) {
    if (!query.empty()) query += "&";
    query += "n=" + std::to_string(g_nonce.fetch_add(1)) + "_" + std::to_string(::getpid());
  }
  std::string target = path + (query.empty() ? "" : "?" + query);
  std::string auth = vp::http::Vp1AuthorizationHeader(k.id, vp::AsBytes(k.secret), method, path, query, ts,
                                                      signed_body != nullptr ? *signed_body : body);
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: " + auth + "\r\n";
  req += extra_headers;
  if (!body.empty() || method == "POST") {
    req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  }
  req += "Connection: close\r\n\r\n" + body;
  return req;
}

class Server {
 public:
  // Starts `vaultproof serve` with the given TOML and waits until it listens.
  // pepper_from: another server's data dir whose API-key pepper this one shares (two
  // gateways in front of one store must derive the same key secrets).
  explicit Server(const std::string& toml = "", const std::string& pepper_from = "") {
    char tmpl[] = "/tmp/vp-http-it-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    std::ofstream(dir_ + "/gateway.toml") << toml;
    if (!pepper_from.empty()) {
      std::error_code ec;
      std::filesystem::copy_file(pepper_from + "/api-key-pepper.key", dir_ + "/api-key-pepper.key", ec);
    }
    Start();
  }
  ~Server() {
    Stop();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  void Start() {
    int out[2];
    if (::pipe(out) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], 1);
      ::close(out[0]);
      ::close(out[1]);
      std::string bin = BinDir() + "/vaultproof";
      std::string cfg = dir_ + "/gateway.toml";
      ::setenv("VAULTPROOF_LOG_LEVEL", "warn", 1);
      ::execl(bin.c_str(), bin.c_str(), "serve", "--listen", "127.0.0.1:0", "--data-dir", dir_.c_str(), "--config",
              cfg.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(out[1]);
    std::string line;
    char c;
    pollfd pfd{out[0], POLLIN, 0};
    auto deadline = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < deadline) {
      if (::poll(&pfd, 1, 100) <= 0) continue;
      if (::read(out[0], &c, 1) != 1) break;
      if (c == '\n') break;
      line += c;
    }
    ::close(out[0]);
    json j = json::parse(line, nullptr, false);
    if (j.is_object() && j.contains("listening")) {
      std::string addr = j["listening"];
      port_ = static_cast<uint16_t>(std::atoi(addr.substr(addr.rfind(':') + 1).c_str()));
    }
  }

  // SIGTERM and wait; returns the exit status (or -1).
  int Stop() {
    if (pid_ <= 0) return -1;
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = 0;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  pid_t pid() const { return pid_; }

  Key CreateKey(const std::string& role, const std::string& db_url = "") {
    int st = 0;
    std::string out = RunCapture(BinDir() + "/vaultproof api-key create --data-dir " + dir_ + " --role " + role +
                                     " --name it-" + role + (db_url.empty() ? "" : " --db '" + db_url + "'"), &st);
    json j = json::parse(out, nullptr, false);
    if (!j.is_object() || !j.contains("keyId")) return {};
    return {j["keyId"], j["secret"]};
  }

  uint16_t port() const { return port_; }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  pid_t pid_ = 0;
  uint16_t port_ = 0;
};

inline std::string Get(const std::string& path, const std::string& extra = "") {
  return "GET " + path + " HTTP/1.1\r\nHost: x\r\n" + extra + "Connection: close\r\n\r\n";
}

inline void ExpectEnvelope(const HttpResponse& r, int status, const std::string& code) {
  ASSERT_TRUE(r.ok) << "no complete response";
  EXPECT_EQ(r.status, status) << r.body;
  json j = r.Json();
  ASSERT_TRUE(j.is_object()) << r.body;
  EXPECT_EQ(j.value("error", ""), code) << r.body;
  EXPECT_EQ(j.value("statusCode", 0), status);
  EXPECT_TRUE(j.contains("message"));
  EXPECT_FALSE(r.Header("x-request-id").empty());
  EXPECT_EQ(j.value("requestId", ""), r.Header("x-request-id"));
}

}  // namespace vp::gateway_test
