// RpcClient, specified three ways: the strict parsers (URL, QUANTITY, DATA, node errors) on
// their own; a real Hardhat node (tests/chain, started by the fixture on a free port) that
// takes a transaction signed by the eth layer and reports the errors custody must tell
// apart; and hostile HTTP servers of this file (raw sockets, one TLS) that answer garbage,
// wrong ids, leading zeros, oversized or truncated bodies, HTTP 500, or nothing at all.
// Hardhat missing is a failure that says to run scripts/setup, never a skip.
#include "vp/wallet/rpc.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <gtest/gtest.h>

#include "vp/base/test_util.h"
#include "vp/eth/transaction.h"
#include "vp/wallet/hardhat_fixture.h"

namespace vp::wallet {
namespace {

using eth::Address;
using eth::U256;
using nlohmann::json;
using namespace std::chrono_literals;

// ---------------------------------------------------------------------------------------
// URL parsing.

TEST(RpcUrl, AcceptsHttpAndHttpsWithHostPortPathQuery) {
  StatusOr<RpcUrl> u = ParseRpcUrl("http://127.0.0.1:8545");
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_FALSE(u->tls);
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, 8545);
  EXPECT_EQ(u->target, "/");

  u = ParseRpcUrl("https://mainnet.example-node.io/v3/0123abcd?x=1&y=%2F");
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_TRUE(u->tls);
  EXPECT_EQ(u->host, "mainnet.example-node.io");
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->target, "/v3/0123abcd?x=1&y=%2F");

  u = ParseRpcUrl("http://[::1]:9000/rpc");
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, 9000);
  EXPECT_EQ(u->target, "/rpc");

  u = ParseRpcUrl("http://localhost?key=1");
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->port, 80);
  EXPECT_EQ(u->target, "/?key=1");
}

TEST(RpcUrl, RefusesEverythingElse) {
  for (const char* bad : {
           "", "127.0.0.1:8545", "ftp://host/", "HTTP://host/", "ws://host:8546", "http://",
           "http://user:pass@host/", "http://user@host/", "http://host/#frag", "http://host/a b",
           "http://host/a\tb", "http://ho st/", "http://host:/", "http://host:0/", "http://host:65536/",
           "http://host:08545/", "http://host:-1/", "http://host:80a/", "http://host:123456/",
           "http://[::1/", "http://[::1]x/", "http://[zz::1]/", "http://[fe80::1%25eth0]/",
           "http://host..com/", "http://.host/", "http://host./", "http://ho_st/",
           "http://host/\x7f", "http://host/\xc3\xa9", "http://host/%zz", "http://host/%4", "http://host/a\"b",
           "http://host/<script>", "http://host/a\\b", "http://host/a{b}"}) {
    StatusOr<RpcUrl> u = ParseRpcUrl(bad);
    EXPECT_FALSE(u.ok()) << "accepted: " << bad;
    if (!u.ok()) {
      EXPECT_EQ(u.status().code(), StatusCode::kInvalidArgument) << bad;
    }
  }
}

TEST(RpcUrl, CreateRefusesBadOptionsAndUrls) {
  EXPECT_EQ(RpcClient::Create("http://a b").status().code(), StatusCode::kInvalidArgument);
  RpcOptions zero;
  zero.max_response_bytes = 0;
  EXPECT_EQ(RpcClient::Create("http://127.0.0.1:1", zero).status().code(), StatusCode::kInvalidArgument);
  RpcOptions no_ca;
  no_ca.ca_file = "/nonexistent/ca.pem";
  EXPECT_EQ(RpcClient::Create("https://127.0.0.1:1", no_ca).status().code(), StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------------------------------
// Value decoders: execution-apis base types (github.com/ethereum/execution-apis,
// src/schemas/base-types.yaml): uint ^0x(0|[1-9a-f][0-9a-f]*)$, bytes ^0x[0-9a-f]*$.

TEST(RpcDecode, QuantityIsMinimalLowerCaseHex) {
  EXPECT_EQ(*DecodeQuantity(json("0x0"), "q"), U256(0));
  EXPECT_EQ(*DecodeQuantity(json("0x7a69"), "q"), U256(31337));
  EXPECT_EQ(*DecodeQuantity(json("0x" + std::string(64, 'f')), "q"), U256::Max());
  EXPECT_EQ(*DecodeQuantity64(json("0xffffffffffffffff"), "q"), UINT64_MAX);
  for (const json& bad : {json("0x"), json("0x00"), json("0x0400"), json("0X1"), json("0xA"), json("1"),
                          json("0x1g"), json(" 0x1"), json("0x1 "), json("-0x1"), json(""), json(1), json(nullptr),
                          json::array(), json("0x" + std::string(65, 'f'))}) {
    StatusOr<U256> v = DecodeQuantity(bad, "eth_x: result");
    ASSERT_FALSE(v.ok()) << bad.dump();
    EXPECT_EQ(v.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(v.status().message().find("eth_x: result"), std::string::npos) << v.status().message();
  }
  EXPECT_EQ(DecodeQuantity64(json("0x10000000000000000"), "q").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeQuantity(json("0x0400"), "eth_getTransactionCount: result").status().message(),
            "eth_getTransactionCount: result is not a quantity");
}

TEST(RpcDecode, DataIsEvenLengthHexAndHashesAre32Bytes) {
  EXPECT_EQ(*DecodeData(json("0x"), "d"), Bytes{});
  EXPECT_EQ(*DecodeData(json("0x00aB"), "d"), (Bytes{0x00, 0xab}));
  for (const json& bad : {json("0x0"), json("00ab"), json("0xzz"), json("0X00"), json(0), json(nullptr)}) {
    EXPECT_EQ(DecodeData(bad, "d").status().code(), StatusCode::kInvalidArgument) << bad.dump();
  }
  const std::string h = "0x" + std::string(64, 'a');
  EXPECT_TRUE(DecodeHash(json(h), "h").ok());
  EXPECT_FALSE(DecodeHash(json(h.substr(0, 64)), "h").ok());
  EXPECT_FALSE(DecodeHash(json(h + "aa"), "h").ok());
}

// ---------------------------------------------------------------------------------------
// Node errors.

TEST(RpcErrors, ClassifiesTheMessagesOfHardhatAndGeth) {
  struct Case { int64_t code; const char* message; RpcErrorKind kind; };
  const Case cases[] = {
      {-32000, "Nonce too low. Expected nonce to be 1 but got 0.", RpcErrorKind::kNonceTooLow},
      {-32000, "nonce too low: next nonce 5, tx nonce 4", RpcErrorKind::kNonceTooLow},
      {-32000, "Nonce too high. Expected nonce to be 0 but got 5. Note that transactions can't be queued when automining.",
       RpcErrorKind::kNonceTooHigh},
      {-32000, "already known", RpcErrorKind::kAlreadyKnown},
      {-32000, "Known transaction: 0xabc", RpcErrorKind::kAlreadyKnown},
      {-32000, "replacement transaction underpriced", RpcErrorKind::kReplacementUnderpriced},
      {-32000, "insufficient funds for gas * price + value: balance 0", RpcErrorKind::kInsufficientFunds},
      {-32000, "Sender doesn't have enough funds to send tx. The max upfront cost is: 1", RpcErrorKind::kInsufficientFunds},
      {-32000, "max fee per gas less than block base fee", RpcErrorKind::kFeeTooLow},
      {-32000, "transaction underpriced", RpcErrorKind::kFeeTooLow},
      {3, "execution reverted: nope", RpcErrorKind::kExecutionReverted},
      {-32601, "the method foo does not exist/is not available", RpcErrorKind::kMethodNotFound},
      {-32004, "Method foo_bar is not supported", RpcErrorKind::kMethodNotFound},
      {-32005, "daily request count exceeded", RpcErrorKind::kLimitExceeded},
      {-32000, "header not found", RpcErrorKind::kOther},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(ClassifyRpcError(c.code, c.message), c.kind) << c.message;
  }
}

TEST(RpcErrors, GetRpcErrorReadsOnlyWhatRpcClientWrote) {
  const Status s(StatusCode::kFailedPrecondition,
                 "eth_sendRawTransaction: node error -32000 (nonce_too_low): Nonce too low (data: x)");
  const std::optional<RpcError> e = GetRpcError(s);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->code, -32000);
  EXPECT_EQ(e->kind, RpcErrorKind::kNonceTooLow);
  EXPECT_EQ(e->message, "Nonce too low (data: x)");
  EXPECT_TRUE(IsNonceTooLow(s));
  EXPECT_FALSE(IsAlreadyKnown(s));
  // A transport error that quotes a server's text saying "node error" is no node error.
  EXPECT_FALSE(GetRpcError(UnavailableError("eth_chainId: h:1: HTTP 500 x: node error -1 (nonce_too_low): y")));
  EXPECT_FALSE(GetRpcError(OkStatus()));
  EXPECT_FALSE(GetRpcError(Status(StatusCode::kFailedPrecondition, "eth_x: node error 1 (unheard_of): m")));
  EXPECT_FALSE(GetRpcError(Status(StatusCode::kFailedPrecondition, "eth_x: node error (other): m")));
}

// ---------------------------------------------------------------------------------------
// A hostile HTTP/1.1 server on raw sockets. It serves connections one after another; for
// each request it calls the handler with the parsed JSON body (null when not JSON) and
// the request's index, and writes exactly the bytes the handler returns.

struct Reply {
  std::string raw;         // the bytes to write, status line included
  bool close = false;      // close the connection after writing
  int delay_ms = 0;        // wait before writing
};

std::string HttpResponse(int status, const std::string& body, const std::string& extra_headers = "") {
  return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n" + extra_headers + "\r\n" + body;
}

// A 200 answer carrying the request's id and `fields` (result or error).
Reply JsonReply(const json& req, json fields) {
  fields["jsonrpc"] = "2.0";
  fields["id"] = req.is_object() && req.contains("id") ? req["id"] : json(nullptr);
  return Reply{HttpResponse(200, fields.dump())};
}

class FakeServer {
 public:
  using Handler = std::function<Reply(const json& request, size_t index)>;

  explicit FakeServer(Handler handler) : handler_(std::move(handler)) {
    listen_fd_ = vp::testing::ListenLoopback(&port_);
    if (listen_fd_ < 0) {
      ADD_FAILURE() << "fake server cannot listen";
      return;
    }
    thread_ = std::thread([this] { Serve(); });
  }
  ~FakeServer() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    ::close(listen_fd_);
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  size_t accepted() const { return accepted_; }

 private:
  bool WaitReadable(int fd) {
    while (!stop_) {
      pollfd p{fd, POLLIN, 0};
      const int r = ::poll(&p, 1, 20);
      if (r > 0) return true;
      if (r < 0 && errno != EINTR) return false;
    }
    return false;
  }

  // One request's body, or nullopt when the peer closed.
  std::optional<std::string> ReadRequest(int fd, std::string& pending) {
    for (;;) {
      const size_t end = pending.find("\r\n\r\n");
      if (end != std::string::npos) {
        std::string head = pending.substr(0, end);
        for (char& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        size_t length = 0;
        const size_t cl = head.find("content-length:");
        if (cl != std::string::npos) length = std::strtoul(head.c_str() + cl + 15, nullptr, 10);
        if (pending.size() >= end + 4 + length) {
          std::string body = pending.substr(end + 4, length);
          pending.erase(0, end + 4 + length);
          return body;
        }
      }
      if (!WaitReadable(fd)) return std::nullopt;
      char buf[65536];
      const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
      if (n <= 0) return std::nullopt;
      pending.append(buf, static_cast<size_t>(n));
    }
  }

  void Serve() {
    size_t index = 0;
    while (!stop_) {
      if (!WaitReadable(listen_fd_)) return;
      const int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) continue;
      ++accepted_;
      std::string pending;
      for (;;) {
        std::optional<std::string> body = ReadRequest(fd, pending);
        if (!body) break;
        json req = json::parse(*body, nullptr, /*allow_exceptions=*/false);
        if (req.is_discarded()) req = nullptr;
        const Reply reply = handler_(req, index++);
        for (int waited = 0; waited < reply.delay_ms && !stop_; waited += 10) std::this_thread::sleep_for(10ms);
        size_t sent = 0;
        while (sent < reply.raw.size()) {
          const ssize_t n = ::send(fd, reply.raw.data() + sent, reply.raw.size() - sent, MSG_NOSIGNAL);
          if (n <= 0) break;
          sent += static_cast<size_t>(n);
        }
        if (reply.close) break;
      }
      ::close(fd);
    }
  }

  Handler handler_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<size_t> accepted_{0};
  std::thread thread_;
};

std::unique_ptr<RpcClient> Client(const std::string& url, RpcOptions options = {}) {
  StatusOr<std::unique_ptr<RpcClient>> c = RpcClient::Create(url, std::move(options));
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? std::move(*c) : nullptr;
}

// Expects a failure with `code` whose message contains `needle`.
void ExpectError(const Status& s, StatusCode code, std::string_view needle) {
  EXPECT_EQ(s.code(), code) << s.ToString();
  EXPECT_NE(s.message().find(needle), std::string::npos) << s.ToString();
}

TEST(RpcHostile, WellFormedAnswersWorkAndTheConnectionIsKeptAlive) {
  FakeServer server([](const json& req, size_t) {
    EXPECT_EQ(req["jsonrpc"], "2.0");
    EXPECT_EQ(req["method"], "eth_chainId");
    EXPECT_TRUE(req["params"].is_array());
    return JsonReply(req, {{"result", "0x1"}});
  });
  auto rpc = Client(server.url());
  ASSERT_TRUE(rpc);
  for (int i = 0; i < 5; ++i) {
    StatusOr<U256> id = rpc->ChainId();
    ASSERT_TRUE(id.ok()) << id.status().ToString();
    EXPECT_EQ(*id, U256(1));
  }
  EXPECT_EQ(rpc->connections_opened(), 1u);
  EXPECT_EQ(server.accepted(), 1u);
}

TEST(RpcHostile, NonJsonBody) {
  FakeServer server([](const json&, size_t) { return Reply{HttpResponse(200, "<html>gateway</html>")}; });
  auto rpc = Client(server.url());
  ExpectError(rpc->ChainId().status(), StatusCode::kInvalidArgument, "not valid JSON");
}

TEST(RpcHostile, WrongOrMissingId) {
  FakeServer server([](const json& req, size_t i) {
    json r = {{"jsonrpc", "2.0"}, {"result", "0x1"}};
    if (i == 0) r["id"] = req["id"].get<uint64_t>() + 1;
    if (i == 1) r["id"] = std::to_string(req["id"].get<uint64_t>());  // "1" is not 1
    if (i == 2) r["id"] = nullptr;
    return Reply{HttpResponse(200, r.dump())};
  });
  auto rpc = Client(server.url());
  for (int i = 0; i < 4; ++i) {
    ExpectError(rpc->ChainId().status(), StatusCode::kInvalidArgument, "does not match request id");
  }
}

TEST(RpcHostile, MalformedEnvelopes) {
  const std::vector<std::string> bodies = {
      R"([{"jsonrpc":"2.0","id":1,"result":"0x1"}])",  // a batch answer to a single call
      R"({"id":1,"result":"0x1"})",                    // no jsonrpc
      R"({"jsonrpc":"1.0","id":1,"result":"0x1"})",
      R"({"jsonrpc":"2.0","id":1})",                   // neither result nor error
      R"({"jsonrpc":"2.0","id":1,"result":"0x1","error":{"code":1,"message":"m"}})",
      R"({"jsonrpc":"2.0","id":1,"error":"boom"})",
      R"({"jsonrpc":"2.0","id":1,"error":{"code":"-32000","message":"m"}})",
      R"({"jsonrpc":"2.0","id":1,"error":{"code":-32000}})",
      R"({"jsonrpc":"2.0","id":1,"error":{"code":1.5,"message":"m"}})",
      R"({"jsonrpc":"2.0","id":1,"id":1,"result":"0x1"})",  // duplicate key
      "",
  };
  FakeServer server([&](const json&, size_t i) {
    // Each client below makes one call, so its id is always 1.
    return Reply{HttpResponse(200, bodies[i])};
  });
  for (size_t i = 0; i < bodies.size(); ++i) {
    auto rpc = Client(server.url());
    const Status s = rpc->ChainId().status();
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << bodies[i] << " -> " << s.ToString();
    EXPECT_FALSE(GetRpcError(s)) << s.ToString();
  }
}

TEST(RpcHostile, LeadingZeroAndOtherBadQuantities) {
  const std::vector<json> results = {"0x0400", "0x", "0xABC", "1024", 1024, nullptr, "0x" + std::string(65, '1')};
  FakeServer server([&](const json& req, size_t i) { return JsonReply(req, {{"result", results[i]}}); });
  auto rpc = Client(server.url());
  const Address a = *Address::Parse("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
  for (size_t i = 0; i < results.size(); ++i) {
    ExpectError(rpc->GetTransactionCount(a, BlockTag::kPending).status(), StatusCode::kInvalidArgument,
                "eth_getTransactionCount: result");
  }
}

TEST(RpcHostile, AnswersThatDoNotMatchTheQuestion) {
  const crypto::Hash256 asked = crypto::Keccak256(AsBytes("asked"));
  const std::string other = HexEncode(crypto::Keccak256(AsBytes("other")), true);
  FakeServer server([&](const json& req, size_t i) {
    if (i == 0) return JsonReply(req, {{"result", other}});  // sendRawTransaction
    if (i == 1) {
      return JsonReply(req, {{"result", {{"transactionHash", other}, {"status", "0x1"}, {"blockNumber", "0x1"},
                                         {"blockHash", other}, {"gasUsed", "0x5208"}, {"effectiveGasPrice", "0x1"}}}});
    }
    if (i == 2) {
      return JsonReply(req, {{"result", {{"transactionHash", HexEncode(asked, true)}, {"status", "0x2"},
                                         {"blockNumber", "0x1"}, {"blockHash", other}, {"gasUsed", "0x5208"},
                                         {"effectiveGasPrice", "0x1"}}}});
    }
    if (i == 3) return JsonReply(req, {{"result", {{"hash", other}}}});
    return JsonReply(req, {{"result", "not an object"}});
  });
  auto rpc = Client(server.url());
  ExpectError(rpc->SendRawTransaction(AsBytes("raw")).status(), StatusCode::kInvalidArgument,
              "not the hash of the transaction sent");
  ExpectError(rpc->GetTransactionReceipt(asked).status(), StatusCode::kInvalidArgument, "transactionHash");
  ExpectError(rpc->GetTransactionReceipt(asked).status(), StatusCode::kInvalidArgument, "result.status");
  ExpectError(rpc->GetTransactionByHash(asked).status(), StatusCode::kInvalidArgument, "result.hash");
  ExpectError(rpc->GetTransactionByHash(asked).status(), StatusCode::kInvalidArgument, "result");
}

TEST(RpcHostile, MalformedFeeHistory) {
  const std::vector<json> results = {
      {{"oldestBlock", "0x1"}, {"baseFeePerGas", {"0x1"}}, {"gasUsedRatio", {0.5}}, {"reward", {{"0x1"}}}},
      {{"oldestBlock", "0x1"}, {"baseFeePerGas", {"0x1", "0x01"}}, {"gasUsedRatio", {0.5}}, {"reward", {{"0x1"}}}},
      {{"oldestBlock", "0x1"}, {"baseFeePerGas", {"0x1", "0x1"}}, {"gasUsedRatio", {1.5}}, {"reward", {{"0x1"}}}},
      {{"oldestBlock", "0x1"}, {"baseFeePerGas", {"0x1", "0x1"}}, {"gasUsedRatio", {0.5}}, {"reward", {{"0x1", "0x2"}}}},
      {{"oldestBlock", "0x1"}, {"baseFeePerGas", {"0x1", "0x1"}}, {"gasUsedRatio", {0.5}}},
      {{"oldestBlock", "1"}, {"baseFeePerGas", {"0x1", "0x1"}}, {"gasUsedRatio", {0.5}}, {"reward", {{"0x1"}}}},
      {{"oldestBlock", "0x1"}, {"baseFeePerGas", {"0x1", "0x1", "0x1"}}, {"gasUsedRatio", {0.5, 0.5}},
       {"reward", {{"0x1"}, {"0x1"}}}},  // two blocks when one was asked for
  };
  FakeServer server([&](const json& req, size_t i) { return JsonReply(req, {{"result", results[i]}}); });
  auto rpc = Client(server.url());
  for (size_t i = 0; i < results.size(); ++i) {
    const Status s = rpc->GetFeeHistory(1, {50}).status();
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << results[i].dump() << " -> " << s.ToString();
    EXPECT_NE(s.message().find("eth_feeHistory"), std::string::npos) << s.ToString();
  }
  // Arguments are checked before anything is sent.
  EXPECT_EQ(rpc->GetFeeHistory(0, {}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(rpc->GetFeeHistory(1025, {}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(rpc->GetFeeHistory(1, {50, 10}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(rpc->GetFeeHistory(1, {101}).status().code(), StatusCode::kInvalidArgument);
}

TEST(RpcHostile, BodyOverTheCap) {
  const std::string big(4 * 1024 * 1024 + 1, 'a');
  FakeServer server([&](const json& req, size_t i) {
    if (i == 0) return Reply{HttpResponse(200, big)};
    // Chunked, with no length announced up front: the cap applies to what arrives.
    std::string chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    const std::string piece(64 * 1024, ' ');
    for (int k = 0; k < 80; ++k) chunked += "10000\r\n" + piece + "\r\n";
    chunked += "0\r\n\r\n";
    (void)req;
    return Reply{chunked};
  });
  auto rpc = Client(server.url());
  ExpectError(rpc->ChainId().status(), StatusCode::kResourceExhausted, "exceeds 4194304 bytes");
  ExpectError(rpc->ChainId().status(), StatusCode::kResourceExhausted, "exceeds 4194304 bytes");
  // A smaller cap applies as configured.
  FakeServer small([](const json& req, size_t) { return JsonReply(req, {{"result", std::string(2000, '0')}}); });
  RpcOptions o;
  o.max_response_bytes = 1024;
  auto limited = Client(small.url(), o);
  ExpectError(limited->Call("eth_x", json::array()).status(), StatusCode::kResourceExhausted, "exceeds 1024 bytes");
}

TEST(RpcHostile, SlowServerTimesOut) {
  FakeServer server([](const json& req, size_t) {
    Reply r = JsonReply(req, {{"result", "0x1"}});
    r.delay_ms = 3000;
    return r;
  });
  RpcOptions o;
  o.request_timeout = 300ms;
  auto rpc = Client(server.url(), o);
  const auto start = std::chrono::steady_clock::now();
  ExpectError(rpc->ChainId().status(), StatusCode::kUnavailable, "timed out after 300 ms");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

TEST(RpcHostile, SilentServerThatNeverAnswersHeadersTimesOut) {
  // Writes a status line, then nothing more.
  FakeServer server([](const json&, size_t) {
    Reply r{"HTTP/1.1 200 OK\r\nContent-Le"};
    return r;
  });
  RpcOptions o;
  o.request_timeout = 300ms;
  auto rpc = Client(server.url(), o);
  ExpectError(rpc->ChainId().status(), StatusCode::kUnavailable, "timed out");
}

TEST(RpcHostile, ConnectionClosedMidResponse) {
  FakeServer server([](const json&, size_t) {
    return Reply{"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"jsonrpc\":\"2.0\"",
                 /*close=*/true};
  });
  auto rpc = Client(server.url());
  ExpectError(rpc->ChainId().status(), StatusCode::kUnavailable, "closed in the middle of the response");
}

TEST(RpcHostile, ConnectionClosedBeforeAnyAnswer) {
  FakeServer server([](const json&, size_t) { return Reply{"", /*close=*/true}; });
  auto rpc = Client(server.url());
  ExpectError(rpc->ChainId().status(), StatusCode::kUnavailable, "closed before a response");
}

TEST(RpcHostile, Http500AndOtherStatuses) {
  FakeServer server([](const json&, size_t i) {
    if (i == 0) return Reply{HttpResponse(500, "upstream \x01 broken")};
    if (i == 1) return Reply{HttpResponse(429, "")};
    return Reply{"HTTP/1.1 301 Moved\r\nLocation: http://evil/\r\nContent-Length: 0\r\n\r\n"};
  });
  auto rpc = Client(server.url());
  Status s = rpc->ChainId().status();
  ExpectError(s, StatusCode::kUnavailable, "HTTP 500");
  ExpectError(s, StatusCode::kUnavailable, "upstream ? broken");  // control characters never reach logs
  ExpectError(rpc->ChainId().status(), StatusCode::kUnavailable, "HTTP 429");
  ExpectError(rpc->ChainId().status(), StatusCode::kUnavailable, "HTTP 301");  // redirects are not followed
}

TEST(RpcHostile, GarbageInsteadOfHttp) {
  FakeServer server([](const json&, size_t) { return Reply{"SSH-2.0-OpenSSH_9.2\r\n\r\n", true}; });
  auto rpc = Client(server.url());
  EXPECT_EQ(rpc->ChainId().status().code(), StatusCode::kUnavailable);
}

TEST(RpcHostile, StaleKeptAliveConnectionIsReopenedOnce) {
  // The server answers and then closes without saying so (as an idle timeout does).
  FakeServer server([](const json& req, size_t) {
    Reply r = JsonReply(req, {{"result", "0x2a"}});
    r.close = true;
    return r;
  });
  auto rpc = Client(server.url());
  for (int i = 0; i < 3; ++i) {
    StatusOr<uint64_t> n = rpc->BlockNumber();
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    EXPECT_EQ(*n, 42u);
  }
  EXPECT_EQ(rpc->connections_opened(), 3u);
}

TEST(RpcHostile, ConnectionRefusedIsUnavailableAndNamesNoPath) {
  // A port that was free a moment ago: bind, read the port, close.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  auto rpc = Client("http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/v3/secret-api-key");
  const Status s = rpc->ChainId().status();
  ExpectError(s, StatusCode::kUnavailable, "connect");
  EXPECT_EQ(s.message().find("secret-api-key"), std::string::npos) << s.ToString();
}

TEST(RpcHostile, NodeErrorObjectsBecomeClassifiedStatuses) {
  FakeServer server([](const json& req, size_t i) {
    if (i == 0) {
      return JsonReply(req, {{"error", {{"code", -32000}, {"message", "nonce too low: next nonce 3, tx nonce 2"}}}});
    }
    if (i == 1) {
      return JsonReply(req, {{"error", {{"code", 3}, {"message", "execution reverted"}, {"data", "0x08c379a0"}}}});
    }
    if (i == 2) return JsonReply(req, {{"error", {{"code", -32602}, {"message", "invalid argument 0"}}}});
    if (i == 3) return JsonReply(req, {{"error", {{"code", -32005}, {"message", "limit exceeded"}}}});
    // A message crafted to look like a different error: the classification is the node's
    // text, the framing is ours.
    return JsonReply(req, {{"error", {{"code", -32000}, {"message", "x): node error 1 (nonce_too_low): \n"}}}});
  });
  auto rpc = Client(server.url());
  const Status s0 = rpc->SendRawTransaction(AsBytes("raw")).status();
  EXPECT_EQ(s0.code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(IsNonceTooLow(s0)) << s0.ToString();
  EXPECT_EQ(GetRpcError(s0)->code, -32000);

  const Status s1 = rpc->EstimateGas({}).status();
  ASSERT_TRUE(GetRpcError(s1)) << s1.ToString();
  EXPECT_EQ(GetRpcError(s1)->kind, RpcErrorKind::kExecutionReverted);
  EXPECT_EQ(GetRpcError(s1)->message, "execution reverted (data: 0x08c379a0)");

  const Status s2 = rpc->ChainId().status();
  EXPECT_EQ(s2.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(GetRpcError(s2)->code, -32602);

  const Status s3 = rpc->ChainId().status();
  EXPECT_EQ(s3.code(), StatusCode::kUnavailable);
  EXPECT_EQ(GetRpcError(s3)->kind, RpcErrorKind::kLimitExceeded);

  const Status s4 = rpc->ChainId().status();
  ASSERT_TRUE(GetRpcError(s4)) << s4.ToString();
  EXPECT_EQ(GetRpcError(s4)->kind, RpcErrorKind::kNonceTooLow);  // the text does say "nonce too low"
  EXPECT_EQ(GetRpcError(s4)->code, -32000);                       // but the code is the node's
  EXPECT_EQ(s4.message().find('\n'), std::string::npos);
}

TEST(RpcHostile, CallChecksItsOwnArguments) {
  FakeServer server([](const json& req, size_t) { return JsonReply(req, {{"result", true}}); });
  auto rpc = Client(server.url());
  EXPECT_EQ(rpc->Call("", json::array()).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(rpc->Call("eth chainId", json::array()).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(rpc->Call("eth_chainId", json("x")).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(rpc->Call("eth_x", json::array({std::string("\xff\xfe")})).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(rpc->SendRawTransaction({}).status().code(), StatusCode::kInvalidArgument);
  StatusOr<json> ok = rpc->Call("evm_mine", json::object());
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(*ok, json(true));
}

TEST(RpcHostile, ConcurrentCallersShareOneConnection) {
  FakeServer server([](const json& req, size_t) { return JsonReply(req, {{"result", req["params"][0]}}); });
  auto rpc = Client(server.url());
  std::vector<std::thread> threads;
  std::atomic<int> good{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        const std::string v = U256(static_cast<uint64_t>(t * 1000 + i + 1)).ToHex();
        StatusOr<json> r = rpc->Call("echo", json::array({v}));
        if (r.ok() && *r == json(v)) ++good;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(good.load(), 100);
  EXPECT_EQ(rpc->connections_opened(), 1u);
}

// ---------------------------------------------------------------------------------------
// HTTPS: a TLS server of this file with a throwaway self-signed certificate for 127.0.0.1.

class TlsServer {
 public:
  explicit TlsServer(const std::string& dir) : ctx_(boost::asio::ssl::context::tls_server), acceptor_(io_) {
    ctx_.use_certificate_chain_file(dir + "/cert.pem");
    ctx_.use_private_key_file(dir + "/key.pem", boost::asio::ssl::context::pem);
    const boost::asio::ip::tcp::endpoint ep(boost::asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(ep.protocol());
    acceptor_.bind(ep);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { Serve(); });
  }
  ~TlsServer() {
    stop_ = true;
    // Wake the blocking accept.
    boost::system::error_code ec;
    boost::asio::ip::tcp::socket poke(io_);
    poke.connect(acceptor_.local_endpoint(), ec);
    thread_.join();
  }
  uint16_t port() const { return port_; }

 private:
  void Serve() {
    namespace http = boost::beast::http;
    while (!stop_) {
      boost::system::error_code ec;
      boost::asio::ip::tcp::socket sock(io_);
      acceptor_.accept(sock, ec);
      if (ec || stop_) continue;
      boost::asio::ssl::stream<boost::asio::ip::tcp::socket> stream(std::move(sock), ctx_);
      stream.handshake(boost::asio::ssl::stream_base::server, ec);
      if (ec) continue;  // an untrusting client aborts here
      boost::beast::flat_buffer buffer;
      for (;;) {
        http::request<http::string_body> req;
        http::read(stream, buffer, req, ec);
        if (ec) break;
        const json in = json::parse(req.body(), nullptr, false);
        http::response<http::string_body> res{http::status::ok, 11};
        res.set(http::field::content_type, "application/json");
        res.body() = json{{"jsonrpc", "2.0"}, {"id", in.is_object() ? in["id"] : json()}, {"result", "0x7a69"}}.dump();
        res.prepare_payload();
        http::write(stream, res, ec);
        if (ec) break;
      }
    }
  }

  boost::asio::io_context io_;
  boost::asio::ssl::context ctx_;
  boost::asio::ip::tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

TEST(RpcTls, HttpsWithATrustedCertificateAndRefusalOtherwise) {
  char tmpl[] = "/tmp/vp-rpc-tls-XXXXXX";
  const char* made = ::mkdtemp(tmpl);
  ASSERT_NE(made, nullptr);
  const std::string dir = made;
  int st = -1;
  const std::string gen = vp::testing::RunCapture(
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=127.0.0.1 "
      "-addext subjectAltName=IP:127.0.0.1 -days 1 -keyout " + dir + "/key.pem -out " + dir + "/cert.pem 2>&1", &st);
  ASSERT_EQ(st, 0) << gen;
  {
    TlsServer server(dir);
    const std::string url = "https://127.0.0.1:" + std::to_string(server.port()) + "/";
    RpcOptions trusting;
    trusting.ca_file = dir + "/cert.pem";
    auto rpc = Client(url, trusting);
    for (int i = 0; i < 3; ++i) {
      StatusOr<U256> id = rpc->ChainId();
      ASSERT_TRUE(id.ok()) << id.status().ToString();
      EXPECT_EQ(*id, U256(31337));
    }
    EXPECT_EQ(rpc->connections_opened(), 1u);
    rpc.reset();  // the server serves one connection at a time

    // The system CAs do not know this certificate.
    auto untrusting = Client(url);
    const Status refused = untrusting->ChainId().status();
    ExpectError(refused, StatusCode::kUnavailable, "tls handshake");
    EXPECT_EQ(refused.message().find("timed out"), std::string::npos) << refused.ToString();
    untrusting.reset();
    // Plain HTTP to a TLS port gets no JSON-RPC answer.
    auto plain = Client("http://127.0.0.1:" + std::to_string(server.port()));
    EXPECT_EQ(plain->ChainId().status().code(), StatusCode::kUnavailable);
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

// ---------------------------------------------------------------------------------------
// A real Hardhat node (tests/chain): started once for the suite on a free port; each test
// runs between evm_snapshot and evm_revert so tests do not see each other's transactions.

// Hardhat's default accounts (mnemonic "test test ... junk"): #0 and #1.
constexpr std::string_view kKey0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
constexpr std::string_view kAddr0 = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
constexpr std::string_view kAddr1 = "0x70997970C51812dc3a010c7d01b50E9D17DC79C8";
const U256 kOneEther = U256(1000000000000000000ull);

class Hardhat : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { error_ = node_.Start(); }
  static void TearDownTestSuite() { node_.Stop(); }

  void SetUp() override {
    ASSERT_TRUE(error_.empty()) << error_;
    rpc_ = Client(url());
    ASSERT_TRUE(rpc_);
    StatusOr<json> snap = rpc_->Call("evm_snapshot", json::array());
    ASSERT_TRUE(snap.ok()) << snap.status().ToString();
    snapshot_ = *snap;
    StatusOr<Bytes> key = HexDecode(kKey0);
    StatusOr<Address> a0 = Address::Parse(kAddr0);
    StatusOr<Address> a1 = Address::Parse(kAddr1);
    ASSERT_TRUE(key.ok() && a0.ok() && a1.ok());
    key_ = *key;
    addr0_ = *a0;
    addr1_ = *a1;
  }

  void TearDown() override {
    if (!rpc_) return;
    EXPECT_TRUE(rpc_->Call("evm_setAutomine", json::array({true})).ok());
    StatusOr<json> reverted = rpc_->Call("evm_revert", json::array({snapshot_}));
    EXPECT_TRUE(reverted.ok() && *reverted == json(true)) << reverted.status().ToString();
  }

  static std::string url() { return node_.url(); }

  // An EIP-1559 transfer from account #0, fees from eth_feeHistory.
  eth::Transaction Transfer(uint64_t nonce, const U256& value) {
    eth::Transaction tx;
    tx.type = eth::TxType::kDynamicFee;
    tx.chain_id = 1337;
    tx.nonce = nonce;
    tx.to = addr1_;
    tx.value = value;
    tx.gas_limit = 21000;
    StatusOr<FeeHistory> fees = rpc_->GetFeeHistory(4, {50});
    EXPECT_TRUE(fees.ok()) << fees.status().ToString();
    const U256 tip = fees.ok() && fees->suggested_priority_fee ? *fees->suggested_priority_fee : U256(1000000000);
    tx.max_priority_fee_per_gas = tip;
    tx.max_fee_per_gas = (fees.ok() ? fees->next_base_fee_per_gas + fees->next_base_fee_per_gas : U256(0)) + tip;
    return tx;
  }

  eth::SignedTransaction Sign(const eth::Transaction& tx, ByteSpan key) {
    StatusOr<eth::SignedTransaction> st = eth::SignTransaction(tx, key);
    EXPECT_TRUE(st.ok()) << st.status().ToString();
    return st.ok() ? *st : eth::SignedTransaction{};
  }

  static inline testing::HardhatNode node_;
  static inline std::string error_ = "not started";

  std::unique_ptr<RpcClient> rpc_;
  json snapshot_;
  Bytes key_;
  Address addr0_;
  Address addr1_;
};

TEST_F(Hardhat, ChainIdBlockNumberAndFundedAccount) {
  StatusOr<U256> id = rpc_->ChainId();
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(*id, U256(1337));
  EXPECT_TRUE(rpc_->BlockNumber().ok());
  StatusOr<uint64_t> nonce = rpc_->GetTransactionCount(addr0_, BlockTag::kPending);
  ASSERT_TRUE(nonce.ok()) << nonce.status().ToString();
  EXPECT_EQ(*nonce, 0u);
  StatusOr<U256> balance = rpc_->GetBalance(addr0_);
  ASSERT_TRUE(balance.ok()) << balance.status().ToString();
  EXPECT_EQ(balance->ToDecimal(), "10000000000000000000000");  // hardhat.config.js accountsBalance
  StatusOr<U256> gas_price = rpc_->GasPrice();
  ASSERT_TRUE(gas_price.ok()) << gas_price.status().ToString();
  EXPECT_FALSE(gas_price->IsZero());
  StatusOr<U256> tip = rpc_->MaxPriorityFeePerGas();
  ASSERT_TRUE(tip.ok()) << tip.status().ToString();
  EXPECT_FALSE(tip->IsZero());
}

TEST_F(Hardhat, SignedDynamicFeeTransferIsMinedAndAccounted) {
  ASSERT_EQ(eth::Address::FromPrivateKey(key_)->ToChecksumHex(), kAddr0);
  const U256 before0 = *rpc_->GetBalance(addr0_);
  const U256 before1 = *rpc_->GetBalance(addr1_);
  const uint64_t nonce = *rpc_->GetTransactionCount(addr0_, BlockTag::kPending);

  eth::Transaction tx = Transfer(nonce, kOneEther);
  StatusOr<U256> gas = rpc_->EstimateGas(CallRequest::FromTransaction(tx, addr0_));
  ASSERT_TRUE(gas.ok()) << gas.status().ToString();
  // Hardhat's estimate of a plain transfer is 21001 (its binary search stops one above).
  EXPECT_GE(*gas, U256(21000));
  EXPECT_LE(*gas, U256(21100));
  tx.gas_limit = *gas;
  const eth::SignedTransaction st = Sign(tx, key_);

  StatusOr<crypto::Hash256> hash = rpc_->SendRawTransaction(st.raw);
  ASSERT_TRUE(hash.ok()) << hash.status().ToString();
  EXPECT_EQ(*hash, st.hash);

  StatusOr<std::optional<Receipt>> receipt = rpc_->GetTransactionReceipt(*hash);
  ASSERT_TRUE(receipt.ok()) << receipt.status().ToString();
  ASSERT_TRUE(receipt->has_value());
  const Receipt& r = **receipt;
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.gas_used, U256(21000));
  EXPECT_FALSE(r.contract_address.has_value());
  EXPECT_LE(r.effective_gas_price, tx.max_fee_per_gas);
  EXPECT_EQ(r.block_number, *rpc_->BlockNumber());

  EXPECT_EQ(*rpc_->GetTransactionCount(addr0_, BlockTag::kLatest), nonce + 1);
  EXPECT_EQ(*rpc_->GetBalance(addr1_), before1 + kOneEther);
  U256 fee;
  ASSERT_TRUE(r.gas_used.FitsUint64());
  ASSERT_TRUE(r.effective_gas_price.MulSmallChecked(r.gas_used.Low64(), &fee));
  EXPECT_EQ(*rpc_->GetBalance(addr0_), before0 - kOneEther - fee);

  StatusOr<std::optional<TransactionInfo>> info = rpc_->GetTransactionByHash(*hash);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  ASSERT_TRUE(info->has_value());
  EXPECT_EQ((*info)->type, 2);
  EXPECT_EQ((*info)->nonce, nonce);
  EXPECT_EQ((*info)->from, addr0_);
  EXPECT_EQ((*info)->to, addr1_);
  EXPECT_EQ((*info)->value, kOneEther);
  EXPECT_EQ((*info)->max_fee_per_gas, tx.max_fee_per_gas);
  EXPECT_EQ((*info)->block_number, r.block_number);
  EXPECT_EQ((*info)->block_hash, r.block_hash);

  // Everything above went over one kept-alive connection.
  EXPECT_EQ(rpc_->connections_opened(), 1u);
}

TEST_F(Hardhat, ReusedNonceIsClassifiedAsNonceTooLow) {
  const eth::SignedTransaction first = Sign(Transfer(0, 1), key_);
  ASSERT_TRUE(rpc_->SendRawTransaction(first.raw).ok());
  // The same bytes again, and another transaction with the mined nonce.
  for (const eth::SignedTransaction& again : {first, Sign(Transfer(0, 2), key_)}) {
    const Status s = rpc_->SendRawTransaction(again.raw).status();
    EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
    EXPECT_TRUE(IsNonceTooLow(s)) << s.ToString();
    ASSERT_TRUE(GetRpcError(s)) << s.ToString();
    std::cout << "[ node     ] " << s.message() << "\n";
  }
}

TEST_F(Hardhat, NonceGapIsNonceTooHighWhenAutomining) {
  const Status s = rpc_->SendRawTransaction(Sign(Transfer(5, 1), key_).raw).status();
  EXPECT_TRUE(IsNonceTooHigh(s)) << s.ToString();
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
}

TEST_F(Hardhat, StuckTransactionWithAutomineOff) {
  ASSERT_TRUE(rpc_->Call("evm_setAutomine", json::array({false})).ok());
  const eth::Transaction tx = Transfer(0, 7);
  const eth::SignedTransaction st = Sign(tx, key_);
  StatusOr<crypto::Hash256> hash = rpc_->SendRawTransaction(st.raw);
  ASSERT_TRUE(hash.ok()) << hash.status().ToString();

  // Pending: no receipt, the transaction is known without a block, the pending nonce moved.
  StatusOr<std::optional<Receipt>> receipt = rpc_->GetTransactionReceipt(*hash);
  ASSERT_TRUE(receipt.ok()) << receipt.status().ToString();
  EXPECT_FALSE(receipt->has_value());
  StatusOr<std::optional<TransactionInfo>> info = rpc_->GetTransactionByHash(*hash);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  ASSERT_TRUE(info->has_value());
  EXPECT_FALSE((*info)->block_number.has_value());
  EXPECT_EQ(*rpc_->GetTransactionCount(addr0_, BlockTag::kPending), 1u);
  EXPECT_EQ(*rpc_->GetTransactionCount(addr0_, BlockTag::kLatest), 0u);

  // The same bytes again: already known. Same nonce, same fees: replacement underpriced.
  Status s = rpc_->SendRawTransaction(st.raw).status();
  EXPECT_TRUE(IsAlreadyKnown(s)) << s.ToString();
  eth::Transaction same_fees = tx;
  same_fees.value = 8;
  s = rpc_->SendRawTransaction(Sign(same_fees, key_).raw).status();
  ASSERT_TRUE(GetRpcError(s)) << s.ToString();
  EXPECT_EQ(GetRpcError(s)->kind, RpcErrorKind::kReplacementUnderpriced) << s.ToString();

  // A bumped fee replaces it; mining includes the replacement, not the original.
  eth::Transaction bumped = tx;
  bumped.max_fee_per_gas = tx.max_fee_per_gas + tx.max_fee_per_gas;
  bumped.max_priority_fee_per_gas = tx.max_priority_fee_per_gas + tx.max_priority_fee_per_gas;
  const eth::SignedTransaction replacement = Sign(bumped, key_);
  ASSERT_TRUE(rpc_->SendRawTransaction(replacement.raw).ok());
  ASSERT_TRUE(rpc_->Call("evm_mine", json::array()).ok());
  receipt = rpc_->GetTransactionReceipt(replacement.hash);
  ASSERT_TRUE(receipt.ok() && receipt->has_value()) << receipt.status().ToString();
  EXPECT_EQ((*receipt)->status, 1);
  receipt = rpc_->GetTransactionReceipt(st.hash);
  ASSERT_TRUE(receipt.ok()) << receipt.status().ToString();
  EXPECT_FALSE(receipt->has_value());
}

TEST_F(Hardhat, EmptyAccountHasInsufficientFunds) {
  Bytes key(32, 0);
  key[31] = 1;  // private key 1: a valid key that Hardhat never funds
  const Status s = rpc_->SendRawTransaction(Sign(Transfer(0, 1), key).raw).status();
  ASSERT_TRUE(GetRpcError(s)) << s.ToString();
  EXPECT_EQ(GetRpcError(s)->kind, RpcErrorKind::kInsufficientFunds) << s.ToString();
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
}

TEST_F(Hardhat, FeeCapBelowBaseFeeIsFeeTooLow) {
  eth::Transaction tx = Transfer(0, 1);
  tx.max_fee_per_gas = 1;
  tx.max_priority_fee_per_gas = 1;
  const Status s = rpc_->SendRawTransaction(Sign(tx, key_).raw).status();
  ASSERT_TRUE(GetRpcError(s)) << s.ToString();
  EXPECT_EQ(GetRpcError(s)->kind, RpcErrorKind::kFeeTooLow) << s.ToString();
}

TEST_F(Hardhat, EstimateGas) {
  CallRequest transfer;
  transfer.from = addr0_;
  transfer.to = addr1_;
  transfer.value = kOneEther;
  StatusOr<U256> gas = rpc_->EstimateGas(transfer);
  ASSERT_TRUE(gas.ok()) << gas.status().ToString();
  EXPECT_GE(*gas, U256(21000));  // 21001 from Hardhat, see above
  EXPECT_LE(*gas, U256(21100));

  // Calldata to an account without code costs 21000 + 16 per non-zero byte + 4 per zero
  // byte (EIP-2028); with Prague's floor (EIP-7623) at most 10 per token more.
  transfer.data = {0x01, 0x00};
  gas = rpc_->EstimateGas(transfer);
  ASSERT_TRUE(gas.ok()) << gas.status().ToString();
  EXPECT_GE(*gas, U256(21000 + 16 + 4));

  // Init code PUSH1 0 PUSH1 0 REVERT: the creation reverts.
  CallRequest reverting;
  reverting.from = addr0_;
  reverting.data = {0x60, 0x00, 0x60, 0x00, 0xfd};
  const Status s = rpc_->EstimateGas(reverting).status();
  ASSERT_TRUE(GetRpcError(s)) << s.ToString();
  EXPECT_EQ(GetRpcError(s)->kind, RpcErrorKind::kExecutionReverted) << s.ToString();
}

TEST_F(Hardhat, FeeHistory) {
  ASSERT_TRUE(rpc_->SendRawTransaction(Sign(Transfer(0, 1), key_).raw).ok());
  ASSERT_TRUE(rpc_->SendRawTransaction(Sign(Transfer(1, 1), key_).raw).ok());
  const uint64_t head = *rpc_->BlockNumber();
  StatusOr<FeeHistory> h = rpc_->GetFeeHistory(4, {10, 50, 90});
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  const size_t n = h->gas_used_ratio.size();
  ASSERT_GE(n, 1u);
  EXPECT_EQ(h->oldest_block + n - 1, head);
  EXPECT_EQ(h->base_fee_per_gas.size(), n + 1);
  EXPECT_EQ(h->reward.size(), n);
  EXPECT_EQ(h->next_base_fee_per_gas, h->base_fee_per_gas.back());
  EXPECT_FALSE(h->next_base_fee_per_gas.IsZero());
  ASSERT_TRUE(h->suggested_priority_fee.has_value());
  EXPECT_FALSE(h->suggested_priority_fee->IsZero());

  // Without percentiles: no reward, no suggestion.
  h = rpc_->GetFeeHistory(1, {});
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_FALSE(h->suggested_priority_fee.has_value());
}

TEST_F(Hardhat, UnknownHashesAreNullopt) {
  const crypto::Hash256 unknown = crypto::Keccak256(AsBytes("never sent"));
  StatusOr<std::optional<Receipt>> receipt = rpc_->GetTransactionReceipt(unknown);
  ASSERT_TRUE(receipt.ok()) << receipt.status().ToString();
  EXPECT_FALSE(receipt->has_value());
  StatusOr<std::optional<TransactionInfo>> info = rpc_->GetTransactionByHash(unknown);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_FALSE(info->has_value());
}

TEST_F(Hardhat, NodeRefusalsOfBadRequests) {
  Status s = rpc_->SendRawTransaction(Bytes{0x12, 0x34}).status();
  ASSERT_TRUE(GetRpcError(s)) << s.ToString();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();  // -32602 invalid params
  s = rpc_->Call("vp_noSuchMethod", json::array()).status();
  ASSERT_TRUE(GetRpcError(s)) << s.ToString();
  EXPECT_EQ(GetRpcError(s)->kind, RpcErrorKind::kMethodNotFound) << s.ToString();
}

}  // namespace
}  // namespace vp::wallet
