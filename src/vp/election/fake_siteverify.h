// Test support (header-only; never in the product): a local HTTP server on 127.0.0.1 that
// speaks Cloudflare Turnstile's siteverify protocol well enough to test the client and the
// gateway. It answers every POST with the configured status and JSON body and records the
// JSON each request carried.
//
//   FakeSiteverify fake;
//   fake.Answer(200, R"({"success":true,"action":"vote","hostname":"vote.example"})");
//   TurnstileOptions o{.mode = "cloudflare", .secret = "s", .url = fake.url(), .hostnames = {"vote.example"}};
#pragma once

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "vp/base/test_util.h"

namespace vp::election::testing {

class FakeSiteverify {
 public:
  FakeSiteverify() {
    fd_ = vp::testing::ListenLoopback(&port_);
    thread_ = std::thread([this] { Loop(); });
  }
  ~FakeSiteverify() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);  // wakes accept()
    thread_.join();
    ::close(fd_);
  }
  FakeSiteverify(const FakeSiteverify&) = delete;
  FakeSiteverify& operator=(const FakeSiteverify&) = delete;

  void Answer(int status, std::string body) {
    std::lock_guard<std::mutex> lock(mu_);
    status_ = status;
    body_ = std::move(body);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/turnstile/v0/siteverify"; }
  bool listening() const { return fd_ >= 0; }
  int calls() const { return calls_.load(); }
  // The JSON bodies received, in order (a body that was not JSON is recorded as null).
  std::vector<nlohmann::json> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

 private:
  void Loop() {
    while (!stop_) {
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) {
        if (stop_) return;
        continue;
      }
      Serve(c);
      ::close(c);
    }
  }

  void Serve(int c) {
    std::string buf;
    char tmp[4096];
    size_t end;
    while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
      const ssize_t n = ::recv(c, tmp, sizeof(tmp), 0);
      if (n <= 0) return;
      buf.append(tmp, static_cast<size_t>(n));
    }
    size_t length = 0;
    const std::string head = buf.substr(0, end);
    for (const char* name : {"Content-Length: ", "content-length: "}) {
      const size_t at = head.find(name);
      if (at != std::string::npos) length = static_cast<size_t>(std::atoll(head.c_str() + at + std::string(name).size()));
    }
    std::string body = buf.substr(end + 4);
    while (body.size() < length) {
      const ssize_t n = ::recv(c, tmp, sizeof(tmp), 0);
      if (n <= 0) return;
      body.append(tmp, static_cast<size_t>(n));
    }
    int status;
    std::string answer;
    {
      std::lock_guard<std::mutex> lock(mu_);
      requests_.push_back(nlohmann::json::parse(body, nullptr, false));
      if (requests_.back().is_discarded()) requests_.back() = nullptr;
      status = status_;
      answer = body_;
    }
    ++calls_;
    const std::string response = "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: application/json\r\n" +
                                 "Content-Length: " + std::to_string(answer.size()) + "\r\nConnection: close\r\n\r\n" +
                                 answer;
    size_t off = 0;
    while (off < response.size()) {
      const ssize_t n = ::send(c, response.data() + off, response.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return;
      off += static_cast<size_t>(n);
    }
  }

  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> calls_{0};
  mutable std::mutex mu_;
  int status_ = 200;
  std::string body_ = R"({"success":false,"error-codes":["not-configured"]})";
  std::vector<nlohmann::json> requests_;
  std::thread thread_;
};

}  // namespace vp::election::testing
