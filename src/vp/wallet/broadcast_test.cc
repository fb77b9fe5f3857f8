// Chains and broadcast, specified against a real Hardhat node (tests/chain) and a real
// custody stack (vaultproof-kms and vaultproof-signer processes): chain configuration
// checked against eth_chainId; transactions with omitted nonce, gas and fees filled and
// confirmed; ten concurrent transactions from one address numbered 0..9 without a gap;
// a crash between recording and sending that re-sends the same bytes; a stuck transaction
// replaced with bumped fees; a send refused as underpriced (by a relay that plays geth,
// Erigon or Hardhat, and by Hardhat itself) re-signed at market fees with the same nonce,
// within a bound; a reverted one failed; refusals of unknown chains and of caller-chosen
// nonces. Store on SQLite (a temp file per test).
#include "vp/wallet/broadcast.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "vp/base/json.h"
#include "vp/base/test_util.h"
#include "vp/signer/testing.h"
#include "vp/store/jobs.h"
#include "vp/store/testing.h"
#include "vp/store/worker.h"
#include "vp/wallet/chains.h"
#include "vp/wallet/hardhat_fixture.h"
#include "vp/wallet/http_post.h"
#include "vp/wallet/policy.h"
#include "vp/wallet/wallets.h"

namespace vp::wallet {
namespace {

using eth::Address;
using eth::U256;
using nlohmann::json;
using namespace std::chrono_literals;

constexpr uint64_t kChain = 1337;  // tests/chain/hardhat.config.js
constexpr std::string_view kAddr1 = "0x70997970C51812dc3a010c7d01b50E9D17DC79C8";  // Hardhat account #1
constexpr std::string_view kOneEther = "1000000000000000000";

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Records every event with the transaction's status at that moment.
class RecordingEvents final : public EventSink {
 public:
  Status Emit(store::Conn&, std::string_view event, const json& data, int64_t) override {
    std::lock_guard<std::mutex> lock(mu_);
    events_.emplace_back(data.value("id", ""), std::string(event));
    return OkStatus();
  }
  std::vector<std::string> For(const std::string& tx_id) {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::string> out;
    for (const auto& [id, event] : events_)
      if (id == tx_id) out.push_back(event);
    return out;
  }

 private:
  std::mutex mu_;
  std::vector<std::pair<std::string, std::string>> events_;
};

// A JSON-RPC node in front of the Hardhat node that refuses the first `refusals`
// eth_sendRawTransaction calls with the error object `refusal` and passes everything else
// through: a node that finds a transaction underpriced, in any node's wording.
class RefusingNode {
 public:
  RefusingNode(std::string upstream, json refusal, int refusals)
      : upstream_(std::move(upstream)), refusal_(std::move(refusal)), refusals_(refusals) {
    fd_ = vp::testing::ListenLoopback(&port_, 16);
    if (fd_ >= 0) acceptor_ = std::thread([this] { Accept(); });
  }
  ~RefusingNode() {
    stop_ = true;
    if (acceptor_.joinable()) acceptor_.join();
    std::lock_guard<std::mutex> lock(mu_);
    for (std::thread& t : connections_) t.join();
    if (fd_ >= 0) ::close(fd_);
  }
  RefusingNode(const RefusingNode&) = delete;
  RefusingNode& operator=(const RefusingNode&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int refused() const { return refused_.load(); }

 private:
  bool Readable(int fd) const {
    while (!stop_) {
      pollfd p{fd, POLLIN, 0};
      const int r = ::poll(&p, 1, 20);
      if (r > 0) return true;
      if (r < 0 && errno != EINTR) return false;
    }
    return false;
  }
  void Accept() {
    while (Readable(fd_)) {
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      std::lock_guard<std::mutex> lock(mu_);
      connections_.emplace_back([this, c] {
        Serve(c);
        ::close(c);
      });
    }
  }
  // Keep-alive requests framed by Content-Length; answers likewise.
  void Serve(int fd) {
    std::string pending;
    for (;;) {
      size_t end;
      while ((end = pending.find("\r\n\r\n")) == std::string::npos) {
        if (!Fill(fd, pending)) return;
      }
      std::string head = pending.substr(0, end);
      for (char& ch : head) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      const size_t cl = head.find("content-length:");
      const size_t length = cl == std::string::npos ? 0 : std::strtoul(head.c_str() + cl + 15, nullptr, 10);
      while (pending.size() < end + 4 + length) {
        if (!Fill(fd, pending)) return;
      }
      const std::string body = pending.substr(end + 4, length);
      pending.erase(0, end + 4 + length);
      const json request = json::parse(body, nullptr, false);
      const bool send = request.is_object() && request.value("method", "") == "eth_sendRawTransaction";
      std::string answer;
      if (send && sends_.fetch_add(1) < refusals_) {
        ++refused_;
        answer = json{{"jsonrpc", "2.0"}, {"id", request["id"]}, {"error", refusal_}}.dump();
      } else {
        HttpOptions o;
        o.keep_alive = false;
        StatusOr<HttpResponse> r = HttpPost(upstream_, {}, body, o);
        if (!r.ok()) return;
        answer = r->body;
      }
      const std::string out = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                              std::to_string(answer.size()) + "\r\n\r\n" + answer;
      if (::send(fd, out.data(), out.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(out.size())) return;
    }
  }
  bool Fill(int fd, std::string& pending) const {
    if (!Readable(fd)) return false;
    char buf[16384];
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) return false;
    pending.append(buf, static_cast<size_t>(n));
    return true;
  }

  std::string upstream_;
  json refusal_;
  int refusals_;
  std::atomic<int> sends_{0}, refused_{0};
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<std::thread> connections_;
};

class BroadcastTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    node_error_ = node_.Start();
    stack_ = std::make_unique<signer::CustodyStack>();
    stack_status_ = stack_->Start();
  }
  static void TearDownTestSuite() {
    stack_.reset();
    node_.Stop();
  }

  void SetUp() override {
    ASSERT_TRUE(node_error_.empty()) << node_error_;
    ASSERT_TRUE(stack_status_.ok()) << stack_status_.ToString();
    auto rpc = RpcClient::Create(node_.url());
    ASSERT_TRUE(rpc.ok());
    rpc_ = std::move(*rpc);
    StatusOr<json> snap = rpc_->Call("evm_snapshot", json::array());
    ASSERT_TRUE(snap.ok()) << snap.status().ToString();
    snapshot_ = *snap;

    auto tdb = store::testing::TestDatabase::Create(store::Dialect::kSqlite);
    ASSERT_TRUE(tdb.ok()) << tdb.status().ToString();
    tdb_ = std::move(*tdb);
    auto db = tdb_->Open();
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(*db);
    chains_ = std::make_unique<ChainRegistry>(*db_);
    wallets_ = std::make_unique<WalletService>(*db_, stack_->launcher().client());
    MakeServices({});
    ASSERT_TRUE(chains_->Put(kChain, {.rpc_url = node_.url(), .confirmations = 0}, "admin", NowMs()).ok());

    StatusOr<Wallet> w = wallets_->Create("hot", "evm", "single", "admin", NowMs());
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    wallet_ = *w;
    StatusOr<Address> a = Address::Parse(wallet_.address);
    ASSERT_TRUE(a.ok());
    from_ = *a;
    // 100 ETH for the custody wallet.
    ASSERT_TRUE(rpc_->Call("hardhat_setBalance", json::array({from_.ToLowerHex(), "0x56bc75e2d63100000"})).ok());
  }

  void TearDown() override {
    if (pool_) pool_->Stop(5s);
    pool_.reset();
    if (!rpc_) return;
    EXPECT_TRUE(rpc_->Call("evm_setAutomine", json::array({true})).ok());
    StatusOr<json> reverted = rpc_->Call("evm_revert", json::array({snapshot_}));
    EXPECT_TRUE(reverted.ok() && *reverted == json(true)) << reverted.status().ToString();
  }

  void MakeServices(BroadcastOptions options) {
    txs_.reset();
    broadcaster_ = std::make_unique<Broadcaster>(*db_, *wallets_, *chains_, events_, std::move(options));
    txs_ = std::make_unique<TransactionService>(*db_, *wallets_, events_, broadcaster_.get());
  }

  void StartPool(size_t threads = 4) {
    store::WorkerOptions o;
    o.threads = threads;
    o.idle_poll_ms = 20;
    o.idle_poll_max_ms = 100;
    pool_ = std::make_unique<store::WorkerPool>(*db_, o);
    ASSERT_TRUE(broadcaster_->RegisterHandlers(*pool_).ok());
    ASSERT_TRUE(pool_->Start().ok());
  }

  json Transfer(std::string_view value = "1000") {
    return {{"to", std::string(kAddr1)}, {"value", std::string(value)}, {"chainId", kChain}, {"broadcast", true}};
  }

  json Create(const json& request) {
    StatusOr<json> tx = txs_->Create(wallet_.id, request, "alice", NowMs());
    EXPECT_TRUE(tx.ok()) << tx.status().ToString();
    return tx.ok() ? *tx : json::object();
  }

  json Get(const std::string& id) {
    StatusOr<json> tx = txs_->Get(id);
    EXPECT_TRUE(tx.ok()) << tx.status().ToString();
    return tx.ok() ? *tx : json::object();
  }

  // Waits for a final status (or `status`), up to `timeout`.
  json WaitFor(const std::string& id, std::string_view status, std::chrono::milliseconds timeout = 60s) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    json tx;
    while (std::chrono::steady_clock::now() < until) {
      tx = Get(id);
      if (tx.value("status", "") == status) return tx;
      std::this_thread::sleep_for(50ms);
    }
    ADD_FAILURE() << "transaction " << id << " did not reach " << status << ": " << tx.dump();
    return tx;
  }

  int64_t Counter() {
    int64_t n = -1;
    EXPECT_TRUE(db_->WithConn([&](store::Conn& c) -> Status {
      ASSIGN_OR_RETURN(store::Rows r, c.Query("SELECT next_nonce FROM chain_nonces WHERE chain_id = $1 AND address = $2",
                                              {store::Value(static_cast<int64_t>(kChain)), store::Value(from_.ToLowerHex())}));
      if (!r.empty()) n = r.Int(0, 0);
      return OkStatus();
    }).ok());
    return n;
  }

  crypto::Hash256 Hash(const json& text) { return *HexDecodeFixed<32>(text.get<std::string>()); }

  // The signed fields of version `attempt` of a transaction (wallet_tx_attempts).
  json VersionFields(const std::string& id, int64_t attempt) {
    std::string text;
    EXPECT_TRUE(db_->WithConn([&](store::Conn& c) -> Status {
      ASSIGN_OR_RETURN(store::Rows r, c.Query("SELECT fields FROM wallet_tx_attempts WHERE tx_id = $1 AND attempt = $2",
                                              {store::Value(id), store::Value(attempt)}));
      if (!r.empty()) text = r.Text(0, 0);
      return OkStatus();
    }).ok());
    return json::parse(text, nullptr, false);
  }

  // Each fee field of version 2 is at least 12.5% over version 1's.
  void ExpectRepriced(const json& v1, const json& v2) {
    EXPECT_EQ(v1["nonce"], v2["nonce"]);
    EXPECT_EQ(v1["value"], v2["value"]);
    EXPECT_EQ(v1["to"], v2["to"]);
    const std::vector<const char*> fees = v1.contains("gasPrice") ? std::vector<const char*>{"gasPrice"}
                                                                   : std::vector<const char*>{"maxFeePerGas", "maxPriorityFeePerGas"};
    for (const char* fee : fees) {
      StatusOr<U256> before = U256::ParseDecimal(v1.value(fee, ""));
      StatusOr<U256> after = U256::ParseDecimal(v2.value(fee, ""));
      ASSERT_TRUE(before.ok() && after.ok()) << fee << ": " << v1.dump() << " " << v2.dump();
      U256 min_k, after_k;
      ASSERT_TRUE(before->MulSmallChecked(1125, &min_k) && after->MulSmallChecked(1000, &after_k));
      EXPECT_GE(after_k, min_k) << fee << ": " << before->ToDecimal() << " -> " << after->ToDecimal();
    }
  }

  static inline vp::wallet::testing::HardhatNode node_;
  static inline std::string node_error_;
  static inline std::unique_ptr<signer::CustodyStack> stack_;
  static inline Status stack_status_;

  std::unique_ptr<RpcClient> rpc_;
  json snapshot_;
  std::unique_ptr<store::testing::TestDatabase> tdb_;
  std::unique_ptr<store::Db> db_;
  RecordingEvents events_;
  std::unique_ptr<ChainRegistry> chains_;
  std::unique_ptr<WalletService> wallets_;
  std::unique_ptr<Broadcaster> broadcaster_;
  std::unique_ptr<TransactionService> txs_;
  std::unique_ptr<store::WorkerPool> pool_;
  Wallet wallet_;
  Address from_;
};

// ---------------------------------------------------------------------------------------
// Chains.

TEST_F(BroadcastTest, ChainIsStoredOnlyWhenTheEndpointServesItsId) {
  StatusOr<Chain> c = chains_->Get(kChain);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->config.rpc_url, node_.url());
  EXPECT_EQ(c->config.confirmations, 0);

  // The endpoint serves 1337, not 1: refused, nothing stored.
  Status s = chains_->Put(1, {.rpc_url = node_.url(), .confirmations = 12}, "admin", NowMs());
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
  EXPECT_EQ(RefusalCode(s), "CHAIN_ID_MISMATCH") << s.ToString();
  EXPECT_EQ(RefusalCode(chains_->Get(1).status()), "CHAIN_NOT_CONFIGURED");

  EXPECT_EQ(chains_->Put(kChain, {.rpc_url = "ftp://x", .confirmations = 0}, "admin", NowMs()).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(chains_->Put(kChain, {.rpc_url = "http://user:pw@127.0.0.1:1/", .confirmations = 0}, "admin", NowMs()).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(chains_->Put(kChain, {.rpc_url = node_.url(), .confirmations = 1001}, "admin", NowMs()).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(chains_->Put(kChain, {.rpc_url = node_.url(), .confirmations = -1}, "admin", NowMs()).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(chains_->Put(0, {.rpc_url = node_.url(), .confirmations = 0}, "admin", NowMs()).code(),
            StatusCode::kInvalidArgument);
  const std::string dead = "http://127.0.0.1:" + std::to_string(vp::wallet::testing::FreePort());
  EXPECT_EQ(chains_->Put(kChain, {.rpc_url = dead, .confirmations = 0}, "admin", NowMs()).code(), StatusCode::kUnavailable);

  // Replaced in place; listed; the URL's path (an API key's usual place) is not shown.
  ASSERT_TRUE(chains_->Put(kChain, {.rpc_url = node_.url() + "/secret-key", .confirmations = 3}, "root", NowMs()).ok());
  StatusOr<std::vector<Chain>> all = chains_->List();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].config.confirmations, 3);
  const json shown = ChainJson((*all)[0]);
  EXPECT_EQ(shown["chainId"], kChain);
  EXPECT_EQ(shown["rpcUrl"], node_.url() + "/…");
  EXPECT_EQ(shown["updatedBy"], "root");
  EXPECT_EQ(shown.dump().find("secret-key"), std::string::npos);
}

TEST_F(BroadcastTest, CreateRefusesUnknownChainsAndCallerNonces) {
  json unknown = Transfer();
  unknown["chainId"] = 5;
  StatusOr<json> r = txs_->Create(wallet_.id, unknown, "alice", NowMs());
  EXPECT_EQ(RefusalCode(r.status()), "CHAIN_NOT_CONFIGURED") << r.status().ToString();

  json with_nonce = Transfer();
  with_nonce["nonce"] = 0;
  r = txs_->Create(wallet_.id, with_nonce, "alice", NowMs());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().ToString();

  json no_chain = Transfer();
  no_chain.erase("chainId");
  EXPECT_EQ(txs_->Create(wallet_.id, no_chain, "alice", NowMs()).status().code(), StatusCode::kInvalidArgument);

  // broadcast false keeps today's rules: nonce and gasLimit are the caller's.
  json offline = Transfer();
  offline["broadcast"] = false;
  EXPECT_EQ(txs_->Create(wallet_.id, offline, "alice", NowMs()).status().code(), StatusCode::kInvalidArgument);
  offline["nonce"] = 0;
  offline["gasLimit"] = 21000;
  offline["maxFeePerGas"] = "2000000000";
  StatusOr<json> signed_offline = txs_->Create(wallet_.id, offline, "alice", NowMs());
  ASSERT_TRUE(signed_offline.ok()) << signed_offline.status().ToString();
  EXPECT_EQ((*signed_offline)["status"], "signed");
  EXPECT_EQ((*signed_offline)["broadcast"], false);

  // A service without a broadcaster refuses broadcast true.
  TransactionService plain(*db_, *wallets_);
  EXPECT_EQ(plain.Create(wallet_.id, Transfer(), "alice", NowMs()).status().code(), StatusCode::kFailedPrecondition);

  // Nothing reached the queue or the counter.
  EXPECT_EQ(Counter(), -1);
}

// ---------------------------------------------------------------------------------------
// End to end through the worker pool.

TEST_F(BroadcastTest, OmittedNonceGasAndFeesAreFilledAndTheTransferConfirms) {
  StatusOr<Address> to = Address::Parse(kAddr1);
  const U256 before = *rpc_->GetBalance(*to);
  StartPool();
  const json created = Create(Transfer(kOneEther));
  EXPECT_EQ(created["status"], "approved");
  EXPECT_EQ(created["broadcast"], true);
  EXPECT_EQ(created["nonce"], nullptr);
  EXPECT_EQ(created["from"], from_.ToLowerHex());
  const std::string id = created["id"];
  const json tx = WaitFor(id, "confirmed");
  EXPECT_EQ(tx["nonce"], 0);
  EXPECT_EQ(tx["attempts"], 1);
  EXPECT_TRUE(tx["broadcastAt"].is_number());
  EXPECT_EQ(tx["receipt"]["status"], 1);
  EXPECT_EQ(tx["hashes"], json::array({tx["hash"]}));
  EXPECT_EQ(*rpc_->GetBalance(*to), before + *U256::ParseDecimal(kOneEther));

  // The node has exactly what the store recorded: the same hash, nonce, and filled fields.
  auto info = rpc_->GetTransactionByHash(Hash(tx["hash"]));
  ASSERT_TRUE(info.ok() && info->has_value()) << info.status().ToString();
  EXPECT_EQ((*info)->nonce, 0u);
  EXPECT_EQ((*info)->type, 2);
  // Hardhat estimates 21001 for a transfer; +20% margin.
  EXPECT_EQ((*info)->gas, U256(21001 + 21001 * 20 / 100));
  ASSERT_TRUE((*info)->max_fee_per_gas && (*info)->max_priority_fee_per_gas);
  EXPECT_GT(*(*info)->max_fee_per_gas, *(*info)->max_priority_fee_per_gas);
  EXPECT_EQ(Counter(), 1);
  EXPECT_EQ(events_.For(id), (std::vector<std::string>{"transaction.created", "transaction.approved", "transaction.signed",
                                                        "transaction.broadcast", "transaction.confirmed"}));
}

TEST_F(BroadcastTest, TenConcurrentTransactionsGetNoncesZeroToNineAndAllConfirm) {
  StartPool(4);
  constexpr int kN = 10;
  std::vector<std::string> ids(kN);
  std::vector<std::thread> threads;
  for (int i = 0; i < kN; ++i) {
    threads.emplace_back([&, i] {
      StatusOr<json> tx = txs_->Create(wallet_.id, Transfer(std::to_string(1000 + i)), "alice", NowMs());
      if (tx.ok()) ids[static_cast<size_t>(i)] = (*tx)["id"];
    });
  }
  for (auto& t : threads) t.join();
  std::vector<int64_t> nonces;
  for (const std::string& id : ids) {
    ASSERT_FALSE(id.empty());
    const json tx = WaitFor(id, "confirmed");
    EXPECT_EQ(tx["receipt"]["status"], 1);
    nonces.push_back(tx["nonce"].get<int64_t>());
  }
  std::sort(nonces.begin(), nonces.end());
  for (int i = 0; i < kN; ++i) EXPECT_EQ(nonces[static_cast<size_t>(i)], i);
  EXPECT_EQ(Counter(), kN);
  EXPECT_EQ(*rpc_->GetTransactionCount(from_, BlockTag::kLatest), static_cast<uint64_t>(kN));
}

TEST_F(BroadcastTest, TwoApprovalsHoldTheBroadcastUntilTheLastOne) {
  Policy p;
  p.required_approvals = 1;
  ASSERT_TRUE(txs_->PutPolicy(wallet_.id, p, "admin", NowMs()).ok());
  StartPool();
  const json created = Create(Transfer());
  EXPECT_EQ(created["status"], "pending_approval");
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(Get(created["id"])["status"], "pending_approval");
  EXPECT_EQ(Counter(), -1);
  StatusOr<json> approved = txs_->Approve(created["id"].get<std::string>(), "bob", NowMs());
  ASSERT_TRUE(approved.ok()) << approved.status().ToString();
  WaitFor(created["id"], "confirmed");
}

// ---------------------------------------------------------------------------------------
// Crash safety, step by step (handlers called directly; the hook plays kill -9).

TEST_F(BroadcastTest, ACrashBeforeSigningOrSendingReusesTheNonceAndTheBytes) {
  std::string crash_at = "nonce_assigned";
  BroadcastOptions o;
  o.after_step = [&](std::string_view step, std::string_view) {
    return step == crash_at ? UnavailableError("killed after " + std::string(step)) : OkStatus();
  };
  MakeServices(o);
  const std::string id = Create(Transfer())["id"];

  // Killed after the nonce was recorded: nothing signed, nothing sent.
  EXPECT_EQ(broadcaster_->Broadcast(kChain, from_.ToLowerHex()).kind, store::JobResult::Kind::kRetry);
  json tx = Get(id);
  EXPECT_EQ(tx["status"], "nonce_assigned");
  EXPECT_EQ(tx["nonce"], 0);
  EXPECT_EQ(Counter(), 1);

  // Killed after the signed bytes were recorded, before eth_sendRawTransaction.
  crash_at = "signed";
  EXPECT_EQ(broadcaster_->Broadcast(kChain, from_.ToLowerHex()).kind, store::JobResult::Kind::kRetry);
  tx = Get(id);
  EXPECT_EQ(tx["status"], "signed");
  const std::string hash = tx["hash"];
  auto seen = rpc_->GetTransactionByHash(Hash(tx["hash"]));
  ASSERT_TRUE(seen.ok());
  EXPECT_FALSE(seen->has_value());  // never sent
  EXPECT_EQ(*rpc_->GetTransactionCount(from_, BlockTag::kPending), 0u);
  // Signing the recorded fields again gives the same bytes (RFC 6979).
  std::string fields;
  ASSERT_TRUE(db_->WithConn([&](store::Conn& c) -> Status {
    ASSIGN_OR_RETURN(store::Rows r, c.Query("SELECT tx_fields FROM wallet_transactions WHERE id = $1", {store::Value(id)}));
    fields = r.Text(0, 0);
    return OkStatus();
  }).ok());
  StatusOr<json> again = wallets_->SignTransaction(wallet_.id, fields, std::nullopt);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ((*again)["hash"], hash);

  // Restarted: the recorded bytes go out, one nonce used.
  crash_at.clear();
  EXPECT_EQ(broadcaster_->Broadcast(kChain, from_.ToLowerHex()).kind, store::JobResult::Kind::kSuccess);
  tx = Get(id);
  EXPECT_EQ(tx["status"], "broadcast");
  EXPECT_EQ(tx["hash"], hash);
  EXPECT_EQ(Counter(), 1);
  EXPECT_EQ(*rpc_->GetTransactionCount(from_, BlockTag::kLatest), 1u);

  // A second run after a crash that hid the send's answer: nothing new happens.
  EXPECT_EQ(broadcaster_->Broadcast(kChain, from_.ToLowerHex()).kind, store::JobResult::Kind::kSuccess);
  EXPECT_EQ(broadcaster_->Confirm(id).kind, store::JobResult::Kind::kSuccess);
  tx = Get(id);
  EXPECT_EQ(tx["status"], "confirmed");
  EXPECT_EQ(tx["hash"], hash);
  EXPECT_EQ(*rpc_->GetTransactionCount(from_, BlockTag::kLatest), 1u);
}

TEST_F(BroadcastTest, ASignedTransactionWhoseSendWasLostCountsAsSent) {
  // Sent by the node, but the worker died before recording "broadcast": the re-run meets
  // "nonce too low" (automine mined it) and finds its own receipt.
  std::atomic<bool> crash{true};
  BroadcastOptions o;
  o.after_step = [&](std::string_view step, std::string_view) {
    return step == "sent" && crash.exchange(false) ? UnavailableError("killed") : OkStatus();
  };
  MakeServices(o);
  const std::string id = Create(Transfer())["id"];
  // Sent, then killed; the store is put back to what the dead worker left: signed.
  EXPECT_EQ(broadcaster_->Broadcast(kChain, from_.ToLowerHex()).kind, store::JobResult::Kind::kRetry);
  ASSERT_TRUE(db_->Transact(store::TxMode::kWrite, [&](store::Conn& c) {
    return c.Exec("UPDATE wallet_transactions SET status = 'signed' WHERE id = $1", {store::Value(id)});
  }).ok());
  EXPECT_EQ(broadcaster_->Broadcast(kChain, from_.ToLowerHex()).kind, store::JobResult::Kind::kSuccess);
  EXPECT_EQ(Get(id)["status"], "broadcast");
  EXPECT_EQ(broadcaster_->Confirm(id).kind, store::JobResult::Kind::kSuccess);
  EXPECT_EQ(Get(id)["status"], "confirmed");
}

// ---------------------------------------------------------------------------------------
// Stuck, reverted, confirmations.

TEST_F(BroadcastTest, AStuckTransactionIsReplacedWithBumpedFeesAndTheReplacementConfirms) {
  BroadcastOptions o;
  o.stuck_after_ms = 300;
  MakeServices(o);
  ASSERT_TRUE(rpc_->Call("evm_setAutomine", json::array({false})).ok());
  const std::string id = Create(Transfer())["id"];
  ASSERT_EQ(broadcaster_->Broadcast(kChain, from_.ToLowerHex()).kind, store::JobResult::Kind::kSuccess);
  json tx = Get(id);
  ASSERT_EQ(tx["status"], "broadcast");
  const std::string first = tx["hash"];

  // Not stuck yet: the same bytes again ("already known"), no new version.
  ASSERT_EQ(broadcaster_->Confirm(id).kind, store::JobResult::Kind::kSuccess);
  EXPECT_EQ(Get(id)["attempts"], 1);

  std::this_thread::sleep_for(350ms);
  ASSERT_EQ(broadcaster_->Confirm(id).kind, store::JobResult::Kind::kSuccess);
  tx = Get(id);
  EXPECT_EQ(tx["attempts"], 2);
  ASSERT_EQ(tx["hashes"].size(), 2u);
  EXPECT_EQ(tx["hashes"][0], first);
  const std::string second = tx["hashes"][1];
  EXPECT_NE(second, first);
  // Both fee fields at least 12.5% higher, same nonce.
  auto a = rpc_->GetTransactionByHash(Hash(json(first)));
  auto b = rpc_->GetTransactionByHash(Hash(json(second)));
  ASSERT_TRUE(b.ok() && b->has_value()) << b.status().ToString();  // the node took the replacement
  ASSERT_TRUE(a.ok());
  EXPECT_FALSE(a->has_value());  // and dropped the original
  U256 min_fee, min_tip;
  std::string f1;
  ASSERT_TRUE(db_->WithConn([&](store::Conn& c) -> Status {
    ASSIGN_OR_RETURN(store::Rows r, c.Query("SELECT fields FROM wallet_tx_attempts WHERE tx_id = $1 AND attempt = 1", {store::Value(id)}));
    f1 = r.Text(0, 0);
    return OkStatus();
  }).ok());
  const json old_fields = json::parse(f1);
  const U256 old_fee = *U256::ParseDecimal(old_fields["maxFeePerGas"].get<std::string>());
  const U256 old_tip = *U256::ParseDecimal(old_fields["maxPriorityFeePerGas"].get<std::string>());
  ASSERT_TRUE(old_fee.MulSmallChecked(1125, &min_fee) && old_tip.MulSmallChecked(1125, &min_tip));
  U256 new_fee_k, new_tip_k;
  ASSERT_TRUE((*b)->max_fee_per_gas->MulSmallChecked(1000, &new_fee_k));
  ASSERT_TRUE((*b)->max_priority_fee_per_gas->MulSmallChecked(1000, &new_tip_k));
  EXPECT_GE(new_fee_k, min_fee);
  EXPECT_GE(new_tip_k, min_tip);
  EXPECT_EQ((*b)->nonce, 0u);

  ASSERT_TRUE(rpc_->Call("evm_mine", json::array()).ok());
  ASSERT_EQ(broadcaster_->Confirm(id).kind, store::JobResult::Kind::kSuccess);
  tx = Get(id);
  EXPECT_EQ(tx["status"], "confirmed");
  EXPECT_EQ(tx["hash"], second);
  EXPECT_EQ(tx["receipt"]["transactionHash"], second);
  EXPECT_EQ(Counter(), 1);
}

// ---------------------------------------------------------------------------------------
// Sends refused as underpriced: the same bytes would be refused for ever, so a new version
// with the same nonce is signed at market fees, recorded, and sent.

TEST_F(BroadcastTest, ASendRefusedAsUnderpricedIsReSignedAtMarketFeesWithTheSameNonce) {
  // Each node's wording (docs/chains.md, "Error mapping"): geth's pool minimum and base-fee
  // check, Erigon's, a replacement refused, Nethermind's, Hardhat's.
  const std::vector<json> refusals = {
      {{"code", -32000}, {"message", "transaction underpriced"}},
      {{"code", -32000},
       {"message", "max fee per gas less than block base fee: address 0x70997970C51812dc3a010c7d01b50E9D17DC79C8, "
                   "maxFeePerGas: 1, baseFee: 875000000"}},
      {{"code", -32000}, {"message", "fee too low"}},
      {{"code", -32000}, {"message", "replacement transaction underpriced"}},
      {{"code", -32010}, {"message", "FeeTooLow, MaxFeePerGas too low. MaxFeePerGas: 1, BaseFee: 875000000"}},
      {{"code", -32000},
       {"message", "Transaction maxFeePerGas (1) is too low for the next block, which has a baseFeePerGas of "
                   "875000000"}},
  };
  for (size_t i = 0; i < refusals.size(); ++i) {
    SCOPED_TRACE(refusals[i].dump());
    RefusingNode node(node_.url(), refusals[i], 1);
    ASSERT_TRUE(chains_->Put(kChain, {.rpc_url = node.url(), .confirmations = 0}, "admin", NowMs()).ok());
    json request = Transfer(std::to_string(2000 + i));
    if (i == 2) request["type"] = 0;  // legacy: its gasPrice is re-priced
    const std::string id = Create(request)["id"];
    const store::JobResult drained = broadcaster_->Broadcast(kChain, from_.ToLowerHex());
    ASSERT_EQ(drained.kind, store::JobResult::Kind::kSuccess) << drained.text;
    EXPECT_EQ(node.refused(), 1);
    json tx = Get(id);
    EXPECT_EQ(tx["status"], "broadcast");
    EXPECT_EQ(tx["nonce"], static_cast<int64_t>(i));
    EXPECT_EQ(tx["attempts"], 2);
    ASSERT_EQ(tx["hashes"].size(), 2u) << tx.dump();
    EXPECT_EQ(tx["hash"], tx["hashes"][1]);
    ExpectRepriced(VersionFields(id, 1), VersionFields(id, 2));
    // Only the new version reached the node.
    auto first = rpc_->GetTransactionByHash(Hash(tx["hashes"][0]));
    auto second = rpc_->GetTransactionByHash(Hash(tx["hashes"][1]));
    ASSERT_TRUE(first.ok() && second.ok());
    EXPECT_FALSE(first->has_value());
    ASSERT_TRUE(second->has_value());
    EXPECT_EQ((*second)->nonce, i);
    EXPECT_EQ(static_cast<int>((*second)->type), i == 2 ? 0 : 2);

    ASSERT_EQ(broadcaster_->Confirm(id).kind, store::JobResult::Kind::kSuccess);
    tx = Get(id);
    EXPECT_EQ(tx["status"], "confirmed");
    EXPECT_EQ(tx["receipt"]["transactionHash"], tx["hashes"][1]);
    // A re-price is no new step of the lifecycle: no event of its own.
    EXPECT_EQ(events_.For(id), (std::vector<std::string>{"transaction.created", "transaction.approved", "transaction.signed",
                                                          "transaction.broadcast", "transaction.confirmed"}));
  }
  EXPECT_EQ(Counter(), static_cast<int64_t>(refusals.size()));
  EXPECT_EQ(*rpc_->GetTransactionCount(from_, BlockTag::kLatest), refusals.size());
}

TEST_F(BroadcastTest, FeesBelowHardhatsBaseFeeAreRePricedAndConfirm) {
  // The caller's fees of 1 wei are below the base fee (1 gwei at the start): Hardhat refuses
  // the first version, "... is too low for the next block".
  json eip1559 = Transfer("3000");
  eip1559["maxFeePerGas"] = "1";
  eip1559["maxPriorityFeePerGas"] = "1";
  json legacy = Transfer("3001");
  legacy["type"] = 0;
  legacy["gasPrice"] = "1";
  for (const json& request : {eip1559, legacy}) {
    SCOPED_TRACE(request.dump());
    const std::string id = Create(request)["id"];
    const store::JobResult drained = broadcaster_->Broadcast(kChain, from_.ToLowerHex());
    ASSERT_EQ(drained.kind, store::JobResult::Kind::kSuccess) << drained.text;
    ASSERT_EQ(broadcaster_->Confirm(id).kind, store::JobResult::Kind::kSuccess);
    const json tx = Get(id);
    EXPECT_EQ(tx["status"], "confirmed") << tx.dump();
    EXPECT_EQ(tx["attempts"], 2);
    EXPECT_EQ(tx["receipt"]["transactionHash"], tx["hash"]);
    ExpectRepriced(VersionFields(id, 1), VersionFields(id, 2));
  }
  EXPECT_EQ(*rpc_->GetTransactionCount(from_, BlockTag::kLatest), 2u);
}

TEST_F(BroadcastTest, RePricingStopsAtMaxBumpsAndKeepsTheLastBytes) {
  BroadcastOptions o;
  o.max_bumps = 2;
  MakeServices(o);
  RefusingNode node(node_.url(), {{"code", -32000}, {"message", "transaction underpriced"}}, 1000);
  ASSERT_TRUE(chains_->Put(kChain, {.rpc_url = node.url(), .confirmations = 0}, "admin", NowMs()).ok());
  const std::string id = Create(Transfer())["id"];
  // Version 1 refused, re-priced twice, version 3 refused: the drain is retried later.
  EXPECT_EQ(broadcaster_->Broadcast(kChain, from_.ToLowerHex()).kind, store::JobResult::Kind::kRetry);
  EXPECT_EQ(node.refused(), 3);
  json tx = Get(id);
  EXPECT_EQ(tx["status"], "signed");
  EXPECT_EQ(tx["attempts"], 3);
  EXPECT_EQ(tx["hashes"].size(), 3u);
  EXPECT_NE(tx.value("error", "").find("underpriced"), std::string::npos) << tx.dump();
  // The next drain sends the last version again, and signs nothing new.
  EXPECT_EQ(broadcaster_->Broadcast(kChain, from_.ToLowerHex()).kind, store::JobResult::Kind::kRetry);
  EXPECT_EQ(node.refused(), 4);
  EXPECT_EQ(Get(id)["attempts"], 3);
  EXPECT_EQ(*rpc_->GetTransactionCount(from_, BlockTag::kPending), 0u);
  EXPECT_EQ(Counter(), 1);
}

TEST_F(BroadcastTest, OtherRefusalsAreNotRePriced) {
  RefusingNode node(node_.url(), {{"code", -32000}, {"message", "insufficient funds for gas * price + value"}}, 1);
  ASSERT_TRUE(chains_->Put(kChain, {.rpc_url = node.url(), .confirmations = 0}, "admin", NowMs()).ok());
  const std::string id = Create(Transfer())["id"];
  EXPECT_EQ(broadcaster_->Broadcast(kChain, from_.ToLowerHex()).kind, store::JobResult::Kind::kRetry);
  json tx = Get(id);
  EXPECT_EQ(tx["status"], "signed");
  EXPECT_EQ(tx["attempts"], 1);
  EXPECT_NE(tx.value("error", "").find("insufficient funds"), std::string::npos) << tx.dump();
  // The same bytes pass once the node takes them.
  const std::string hash = tx["hash"];
  EXPECT_EQ(broadcaster_->Broadcast(kChain, from_.ToLowerHex()).kind, store::JobResult::Kind::kSuccess);
  tx = Get(id);
  EXPECT_EQ(tx["status"], "broadcast");
  EXPECT_EQ(tx["hash"], hash);
  EXPECT_EQ(tx["attempts"], 1);
}

TEST_F(BroadcastTest, ACrashAfterRePricingSendsTheRecordedVersion) {
  std::atomic<bool> crash{true};
  BroadcastOptions o;
  o.after_step = [&](std::string_view step, std::string_view) {
    return step == "repriced" && crash.exchange(false) ? UnavailableError("killed after repriced") : OkStatus();
  };
  MakeServices(o);
  RefusingNode node(node_.url(), {{"code", -32000}, {"message", "transaction underpriced"}}, 1);
  ASSERT_TRUE(chains_->Put(kChain, {.rpc_url = node.url(), .confirmations = 0}, "admin", NowMs()).ok());
  const std::string id = Create(Transfer())["id"];
  // Killed with version 2 recorded and not sent.
  EXPECT_EQ(broadcaster_->Broadcast(kChain, from_.ToLowerHex()).kind, store::JobResult::Kind::kRetry);
  json tx = Get(id);
  EXPECT_EQ(tx["status"], "signed");
  EXPECT_EQ(tx["attempts"], 2);
  EXPECT_EQ(*rpc_->GetTransactionCount(from_, BlockTag::kPending), 0u);
  // Restarted: version 2 goes out as recorded; nothing is signed again.
  EXPECT_EQ(broadcaster_->Broadcast(kChain, from_.ToLowerHex()).kind, store::JobResult::Kind::kSuccess);
  tx = Get(id);
  EXPECT_EQ(tx["status"], "broadcast");
  EXPECT_EQ(tx["attempts"], 2);
  ASSERT_EQ(broadcaster_->Confirm(id).kind, store::JobResult::Kind::kSuccess);
  tx = Get(id);
  EXPECT_EQ(tx["status"], "confirmed");
  EXPECT_EQ(tx["receipt"]["transactionHash"], tx["hashes"][1]);
  EXPECT_EQ(node.refused(), 1);
  EXPECT_EQ(Counter(), 1);
}

TEST_F(BroadcastTest, ARevertedTransactionFailsAndKeepsItsNonceAndSpend) {
  // A contract whose code is PUSH1 0 PUSH1 0 REVERT.
  const std::string reverter = "0x00000000000000000000000000000000000000aa";
  ASSERT_TRUE(rpc_->Call("hardhat_setCode", json::array({reverter, "0x60006000fd"})).ok());
  json call = Transfer("0");
  call["to"] = reverter;

  // Estimated: the node says it reverts, so it fails before taking a nonce.
  const std::string estimated = Create(call)["id"];
  const store::JobResult drained = broadcaster_->Broadcast(kChain, from_.ToLowerHex());
  ASSERT_EQ(drained.kind, store::JobResult::Kind::kSuccess) << drained.text;
  json tx = Get(estimated);
  EXPECT_EQ(tx["status"], "failed");
  EXPECT_EQ(tx["nonce"], nullptr);
  EXPECT_NE(tx["error"].get<std::string>().find("revert"), std::string::npos) << tx.dump();
  EXPECT_EQ(Counter(), -1);

  // With a gas limit of the caller's it is mined, reverted: failed, nonce used.
  call["gasLimit"] = 50000;
  const std::string mined = Create(call)["id"];
  const store::JobResult sent = broadcaster_->Broadcast(kChain, from_.ToLowerHex());
  ASSERT_EQ(sent.kind, store::JobResult::Kind::kSuccess) << sent.text;
  ASSERT_EQ(broadcaster_->Confirm(mined).kind, store::JobResult::Kind::kSuccess);
  tx = Get(mined);
  EXPECT_EQ(tx["status"], "failed");
  EXPECT_EQ(tx["nonce"], 0);
  EXPECT_EQ(tx["receipt"]["status"], 0);
  EXPECT_EQ(Counter(), 1);
  EXPECT_EQ(*rpc_->GetTransactionCount(from_, BlockTag::kLatest), 1u);
  EXPECT_EQ(events_.For(mined).back(), "transaction.failed");
}

TEST_F(BroadcastTest, ConfirmationsCountBlocksOnTopOfTheReceipt) {
  ASSERT_TRUE(chains_->Put(kChain, {.rpc_url = node_.url(), .confirmations = 2}, "admin", NowMs()).ok());
  const std::string id = Create(Transfer())["id"];
  ASSERT_EQ(broadcaster_->Broadcast(kChain, from_.ToLowerHex()).kind, store::JobResult::Kind::kSuccess);
  ASSERT_EQ(broadcaster_->Confirm(id).kind, store::JobResult::Kind::kSuccess);
  EXPECT_EQ(Get(id)["status"], "broadcast");
  ASSERT_TRUE(rpc_->Call("evm_mine", json::array()).ok());
  ASSERT_EQ(broadcaster_->Confirm(id).kind, store::JobResult::Kind::kSuccess);
  EXPECT_EQ(Get(id)["status"], "broadcast");
  ASSERT_TRUE(rpc_->Call("evm_mine", json::array()).ok());
  ASSERT_EQ(broadcaster_->Confirm(id).kind, store::JobResult::Kind::kSuccess);
  EXPECT_EQ(Get(id)["status"], "confirmed");
}

// ---------------------------------------------------------------------------------------
// The job rows: enqueued with the approval, in the same store transaction.

TEST_F(BroadcastTest, TheBroadcastJobCommitsWithTheApprovalOrNotAtAll) {
  auto count = [&](std::string_view queue) {
    int64_t n = -1;
    EXPECT_TRUE(db_->WithConn([&](store::Conn& c) -> Status {
      ASSIGN_OR_RETURN(store::Rows r, c.Query("SELECT COUNT(*) FROM jobs WHERE queue = $1", {store::Value(queue)}));
      n = r.Int(0, 0);
      return OkStatus();
    }).ok());
    return n;
  };
  Create(Transfer());
  EXPECT_EQ(count(Broadcaster::kBroadcastQueue), 1);
  // Enqueue on a connection: rolled back with its transaction.
  const Status rolled = db_->Transact(store::TxMode::kWrite, [&](store::Conn& c) -> Status {
    RETURN_IF_ERROR(broadcaster_->EnqueueBroadcast(c, kChain, from_.ToLowerHex(), NowMs()));
    return InternalError("changed my mind");
  });
  EXPECT_FALSE(rolled.ok());
  EXPECT_EQ(count(Broadcaster::kBroadcastQueue), 1);
  // A refused Create leaves no job either.
  Policy p;
  p.max_value_per_tx = U256(1);
  ASSERT_TRUE(txs_->PutPolicy(wallet_.id, p, "admin", NowMs()).ok());
  EXPECT_FALSE(txs_->Create(wallet_.id, Transfer("2"), "alice", NowMs()).ok());
  EXPECT_EQ(count(Broadcaster::kBroadcastQueue), 1);
  EXPECT_EQ(count(Broadcaster::kConfirmQueue), 0);
}

}  // namespace
}  // namespace vp::wallet
