// Custody end to end through the HTTP API (issue 5, "Proof that it is right"): the real
// `vaultproof serve` (custody on, so real kms and signer processes, two job workers) in
// front of a real Hardhat node (tests/chain, chain id 1337). Wallets are funded from
// Hardhat's account #0, then every transfer goes through signed API requests only: a chain
// is configured (and one whose endpoint serves another id refused); EIP-1559, EIP-2930 and
// legacy transfers are broadcast, confirmed and accounted to the wei; eight concurrent
// transfers from one wallet take nonces 0..7 without a gap; a two-approval policy holds a
// transfer until two distinct approvers approve; a webhook receiver gets the transaction's
// events with valid signatures. Store on SQLite (the gateway's default).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "../http/gateway_test_util.h"
#include "vp/base/bytes.h"
#include "vp/crypto/hash.h"
#include "vp/eth/address.h"
#include "vp/eth/transaction.h"
#include "vp/eth/uint256.h"
#include "vp/wallet/hardhat_fixture.h"
#include "vp/wallet/rpc.h"

namespace {

using namespace vp::gateway_test;
using nlohmann::json;
using vp::StatusOr;
using vp::eth::Address;
using vp::eth::U256;
using namespace std::chrono_literals;

constexpr uint64_t kChain = 1337;  // tests/chain/hardhat.config.js
// Hardhat's default account #0 (mnemonic "test test ... junk"), the faucet of these tests.
constexpr std::string_view kKey0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
constexpr std::string_view kAddr0 = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
constexpr auto kConfirmTimeout = 60s;

// A plain HTTP/1.1 receiver on 127.0.0.1 for webhook deliveries: records each request's
// headers and raw body and answers 200.
class Receiver {
 public:
  struct Request {
    std::string target;
    std::map<std::string, std::string> headers;  // lower-case names
    std::string body;
  };

  Receiver() {
    fd_ = vp::testing::ListenLoopback(&port_, 64);
    if (fd_ < 0) return;
    thread_ = std::thread([this] { Loop(); });
  }
  ~Receiver() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    ::close(fd_);
  }
  Receiver(const Receiver&) = delete;
  Receiver& operator=(const Receiver&) = delete;

  uint16_t port() const { return port_; }
  std::vector<Request> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

 private:
  void Loop() {
    while (!stop_) {
      pollfd pfd{fd_, POLLIN, 0};
      if (::poll(&pfd, 1, 100) <= 0) continue;
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      timeval tv{5, 0};
      ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
      std::string pending;
      HttpResponse head = ReadResponse(c, &pending);  // same framing: start line, headers, Content-Length body
      Request r;
      r.headers = head.headers;
      r.body = head.body;
      if (head.ok) {
        SendAll(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        std::lock_guard<std::mutex> lock(mu_);
        requests_.push_back(std::move(r));
      }
      ::close(c);
    }
  }

  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::vector<Request> requests_;
};

class CustodyE2E : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    node_error_ = node_.Start();
    if (!node_error_.empty()) return;
    // Fast broadcast timings are not configurable from TOML: the defaults apply (poll 1 s).
    server_ = std::make_unique<Server>(R"(
[worker]
threads = 2
[webhooks]
allow_private_addresses = true
[rate_limits]
per_key_limit = 100000
per_ip_limit = 100000
)");
    admin_ = server_->CreateKey("admin");
    operator_ = server_->CreateKey("operator");
    approver1_ = server_->CreateKey("approver");
    approver2_ = server_->CreateKey("approver");
  }
  static void TearDownTestSuite() {
    if (server_) {
      EXPECT_EQ(server_->Stop(), 0);
    }
    server_.reset();
    node_.Stop();
  }

  void SetUp() override {
    ASSERT_TRUE(node_error_.empty()) << node_error_;
    ASSERT_TRUE(server_ && server_->port() != 0) << "vaultproof serve did not start (VP_BIN_DIR=" << BinDir() << ")";
    ASSERT_FALSE(admin_.id.empty() || operator_.id.empty() || approver1_.id.empty() || approver2_.id.empty());
    auto rpc = vp::wallet::RpcClient::Create(node_.url());
    ASSERT_TRUE(rpc.ok()) << rpc.status().ToString();
    rpc_ = std::move(*rpc);
    // Every test may run alone: the chain is (re)configured, which is idempotent.
    HttpResponse put = Call(admin_, "PUT", "/v1/chains/" + std::to_string(kChain),
                            json{{"rpcUrl", node_.url()}, {"confirmations", 0}}.dump());
    ASSERT_EQ(put.status, 200) << put.body;
  }

  HttpResponse Call(const Key& k, const std::string& method, const std::string& path, const std::string& body = "",
                    const std::string& query = "") {
    return RawExchange(server_->port(), SignedRequest(k, method, path, query, body, NowS()));
  }

  struct Wallet {
    std::string id;
    Address address;
  };
  // A fresh single-key wallet created by `creator`, funded with `wei` from account #0.
  Wallet CreateFundedWallet(const std::string& name, const Key& creator, const U256& wei) {
    Wallet w;
    HttpResponse r = Call(creator, "POST", "/v1/wallets", json{{"name", name}, {"chain", "evm"}, {"kind", "single"}}.dump());
    EXPECT_EQ(r.status, 201) << r.body;
    const json d = r.Json().value("data", json::object());
    w.id = d.value("id", "");
    StatusOr<Address> a = Address::Parse(d.value("address", ""));
    EXPECT_TRUE(a.ok()) << r.body;
    if (a.ok()) w.address = *a;
    if (a.ok() && !wei.IsZero()) Fund(w.address, wei);
    return w;
  }

  // An EIP-1559 transfer signed here with account #0's key and mined at once (automine).
  void Fund(const Address& to, const U256& wei) {
    StatusOr<vp::Bytes> key = vp::HexDecode(kKey0);
    StatusOr<Address> from = Address::Parse(kAddr0);
    ASSERT_TRUE(key.ok() && from.ok());
    StatusOr<uint64_t> nonce = rpc_->GetTransactionCount(*from, vp::wallet::BlockTag::kPending);
    ASSERT_TRUE(nonce.ok()) << nonce.status().ToString();
    StatusOr<vp::wallet::FeeHistory> fees = rpc_->GetFeeHistory(4, {50});
    ASSERT_TRUE(fees.ok()) << fees.status().ToString();
    vp::eth::Transaction tx;
    tx.type = vp::eth::TxType::kDynamicFee;
    tx.chain_id = U256(kChain);
    tx.nonce = *nonce;
    tx.to = to;
    tx.value = wei;
    tx.gas_limit = U256(21000);
    tx.max_priority_fee_per_gas = fees->suggested_priority_fee ? *fees->suggested_priority_fee : U256(1000000000);
    tx.max_fee_per_gas = fees->next_base_fee_per_gas + fees->next_base_fee_per_gas + tx.max_priority_fee_per_gas;
    StatusOr<vp::eth::SignedTransaction> st = vp::eth::SignTransaction(tx, *key);
    ASSERT_TRUE(st.ok()) << st.status().ToString();
    StatusOr<vp::crypto::Hash256> hash = rpc_->SendRawTransaction(st->raw);
    ASSERT_TRUE(hash.ok()) << hash.status().ToString();
    auto receipt = rpc_->GetTransactionReceipt(*hash);
    ASSERT_TRUE(receipt.ok() && receipt->has_value()) << receipt.status().ToString();
    EXPECT_EQ((**receipt).status, 1);
  }

  U256 Balance(const Address& a) {
    StatusOr<U256> b = rpc_->GetBalance(a);
    EXPECT_TRUE(b.ok()) << b.status().ToString();
    return b.ok() ? *b : U256(0);
  }

  // Polls GET /v1/transactions/{id} until the record reaches `status` or a final status
  // (confirmed, failed, rejected), at most kConfirmTimeout; returns the last record.
  json WaitFor(const std::string& tx_id, const std::string& status = "confirmed") {
    const auto deadline = std::chrono::steady_clock::now() + kConfirmTimeout;
    json record;
    while (std::chrono::steady_clock::now() < deadline) {
      HttpResponse r = Call(operator_, "GET", "/v1/transactions/" + tx_id);
      if (r.status == 200) {
        record = r.Json()["data"];
        const std::string s = record.value("status", "");
        if (s == status || s == "confirmed" || s == "failed" || s == "rejected") return record;
      }
      std::this_thread::sleep_for(200ms);
    }
    ADD_FAILURE() << tx_id << " did not reach " << status << " within 60 s; last record: " << record.dump();
    return record;
  }

  // Checks a confirmed record against the node: receipt status 1, the recorded hash mined,
  // the type as asked. Returns the record's nonce (-1 if absent).
  int64_t ExpectConfirmed(const json& record, int type) {
    EXPECT_EQ(record.value("status", ""), "confirmed") << record.dump();
    EXPECT_EQ(record.value("chainId", json()).dump(), json(kChain).dump()) << record.dump();
    const json receipt = record.value("receipt", json::object());
    EXPECT_EQ(receipt.value("status", -1), 1) << record.dump();
    StatusOr<vp::Bytes> h = vp::HexDecode(record.value("hash", ""));
    EXPECT_TRUE(h.ok() && h->size() == 32) << record.dump();
    if (h.ok() && h->size() == 32) {
      vp::crypto::Hash256 hash{};
      std::copy(h->begin(), h->end(), hash.begin());
      auto on_chain = rpc_->GetTransactionReceipt(hash);
      EXPECT_TRUE(on_chain.ok() && on_chain->has_value()) << record.dump();
      if (on_chain.ok() && on_chain->has_value()) {
        EXPECT_EQ((**on_chain).status, 1);
      }
      auto info = rpc_->GetTransactionByHash(hash);
      EXPECT_TRUE(info.ok() && info->has_value()) << record.dump();
      if (info.ok() && info->has_value()) {
        EXPECT_EQ((**info).type, type) << record.dump();
      }
    }
    StatusOr<vp::Bytes> raw = vp::HexDecode(record.value("raw", ""));
    EXPECT_TRUE(raw.ok()) << record.dump();
    if (raw.ok()) {
      StatusOr<vp::eth::SignedTransaction> decoded = vp::eth::DecodeSignedTransaction(*raw);
      EXPECT_TRUE(decoded.ok()) << decoded.status().ToString();
      if (decoded.ok()) {
        EXPECT_EQ(static_cast<int>(decoded->tx.type), type);
      }
    }
    const json nonce = record.value("nonce", json());
    return nonce.is_number_integer() ? nonce.get<int64_t>() : -1;
  }

  static json Transfer(const Address& to, const U256& value) {
    return {{"to", to.ToChecksumHex()}, {"value", value.ToDecimal()}, {"chainId", kChain}, {"broadcast", true}};
  }
  // A recipient nobody else pays: its balance starts at zero.
  static Address Recipient(uint8_t tag) {
    vp::Bytes b(20, 0xe2);
    b[19] = tag;
    StatusOr<Address> a = Address::Parse(vp::HexEncode(b, true));
    return a.ok() ? *a : Address();
  }

  static inline vp::wallet::testing::HardhatNode node_;
  static inline std::string node_error_ = "not started";
  static inline std::unique_ptr<Server> server_;
  static inline Key admin_, operator_, approver1_, approver2_;
  std::unique_ptr<vp::wallet::RpcClient> rpc_;
};

const U256 kTenEther = U256(10000000000000000000ull);

TEST_F(CustodyE2E, ChainIsConfiguredOnlyWhenTheEndpointServesItsId) {
  HttpResponse got = Call(operator_, "GET", "/v1/chains/" + std::to_string(kChain));
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(got.Json()["data"].value("confirmations", -1), 0) << got.body;
  // The node serves 1337: configuring it as chain 5 is refused and stores nothing.
  ExpectEnvelope(Call(admin_, "PUT", "/v1/chains/5", json{{"rpcUrl", node_.url()}, {"confirmations", 0}}.dump()), 409,
                 "CHAIN_ID_MISMATCH");
  EXPECT_EQ(Call(operator_, "GET", "/v1/chains/5").status, 409);
  // Only admins configure chains.
  ExpectEnvelope(Call(operator_, "PUT", "/v1/chains/" + std::to_string(kChain),
                      json{{"rpcUrl", node_.url()}, {"confirmations", 0}}.dump()),
                 403, "PERMISSION_DENIED");
}

TEST_F(CustodyE2E, Eip1559Eip2930AndLegacyTransfersAreBroadcastConfirmedAndAccounted) {
  const Wallet w = CreateFundedWallet("e2e-types", operator_, kTenEther);
  ASSERT_FALSE(w.id.empty());
  const Address to = Recipient(1);
  const U256 before = Balance(to);
  const std::string path = "/v1/wallets/" + w.id + "/transactions";

  // Type 2 inferred, gas and fees omitted (filled from eth_estimateGas and eth_feeHistory).
  json t2 = Transfer(to, U256(1000000000000000ull));
  // Type 1 with gasPrice omitted (filled from eth_gasPrice), an empty access list.
  json t1 = Transfer(to, U256(2000000000000000ull));
  t1["type"] = 1;
  // Type 0 with its gas price and gas limit given: taken as they stand.
  json t0 = Transfer(to, U256(3000000000000000ull));
  t0["type"] = 0;
  t0["gasPrice"] = "5000000000";
  t0["gasLimit"] = 21000;

  // One at a time: each in a drain of its own (see DISABLED_FeesAreFilledPerType... below).
  std::set<int64_t> nonces;
  for (const auto& [body, type] : {std::pair{t2, 2}, std::pair{t1, 1}, std::pair{t0, 0}}) {
    HttpResponse r = Call(operator_, "POST", path, body.dump());
    ASSERT_EQ(r.status, 201) << body.dump() << " -> " << r.body;
    EXPECT_EQ(r.Json()["data"].value("broadcast", false), true) << r.body;
    nonces.insert(ExpectConfirmed(WaitFor(r.Json()["data"].value("id", "")), type));
  }
  EXPECT_EQ(nonces, (std::set<int64_t>{0, 1, 2}));
  EXPECT_EQ(Balance(to), before + U256(6000000000000000ull));
  // The sender paid the values and the gas of exactly three transactions.
  StatusOr<uint64_t> sent = rpc_->GetTransactionCount(w.address, vp::wallet::BlockTag::kLatest);
  ASSERT_TRUE(sent.ok());
  EXPECT_EQ(*sent, 3u);
}

// Product bug, found by this test (not fixed here): the broadcaster's nonce pass fetches the
// fee market once per drain for the first transaction's type (broadcast.cc, `if (!market)`)
// and applies it to every later transaction of the drain. A type 1 or 0 transaction with
// its gasPrice omitted that follows a type 2 one in the same drain is signed with gasPrice 0;
// the node refuses it (fee_too_low), the refusal is retried with the same bytes, and the
// sender's later nonces wait behind it for good. Enable once fixed.
TEST_F(CustodyE2E, FeesAreFilledPerTypeWhenTypesMixInOneDrain) {
  const Wallet w = CreateFundedWallet("e2e-mixed", operator_, kTenEther);
  ASSERT_FALSE(w.id.empty());
  const Address to = Recipient(5);
  json t1 = Transfer(to, U256(2000));
  t1["type"] = 1;
  std::vector<std::pair<std::string, int>> created;
  for (const auto& [body, type] : {std::pair{Transfer(to, U256(1000)), 2}, std::pair{t1, 1}}) {
    HttpResponse r = Call(operator_, "POST", "/v1/wallets/" + w.id + "/transactions", body.dump());
    ASSERT_EQ(r.status, 201) << r.body;
    created.emplace_back(r.Json()["data"].value("id", ""), type);
  }
  for (const auto& [id, type] : created) ExpectConfirmed(WaitFor(id), type);
  EXPECT_EQ(Balance(to), U256(3000));
}

TEST_F(CustodyE2E, ConcurrentTransfersFromOneWalletTakeConsecutiveNonces) {
  const Wallet w = CreateFundedWallet("e2e-concurrent", operator_, kTenEther);
  ASSERT_FALSE(w.id.empty());
  const Address to = Recipient(2);
  const U256 before = Balance(to);
  constexpr int kCount = 8;
  std::vector<std::string> ids(kCount);
  std::vector<std::string> errors(kCount);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < kCount; ++i) {
    threads.emplace_back([&, i] {
      HttpResponse r = Call(operator_, "POST", "/v1/wallets/" + w.id + "/transactions",
                            Transfer(to, U256(1000 + i)).dump());
      if (r.status == 201) ids[i] = r.Json()["data"].value("id", "");
      else errors[i] = std::to_string(r.status) + " " + r.body;
    });
  }
  for (std::thread& t : threads) t.join();
  U256 total(0);
  std::vector<int64_t> nonces;
  for (size_t i = 0; i < kCount; ++i) {
    ASSERT_FALSE(ids[i].empty()) << "request " << i << ": " << errors[i];
    nonces.push_back(ExpectConfirmed(WaitFor(ids[i]), 2));
    total = total + U256(1000 + i);
  }
  std::sort(nonces.begin(), nonces.end());
  EXPECT_EQ(nonces, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(Balance(to), before + total);
  StatusOr<uint64_t> sent = rpc_->GetTransactionCount(w.address, vp::wallet::BlockTag::kLatest);
  ASSERT_TRUE(sent.ok());
  EXPECT_EQ(*sent, static_cast<uint64_t>(kCount));
}

TEST_F(CustodyE2E, TwoRequiredApprovalsHoldATransferUntilTwoDistinctApproversApprove) {
  // An admin creates it: admins may approve, so the self-approval refusal is reachable.
  const Wallet w = CreateFundedWallet("e2e-approvals", admin_, kTenEther);
  ASSERT_FALSE(w.id.empty());
  HttpResponse put = Call(admin_, "PUT", "/v1/wallets/" + w.id + "/policy", R"({"requiredApprovals":2})");
  ASSERT_EQ(put.status, 200) << put.body;
  const Address to = Recipient(3);
  const U256 before = Balance(to);
  const U256 value(4000000000000000ull);

  HttpResponse created = Call(admin_, "POST", "/v1/wallets/" + w.id + "/transactions", Transfer(to, value).dump());
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.Json()["data"].value("status", ""), "pending_approval") << created.body;
  const std::string id = created.Json()["data"].value("id", "");
  const std::string approve = "/v1/transactions/" + id + "/approve";

  ExpectEnvelope(Call(admin_, "POST", approve, "{}"), 403, "SELF_APPROVAL");
  HttpResponse a1 = Call(approver1_, "POST", approve, "{}");
  ASSERT_EQ(a1.status, 200) << a1.body;
  EXPECT_EQ(a1.Json()["data"].value("status", ""), "pending_approval") << a1.body;
  ExpectEnvelope(Call(approver1_, "POST", approve, "{}"), 409, "ALREADY_DECIDED");
  // Held: two broadcaster polls later nothing has been assigned, signed or sent.
  std::this_thread::sleep_for(2s);
  HttpResponse held = Call(operator_, "GET", "/v1/transactions/" + id);
  ASSERT_EQ(held.status, 200) << held.body;
  EXPECT_EQ(held.Json()["data"].value("status", ""), "pending_approval") << held.body;
  EXPECT_TRUE(held.Json()["data"].value("nonce", json()).is_null()) << held.body;
  EXPECT_EQ(Balance(to), before);

  HttpResponse a2 = Call(approver2_, "POST", approve, "{}");
  ASSERT_EQ(a2.status, 200) << a2.body;
  EXPECT_NE(a2.Json()["data"].value("status", ""), "pending_approval") << a2.body;
  const json record = WaitFor(id);
  EXPECT_EQ(ExpectConfirmed(record, 2), 0);
  ASSERT_EQ(record.value("approvals", json::array()).size(), 2u) << record.dump();
  std::set<std::string> approvers;
  for (const json& a : record["approvals"]) approvers.insert(a.value("approver", ""));
  EXPECT_EQ(approvers, (std::set<std::string>{approver1_.id, approver2_.id}));
  EXPECT_EQ(Balance(to), before + value);
}

TEST_F(CustodyE2E, WebhookReceivesTheTransactionsEventsSigned) {
  Receiver receiver;
  ASSERT_NE(receiver.port(), 0);
  HttpResponse hook = Call(admin_, "POST", "/v1/webhooks",
                           json{{"url", "http://127.0.0.1:" + std::to_string(receiver.port()) + "/hooks/vp?src=e2e"},
                                {"events", {"*"}}}
                               .dump());
  ASSERT_EQ(hook.status, 201) << hook.body;
  const std::string hook_id = hook.Json()["data"].value("id", "");
  const std::string secret = hook.Json()["data"].value("secret", "");
  ASSERT_EQ(secret.rfind("whsec_", 0), 0u) << hook.body;

  const Wallet w = CreateFundedWallet("e2e-webhook", operator_, kTenEther);
  ASSERT_FALSE(w.id.empty());
  HttpResponse created =
      Call(operator_, "POST", "/v1/wallets/" + w.id + "/transactions", Transfer(Recipient(4), U256(5000)).dump());
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string tx_id = created.Json()["data"].value("id", "");
  ExpectConfirmed(WaitFor(tx_id), 2);

  // Deliveries run through the job queue after the change commits: wait for the last one.
  const std::vector<std::string> expected = {"transaction.created", "transaction.approved", "transaction.signed",
                                             "transaction.broadcast", "transaction.confirmed"};
  std::map<std::string, int> seen;  // event -> deliveries of it for tx_id
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  std::vector<Receiver::Request> got;
  while (std::chrono::steady_clock::now() < deadline) {
    got = receiver.requests();
    seen.clear();
    for (const Receiver::Request& r : got) {
      const json body = json::parse(r.body, nullptr, false);
      if (body.is_object() && body.value("data", json::object()).value("id", "") == tx_id) ++seen[body.value("event", "")];
    }
    if (seen.count("transaction.confirmed") != 0) break;
    std::this_thread::sleep_for(200ms);
  }
  for (const std::string& e : expected) EXPECT_GE(seen[e], 1) << "no " << e << " delivery; got " << got.size() << " requests";

  std::set<std::string> delivery_ids;
  for (const Receiver::Request& r : got) {
    const json body = json::parse(r.body, nullptr, false);
    ASSERT_TRUE(body.is_object()) << r.body;
    EXPECT_EQ(r.headers.count("vp-event") ? r.headers.at("vp-event") : "", body.value("event", ""));
    EXPECT_EQ(r.headers.count("vp-webhook-id") ? r.headers.at("vp-webhook-id") : "", hook_id);
    EXPECT_EQ(r.headers.count("vp-delivery") ? r.headers.at("vp-delivery") : "", body.value("id", ""));
    delivery_ids.insert(body.value("id", ""));
    // VP-Signature: t=<unix s>,v1=hex(HMAC-SHA256(secret, t "." raw body)) (docs/api.md).
    const std::string sig = r.headers.count("vp-signature") ? r.headers.at("vp-signature") : "";
    const size_t comma = sig.find(",v1=");
    ASSERT_TRUE(sig.rfind("t=", 0) == 0 && comma != std::string::npos) << sig;
    const std::string t = sig.substr(2, comma - 2);
    const std::string v1 = sig.substr(comma + 4);
    const int64_t skew = NowS() - std::atoll(t.c_str());
    EXPECT_LE(skew < 0 ? -skew : skew, 300) << sig;
    const std::string expected_mac =
        vp::HexEncode(vp::crypto::HmacSha256(vp::AsBytes(secret), vp::AsBytes(t + "." + r.body)));
    EXPECT_EQ(v1, expected_mac) << "bad signature on " << body.value("event", "");
    // A signature under another secret does not match (the check above is not vacuous).
    EXPECT_NE(v1, vp::HexEncode(vp::crypto::HmacSha256(vp::AsBytes(secret + "x"), vp::AsBytes(t + "." + r.body))));
  }

  // The gateway's own record: every delivery delivered, answered 200.
  json deliveries;
  const auto deadline2 = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline2) {
    HttpResponse d = Call(admin_, "GET", "/v1/webhooks/" + hook_id + "/deliveries");
    ASSERT_EQ(d.status, 200) << d.body;
    deliveries = d.Json()["data"]["deliveries"];
    const bool all = std::all_of(deliveries.begin(), deliveries.end(),
                                 [](const json& x) { return x.value("state", "") == "delivered"; });
    if (all && deliveries.size() >= delivery_ids.size()) break;
    std::this_thread::sleep_for(200ms);
  }
  std::set<std::string> listed;
  for (const json& x : deliveries) {
    EXPECT_EQ(x.value("state", ""), "delivered") << x.dump();
    EXPECT_EQ(x.value("statusCode", json()).dump(), "200") << x.dump();
    listed.insert(x.value("deliveryId", ""));
  }
  EXPECT_EQ(listed, delivery_ids);

  // The deliveries ran as jobs, and the metrics say so.
  HttpResponse m = RawExchange(server_->port(), Get("/metrics"));
  EXPECT_NE(m.body.find("vp_jobs_finished_total{queue=\"webhook.deliver\",outcome=\"succeeded\"}"), std::string::npos)
      << m.body;
  EXPECT_NE(m.body.find("vp_job_duration_seconds_count{queue=\"tx.broadcast\",outcome=\"succeeded\"}"),
            std::string::npos);

  // Later tests' transactions go to no receiver.
  EXPECT_EQ(Call(admin_, "DELETE", "/v1/webhooks/" + hook_id).status, 200);
}

}  // namespace
