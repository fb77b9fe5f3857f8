// The broadcast and confirmation jobs (broadcast.h, docs/chains.md "Broadcast").
#include "vp/wallet/broadcast.h"

#include <cctype>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "vp/base/json.h"
#include "vp/eth/tx_json.h"
#include "vp/wallet/policy.h"
#include "vp/wallet/rpc.h"

namespace vp::wallet {
namespace {

using eth::U256;
using nlohmann::json;
using store::JobResult;

// A broadcast drain may meet a node that is down for a while: retried for about ten
// minutes (0.5 s doubling to 60 s), then a dead letter; the next approval for the same
// sender drains again.
constexpr store::JobOptions kBroadcastJob{.max_attempts = 20, .delay_ms = 0, .backoff_base_ms = 500, .backoff_max_ms = 60'000};

// x + ceil(x / 8), at least x + 1: 12.5% over what the node saw, above geth's and Hardhat's
// 10% replacement rule, and never stuck at zero.
U256 Bump(const U256& x) {
  const ByteArray<32> be = x.ToBigEndian32();
  ByteArray<32> shifted{};
  uint8_t carry = 0;
  for (size_t i = 0; i < be.size(); ++i) {
    shifted[i] = static_cast<uint8_t>((be[i] >> 3) | carry);
    carry = static_cast<uint8_t>(be[i] << 5);
  }
  StatusOr<U256> eighth = U256::FromBigEndian(shifted);
  U256 add = eighth.ok() ? *eighth : U256();
  if ((be[31] & 7) != 0 || add.IsZero()) add = add + U256(1);
  U256 out;
  return x.AddChecked(add, &out) ? out : U256::Max();
}

U256 Max(const U256& a, const U256& b) { return a < b ? b : a; }

// The ethers-style JSON the signer takes (tx_json.h), every field explicit.
json TxFieldsJson(const eth::Transaction& tx) {
  json j = {{"type", static_cast<int>(tx.type)},
            {"chainId", tx.chain_id.ToDecimal()},
            {"nonce", std::to_string(tx.nonce)},
            {"to", tx.to ? json(tx.to->ToChecksumHex()) : json(nullptr)},
            {"value", tx.value.ToDecimal()},
            {"data", HexEncode(tx.data, true)},
            {"gasLimit", tx.gas_limit.ToDecimal()}};
  if (tx.type == eth::TxType::kDynamicFee) {
    j["maxFeePerGas"] = tx.max_fee_per_gas.ToDecimal();
    j["maxPriorityFeePerGas"] = tx.max_priority_fee_per_gas.ToDecimal();
  } else {
    j["gasPrice"] = tx.gas_price.ToDecimal();
  }
  if (tx.type != eth::TxType::kLegacy) {
    json list = json::array();
    for (const auto& e : tx.access_list) {
      json keys = json::array();
      for (const auto& k : e.storage_keys) keys.push_back(HexEncode(k, true));
      list.push_back({{"address", e.address.ToChecksumHex()}, {"storageKeys", keys}});
    }
    j["accessList"] = list;
  }
  return j;
}

// The request as a transaction (the fields Create validated), without index and broadcast.
StatusOr<eth::Transaction> RequestTransaction(const json& request) {
  json fields = request;
  fields.erase("index");
  fields.erase("broadcast");
  return eth::TransactionFromJson(fields);
}

std::optional<int64_t> RequestIndex(const json& request) {
  if (request.is_object() && request.contains("index") && request["index"].is_number_unsigned())
    return request["index"].get<int64_t>();
  return std::nullopt;
}

// A node that refused the request itself (reverted, insufficient funds...), as opposed to
// one that could not be asked: the first fails the transaction, the second is retried.
bool IsNodeRefusal(const Status& s) { return GetRpcError(s).has_value() && s.code() != StatusCode::kUnavailable; }

// The market now: EIP-1559 chains give the next base fee and a priority fee (median of the
// 50th percentile over the window, else eth_maxPriorityFeePerGas); others eth_gasPrice.
struct Market {
  U256 base_fee;
  U256 priority_fee;
  U256 gas_price;
};

StatusOr<Market> GetMarket(RpcClient& rpc, eth::TxType type, int64_t blocks) {
  Market m;
  if (type == eth::TxType::kDynamicFee) {
    ASSIGN_OR_RETURN(FeeHistory h, rpc.GetFeeHistory(static_cast<uint64_t>(blocks), {50}));
    m.base_fee = h.next_base_fee_per_gas;
    if (h.suggested_priority_fee) {
      m.priority_fee = *h.suggested_priority_fee;
    } else {
      ASSIGN_OR_RETURN(m.priority_fee, rpc.MaxPriorityFeePerGas());
    }
  } else {
    ASSIGN_OR_RETURN(m.gas_price, rpc.GasPrice());
  }
  return m;
}

Status ApplyMarket(eth::Transaction& tx, const Market& m) {
  if (tx.type == eth::TxType::kDynamicFee) {
    U256 twice, cap;
    if (!m.base_fee.AddChecked(m.base_fee, &twice) || !twice.AddChecked(m.priority_fee, &cap))
      return FailedPreconditionError("fee estimate overflows");
    tx.max_priority_fee_per_gas = m.priority_fee;
    tx.max_fee_per_gas = cap;
  } else {
    tx.gas_price = m.gas_price;
  }
  return OkStatus();
}

// The same transaction (same nonce) at higher fees: each fee field at least 12.5% over
// `tx`'s (Bump) and at least what the market asks now. Used for stuck transactions and for
// sends refused as underpriced.
eth::Transaction Repriced(const eth::Transaction& tx, const Market& market) {
  eth::Transaction out = tx;
  if (tx.type == eth::TxType::kDynamicFee) {
    out.max_priority_fee_per_gas = Max(Bump(tx.max_priority_fee_per_gas), market.priority_fee);
    eth::Transaction priced = out;
    if (!ApplyMarket(priced, {market.base_fee, out.max_priority_fee_per_gas, {}}).ok()) priced = out;
    out.max_fee_per_gas = Max(Bump(tx.max_fee_per_gas), priced.max_fee_per_gas);
  } else {
    out.gas_price = Max(Bump(tx.gas_price), market.gas_price);
  }
  return out;
}

// A node that refused a send for its fees: below the next block's base fee or the pool's
// minimum, or not enough over a pending transaction with the same nonce. The same bytes
// would be refused again; a re-signed version at market fees may pass. Plain "fee too low"
// (Erigon) and "underpriced" wordings the classifier leaves as `other` count too.
bool IsUnderpriced(const Status& s) {
  const std::optional<RpcError> e = GetRpcError(s);
  if (!e) return false;
  if (e->kind == RpcErrorKind::kFeeTooLow || e->kind == RpcErrorKind::kReplacementUnderpriced) return true;
  if (e->kind != RpcErrorKind::kOther) return false;
  std::string m = e->message;
  for (char& c : m) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return m.find("fee too low") != std::string::npos || m.find("underpriced") != std::string::npos;
}

// A new version of a transaction: signed fields, raw bytes and hash.
struct Version {
  std::string fields, raw, hash;
};

// Makes version n + 1 of `tx_id` the record's current one (raw, hash, tx_fields, attempts)
// and adds it to wallet_tx_attempts, in one store transaction, conditional on the record
// still being `status` at version n: of two workers racing, one adds it. Returns whether
// this call did. Recorded before it is sent, so every hash the node may mine is known.
StatusOr<bool> RecordVersion(store::Db& db, std::string_view tx_id, std::string_view status, int64_t n,
                             const Version& v, int64_t now) {
  bool won = false;
  RETURN_IF_ERROR(db.Transact(store::TxMode::kWrite, [&](store::Conn& c) -> Status {
    ASSIGN_OR_RETURN(store::Rows u, c.Query("UPDATE wallet_transactions SET raw = $1, hash = $2, tx_fields = $3,"
                                            " attempts = $4, updated_ms = $5"
                                            " WHERE id = $6 AND status = $7 AND attempts = $8",
                                            {store::Value(v.raw), store::Value(v.hash), store::Value(v.fields),
                                             store::Value(n + 1), store::Value(now), store::Value(tx_id),
                                             store::Value(status), store::Value(n)}));
    if (u.affected == 0) return OkStatus();
    won = true;
    return c.Exec("INSERT INTO wallet_tx_attempts (tx_id, attempt, fields, raw, hash, created_ms)"
                  " VALUES ($1, $2, $3, $4, $5, $6)",
                  {store::Value(tx_id), store::Value(n + 1), store::Value(v.fields), store::Value(v.raw),
                   store::Value(v.hash), store::Value(now)});
  }));
  return won;
}

// Signs `tx` with the wallet's key (the HD index from the request, if any). With `sender`
// set, the signer must have signed as that address.
StatusOr<Version> SignVersion(WalletService& wallets, std::string_view wallet_id, const eth::Transaction& tx,
                              const json& request, std::string_view sender) {
  Version v;
  v.fields = TxFieldsJson(tx).dump();
  ASSIGN_OR_RETURN(json signed_tx, wallets.SignTransaction(wallet_id, v.fields, RequestIndex(request)));
  if (!signed_tx.is_object() || !signed_tx["raw"].is_string() || !signed_tx["hash"].is_string() ||
      !signed_tx["from"].is_string())
    return InternalError("the signer's answer lacks raw, hash or from");
  if (!sender.empty()) {
    StatusOr<eth::Address> from = eth::Address::Parse(signed_tx["from"].get<std::string>());
    if (!from.ok() || from->ToLowerHex() != sender)
      return InternalError("the signer signed for another address than " + std::string(sender));
  }
  v.raw = signed_tx["raw"].get<std::string>();
  v.hash = signed_tx["hash"].get<std::string>();
  return v;
}

// Every recorded version's hash, newest first.
StatusOr<std::vector<std::string>> VersionHashes(store::Db& db, std::string_view tx_id) {
  std::vector<std::string> out;
  RETURN_IF_ERROR(db.WithConn([&](store::Conn& c) -> Status {
    ASSIGN_OR_RETURN(store::Rows r, c.Query("SELECT hash FROM wallet_tx_attempts WHERE tx_id = $1 ORDER BY attempt DESC",
                                            {store::Value(tx_id)}));
    for (size_t i = 0; i < r.size(); ++i) out.push_back(r.Text(i, 0));
    return OkStatus();
  }));
  return out;
}

json ReceiptJson(const Receipt& r) {
  return {{"transactionHash", HexEncode(r.transaction_hash, true)},
          {"blockNumber", r.block_number},
          {"blockHash", HexEncode(r.block_hash, true)},
          {"status", r.status},
          {"gasUsed", r.gas_used.ToDecimal()},
          {"effectiveGasPrice", r.effective_gas_price.ToDecimal()}};
}

std::string Lock(store::Conn& c) { return c.dialect() == store::Dialect::kPostgres ? " FOR UPDATE" : ""; }

}  // namespace

Broadcaster::Broadcaster(store::Db& db, WalletService& wallets, ChainRegistry& chains, EventSink& events,
                         BroadcastOptions options)
    : db_(db), wallets_(wallets), chains_(chains), events_(events), options_(std::move(options)) {}

int64_t Broadcaster::Now() const {
  if (options_.clock) return options_.clock();
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status Broadcaster::Step(std::string_view step, std::string_view tx_id) {
  return options_.after_step ? options_.after_step(step, tx_id) : OkStatus();
}

Status Broadcaster::RegisterHandlers(store::WorkerPool& pool) {
  RETURN_IF_ERROR(pool.Register(std::string(kBroadcastQueue), [this](store::JobContext& ctx) {
    StatusOr<json> p = ParseJsonStrict(ctx.job().payload, "tx.broadcast payload");
    if (!p.ok() || !p->is_object() || !(*p)["chainId"].is_number_unsigned() || !(*p)["from"].is_string())
      return JobResult::Permanent("tx.broadcast: payload must be {\"chainId\": n, \"from\": \"0x..\"}");
    return Broadcast((*p)["chainId"].get<uint64_t>(), (*p)["from"].get<std::string>());
  }));
  RETURN_IF_ERROR(pool.Register(std::string(kConfirmQueue), [this](store::JobContext& ctx) {
    StatusOr<json> p = ParseJsonStrict(ctx.job().payload, "tx.confirm payload");
    if (!p.ok() || !p->is_object() || !(*p)["txId"].is_string())
      return JobResult::Permanent("tx.confirm: payload must be {\"txId\": \"..\"}");
    return Confirm((*p)["txId"].get<std::string>());
  }));
  pool_.store(&pool);
  return OkStatus();
}

void Broadcaster::Notify() {
  if (store::WorkerPool* pool = pool_.load()) pool->Notify();
}

Status Broadcaster::EnqueueBroadcast(store::Conn& c, uint64_t chain_id, std::string_view from, int64_t now_ms) {
  const json payload = {{"chainId", chain_id}, {"from", std::string(from)}};
  return store::JobQueue::Enqueue(c, kBroadcastQueue, payload.dump(), kBroadcastJob, now_ms).status();
}

Status Broadcaster::ScheduleConfirm(store::Conn& c, std::string_view tx_id, int64_t now_ms) {
  // Polling is a chain of fresh delayed jobs, not JobResult::Retry: a retry counts toward
  // max_attempts and backs off exponentially, while a poll is neither a failure nor bounded.
  store::JobOptions o{.max_attempts = 10, .delay_ms = options_.poll_ms, .backoff_base_ms = 500, .backoff_max_ms = 30'000};
  return store::JobQueue::Enqueue(c, kConfirmQueue, json{{"txId", std::string(tx_id)}}.dump(), o, now_ms).status();
}

JobResult Broadcaster::Broadcast(uint64_t chain_id, std::string_view from_text) {
  StatusOr<eth::Address> from = eth::Address::Parse(from_text);
  if (!from.ok() || chain_id > static_cast<uint64_t>(INT64_MAX))
    return JobResult::Permanent("tx.broadcast: bad sender or chain id");
  const std::string sender = from->ToLowerHex();
  const int64_t chain = static_cast<int64_t>(chain_id);
  StatusOr<std::unique_ptr<RpcClient>> rpc = chains_.Connect(chain_id);
  if (!rpc.ok()) return JobResult::Retry(rpc.status().ToString());
  // Asked once per drain and per kind of fee: EIP-1559 fee caps, or a gas price (types 0, 1).
  std::optional<Market> market_1559, market_gas_price;

  // 1. Nonces, in approval order. Gas and fees are settled before the nonce is taken, so a
  // transaction that cannot be estimated (it would revert) fails without leaving a gap.
  for (;;) {
    std::string id;
    json request;
    Status read = db_.WithConn([&](store::Conn& c) -> Status {
      ASSIGN_OR_RETURN(store::Rows r, c.Query("SELECT id, request FROM wallet_transactions WHERE broadcast = 1 AND chain_id = $1"
                                              " AND from_address = $2 AND status = 'approved'"
                                              " ORDER BY approved_ms, id LIMIT 1",
                                              {store::Value(chain), store::Value(sender)}));
      if (r.empty()) return OkStatus();
      id = r.Text(0, 0);
      request = json::parse(r.Text(0, 1), nullptr, false);
      return OkStatus();
    });
    if (!read.ok()) return JobResult::Retry(read.ToString());
    if (id.empty()) break;

    StatusOr<eth::Transaction> tx = RequestTransaction(request);
    Status prepared = tx.status();
    if (prepared.ok() && !request.contains("gasLimit")) {
      CallRequest call;
      call.from = *from;
      call.to = tx->to;
      call.value = tx->value;
      call.data = tx->data;
      StatusOr<U256> gas = rpc.value()->EstimateGas(call);
      if (gas.ok() && (!gas->FitsUint64() || gas->Low64() > (uint64_t{1} << 48))) {
        gas = FailedPreconditionError("eth_estimateGas: " + gas->ToDecimal() + " gas is beyond any block");
      }
      if (gas.ok()) {
        tx->gas_limit = U256(gas->Low64() + gas->Low64() * static_cast<uint64_t>(options_.gas_margin_percent) / 100);
      } else if (IsNodeRefusal(gas.status()) || gas.status().code() == StatusCode::kFailedPrecondition) {
        prepared = gas.status();
      } else {
        return JobResult::Retry(gas.status().ToString());
      }
    }
    const bool fees_given =
        request.contains("maxFeePerGas") || request.contains("maxPriorityFeePerGas") || request.contains("gasPrice");
    if (prepared.ok() && !fees_given) {
      std::optional<Market>& market = tx->type == eth::TxType::kDynamicFee ? market_1559 : market_gas_price;
      if (!market) {
        StatusOr<Market> m = GetMarket(**rpc, tx->type, options_.fee_history_blocks);
        if (!m.ok()) return JobResult::Retry(m.status().ToString());
        market = *m;
      }
      prepared = ApplyMarket(*tx, *market);
    }
    if (!prepared.ok()) {
      // Refused before a nonce was taken: the transaction fails and frees its spend.
      const Status failed = db_.Transact(store::TxMode::kWrite, [&](store::Conn& c) -> Status {
        ASSIGN_OR_RETURN(store::Rows r, c.Query("SELECT status FROM wallet_transactions WHERE id = $1" + Lock(c), {store::Value(id)}));
        if (r.empty() || r.Text(0, 0) != "approved") return OkStatus();
        return FailTransaction(c, events_, id, prepared.ToString(), /*release_spend=*/true, Now());
      });
      if (!failed.ok()) return JobResult::Retry(failed.ToString());
      continue;
    }

    // The counter starts from the node's pending count the first time this sender is seen.
    std::optional<uint64_t> pending;
    bool have_counter = false;
    read = db_.WithConn([&](store::Conn& c) -> Status {
      ASSIGN_OR_RETURN(store::Rows r, c.Query("SELECT next_nonce FROM chain_nonces WHERE chain_id = $1 AND address = $2",
                                              {store::Value(chain), store::Value(sender)}));
      have_counter = !r.empty();
      return OkStatus();
    });
    if (!read.ok()) return JobResult::Retry(read.ToString());
    if (!have_counter) {
      StatusOr<uint64_t> count = rpc.value()->GetTransactionCount(*from, BlockTag::kPending);
      if (!count.ok()) return JobResult::Retry(count.status().ToString());
      if (*count > static_cast<uint64_t>(INT64_MAX)) return JobResult::Permanent("pending nonce beyond 2^63");
      pending = *count;
    }
    const int64_t now = Now();
    Status assigned = db_.Transact(store::TxMode::kWrite, [&](store::Conn& c) -> Status {
      if (pending) {
        RETURN_IF_ERROR(c.Exec("INSERT INTO chain_nonces (chain_id, address, next_nonce) VALUES ($1, $2, $3)"
                               " ON CONFLICT (chain_id, address) DO NOTHING",
                               {store::Value(chain), store::Value(sender), store::Value(static_cast<int64_t>(*pending))}));
      }
      // The counter's row lock orders every assignment for this sender.
      ASSIGN_OR_RETURN(store::Rows n, c.Query("SELECT next_nonce FROM chain_nonces WHERE chain_id = $1 AND address = $2" + Lock(c),
                                              {store::Value(chain), store::Value(sender)}));
      if (n.empty()) return UnavailableError("nonce counter not initialised yet");
      ASSIGN_OR_RETURN(store::Rows s, c.Query("SELECT status FROM wallet_transactions WHERE id = $1" + Lock(c), {store::Value(id)}));
      if (s.empty() || s.Text(0, 0) != "approved") return OkStatus();  // another worker took it
      const int64_t nonce = n.Int(0, 0);
      tx->nonce = static_cast<uint64_t>(nonce);
      RETURN_IF_ERROR(c.Exec("UPDATE wallet_transactions SET status = 'nonce_assigned', nonce = $1, tx_fields = $2,"
                             " updated_ms = $3 WHERE id = $4 AND status = 'approved'",
                             {store::Value(nonce), store::Value(TxFieldsJson(*tx).dump()), store::Value(now), store::Value(id)}));
      return c.Exec("UPDATE chain_nonces SET next_nonce = $1 WHERE chain_id = $2 AND address = $3",
                    {store::Value(nonce + 1), store::Value(chain), store::Value(sender)});
    });
    if (!assigned.ok()) return JobResult::Retry(assigned.ToString());
    if (Status s = Step("nonce_assigned", id); !s.ok()) return JobResult::Retry(s.ToString());
  }

  // 2. Signing, in nonce order. The fields are durable, and RFC 6979 makes the signature a
  // function of them: a re-run after a crash here signs the very same bytes.
  struct Pending {
    std::string id, wallet_id, fields, raw, hash;
    json request;
    int64_t nonce = 0;
    int64_t attempts = 0;  // signed versions so far
  };
  auto load = [&](std::string_view status, std::vector<Pending>& out) -> Status {
    out.clear();
    return db_.WithConn([&](store::Conn& c) -> Status {
      ASSIGN_OR_RETURN(store::Rows r, c.Query("SELECT id, wallet_id, request, tx_fields, raw, hash, nonce, attempts"
                                              " FROM wallet_transactions"
                                              " WHERE broadcast = 1 AND chain_id = $1 AND from_address = $2 AND status = $3"
                                              " ORDER BY nonce",
                                              {store::Value(chain), store::Value(sender), store::Value(status)}));
      for (size_t i = 0; i < r.size(); ++i)
        out.push_back({r.Text(i, 0), r.Text(i, 1), r.Text(i, 3), r.Text(i, 4), r.Text(i, 5),
                       json::parse(r.Text(i, 2), nullptr, false), r.Int(i, 6), r.Int(i, 7)});
      return OkStatus();
    });
  };
  std::vector<Pending> work;
  if (Status s = load("nonce_assigned", work); !s.ok()) return JobResult::Retry(s.ToString());
  for (const Pending& p : work) {
    StatusOr<json> signed_tx = wallets_.SignTransaction(p.wallet_id, p.fields, RequestIndex(p.request));
    if (!signed_tx.ok()) return JobResult::Retry(signed_tx.status().ToString());
    StatusOr<eth::Address> signer_from = eth::Address::Parse((*signed_tx)["from"].get<std::string>());
    if (!signer_from.ok() || signer_from->ToLowerHex() != sender)
      return JobResult::Permanent("tx " + p.id + ": the signer signed for another address than " + sender);
    const std::string raw = (*signed_tx)["raw"].get<std::string>();
    const std::string hash = (*signed_tx)["hash"].get<std::string>();
    const int64_t now = Now();
    Status recorded = db_.Transact(store::TxMode::kWrite, [&](store::Conn& c) -> Status {
      ASSIGN_OR_RETURN(store::Rows u, c.Query("UPDATE wallet_transactions SET status = 'signed', raw = $1, hash = $2,"
                                              " attempts = 1, updated_ms = $3 WHERE id = $4 AND status = 'nonce_assigned'",
                                              {store::Value(raw), store::Value(hash), store::Value(now), store::Value(p.id)}));
      if (u.affected == 0) return OkStatus();
      RETURN_IF_ERROR(c.Exec("INSERT INTO wallet_tx_attempts (tx_id, attempt, fields, raw, hash, created_ms)"
                             " VALUES ($1, 1, $2, $3, $4, $5)",
                             {store::Value(p.id), store::Value(p.fields), store::Value(raw), store::Value(hash), store::Value(now)}));
      return EmitTransaction(c, events_, "transaction.signed", p.id, now);
    });
    if (!recorded.ok()) return JobResult::Retry(recorded.ToString());
    if (Status s = Step("signed", p.id); !s.ok()) return JobResult::Retry(s.ToString());
  }

  // 3. Sending, in nonce order (a node refuses a nonce above a gap while automining, and
  // would hold it back otherwise). The bytes sent are the recorded ones, nothing else.
  if (Status s = load("signed", work); !s.ok()) return JobResult::Retry(s.ToString());
  for (const Pending& p : work) {
    Version current{p.fields, p.raw, p.hash};
    int64_t version = p.attempts;
    Status sent;
    bool accepted = false;
    for (;;) {
      StatusOr<Bytes> raw = HexDecode(current.raw, HexPrefix::kRequired);
      if (!raw.ok() || !HexDecodeFixed<32>(current.hash, HexPrefix::kRequired).ok())
        return JobResult::Permanent("tx " + p.id + ": stored raw or hash is not hex");
      sent = rpc.value()->SendRawTransaction(*raw).status();
      accepted = sent.ok() || IsAlreadyKnown(sent);
      if (!accepted) {
        // The node may hold or have mined one of our versions anyway: an earlier send whose
        // answer was lost ("nonce too low" once mined), or Hardhat, which mines a reverting
        // transaction and still answers an error. Known by its hash means sent.
        StatusOr<std::vector<std::string>> hashes = VersionHashes(db_, p.id);
        if (!hashes.ok()) return JobResult::Retry(hashes.status().ToString());
        for (const std::string& h : *hashes) {
          StatusOr<crypto::Hash256> hash = HexDecodeFixed<32>(h, HexPrefix::kRequired);
          if (!hash.ok()) return JobResult::Permanent("tx " + p.id + ": stored hash is not hex");
          StatusOr<std::optional<TransactionInfo>> known = rpc.value()->GetTransactionByHash(*hash);
          if (!known.ok()) return JobResult::Retry(known.status().ToString());
          if (known->has_value()) {
            accepted = true;
            break;
          }
        }
      }
      if (accepted || !IsUnderpriced(sent) || version > options_.max_bumps) break;
      // Refused for its fees: these bytes would be refused for ever. A new version with the
      // same nonce, at max(12.5% over these fees, the market now), recorded before it is sent.
      StatusOr<json> fields = ParseJsonStrict(current.fields, "stored transaction fields");
      StatusOr<eth::Transaction> tx = fields.ok() ? eth::TransactionFromJson(*fields) : StatusOr<eth::Transaction>(fields.status());
      if (!tx.ok()) return JobResult::Permanent("tx " + p.id + ": " + tx.status().ToString());
      StatusOr<Market> market = GetMarket(**rpc, tx->type, options_.fee_history_blocks);
      if (!market.ok()) return JobResult::Retry(market.status().ToString());
      StatusOr<Version> next = SignVersion(wallets_, p.wallet_id, Repriced(*tx, *market), p.request, sender);
      if (!next.ok()) return JobResult::Retry(next.status().ToString());
      StatusOr<bool> won = RecordVersion(db_, p.id, "signed", version, *next, Now());
      if (!won.ok()) return JobResult::Retry(won.status().ToString());
      if (!*won) return JobResult::Retry("tx " + p.id + ": re-priced by another worker first");
      current = std::move(*next);
      ++version;
      if (Status s = Step("repriced", p.id); !s.ok()) return JobResult::Retry(s.ToString());
    }
    if (!accepted && IsNonceTooLow(sent)) {
      // Our nonce is used by a transaction signed outside vaultproof: ours can never be mined.
      const Status failed = db_.Transact(store::TxMode::kWrite, [&](store::Conn& c) -> Status {
        return FailTransaction(c, events_, p.id,
                               "NONCE_CONFLICT: nonce " + std::to_string(p.nonce) +
                                   " was used by a transaction vaultproof did not sign; nothing was sent",
                               /*release_spend=*/true, Now());
      });
      if (!failed.ok()) return JobResult::Retry(failed.ToString());
      continue;
    }
    if (!accepted) {
      // Unknown outcome (transport) or a refusal that may pass later (funds, fees, a lower
      // nonce not yet sent): keep the bytes, note why, and retry the drain.
      (void)db_.Transact(store::TxMode::kWrite, [&](store::Conn& c) {
        return c.Exec("UPDATE wallet_transactions SET error = $1 WHERE id = $2 AND status = 'signed'",
                      {store::Value(sent.ToString()), store::Value(p.id)});
      });
      return JobResult::Retry(sent.ToString());
    }
    const int64_t now = Now();
    Status recorded = db_.Transact(store::TxMode::kWrite, [&](store::Conn& c) -> Status {
      ASSIGN_OR_RETURN(store::Rows u, c.Query("UPDATE wallet_transactions SET status = 'broadcast', broadcast_ms = $1,"
                                              " error = '', updated_ms = $1 WHERE id = $2 AND status = 'signed'",
                                              {store::Value(now), store::Value(p.id)}));
      if (u.affected == 0) return OkStatus();
      RETURN_IF_ERROR(ScheduleConfirm(c, p.id, now));
      return EmitTransaction(c, events_, "transaction.broadcast", p.id, now);
    });
    if (!recorded.ok()) return JobResult::Retry(recorded.ToString());
    Notify();
    if (Status s = Step("sent", p.id); !s.ok()) return JobResult::Retry(s.ToString());
  }
  return JobResult::Success("");
}

JobResult Broadcaster::Confirm(std::string_view tx_id) {
  std::string status, wallet_id;
  json request;
  int64_t chain = 0;
  struct Attempt {
    int64_t n = 0;
    std::string fields, raw, hash;
    int64_t created_ms = 0;
  };
  std::vector<Attempt> attempts;  // newest first
  Status read = db_.WithConn([&](store::Conn& c) -> Status {
    ASSIGN_OR_RETURN(store::Rows r, c.Query("SELECT status, chain_id, wallet_id, request FROM wallet_transactions WHERE id = $1",
                                            {store::Value(tx_id)}));
    if (r.empty()) return NotFoundError("no transaction " + std::string(tx_id));
    status = r.Text(0, 0);
    chain = r.Int(0, 1);
    wallet_id = r.Text(0, 2);
    request = json::parse(r.Text(0, 3), nullptr, false);
    ASSIGN_OR_RETURN(store::Rows a, c.Query("SELECT attempt, fields, raw, hash, created_ms FROM wallet_tx_attempts"
                                            " WHERE tx_id = $1 ORDER BY attempt DESC",
                                            {store::Value(tx_id)}));
    for (size_t i = 0; i < a.size(); ++i) attempts.push_back({a.Int(i, 0), a.Text(i, 1), a.Text(i, 2), a.Text(i, 3), a.Int(i, 4)});
    return OkStatus();
  });
  if (read.code() == StatusCode::kNotFound) return JobResult::Permanent(read.ToString());
  if (!read.ok()) return JobResult::Retry(read.ToString());
  if (status != "broadcast") return JobResult::Success("");  // settled already
  if (attempts.empty()) return JobResult::Permanent("tx " + std::string(tx_id) + " is broadcast without a signed version");

  auto next_poll = [&](std::string note) -> JobResult {
    const Status s = db_.Transact(store::TxMode::kWrite, [&](store::Conn& c) { return ScheduleConfirm(c, tx_id, Now()); });
    if (!s.ok()) return JobResult::Retry(s.ToString());
    return JobResult::Success(std::move(note));
  };
  StatusOr<Chain> config = chains_.Get(static_cast<uint64_t>(chain));
  if (!config.ok()) return next_poll(config.status().ToString());
  StatusOr<std::unique_ptr<RpcClient>> rpc = chains_.Connect(static_cast<uint64_t>(chain));
  if (!rpc.ok()) return next_poll(rpc.status().ToString());

  // Any version may be the one mined: the newest is the likeliest.
  for (const Attempt& a : attempts) {
    StatusOr<crypto::Hash256> hash = HexDecodeFixed<32>(a.hash, HexPrefix::kRequired);
    if (!hash.ok()) return JobResult::Permanent("stored hash is not hex");
    StatusOr<std::optional<Receipt>> receipt = rpc.value()->GetTransactionReceipt(*hash);
    if (!receipt.ok()) return next_poll(receipt.status().ToString());
    if (!receipt->has_value()) continue;
    const Receipt& r = **receipt;
    StatusOr<uint64_t> head = rpc.value()->BlockNumber();
    if (!head.ok()) return next_poll(head.status().ToString());
    // Not deep enough yet; a reorg that drops the block only delays this (the receipt
    // disappears or moves, and the poll goes on).
    if (r.block_number + static_cast<uint64_t>(config->config.confirmations) > *head) return next_poll("waiting for depth");
    const bool ok = r.status == 1;
    const int64_t now = Now();
    Status settled = db_.Transact(store::TxMode::kWrite, [&](store::Conn& c) -> Status {
      ASSIGN_OR_RETURN(store::Rows u,
                       c.Query("UPDATE wallet_transactions SET status = $1, raw = $2, hash = $3, receipt = $4, error = $5,"
                               " updated_ms = $6 WHERE id = $7 AND status = 'broadcast'",
                               {store::Value(ok ? "confirmed" : "failed"), store::Value(a.raw), store::Value(a.hash),
                                store::Value(ReceiptJson(r).dump()),
                                store::Value(ok ? "" : "reverted: the receipt's status is 0 (the nonce and the fee are spent)"),
                                store::Value(now), store::Value(tx_id)}));
      if (u.affected == 0) return OkStatus();
      // A reverted transaction keeps its daily-spend reservation: it was signed and mined.
      return EmitTransaction(c, events_, ok ? "transaction.confirmed" : "transaction.failed", tx_id, now);
    });
    if (!settled.ok()) return JobResult::Retry(settled.ToString());
    return JobResult::Success(ok ? "confirmed" : "failed");
  }

  // Not mined. Stuck long enough: the same nonce again, both fee fields bumped.
  const Attempt& latest = attempts.front();
  const int64_t now = Now();
  if (now - latest.created_ms >= options_.stuck_after_ms && static_cast<int64_t>(attempts.size()) <= options_.max_bumps) {
    StatusOr<json> fields = ParseJsonStrict(latest.fields, "stored transaction fields");
    StatusOr<eth::Transaction> tx = fields.ok() ? eth::TransactionFromJson(*fields) : StatusOr<eth::Transaction>(fields.status());
    if (!tx.ok()) return JobResult::Permanent(tx.status().ToString());
    StatusOr<Market> market = GetMarket(**rpc, tx->type, options_.fee_history_blocks);
    if (!market.ok()) return next_poll(market.status().ToString());
    // At least 12.5% over the last version, and at least what the market asks now.
    StatusOr<Version> bumped = SignVersion(wallets_, wallet_id, Repriced(*tx, *market), request, "");
    if (!bumped.ok()) return next_poll(bumped.status().ToString());
    StatusOr<bool> won = RecordVersion(db_, tx_id, "broadcast", latest.n, *bumped, now);
    if (!won.ok()) return JobResult::Retry(won.status().ToString());
    if (!*won) return next_poll("bumped by another poll");
    if (Status s = Step("bumped", tx_id); !s.ok()) return JobResult::Retry(s.ToString());
    StatusOr<Bytes> bytes = HexDecode(bumped->raw, HexPrefix::kRequired);
    // Refusals (underpriced, nonce too low once another version is mined) are settled by
    // the next poll: a receipt, or a further bump.
    if (bytes.ok()) (void)rpc.value()->SendRawTransaction(*bytes);
    return next_poll("bumped to attempt " + std::to_string(latest.n + 1));
  }
  // Sent again, every poll: it heals a crash between recording a version and sending it,
  // and a node that dropped the transaction from its pool. "Already known" is the usual answer.
  StatusOr<Bytes> bytes = HexDecode(latest.raw, HexPrefix::kRequired);
  if (bytes.ok()) (void)rpc.value()->SendRawTransaction(*bytes);
  return next_poll("pending");
}

}  // namespace vp::wallet
