// Crash safety of custody (issue 5, "A crash test that kills the gateway and the signer while
// transfers are in flight"), with kill -9 of real processes: the real `vaultproof serve` (its
// launcher runs the kms and signer children) on SQLite in a temp dir, in front of a real
// Hardhat node (tests/chain). Client threads send transfers (EIP-1559 and legacy, each with
// an amount of its own, so each is recognisable on chain) with an Idempotency-Key each;
// meanwhile the signer is SIGKILLed (the launcher restarts it), then the gateway itself
// (its children must die with it: no orphan kms or signer), and the gateway is started
// again on the same data dir and config. A second round kills the gateway while the node
// holds a sent transaction whose answer has not reached the broadcaster (a relay in front
// of the node keeps eth_sendRawTransaction's answers back). Then every transfer must end
// exactly once: each acknowledged one exists and is confirmed; the sender's nonces 0..k-1
// each carry exactly one mined transaction; the mined (to, value) pairs are the recorded
// transfers, without duplicates; recipients hold exactly the sums; no hash is confirmed for
// two records; requests that got no answer (or a 5xx) are retried with their key and come
// back as the same record, or do not exist at all. Two disabled tests hold what this one
// found outside the broadcaster: a signer that outlives its gateway when run as root, and
// an Idempotency-Key left in progress by a kill that later makes a second transfer.
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "../http/gateway_test_util.h"
#include "vp/base/bytes.h"
#include "vp/eth/address.h"
#include "vp/eth/transaction.h"
#include "vp/eth/uint256.h"
#include "vp/store/db.h"
#include "vp/wallet/hardhat_fixture.h"
#include "vp/wallet/http_post.h"
#include "vp/wallet/rpc.h"

namespace {

using namespace vp::gateway_test;
using nlohmann::json;
using vp::StatusOr;
using vp::eth::Address;
using vp::eth::U256;
using namespace std::chrono_literals;

constexpr uint64_t kChain = 1337;  // tests/chain/hardhat.config.js
// Hardhat's default account #0 (mnemonic "test test ... junk"), the faucet of this test.
constexpr std::string_view kKey0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
constexpr std::string_view kAddr0 = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";

// ---------------------------------------------------------------------------------------
// Processes, seen through /proc.

struct ProcInfo {
  pid_t ppid = 0;
  char state = '?';
};

// /proc/<pid>/stat's state and parent; nullopt when the process is gone.
std::optional<ProcInfo> ReadProc(pid_t pid) {
  const std::string stat = vp::testing::ReadFile("/proc/" + std::to_string(pid) + "/stat");
  const size_t paren = stat.rfind(')');  // the command name may hold spaces and parentheses
  if (paren == std::string::npos || paren + 4 >= stat.size()) return std::nullopt;
  ProcInfo p;
  p.state = stat[paren + 2];
  p.ppid = static_cast<pid_t>(std::atol(stat.c_str() + paren + 4));
  return p;
}

// A process that has exited (gone, or a zombie nobody has reaped yet) is not alive.
bool Alive(pid_t pid) {
  const std::optional<ProcInfo> p = ReadProc(pid);
  return p && p->state != 'Z' && p->state != 'X';
}

std::set<pid_t> ChildrenOf(pid_t parent) {
  std::set<pid_t> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = e.path().filename().string();
    if (name.empty() || !std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; })) continue;
    const pid_t pid = static_cast<pid_t>(std::atol(name.c_str()));
    const std::optional<ProcInfo> p = ReadProc(pid);
    if (p && p->ppid == parent && p->state != 'Z') out.insert(pid);
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// A JSON-RPC relay in front of the Hardhat node: the chain's rpcUrl in this test. It passes
// every request through; while Hold(true) it still forwards eth_sendRawTransaction to the
// node (which mines it at once) but keeps the answer back until Hold(false), so the gateway
// can be killed after the node took a transaction and before the broadcaster heard so.
class Relay {
 public:
  explicit Relay(std::string upstream) : upstream_(std::move(upstream)) {
    fd_ = vp::testing::ListenLoopback(&port_, 64);
    if (fd_ >= 0) acceptor_ = std::thread([this] { Accept(); });
  }
  ~Relay() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
      hold_ = false;
    }
    cv_.notify_all();
    if (acceptor_.joinable()) acceptor_.join();
    for (std::thread& t : connections_) t.join();
    if (fd_ >= 0) ::close(fd_);
  }
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  bool listening() const { return fd_ >= 0; }
  void Hold(bool on) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      hold_ = on;
    }
    cv_.notify_all();
  }
  // Sends forwarded to the node while holding (their answers kept back, or dropped).
  int held_sends() const { return held_sends_.load(); }

 private:
  bool Readable(int fd) {
    while (!stop_flag_.load()) {
      pollfd p{fd, POLLIN, 0};
      const int r = ::poll(&p, 1, 50);
      if (r > 0) return true;
      if (r < 0 && errno != EINTR) return false;
    }
    return false;
  }

  void Accept() {
    for (;;) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stop_) break;
      }
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      connections_.emplace_back([this, c] { Serve(c); });
    }
    stop_flag_ = true;
  }

  // One keep-alive connection: requests framed by Content-Length, answers likewise.
  void Serve(int fd) {
    std::string pending;
    for (;;) {
      size_t end;
      while ((end = pending.find("\r\n\r\n")) == std::string::npos) {
        if (!Readable(fd)) return Close(fd);
        char buf[16384];
        const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
        if (n <= 0) return Close(fd);
        pending.append(buf, static_cast<size_t>(n));
      }
      std::string head = pending.substr(0, end);
      for (char& ch : head) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      const size_t cl = head.find("content-length:");
      const size_t length = cl == std::string::npos ? 0 : std::strtoul(head.c_str() + cl + 15, nullptr, 10);
      while (pending.size() < end + 4 + length) {
        if (!Readable(fd)) return Close(fd);
        char buf[16384];
        const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
        if (n <= 0) return Close(fd);
        pending.append(buf, static_cast<size_t>(n));
      }
      const std::string body = pending.substr(end + 4, length);
      pending.erase(0, end + 4 + length);

      vp::wallet::HttpOptions o;
      o.keep_alive = false;
      StatusOr<vp::wallet::HttpResponse> answer = vp::wallet::HttpPost(upstream_, {}, body, o);
      const json request = json::parse(body, nullptr, false);
      if (request.is_object() && request.value("method", "") == "eth_sendRawTransaction") {
        std::unique_lock<std::mutex> lock(mu_);
        if (hold_) {
          ++held_sends_;
          cv_.wait(lock, [&] { return !hold_ || stop_; });
          // The broadcaster that asked is dead by now: its answer goes nowhere.
          lock.unlock();
          return Close(fd);
        }
      }
      std::string out;
      if (answer.ok()) {
        out = "HTTP/1.1 " + std::to_string(answer->status) + " OK\r\nContent-Type: application/json\r\nContent-Length: " +
              std::to_string(answer->body.size()) + "\r\n\r\n" + answer->body;
      } else {
        out = "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n";
      }
      if (!SendAll(fd, out)) return Close(fd);
    }
  }
  static void Close(int fd) { ::close(fd); }

  std::string upstream_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::thread acceptor_;
  std::vector<std::thread> connections_;  // touched by the acceptor only, joined after it
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool hold_ = false;
  std::atomic<bool> stop_flag_{false};
  std::atomic<int> held_sends_{0};
};

// ---------------------------------------------------------------------------------------

// One transfer as the client sees it.
struct Transfer {
  size_t index = 0;
  Address to;
  U256 value;
  int type = 2;
  std::string key;  // Idempotency-Key
  int first_status = -1;  // -1: not sent yet; 0: no response
  bool acked = false;     // some attempt got a 2xx
  std::string id;         // the record id, once an answer named it
  std::string retry_outcome;  // for the unanswered ones: replayed, created, in_progress
};

class CustodyCrash : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { node_error_ = node_.Start(); }
  static void TearDownTestSuite() { node_.Stop(); }

  void SetUp() override {
    ASSERT_TRUE(node_error_.empty()) << node_error_;
    auto rpc = vp::wallet::RpcClient::Create(node_.url());
    ASSERT_TRUE(rpc.ok()) << rpc.status().ToString();
    rpc_ = std::move(*rpc);
    relay_ = std::make_unique<Relay>(node_.url());
    ASSERT_TRUE(relay_->listening());
    // Short leases: the jobs a killed gateway held are taken over 2 s later.
    server_ = std::make_unique<Server>(R"(
[worker]
threads = 2
visibility_ms = 2000
[rate_limits]
per_key_limit = 100000
per_ip_limit = 100000
)");
    ASSERT_NE(server_->port(), 0) << "vaultproof serve did not start (VP_BIN_DIR=" << BinDir() << ")";
    port_ = server_->port();
    admin_ = server_->CreateKey("admin");
    operator_ = server_->CreateKey("operator");
    ASSERT_FALSE(admin_.id.empty() || operator_.id.empty());
  }

  void TearDown() override {
    if (relay_) relay_->Hold(false);
    if (server_) server_->Stop();
    server_.reset();
    relay_.reset();
  }

  HttpResponse Call(const Key& k, const std::string& method, const std::string& path, const std::string& body = "",
                    const std::string& query = "", const std::string& headers = "") {
    const uint16_t port = port_.load();
    if (port == 0) return {};
    return RawExchange(port, SignedRequest(k, method, path, query, body, NowS(), headers));
  }

  // Signed by account #0 and mined at once (automine).
  void Fund(const Address& to, const U256& wei) {
    StatusOr<vp::Bytes> key = vp::HexDecode(kKey0);
    StatusOr<Address> from = Address::Parse(kAddr0);
    ASSERT_TRUE(key.ok() && from.ok());
    StatusOr<uint64_t> nonce = rpc_->GetTransactionCount(*from, vp::wallet::BlockTag::kPending);
    ASSERT_TRUE(nonce.ok()) << nonce.status().ToString();
    vp::eth::Transaction tx;
    tx.type = vp::eth::TxType::kDynamicFee;
    tx.chain_id = U256(kChain);
    tx.nonce = *nonce;
    tx.to = to;
    tx.value = wei;
    tx.gas_limit = U256(21000);
    tx.max_priority_fee_per_gas = U256(1000000000);
    tx.max_fee_per_gas = U256(100000000000ull);
    StatusOr<vp::eth::SignedTransaction> st = vp::eth::SignTransaction(tx, *key);
    ASSERT_TRUE(st.ok()) << st.status().ToString();
    StatusOr<vp::crypto::Hash256> hash = rpc_->SendRawTransaction(st->raw);
    ASSERT_TRUE(hash.ok()) << hash.status().ToString();
  }

  U256 Balance(const Address& a) {
    StatusOr<U256> b = rpc_->GetBalance(a);
    EXPECT_TRUE(b.ok()) << b.status().ToString();
    return b.ok() ? *b : U256(0);
  }

  static Address Recipient(uint8_t tag) {
    vp::Bytes b(20, 0xc5);
    b[19] = tag;
    StatusOr<Address> a = Address::Parse(vp::HexEncode(b, true));
    return a.ok() ? *a : Address();
  }

  void CreateWallet(const std::string& name) {
    HttpResponse w = Call(operator_, "POST", "/v1/wallets", json{{"name", name}, {"chain", "evm"}, {"kind", "single"}}.dump());
    ASSERT_EQ(w.status, 201) << w.body;
    wallet_id_ = w.Json()["data"].value("id", "");
    StatusOr<Address> addr = Address::Parse(w.Json()["data"].value("address", ""));
    ASSERT_TRUE(addr.ok()) << w.body;
    wallet_ = *addr;
  }

  // Puts the store into the state a kill -9 between a handler's commit and the key's
  // completion leaves, 6 minutes on (past the 5-minute in-progress timeout), and runs
  // `also` (SQL) in the same transaction.
  void AbandonKey(const std::string& key, const std::string& also) {
    StatusOr<std::unique_ptr<vp::store::Db>> db = vp::store::OpenDb(server_->dir() + "/vaultproof.db");
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    const int64_t six_minutes_ago = NowS() * 1000 - 6 * 60 * 1000;
    const vp::Status s = (*db)->Transact(vp::store::TxMode::kWrite, [&](vp::store::Conn& c) -> vp::Status {
      RETURN_IF_ERROR(c.Exec("UPDATE idempotency_keys SET state = 'in_progress', status_code = NULL, content_type = NULL,"
                             " body = NULL, created_at = $1, updated_at = $1 WHERE idem_key = $2",
                             {vp::store::Value(six_minutes_ago), vp::store::Value(key)}));
      if (!also.empty()) RETURN_IF_ERROR(c.Exec(also, {}));
      return vp::OkStatus();
    });
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  std::string TransfersPath() const { return "/v1/wallets/" + wallet_id_ + "/transactions"; }

  static json Body(const Transfer& t) {
    json b = {{"to", t.to.ToChecksumHex()}, {"value", t.value.ToDecimal()}, {"chainId", kChain}, {"broadcast", true}};
    if (t.type == 0) b["type"] = 0;  // legacy: gasPrice from eth_gasPrice
    return b;
  }

  HttpResponse Post(const Transfer& t) {
    return Call(operator_, "POST", TransfersPath(), Body(t).dump(), "", "Idempotency-Key: " + t.key + "\r\n");
  }

  // The launcher's view of its children (GET /v1/custody/health); nullopt while the
  // signer is down.
  std::optional<json> Launcher() {
    HttpResponse r = Call(operator_, "GET", "/v1/custody/health");
    if (r.status != 200) return std::nullopt;
    return r.Json()["data"]["launcher"];
  }

  // Sends transfers [from, to) of `all` from `threads` client threads, each one only once
  // the main thread allowed it (Allow) and while the gateway is up.
  void Send(std::vector<Transfer>& all, size_t from, size_t to, size_t threads) {
    std::atomic<size_t> next{from};
    std::vector<std::thread> clients;
    for (size_t c = 0; c < threads; ++c) {
      clients.emplace_back([&] {
        for (size_t i = next++; i < to; i = next++) {
          {
            std::unique_lock<std::mutex> lock(mu_);
            cv_.wait(lock, [&] { return abandon_ || (i < allowed_ && port_.load() != 0); });
            if (abandon_) return;
          }
          Transfer& t = all[i];
          HttpResponse r = Post(t);
          std::lock_guard<std::mutex> lock(mu_);
          t.first_status = r.ok ? r.status : 0;
          if (r.ok && r.status == 201) {
            t.acked = true;
            t.id = r.Json()["data"].value("id", "");
            ++acked_;
          } else {
            ++unanswered_;
          }
          cv_.notify_all();
        }
      });
    }
    for (std::thread& c : clients) c.join();
  }

  void Allow(size_t n) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      allowed_ = n;
    }
    cv_.notify_all();
  }

  // Waits (up to `timeout`) until `done` holds, re-checked on every answer.
  bool WaitUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, done);
  }

  // SIGKILL of the gateway. Its kms and signer should die with it (PR_SET_PDEATHSIG; the
  // test KillingTheGatewayKillsItsKmsAndSigner holds that); any that survives is killed
  // here, so that the restart is not confused by it. Returns the survivors.
  std::set<pid_t> KillGateway(const char* when) {
    const pid_t gateway = server_->pid();
    const std::set<pid_t> children = ChildrenOf(gateway);
    EXPECT_EQ(children.size(), 2u) << "the gateway should run a kms and a signer";
    port_ = 0;
    EXPECT_EQ(::kill(gateway, SIGKILL), 0);
    server_->Stop();  // reaps it (SIGTERM to a dead process is harmless)
    std::cout << "[ crash    ] gateway " << gateway << " killed " << when << "\n";
    const auto deadline = std::chrono::steady_clock::now() + 3s;
    std::set<pid_t> alive = children;
    while (!alive.empty() && std::chrono::steady_clock::now() < deadline) {
      for (auto it = alive.begin(); it != alive.end();) it = Alive(*it) ? std::next(it) : alive.erase(it);
      std::this_thread::sleep_for(20ms);
    }
    for (pid_t orphan : alive) {
      std::cout << "[ crash    ] orphan: child " << orphan << " of the killed gateway survived it; killed now\n";
      ::kill(orphan, SIGKILL);
    }
    return alive;
  }

  void RestartGateway() {
    server_->Start();
    ASSERT_NE(server_->port(), 0) << "vaultproof serve did not restart on its data dir";
    {
      std::lock_guard<std::mutex> lock(mu_);
      port_ = server_->port();
    }
    cv_.notify_all();
  }

  static inline vp::wallet::testing::HardhatNode node_;
  static inline std::string node_error_ = "not started";
  std::unique_ptr<vp::wallet::RpcClient> rpc_;
  std::unique_ptr<Relay> relay_;
  std::unique_ptr<Server> server_;
  std::atomic<uint16_t> port_{0};
  Key admin_, operator_;
  std::string wallet_id_;
  Address wallet_;
  std::mutex mu_;
  std::condition_variable cv_;
  size_t acked_ = 0, unanswered_ = 0;  // guarded by mu_
  size_t allowed_ = 0;                 // transfers the clients may send; guarded by mu_
  bool abandon_ = false;               // a failed assertion ended the test: clients stop; guarded by mu_
};

// The launcher's children must not outlive a gateway killed with SIGKILL: a signer left
// running keeps unwrapped data keys in memory with nobody to stop it. (Found by this test: as
// root the signer drops to its own uid, and the kernel clears the parent-death signal on that
// credential change; hardening.cc now re-arms it after the change.)
TEST_F(CustodyCrash, KillingTheGatewayKillsItsKmsAndSigner) {
  std::optional<json> launcher = Launcher();
  ASSERT_TRUE(launcher.has_value());
  const pid_t signer = (*launcher)["signer"].value("pid", 0);
  const pid_t kms = (*launcher)["kms"].value("pid", 0);
  ASSERT_GT(signer, 0);
  ASSERT_GT(kms, 0);
  EXPECT_EQ(ChildrenOf(server_->pid()), (std::set<pid_t>{signer, kms}));
  const std::set<pid_t> orphans = KillGateway("alone");
  EXPECT_EQ(orphans.count(kms), 0u) << "the kms survived the gateway";
  EXPECT_EQ(orphans.count(signer), 0u) << "the signer survived the gateway";
}

// Found by the crash test below: the gateway reserves an Idempotency-Key, runs the handler,
// which commits the transfer, and stores the response afterwards in a store transaction of
// its own. A kill -9 between the two commits leaves the key `in_progress` with the transfer
// recorded; after 5 minutes the key counts as abandoned and a retry runs the handler again.
// The key is now written on the record in the creating transaction (migration 17), so that
// retry returns the first transfer (and the first wallet). Here the store is put back into
// the state such a kill leaves, 6 minutes on.
TEST_F(CustodyCrash, AKeyLeftInProgressByACrashNeverCreatesASecondTransfer) {
  CreateWallet("idem");
  const json body = {{"to", Recipient(9).ToChecksumHex()}, {"value", "1234"},          {"chainId", kChain},
                     {"nonce", 0},                         {"gasLimit", 21000},        {"maxFeePerGas", "2000000000"},
                     {"maxPriorityFeePerGas", "1000000000"}};
  const std::string key = "idem-" + std::to_string(::getpid());
  HttpResponse first = Call(operator_, "POST", TransfersPath(), body.dump(), "", "Idempotency-Key: " + key + "\r\n");
  ASSERT_EQ(first.status, 201) << first.body;
  const std::string id = first.Json()["data"].value("id", "");
  ASSERT_EQ(first.Json()["data"].value("status", ""), "signed") << first.body;
  const std::string raw = first.Json()["data"].value("raw", "");
  // The key abandoned 6 minutes ago, and the transfer as a kill between its insert and its
  // signature leaves it: approved, unsigned.
  AbandonKey(key, "UPDATE wallet_transactions SET status = 'approved', raw = '', hash = '' WHERE id = '" + id + "'");
  HttpResponse retry = Call(operator_, "POST", TransfersPath(), body.dump(), "", "Idempotency-Key: " + key + "\r\n");
  EXPECT_EQ(retry.status, 201) << retry.body;
  EXPECT_EQ(retry.Json()["data"].value("id", ""), id) << "the retry created a second transfer";
  EXPECT_EQ(retry.Json()["data"].value("status", ""), "signed") << "the retry did not finish the transfer";
  EXPECT_EQ(retry.Json()["data"].value("raw", ""), raw) << "same fields, same deterministic signature";
  HttpResponse list = Call(operator_, "GET", "/v1/transactions", "", "walletId=" + wallet_id_);
  ASSERT_EQ(list.status, 200) << list.body;
  EXPECT_EQ(list.Json()["data"]["transactions"].size(), 1u) << list.body;

  // A wallet: the retry returns the first one and asks the signer for no second key.
  const std::string wkey = key + "-wallet";
  const std::string wbody = json{{"name", "idem-w"}, {"chain", "evm"}, {"kind", "hd"}}.dump();
  HttpResponse w1 = Call(operator_, "POST", "/v1/wallets", wbody, "", "Idempotency-Key: " + wkey + "\r\n");
  ASSERT_EQ(w1.status, 201) << w1.body;
  AbandonKey(wkey, "");
  HttpResponse w2 = Call(operator_, "POST", "/v1/wallets", wbody, "", "Idempotency-Key: " + wkey + "\r\n");
  EXPECT_EQ(w2.status, 201) << w2.body;
  EXPECT_EQ(w2.Json()["data"].value("id", "x"), w1.Json()["data"].value("id", "y")) << "a second wallet";
  EXPECT_EQ(w2.Json()["data"].value("address", "x"), w1.Json()["data"].value("address", "y"));
  // Without a key, the same body is a new wallet.
  HttpResponse w3 = Call(operator_, "POST", "/v1/wallets", wbody);
  EXPECT_EQ(w3.status, 201) << w3.body;
  EXPECT_NE(w3.Json()["data"].value("id", ""), w1.Json()["data"].value("id", ""));
}

// An approval commits, then the approving request signs (broadcast false). A kill -9 between
// the two used to leave the transaction approved and unsigned for good; the approval now also
// queues a tx.sign job, due 10 s later, that signs whatever is still unsigned. Here the store
// is put back into the state that kill leaves, with the job due now.
TEST_F(CustodyCrash, AnApprovedTransactionLeftUnsignedByACrashIsSignedByItsJob) {
  CreateWallet("approved");
  const Key approver = server_->CreateKey("approver");
  ASSERT_EQ(Call(admin_, "PUT", "/v1/wallets/" + wallet_id_ + "/policy", json{{"requiredApprovals", 1}}.dump()).status, 200);
  const json body = {{"to", Recipient(8).ToChecksumHex()}, {"value", "77"},        {"chainId", kChain},
                     {"nonce", 3},                         {"gasLimit", 21000},    {"maxFeePerGas", "2000000000"},
                     {"maxPriorityFeePerGas", "1000000000"}};
  HttpResponse created = Call(operator_, "POST", TransfersPath(), body.dump());
  ASSERT_EQ(created.status, 201) << created.body;
  ASSERT_EQ(created.Json()["data"].value("status", ""), "pending_approval");
  const std::string id = created.Json()["data"].value("id", "");
  HttpResponse approved = Call(approver, "POST", "/v1/transactions/" + id + "/approve", "{}");
  ASSERT_EQ(approved.status, 200) << approved.body;
  ASSERT_EQ(approved.Json()["data"].value("status", ""), "signed") << approved.body;
  const std::string raw = approved.Json()["data"].value("raw", "");
  {
    StatusOr<std::unique_ptr<vp::store::Db>> db = vp::store::OpenDb(server_->dir() + "/vaultproof.db");
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    const vp::Status s = (*db)->Transact(vp::store::TxMode::kWrite, [&](vp::store::Conn& c) -> vp::Status {
      RETURN_IF_ERROR(c.Exec("UPDATE wallet_transactions SET status = 'approved', raw = '', hash = '' WHERE id = $1",
                             {vp::store::Value(id)}));
      // The job has not run yet (or ran before this reset): due now, as after a restart.
      ASSIGN_OR_RETURN(vp::store::Rows r, c.Query("UPDATE jobs SET state = 'queued', visible_at = 0, attempts = 0"
                                                  " WHERE queue = 'tx.sign' AND payload LIKE $1",
                                                  {vp::store::Value("%" + id + "%")}));
      EXPECT_EQ(r.affected, 1) << "the approval queued no tx.sign job";
      return vp::OkStatus();
    });
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  json tx;
  for (int i = 0; i < 200; ++i) {
    HttpResponse got = Call(operator_, "GET", "/v1/transactions/" + id);
    ASSERT_EQ(got.status, 200) << got.body;
    tx = got.Json()["data"];
    if (tx.value("status", "") != "approved") break;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(tx.value("status", ""), "signed") << tx.dump();
  EXPECT_EQ(tx.value("raw", ""), raw) << "the job signed other bytes";
}

TEST_F(CustodyCrash, KillNineOfSignerAndGatewayWhileTransfersAreInFlightEndsEachTransferExactlyOnce) {
  const auto started = std::chrono::steady_clock::now();
  // A policy-free wallet on a chain reached through the relay.
  HttpResponse chain = Call(admin_, "PUT", "/v1/chains/" + std::to_string(kChain),
                            json{{"rpcUrl", relay_->url()}, {"confirmations", 0}}.dump());
  ASSERT_EQ(chain.status, 200) << chain.body;
  CreateWallet("crash");
  ASSERT_FALSE(wallet_id_.empty());
  Fund(wallet_, U256(10000000000000000000ull));  // 10 ETH

  // 28 transfers to four fresh recipients, every amount distinct, every third one legacy.
  constexpr size_t kRound1 = 20, kTotal = 28;
  std::vector<Transfer> transfers(kTotal);
  for (size_t i = 0; i < kTotal; ++i) {
    Transfer& t = transfers[i];
    t.index = i;
    t.to = Recipient(static_cast<uint8_t>(i % 4));
    t.value = U256(1'000'000 + 1'000 * i);
    t.type = i % 3 == 0 ? 0 : 2;
    t.key = "crash-" + std::to_string(::getpid()) + "-" + std::to_string(i);
  }

  // Round 1: the signer, then the gateway, SIGKILLed while transfers are created, signed
  // and broadcast: 8 transfers, the signer killed, 4 more while it restarts, then 8 in a
  // burst from 4 clients, the gateway killed as the burst's second answer arrives (so about
  // four requests are in flight), and restarted.
  std::thread round1([&] { Send(transfers, 0, kRound1, 4); });
  // Should an assertion end the test early, the clients stop waiting and are joined.
  struct OnExit {
    std::function<void()> run;
    ~OnExit() { run(); }
  } joiner{[&] {
    {
      std::lock_guard<std::mutex> lock(mu_);
      abandon_ = true;
    }
    cv_.notify_all();
    if (round1.joinable()) round1.join();
  }};
  Allow(8);
  ASSERT_TRUE(WaitUntil([&] { return acked_ + unanswered_ >= 8; }, 30s));
  std::optional<json> before = Launcher();
  ASSERT_TRUE(before.has_value());
  const pid_t signer = (*before)["signer"].value("pid", 0);
  const pid_t kms = (*before)["kms"].value("pid", 0);
  ASSERT_GT(signer, 0);
  EXPECT_EQ(ChildrenOf(server_->pid()), (std::set<pid_t>{signer, kms}));
  ASSERT_EQ(::kill(signer, SIGKILL), 0);
  const auto signer_killed = std::chrono::steady_clock::now();
  Allow(12);
  // The launcher restarts it.
  pid_t restarted = 0;
  while (std::chrono::steady_clock::now() < signer_killed + 30s) {
    std::optional<json> now = Launcher();
    if (now && (*now)["signer"].value("pid", 0) != signer && (*now)["signer"].value("up", false)) {
      restarted = (*now)["signer"].value("pid", 0);
      break;
    }
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_GT(restarted, 0) << "the launcher did not restart the signer";
  EXPECT_FALSE(Alive(signer));
  std::cout << "[ crash    ] signer " << signer << " killed; restarted as " << restarted << " after "
            << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - signer_killed).count()
            << " ms\n";
  ASSERT_TRUE(WaitUntil([&] { return acked_ + unanswered_ >= 12; }, 30s));
  Allow(kRound1);
  ASSERT_TRUE(WaitUntil([&] { return acked_ + unanswered_ >= 14; }, 30s));
  KillGateway("during a burst of transfers");
  RestartGateway();
  ASSERT_NE(port_.load(), 0);
  round1.join();

  // Round 2: the node takes each sent transaction but its answer is held back; the gateway
  // is killed with sends in flight and transactions signed but not yet broadcast.
  relay_->Hold(true);
  Allow(kTotal);
  Send(transfers, kRound1, kTotal, 2);
  const auto hold_deadline = std::chrono::steady_clock::now() + 20s;
  while (relay_->held_sends() == 0 && std::chrono::steady_clock::now() < hold_deadline) std::this_thread::sleep_for(20ms);
  EXPECT_GT(relay_->held_sends(), 0) << "no broadcast reached the node in round 2";
  std::this_thread::sleep_for(300ms);  // let the drains sign what they can
  KillGateway("with a sent transaction's answer held back");
  relay_->Hold(false);
  RestartGateway();

  // Unanswered requests (no response, 5xx) are retried with their Idempotency-Key.
  size_t in_progress = 0;
  for (Transfer& t : transfers) {
    if (t.acked) continue;
    ASSERT_NE(t.first_status, -1);
    EXPECT_TRUE(t.first_status == 0 || t.first_status >= 500) << "transfer " << t.index << ": " << t.first_status;
    HttpResponse r;
    for (int attempt = 0; attempt < 20; ++attempt) {
      r = Post(t);
      if (r.ok && r.status < 500) break;
      std::this_thread::sleep_for(250ms);
    }
    if (r.status == 201) {
      t.acked = true;
      t.id = r.Json()["data"].value("id", "");
      t.retry_outcome = r.Header("idempotent-replayed") == "true" ? "replayed" : "created";
    } else if (r.status == 409 && r.body.find("still in progress") != std::string::npos) {
      // The gateway died between reserving the key and completing it: see the check below.
      t.retry_outcome = "in_progress";
      ++in_progress;
    } else {
      ADD_FAILURE() << "retry of transfer " << t.index << ": " << r.status << " " << r.body;
    }
  }

  // Everything settles.
  std::map<std::string, json> records;  // id -> record
  const auto settle_deadline = std::chrono::steady_clock::now() + 45s;
  for (;;) {
    HttpResponse list = Call(operator_, "GET", "/v1/transactions", "", "walletId=" + wallet_id_ + "&limit=500");
    ASSERT_EQ(list.status, 200) << list.body;
    records.clear();
    bool settled = true;
    const json body = list.Json();
    for (const json& r : body["data"]["transactions"]) {
      records[r.value("id", "")] = r;
      const std::string s = r.value("status", "");
      if (s != "confirmed" && s != "failed") settled = false;
    }
    if (settled && !records.empty()) break;
    if (std::chrono::steady_clock::now() > settle_deadline) {
      std::string pending;
      for (const auto& [id, r] : records)
        if (r.value("status", "") != "confirmed") pending += "\n  " + r.dump();
      FAIL() << "not settled within 45 s after the restart:" << pending;
    }
    std::this_thread::sleep_for(250ms);
  }

  // The list leaves out each record's versions (`hashes`): read them one by one.
  for (auto& [id, r] : records) {
    HttpResponse one = Call(operator_, "GET", "/v1/transactions/" + id);
    ASSERT_EQ(one.status, 200) << one.body;
    r = one.Json()["data"];
    ASSERT_TRUE(r["hashes"].is_array() && !r["hashes"].empty()) << r.dump();
  }

  // (a) Every acknowledged transfer exists, as the record its answer named, confirmed.
  std::map<std::string, std::vector<std::string>> by_value;  // value -> record ids
  for (const auto& [id, r] : records) by_value[r.value("value", "")].push_back(id);
  size_t acked = 0;
  for (const Transfer& t : transfers) {
    const std::vector<std::string>& ids = by_value[t.value.ToDecimal()];
    EXPECT_LE(ids.size(), 1u) << "transfer " << t.index << " has " << ids.size() << " records";
    if (t.acked) {
      ++acked;
      ASSERT_EQ(ids.size(), 1u) << "acknowledged transfer " << t.index << " (" << t.id << ") is not in the store";
      EXPECT_EQ(ids[0], t.id) << "transfer " << t.index;
    }
    if (!ids.empty()) {
      EXPECT_EQ(records[ids[0]].value("status", ""), "confirmed") << records[ids[0]].dump();
    }
  }
  // Nothing but these transfers.
  for (const auto& [value, ids] : by_value) {
    const bool known = std::any_of(transfers.begin(), transfers.end(),
                                   [&, v = value](const Transfer& t) { return t.value.ToDecimal() == v; });
    EXPECT_TRUE(known) << "a record of an amount nobody sent: " << value;
  }

  // (c) No hash is confirmed for two records, nor recorded as a version of two.
  std::map<std::string, std::string> hash_owner;
  for (const auto& [id, r] : records) {
    for (const json& h : r.value("hashes", json::array())) {
      auto [it, fresh] = hash_owner.emplace(h.get<std::string>(), id);
      EXPECT_TRUE(fresh || it->second == id) << "hash " << h << " belongs to " << it->second << " and " << id;
    }
    EXPECT_EQ(hash_owner[r.value("hash", "")], id) << r.dump();
  }

  // (b) On chain: nonces 0..k-1, one mined transaction each, whose (to, value) pairs are
  // exactly the records'; the recipients hold exactly the sums.
  StatusOr<uint64_t> head = rpc_->BlockNumber();
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  std::map<uint64_t, std::pair<std::string, std::string>> mined;  // nonce -> (to, value)
  std::map<std::string, std::string> mined_hash;                  // hash -> nonce, for the records
  for (uint64_t b = 0; b <= *head; ++b) {
    StatusOr<json> block = rpc_->Call("eth_getBlockByNumber", json::array({U256(b).ToHex(), true}));
    ASSERT_TRUE(block.ok()) << block.status().ToString();
    for (const json& tx : (*block)["transactions"]) {
      if (tx.value("from", "") != wallet_.ToLowerHex()) continue;
      const StatusOr<U256> nonce = U256::Parse(tx.value("nonce", ""));
      const StatusOr<U256> value = U256::Parse(tx.value("value", ""));
      ASSERT_TRUE(nonce.ok() && value.ok()) << tx.dump();
      const auto [it, fresh] = mined.emplace(nonce->Low64(), std::make_pair(tx.value("to", ""), value->ToDecimal()));
      EXPECT_TRUE(fresh) << "nonce " << nonce->Low64() << " mined twice";
      mined_hash[tx.value("hash", "")] = value->ToDecimal();
    }
  }
  StatusOr<uint64_t> count = rpc_->GetTransactionCount(wallet_, vp::wallet::BlockTag::kLatest);
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, records.size());
  EXPECT_EQ(mined.size(), records.size());
  for (uint64_t n = 0; n < *count; ++n) EXPECT_EQ(mined.count(n), 1u) << "nonce " << n << " has no mined transaction";
  std::multiset<std::pair<std::string, std::string>> on_chain, recorded;
  for (const auto& [n, pair] : mined) on_chain.insert(pair);
  std::map<std::string, U256> sums;
  for (const auto& [id, r] : records) {
    StatusOr<Address> to = Address::Parse(r["request"].value("to", ""));
    ASSERT_TRUE(to.ok()) << r.dump();
    recorded.insert({to->ToLowerHex(), r.value("value", "")});
    sums[to->ToLowerHex()] = sums[to->ToLowerHex()] + *U256::ParseDecimal(r.value("value", ""));
    // The record's hash is the one mined, for its own amount.
    EXPECT_EQ(mined_hash[r.value("hash", "")], r.value("value", "")) << r.dump();
  }
  EXPECT_EQ(on_chain, recorded);
  for (uint8_t tag = 0; tag < 4; ++tag) {
    const Address to = Recipient(tag);
    EXPECT_EQ(Balance(to), sums[to.ToLowerHex()]) << to.ToChecksumHex();
  }

  // (d) Every acknowledged request replays its own record under its key, and creates nothing.
  for (const Transfer& t : transfers) {
    if (!t.acked) continue;
    HttpResponse r = Post(t);
    EXPECT_EQ(r.status, 201) << r.body;
    EXPECT_EQ(r.Header("idempotent-replayed"), "true") << "transfer " << t.index;
    EXPECT_EQ(r.Json()["data"].value("id", ""), t.id) << "transfer " << t.index;
  }
  HttpResponse after = Call(operator_, "GET", "/v1/transactions", "", "walletId=" + wallet_id_ + "&limit=500");
  ASSERT_EQ(after.status, 200);
  EXPECT_EQ(after.Json()["data"]["transactions"].size(), records.size());

  size_t first_unanswered = 0, replayed = 0, created = 0, ambiguous_existing = 0;
  for (const Transfer& t : transfers) {
    if (t.first_status != 201) ++first_unanswered;
    if (t.retry_outcome == "replayed") ++replayed;
    if (t.retry_outcome == "created") ++created;
    if (t.retry_outcome == "in_progress" && !by_value[t.value.ToDecimal()].empty()) ++ambiguous_existing;
  }
  std::cout << "[ crash    ] " << kTotal << " transfers: " << acked << " acknowledged (" << first_unanswered
            << " unanswered at first: " << replayed << " replayed, " << created << " created on retry, " << in_progress
            << " still in progress of which " << ambiguous_existing << " recorded), " << records.size()
            << " records, all confirmed once; " << relay_->held_sends() << " held sends; "
            << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count()
            << " ms\n";
}

}  // namespace
