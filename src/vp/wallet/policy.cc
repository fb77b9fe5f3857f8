// Policies, transaction requests, approvals (policy.h).
#include "vp/wallet/policy.h"

#include <algorithm>
#include <chrono>

#include "vp/base/json.h"
#include "vp/crypto/random.h"
#include "vp/eth/address.h"
#include "vp/eth/transaction.h"
#include "vp/eth/tx_json.h"
#include "vp/store/idempotency.h"
#include "vp/store/jobs.h"
#include "vp/wallet/broadcast.h"
#include "vp/wallet/chains.h"

namespace vp::wallet {
namespace {

using nlohmann::json;
using eth::U256;

constexpr int64_t kDayMs = 86'400'000;
constexpr std::string_view kTxColumns =
    "id, wallet_id, status, request, value_wei, spend_day, required_approvals, created_by, created_ms, updated_ms, "
    "raw, hash, from_address, error, broadcast, chain_id, nonce, attempts, broadcast_ms, receipt";

StatusOr<U256> Wei(const json& v, std::string_view name) {
  if (v.is_number_unsigned()) return U256(v.get<uint64_t>());
  if (v.is_string()) {
    auto parsed = U256::Parse(v.get<std::string>());
    if (parsed.ok()) return parsed;
  }
  return InvalidArgumentError(std::string(name) + ": a non-negative integer (wei) as a number or decimal/0x string");
}

template <typename T, typename F>
StatusOr<std::vector<T>> List(const json& v, std::string_view name, F each) {
  if (!v.is_array()) return InvalidArgumentError(std::string(name) + ": must be an array");
  if (v.size() > 1000) return InvalidArgumentError(std::string(name) + ": at most 1000 entries");
  std::vector<T> out;
  for (const auto& x : v) {
    ASSIGN_OR_RETURN(T t, each(x));
    out.push_back(std::move(t));
  }
  return out;
}

std::string Selector(ByteSpan data) { return data.size() < 4 ? "" : HexEncode(data.first(4), true); }

}  // namespace

Status Refusal(StatusCode code, std::string_view name, std::string_view message) {
  return Status(code, std::string(name) + ": " + std::string(message));
}

std::string_view RefusalCode(const Status& s) {
  static constexpr std::string_view kCodes[] = {"POLICY_LIMIT_EXCEEDED", "DESTINATION_NOT_ALLOWED", "CHAIN_NOT_ALLOWED",
                                                "METHOD_NOT_ALLOWED",    "SELF_APPROVAL",           "ALREADY_DECIDED",
                                                "TRANSACTION_NOT_PENDING", "CHAIN_NOT_CONFIGURED",  "CHAIN_ID_MISMATCH"};
  for (std::string_view c : kCodes) {
    if (s.message().size() > c.size() + 1 && s.message().compare(0, c.size(), c) == 0 && s.message()[c.size()] == ':')
      return c;
  }
  return {};
}

StatusOr<Policy> ParsePolicy(const json& j) {
  if (!j.is_object()) return InvalidArgumentError("policy: must be a JSON object");
  static constexpr std::string_view kFields[] = {"maxValuePerTx",   "dailyLimit",      "allowlist",
                                                 "requiredApprovals", "allowedChainIds", "allowedMethods"};
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (std::find(std::begin(kFields), std::end(kFields), it.key()) == std::end(kFields))
      return InvalidArgumentError("policy: unknown field \"" + it.key() + "\"");
  }
  Policy p;
  if (j.contains("maxValuePerTx") && !j["maxValuePerTx"].is_null()) {
    ASSIGN_OR_RETURN(p.max_value_per_tx, Wei(j["maxValuePerTx"], "maxValuePerTx"));
  }
  if (j.contains("dailyLimit") && !j["dailyLimit"].is_null()) {
    ASSIGN_OR_RETURN(p.daily_limit, Wei(j["dailyLimit"], "dailyLimit"));
  }
  if (j.contains("allowlist") && !j["allowlist"].is_null()) {
    ASSIGN_OR_RETURN(p.allowlist, List<std::string>(j["allowlist"], "allowlist", [](const json& x) -> StatusOr<std::string> {
      if (!x.is_string()) return InvalidArgumentError("allowlist: addresses are strings");
      ASSIGN_OR_RETURN(eth::Address a, eth::Address::Parse(x.get<std::string>()));
      return a.ToLowerHex();
    }));
  }
  if (j.contains("requiredApprovals")) {
    const json& v = j["requiredApprovals"];
    if (!v.is_number_unsigned() || v.get<uint64_t>() > 10) return InvalidArgumentError("requiredApprovals: 0..10");
    p.required_approvals = v.get<int64_t>();
  }
  if (j.contains("allowedChainIds") && !j["allowedChainIds"].is_null()) {
    ASSIGN_OR_RETURN(p.allowed_chain_ids, List<uint64_t>(j["allowedChainIds"], "allowedChainIds", [](const json& x) -> StatusOr<uint64_t> {
      if (!x.is_number_unsigned()) return InvalidArgumentError("allowedChainIds: non-negative integers");
      return x.get<uint64_t>();
    }));
  }
  if (j.contains("allowedMethods") && !j["allowedMethods"].is_null()) {
    ASSIGN_OR_RETURN(p.allowed_methods, List<std::string>(j["allowedMethods"], "allowedMethods", [](const json& x) -> StatusOr<std::string> {
      if (!x.is_string()) return InvalidArgumentError("allowedMethods: strings");
      const std::string m = x.get<std::string>();
      if (m == "transfer") return m;
      auto b = HexDecode(m, HexPrefix::kRequired);
      if (!b.ok() || b->size() != 4) return InvalidArgumentError("allowedMethods: \"transfer\" or a 4-byte selector like 0xa9059cbb");
      return HexEncode(*b, true);
    }));
  }
  return p;
}

json PolicyJson(const Policy& p) {
  json j = json::object();
  j["maxValuePerTx"] = p.max_value_per_tx ? json(p.max_value_per_tx->ToDecimal()) : json(nullptr);
  j["dailyLimit"] = p.daily_limit ? json(p.daily_limit->ToDecimal()) : json(nullptr);
  j["allowlist"] = p.allowlist ? json(*p.allowlist) : json(nullptr);
  j["requiredApprovals"] = p.required_approvals;
  j["allowedChainIds"] = p.allowed_chain_ids ? json(*p.allowed_chain_ids) : json(nullptr);
  j["allowedMethods"] = p.allowed_methods ? json(*p.allowed_methods) : json(nullptr);
  return j;
}

Status TransactionService::PutPolicy(std::string_view wallet_id, const Policy& policy, std::string_view principal,
                                     int64_t now_ms) {
  ASSIGN_OR_RETURN(Wallet w, wallets_.Get(wallet_id));
  const std::string text = PolicyJson(policy).dump();
  return db_.Transact(store::TxMode::kWrite, [&](store::Conn& c) {
    return c.Exec("INSERT INTO wallet_policies (wallet_id, policy, updated_by, updated_ms) VALUES ($1, $2, $3, $4)"
                  " ON CONFLICT (wallet_id) DO UPDATE SET policy = excluded.policy, updated_by = excluded.updated_by,"
                  " updated_ms = excluded.updated_ms",
                  {store::Value(w.id), store::Value(text), store::Value(principal), store::Value(now_ms)});
  });
}

StatusOr<json> TransactionService::GetPolicy(std::string_view wallet_id) {
  ASSIGN_OR_RETURN(Wallet w, wallets_.Get(wallet_id));
  json out = {{"walletId", w.id}, {"policy", PolicyJson(Policy{})}, {"updatedBy", nullptr}, {"updatedAt", nullptr}};
  const Status read = db_.WithConn([&](store::Conn& c) -> Status {
    ASSIGN_OR_RETURN(store::Rows r, c.Query("SELECT policy, updated_by, updated_ms FROM wallet_policies WHERE wallet_id = $1",
                                            {store::Value(w.id)}));
    if (!r.empty()) {
      out["policy"] = json::parse(r.Text(0, 0), nullptr, false);
      out["updatedBy"] = r.Text(0, 1);
      out["updatedAt"] = r.Int(0, 2);
    }
    return OkStatus();
  });
  RETURN_IF_ERROR(read);
  return out;
}

namespace {

// Loads a wallet's policy inside a transaction (default: no limits, no approvals).
StatusOr<Policy> LoadPolicy(store::Conn& c, const std::string& wallet_id) {
  ASSIGN_OR_RETURN(store::Rows r, c.Query("SELECT policy FROM wallet_policies WHERE wallet_id = $1", {store::Value(wallet_id)}));
  if (r.empty()) return Policy{};
  ASSIGN_OR_RETURN(json j, ParseJsonStrict(r.Text(0, 0), "stored policy"));
  // Stored policies are PolicyJson output: nulls mean "no rule".
  return ParsePolicy(j);
}

// Adds `delta` (or subtracts when !add) to the wallet's spend for `day`, under a row lock,
// and returns the new total; kPermissionDenied POLICY_LIMIT_EXCEEDED past `limit`.
StatusOr<U256> MoveSpend(store::Conn& c, const std::string& wallet_id, int64_t day, const U256& delta, bool add,
                         const std::optional<U256>& limit) {
  RETURN_IF_ERROR(c.Exec("INSERT INTO wallet_daily_spend (wallet_id, day, spent_wei) VALUES ($1, $2, '0')"
                         " ON CONFLICT (wallet_id, day) DO NOTHING",
                         {store::Value(wallet_id), store::Value(day)}));
  const std::string lock = c.dialect() == store::Dialect::kPostgres ? " FOR UPDATE" : "";
  ASSIGN_OR_RETURN(store::Rows r, c.Query("SELECT spent_wei FROM wallet_daily_spend WHERE wallet_id = $1 AND day = $2" + lock,
                                          {store::Value(wallet_id), store::Value(day)}));
  ASSIGN_OR_RETURN(U256 spent, U256::ParseDecimal(r.Text(0, 0)));
  U256 next;
  if (add) {
    if (!spent.AddChecked(delta, &next)) return Refusal(StatusCode::kPermissionDenied, "POLICY_LIMIT_EXCEEDED", "daily total overflows");
    if (limit && next > *limit)
      return Refusal(StatusCode::kPermissionDenied, "POLICY_LIMIT_EXCEEDED",
                     "dailyLimit: " + spent.ToDecimal() + " wei already committed today + " + delta.ToDecimal() +
                         " exceeds " + limit->ToDecimal());
  } else {
    next = spent >= delta ? spent - delta : U256();
  }
  RETURN_IF_ERROR(c.Exec("UPDATE wallet_daily_spend SET spent_wei = $1 WHERE wallet_id = $2 AND day = $3",
                         {store::Value(next.ToDecimal()), store::Value(wallet_id), store::Value(day)}));
  return next;
}

json TxRowJson(const store::Rows& r, size_t i) {
  json j = {{"id", r.Text(i, 0)},
            {"walletId", r.Text(i, 1)},
            {"status", r.Text(i, 2)},
            {"request", json::parse(r.Text(i, 3), nullptr, false)},
            {"value", r.Text(i, 4)},
            {"requiredApprovals", r.Int(i, 6)},
            {"createdBy", r.Text(i, 7)},
            {"createdAt", r.Int(i, 8)},
            {"updatedAt", r.Int(i, 9)}};
  if (!r.Text(i, 12).empty()) j["from"] = r.Text(i, 12);
  if (!r.Text(i, 10).empty()) {
    j["raw"] = r.Text(i, 10);
    j["hash"] = r.Text(i, 11);
  }
  if (!r.Text(i, 13).empty()) j["error"] = r.Text(i, 13);
  j["broadcast"] = r.Int(i, 14) != 0;
  if (r.Int(i, 14) != 0) {
    j["chainId"] = r.Int(i, 15);
    j["nonce"] = r.IsNull(i, 16) ? json(nullptr) : json(r.Int(i, 16));
    j["attempts"] = r.Int(i, 17);
    j["broadcastAt"] = r.IsNull(i, 18) ? json(nullptr) : json(r.Int(i, 18));
    if (!r.Text(i, 19).empty()) j["receipt"] = json::parse(r.Text(i, 19), nullptr, false);
  }
  return j;
}

// The sender of a request: the wallet's address, or its HD deposit address `index`.
StatusOr<std::string> SenderAddress(store::Conn& c, const Wallet& w, std::optional<int64_t> index) {
  std::string text = w.address;
  if (index.has_value() && w.kind != "hd") return InvalidArgumentError("index: only HD wallets have derived addresses");
  if (index.has_value() && *index != 0) {
    ASSIGN_OR_RETURN(store::Rows r, c.Query("SELECT address FROM wallet_addresses WHERE wallet_id = $1 AND idx = $2",
                                            {store::Value(w.id), store::Value(*index)}));
    if (r.empty()) return InvalidArgumentError("index: no such deposit address");
    text = r.Text(0, 0);
  }
  ASSIGN_OR_RETURN(eth::Address a, eth::Address::Parse(text));
  return a.ToLowerHex();
}

}  // namespace

EventSink& NoEventSink() {
  static NoEvents none;
  return none;
}

StatusOr<json> LoadTransaction(store::Conn& c, std::string_view tx_id) {
  ASSIGN_OR_RETURN(store::Rows r, c.Query("SELECT " + std::string(kTxColumns) + " FROM wallet_transactions WHERE id = $1",
                                          {store::Value(tx_id)}));
  if (r.empty()) return NotFoundError("no transaction " + std::string(tx_id));
  json out = TxRowJson(r, 0);
  ASSIGN_OR_RETURN(store::Rows a, c.Query("SELECT approver, decision, created_ms FROM wallet_approvals WHERE tx_id = $1"
                                          " ORDER BY created_ms, approver",
                                          {store::Value(tx_id)}));
  out["approvals"] = json::array();
  for (size_t i = 0; i < a.size(); ++i)
    out["approvals"].push_back({{"approver", a.Text(i, 0)}, {"decision", a.Text(i, 1)}, {"at", a.Int(i, 2)}});
  if (out["broadcast"].get<bool>()) {
    // Every version sent (fee bumps re-sign the same nonce); any of them may be the one mined.
    ASSIGN_OR_RETURN(store::Rows h, c.Query("SELECT hash FROM wallet_tx_attempts WHERE tx_id = $1 ORDER BY attempt",
                                            {store::Value(tx_id)}));
    out["hashes"] = json::array();
    for (size_t i = 0; i < h.size(); ++i) out["hashes"].push_back(h.Text(i, 0));
  }
  return out;
}

Status EmitTransaction(store::Conn& c, EventSink& events, std::string_view event, std::string_view tx_id,
                       int64_t now_ms) {
  ASSIGN_OR_RETURN(json record, LoadTransaction(c, tx_id));
  return events.Emit(c, event, record, now_ms);
}

Status FailTransaction(store::Conn& c, EventSink& events, std::string_view tx_id, std::string_view error,
                       bool release_spend, int64_t now_ms) {
  ASSIGN_OR_RETURN(store::Rows r, c.Query("SELECT wallet_id, value_wei, spend_day FROM wallet_transactions WHERE id = $1",
                                          {store::Value(tx_id)}));
  if (r.empty()) return NotFoundError("no transaction " + std::string(tx_id));
  if (release_spend) {
    ASSIGN_OR_RETURN(U256 value, U256::ParseDecimal(r.Text(0, 1)));
    RETURN_IF_ERROR(MoveSpend(c, r.Text(0, 0), r.Int(0, 2), value, false, std::nullopt).status());
  }
  RETURN_IF_ERROR(c.Exec("UPDATE wallet_transactions SET status = 'failed', error = $1, updated_ms = $2 WHERE id = $3",
                         {store::Value(error), store::Value(now_ms), store::Value(tx_id)}));
  return EmitTransaction(c, events, "transaction.failed", tx_id, now_ms);
}

namespace {
Status EnqueueSign(store::Conn& c, std::string_view tx_id, int64_t now_ms) {
  store::JobOptions o;
  o.delay_ms = kSignJobDelayMs;
  return store::JobQueue::Enqueue(c, kSignQueue, json{{"txId", std::string(tx_id)}}.dump(), o, now_ms).status();
}
}  // namespace

StatusOr<json> TransactionService::Create(std::string_view wallet_id, const json& request, std::string_view principal,
                                          int64_t now_ms, std::string_view idempotency_key) {
  ASSIGN_OR_RETURN(Wallet w, wallets_.Get(wallet_id));
  if (!request.is_object()) return InvalidArgumentError("body: must be a JSON object");
  json fields = request;
  bool broadcast = false;
  if (fields.contains("broadcast")) {
    if (!fields["broadcast"].is_boolean()) return InvalidArgumentError("broadcast: true or false");
    broadcast = fields["broadcast"].get<bool>();
    if (broadcast && broadcaster_ == nullptr)
      return FailedPreconditionError("broadcast: this gateway has no broadcaster; sign with broadcast false");
    fields.erase("broadcast");
  }
  std::optional<int64_t> index;
  if (fields.contains("index")) {
    if (!fields["index"].is_number_unsigned() || fields["index"].get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
      return InvalidArgumentError("index: a non-negative integer");
    index = fields["index"].get<int64_t>();
    fields.erase("index");  // kept in `request`; used at signing
  }
  if (broadcast) {
    // The broadcaster owns nonces: one chosen by the caller could collide with its counter.
    if (!fields.contains("chainId")) return InvalidArgumentError("chainId: required");
    if (fields.contains("nonce"))
      return InvalidArgumentError("nonce: assigned by the broadcaster; leave it out with broadcast true");
  } else {
    for (const char* required : {"chainId", "nonce", "gasLimit"}) {
      if (!fields.contains(required))
        return InvalidArgumentError(std::string(required) +
                                    ": required with broadcast false (with broadcast true the broadcaster fills it)");
    }
  }
  ASSIGN_OR_RETURN(eth::Transaction tx, eth::TransactionFromJson(fields));
  RETURN_IF_ERROR(eth::ValidateTransaction(tx));
  int64_t chain_id = 0;
  if (broadcast) {
    if (!tx.chain_id.FitsUint64() || tx.chain_id.Low64() > static_cast<uint64_t>(INT64_MAX))
      return Refusal(StatusCode::kFailedPrecondition, "CHAIN_NOT_CONFIGURED", "chain " + tx.chain_id.ToDecimal() + " is not configured");
    RETURN_IF_ERROR(broadcaster_->chains().Get(tx.chain_id.Low64()).status());
    chain_id = static_cast<int64_t>(tx.chain_id.Low64());
  }
  ASSIGN_OR_RETURN(Bytes rnd, crypto::RandomBytes(12));
  const std::string id = "tx_" + HexEncode(rnd);
  const int64_t day = now_ms / kDayMs;
  json record;
  std::string existing;  // a transaction this principal created before under idempotency_key
  const Status created = db_.Transact(store::TxMode::kWrite, [&](store::Conn& c) -> Status {
    if (!idempotency_key.empty()) {
      ASSIGN_OR_RETURN(store::Rows found,
                       c.Query("SELECT id, wallet_id FROM wallet_transactions WHERE created_by = $1 AND idempotency_key = $2"
                               " AND created_ms > $3 ORDER BY created_ms DESC LIMIT 1",
                               {store::Value(principal), store::Value(idempotency_key),
                                store::Value(now_ms - store::IdempotencyOptions{}.ttl_ms)}));
      if (!found.empty()) {
        if (found.Text(0, 1) != w.id)
          return FailedPreconditionError("Idempotency-Key was already used with a different request");
        existing = found.Text(0, 0);
        return OkStatus();
      }
    }
    ASSIGN_OR_RETURN(Policy policy, LoadPolicy(c, w.id));
    // Every rule, in a fixed order; the first that refuses names itself.
    if (policy.allowed_chain_ids) {
      uint64_t chain = 0;
      if (tx.chain_id > U256(UINT64_MAX) ||
          std::find(policy.allowed_chain_ids->begin(), policy.allowed_chain_ids->end(),
                    (chain = static_cast<uint64_t>(std::stoull(tx.chain_id.ToDecimal())))) == policy.allowed_chain_ids->end())
        return Refusal(StatusCode::kPermissionDenied, "CHAIN_NOT_ALLOWED",
                       "allowedChainIds: chain " + tx.chain_id.ToDecimal() + " is not allowed");
    }
    if (policy.allowlist) {
      if (!tx.to) return Refusal(StatusCode::kPermissionDenied, "DESTINATION_NOT_ALLOWED", "allowlist: contract creation is not allowed");
      const std::string to = tx.to->ToLowerHex();
      if (std::find(policy.allowlist->begin(), policy.allowlist->end(), to) == policy.allowlist->end())
        return Refusal(StatusCode::kPermissionDenied, "DESTINATION_NOT_ALLOWED", "allowlist: " + to + " is not on it");
    }
    if (policy.allowed_methods) {
      const std::string method = tx.data.empty() ? "transfer" : Selector(tx.data);
      if (std::find(policy.allowed_methods->begin(), policy.allowed_methods->end(), method) == policy.allowed_methods->end())
        return Refusal(StatusCode::kPermissionDenied, "METHOD_NOT_ALLOWED",
                       "allowedMethods: " + (method.empty() ? std::string("data shorter than a selector") : method) +
                           " is not allowed");
    }
    if (policy.max_value_per_tx && tx.value > *policy.max_value_per_tx)
      return Refusal(StatusCode::kPermissionDenied, "POLICY_LIMIT_EXCEEDED",
                     "maxValuePerTx: " + tx.value.ToDecimal() + " exceeds " + policy.max_value_per_tx->ToDecimal());
    // Reserved now, under the counter's row lock: two concurrent requests cannot both fit
    // into a limit that only one fits. Released when rejected or failed.
    RETURN_IF_ERROR(MoveSpend(c, w.id, day, tx.value, true, policy.daily_limit).status());
    const std::string status = policy.required_approvals > 0 ? "pending_approval" : "approved";
    std::string from;
    if (broadcast) {
      ASSIGN_OR_RETURN(from, SenderAddress(c, w, index));
    }
    RETURN_IF_ERROR(c.Exec("INSERT INTO wallet_transactions (id, wallet_id, status, request, value_wei, spend_day,"
                           " required_approvals, created_by, created_ms, updated_ms, raw, hash, from_address, error,"
                           " broadcast, chain_id, approved_ms, idempotency_key)"
                           " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, '', '', $10, '', $11, $12, $13, $14)",
                           {store::Value(id), store::Value(w.id), store::Value(status), store::Value(request.dump()),
                            store::Value(tx.value.ToDecimal()), store::Value(day),
                            store::Value(policy.required_approvals), store::Value(principal), store::Value(now_ms),
                            store::Value(from), store::Value(broadcast), store::Value(chain_id),
                            status == "approved" ? store::Value(now_ms) : store::Value::Null(),
                            idempotency_key.empty() ? store::Value::Null() : store::Value(idempotency_key)}));
    RETURN_IF_ERROR(EmitTransaction(c, events_, "transaction.created", id, now_ms));
    if (status == "approved") {
      RETURN_IF_ERROR(EmitTransaction(c, events_, "transaction.approved", id, now_ms));
      // Handed over in this very transaction: an approved transaction is never lost.
      if (broadcast) {
        RETURN_IF_ERROR(broadcaster_->EnqueueBroadcast(c, static_cast<uint64_t>(chain_id), from, now_ms));
      } else {
        RETURN_IF_ERROR(EnqueueSign(c, id, now_ms));
      }
    }
    return OkStatus();
  });
  RETURN_IF_ERROR(created);
  const std::string& tx_id = existing.empty() ? id : existing;
  ASSIGN_OR_RETURN(record, Get(tx_id));
  if (record["status"] == "approved") {
    // A broadcast record was handed to the broadcaster in its creating transaction; one
    // signed here (broadcast false) is signed now, or, found by its key, finished now.
    if (record["broadcast"] == true) {
      if (broadcaster_ != nullptr) broadcaster_->Notify();
      return record;
    }
    return SignAndRecord(tx_id, now_ms);
  }
  return record;
}

StatusOr<json> TransactionService::Get(std::string_view tx_id) {
  json out;
  const Status read = db_.WithConn([&](store::Conn& c) -> Status {
    ASSIGN_OR_RETURN(out, LoadTransaction(c, tx_id));
    return OkStatus();
  });
  RETURN_IF_ERROR(read);
  return out;
}

StatusOr<json> TransactionService::List(std::string_view wallet_id, std::string_view status, int64_t limit) {
  if (limit < 1 || limit > 500) return InvalidArgumentError("limit: 1..500");
  json arr = json::array();
  const Status read = db_.WithConn([&](store::Conn& c) -> Status {
    ASSIGN_OR_RETURN(store::Rows r,
                     c.Query("SELECT " + std::string(kTxColumns) + " FROM wallet_transactions WHERE ($1 = '' OR wallet_id = $1)"
                             " AND ($2 = '' OR status = $2) ORDER BY created_ms DESC, id LIMIT $3",
                             {store::Value(wallet_id), store::Value(status), store::Value(limit)}));
    for (size_t i = 0; i < r.size(); ++i) arr.push_back(TxRowJson(r, i));
    return OkStatus();
  });
  RETURN_IF_ERROR(read);
  return json{{"transactions", arr}};
}

StatusOr<json> TransactionService::Approve(std::string_view tx_id, std::string_view approver, int64_t now_ms) {
  return Decide(tx_id, approver, true, now_ms);
}
StatusOr<json> TransactionService::Reject(std::string_view tx_id, std::string_view approver, int64_t now_ms) {
  return Decide(tx_id, approver, false, now_ms);
}

StatusOr<json> TransactionService::Decide(std::string_view tx_id, std::string_view approver, bool approve,
                                          int64_t now_ms) {
  std::string next_status;
  bool broadcast = false;
  const Status decided = db_.Transact(store::TxMode::kWrite, [&](store::Conn& c) -> Status {
    const std::string lock = c.dialect() == store::Dialect::kPostgres ? " FOR UPDATE" : "";
    ASSIGN_OR_RETURN(store::Rows r, c.Query("SELECT status, created_by, required_approvals, wallet_id, value_wei, spend_day,"
                                            " broadcast, chain_id, from_address FROM wallet_transactions WHERE id = $1" + lock,
                                            {store::Value(tx_id)}));
    if (r.empty()) return NotFoundError("no transaction " + std::string(tx_id));
    if (r.Text(0, 0) != "pending_approval")
      return Refusal(StatusCode::kFailedPrecondition, "TRANSACTION_NOT_PENDING", "transaction is " + r.Text(0, 0));
    if (r.Text(0, 1) == approver)
      return Refusal(StatusCode::kPermissionDenied, "SELF_APPROVAL", "the creator of a transaction cannot approve or reject it");
    Status inserted = c.Exec("INSERT INTO wallet_approvals (tx_id, approver, decision, created_ms) VALUES ($1, $2, $3, $4)",
                             {store::Value(tx_id), store::Value(approver), store::Value(approve ? "approve" : "reject"),
                              store::Value(now_ms)});
    if (inserted.code() == StatusCode::kAlreadyExists)
      return Refusal(StatusCode::kAlreadyExists, "ALREADY_DECIDED", "this approver has already decided on this transaction");
    RETURN_IF_ERROR(inserted);
    if (!approve) {
      next_status = "rejected";
      ASSIGN_OR_RETURN(U256 value, U256::ParseDecimal(r.Text(0, 4)));
      RETURN_IF_ERROR(MoveSpend(c, r.Text(0, 3), r.Int(0, 5), value, false, std::nullopt).status());
    } else {
      ASSIGN_OR_RETURN(store::Rows n, c.Query("SELECT COUNT(*) FROM wallet_approvals WHERE tx_id = $1 AND decision = 'approve'",
                                              {store::Value(tx_id)}));
      next_status = n.Int(0, 0) >= r.Int(0, 2) ? "approved" : "pending_approval";
    }
    broadcast = r.Int(0, 6) != 0;
    RETURN_IF_ERROR(c.Exec("UPDATE wallet_transactions SET status = $1, updated_ms = $2,"
                           " approved_ms = CASE WHEN $1 = 'approved' THEN $2 ELSE approved_ms END WHERE id = $3",
                           {store::Value(next_status), store::Value(now_ms), store::Value(tx_id)}));
    if (next_status == "rejected") return EmitTransaction(c, events_, "transaction.rejected", tx_id, now_ms);
    if (next_status != "approved") return OkStatus();
    RETURN_IF_ERROR(EmitTransaction(c, events_, "transaction.approved", tx_id, now_ms));
    if (!broadcast) return EnqueueSign(c, tx_id, now_ms);
    if (broadcaster_ == nullptr) return FailedPreconditionError("broadcast: this gateway has no broadcaster");
    return broadcaster_->EnqueueBroadcast(c, static_cast<uint64_t>(r.Int(0, 7)), r.Text(0, 8), now_ms);
  });
  RETURN_IF_ERROR(decided);
  if (next_status == "approved" && broadcast) broadcaster_->Notify();
  if (next_status == "approved" && !broadcast) return SignAndRecord(tx_id, now_ms);
  return Get(tx_id);
}

Status TransactionService::RegisterHandlers(store::WorkerPool& pool) {
  return pool.Register(std::string(kSignQueue), [this](store::JobContext& ctx) {
    StatusOr<json> p = ParseJsonStrict(ctx.job().payload, "tx.sign payload");
    if (!p.ok() || !p->is_object() || !(*p)["txId"].is_string())
      return store::JobResult::Permanent("tx.sign: payload must be {\"txId\": \"..\"}");
    const std::string id = (*p)["txId"].get<std::string>();
    StatusOr<json> record = Get(id);
    if (!record.ok()) {
      if (record.status().code() == StatusCode::kNotFound) return store::JobResult::Permanent("no transaction " + id);
      return store::JobResult::Retry(record.status().ToString());
    }
    if ((*record)["status"] != "approved" || (*record)["broadcast"] == true)
      return store::JobResult::Success("nothing to sign");
    const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch()).count();
    StatusOr<json> signed_record = SignAndRecord(id, now, /*keep_on_unavailable=*/true);
    if (!signed_record.ok()) {
      if (signed_record.status().code() == StatusCode::kUnavailable) return store::JobResult::Retry(signed_record.status().ToString());
      return store::JobResult::Success("failed: " + signed_record.status().ToString());
    }
    return store::JobResult::Success("signed");
  });
}

StatusOr<json> TransactionService::SignAndRecord(std::string_view tx_id, int64_t now_ms, bool keep_on_unavailable) {
  ASSIGN_OR_RETURN(json record, Get(tx_id));
  json fields = record["request"];
  std::optional<int64_t> index;
  if (fields.contains("index")) index = fields["index"].get<int64_t>();
  fields.erase("index");
  fields.erase("broadcast");
  auto signed_tx = wallets_.SignTransaction(record["walletId"].get<std::string>(), fields.dump(), index);
  if (!signed_tx.ok() && keep_on_unavailable && signed_tx.status().code() == StatusCode::kUnavailable) {
    return signed_tx.status();
  }
  const Status recorded = db_.Transact(store::TxMode::kWrite, [&](store::Conn& c) -> Status {
    if (signed_tx.ok()) {
      ASSIGN_OR_RETURN(store::Rows u, c.Query("UPDATE wallet_transactions SET status = 'signed', raw = $1, hash = $2,"
                                              " from_address = $3, updated_ms = $4 WHERE id = $5 AND status = 'approved'",
                                              {store::Value((*signed_tx)["raw"].get<std::string>()),
                                               store::Value((*signed_tx)["hash"].get<std::string>()),
                                               store::Value((*signed_tx)["from"].get<std::string>()), store::Value(now_ms),
                                               store::Value(tx_id)}));
      if (u.affected == 0) return OkStatus();
      return EmitTransaction(c, events_, "transaction.signed", tx_id, now_ms);
    }
    // Nothing half-done: a request that could not be signed fails and frees its reservation.
    return FailTransaction(c, events_, tx_id, signed_tx.status().ToString(), /*release_spend=*/true, now_ms);
  });
  RETURN_IF_ERROR(recorded);
  if (!signed_tx.ok()) return signed_tx.status();
  return Get(tx_id);
}

}  // namespace vp::wallet
