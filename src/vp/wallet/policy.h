// Wallet policies and the transaction lifecycle before broadcast:
//   POST .../transactions → policy check (atomic with the daily spend counter)
//   → pending_approval (requiredApprovals > 0) → approvals by distinct approvers, never the
//   creator → signed (or rejected). With "broadcast": true the approved transaction goes to
//   the Broadcaster (broadcast.h) instead: nonce_assigned → signed → broadcast → confirmed |
//   failed. A refusal names its rule with a code: POLICY_LIMIT_EXCEEDED,
//   DESTINATION_NOT_ALLOWED, CHAIN_NOT_ALLOWED, METHOD_NOT_ALLOWED, SELF_APPROVAL,
//   ALREADY_DECIDED, TRANSACTION_NOT_PENDING, CHAIN_NOT_CONFIGURED, CHAIN_ID_MISMATCH.
//   Every status change emits its event (events.h) inside the transaction that makes it.
//
//   TransactionService txs(db, wallets, events, &broadcaster);   // events, broadcaster optional
//   ASSIGN_OR_RETURN(json tx, txs.Create(wallet_id, request_json, principal, now_ms));
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "vp/eth/uint256.h"
#include "vp/store/db.h"
#include "vp/store/worker.h"
#include "vp/wallet/events.h"
#include "vp/wallet/wallets.h"

namespace vp::wallet {

struct Policy {
  std::optional<eth::U256> max_value_per_tx;  // wei
  std::optional<eth::U256> daily_limit;       // wei per UTC day, counting pending and signed requests
  std::optional<std::vector<std::string>> allowlist;       // lower-case 0x addresses
  int64_t required_approvals = 0;                          // 0..10
  std::optional<std::vector<uint64_t>> allowed_chain_ids;
  // 4-byte selectors ("0xa9059cbb") a call's data may start with; "transfer" allows plain
  // value transfers (empty data). Absent: anything.
  std::optional<std::vector<std::string>> allowed_methods;
};
StatusOr<Policy> ParsePolicy(const nlohmann::json& j);  // strict: unknown fields refused
nlohmann::json PolicyJson(const Policy& p);

// A refusal with a product code: kPermissionDenied (or kFailedPrecondition / kAlreadyExists)
// whose message starts with "CODE: ". RefusalCode() gives the code back ("" for others).
Status Refusal(StatusCode code, std::string_view name, std::string_view message);
std::string_view RefusalCode(const Status& s);

class Broadcaster;

// The EventSink of services built without one.
EventSink& NoEventSink();

// An approved transaction signed without broadcast is signed at once by the request that
// approved it; this job, queued in the approving store transaction and due a little later,
// signs it if that request died first (a crash between the approval's commit and the
// signature), so an approved transaction is never left unsigned. It finds the usual case
// already signed and does nothing; signatures are deterministic (RFC 6979) either way.
inline constexpr std::string_view kSignQueue = "tx.sign";
inline constexpr int64_t kSignJobDelayMs = 10'000;

class TransactionService {
 public:
  // `events` and `broadcaster` must outlive the service. Without a broadcaster, requests
  // with "broadcast": true are refused (kFailedPrecondition).
  TransactionService(store::Db& db, WalletService& wallets, EventSink& events = NoEventSink(),
                     Broadcaster* broadcaster = nullptr)
      : db_(db), wallets_(wallets), events_(events), broadcaster_(broadcaster) {}

  Status PutPolicy(std::string_view wallet_id, const Policy& policy, std::string_view principal, int64_t now_ms);
  StatusOr<nlohmann::json> GetPolicy(std::string_view wallet_id);

  // request: ethers transaction fields (to, value, data, chainId, nonce, gasLimit, fee
  // fields) plus optional "index" (HD address) and "broadcast". Returns the transaction
  // record. broadcast false (default): chainId, nonce and gasLimit are required and an
  // approved transaction is signed at once (status signed). broadcast true: chainId must
  // be a configured chain (CHAIN_NOT_CONFIGURED), nonce must be absent (the broadcaster
  // owns nonces), gasLimit and fees are optional (estimated); an approved transaction is
  // handed to the broadcaster's job in the same store transaction (status approved).
  //
  // idempotency_key (the request's Idempotency-Key, or empty) is stored with the record in
  // the creating transaction: when the principal already created a transaction under that
  // key (the gateway died before it completed the key, and the client retried), that
  // record is returned, and signed first if it was left approved and unsigned, instead of
  // a second transaction being created.
  StatusOr<nlohmann::json> Create(std::string_view wallet_id, const nlohmann::json& request,
                                  std::string_view principal, int64_t now_ms,
                                  std::string_view idempotency_key = {});
  StatusOr<nlohmann::json> Approve(std::string_view tx_id, std::string_view approver, int64_t now_ms);
  StatusOr<nlohmann::json> Reject(std::string_view tx_id, std::string_view approver, int64_t now_ms);
  StatusOr<nlohmann::json> Get(std::string_view tx_id);
  // The kSignQueue handler.
  Status RegisterHandlers(store::WorkerPool& pool);
  StatusOr<nlohmann::json> List(std::string_view wallet_id, std::string_view status, int64_t limit);

 private:
  // Signs an approved request and records the result (status signed, or failed).
  // keep_on_unavailable: a signer that is unreachable (kUnavailable) leaves the transaction
  // approved for a retry instead of failing it (the job's way; a request fails it).
  StatusOr<nlohmann::json> SignAndRecord(std::string_view tx_id, int64_t now_ms, bool keep_on_unavailable = false);
  StatusOr<nlohmann::json> Decide(std::string_view tx_id, std::string_view approver, bool approve, int64_t now_ms);

  store::Db& db_;
  WalletService& wallets_;
  EventSink& events_;
  Broadcaster* broadcaster_;
};

// Shared with the broadcaster (broadcast.cc), inside its store transactions.
// The record as Get shows it.
StatusOr<nlohmann::json> LoadTransaction(store::Conn& c, std::string_view tx_id);
// Emits `event` with the record as it now stands.
Status EmitTransaction(store::Conn& c, EventSink& events, std::string_view event, std::string_view tx_id, int64_t now_ms);
// Status failed with `error`, emitting transaction.failed. release_spend: the value never
// left (nothing was mined), so its daily-spend reservation is given back.
Status FailTransaction(store::Conn& c, EventSink& events, std::string_view tx_id, std::string_view error,
                       bool release_spend, int64_t now_ms);

}  // namespace vp::wallet
