// Broadcaster: takes approved "broadcast": true transactions to the chain and follows them
// to confirmed | failed, as two job queues (store/jobs.h) that any worker may run:
//
//   tx.broadcast {chainId, from}  drains one sender's pipeline, in approval order:
//       approved --estimate gas, fees; nonce from chain_nonces, one store transaction-->
//       nonce_assigned --sign (RFC 6979: a re-run signs the same bytes)--> signed (raw and
//       hash recorded) --eth_sendRawTransaction--> broadcast (+ a tx.confirm job, same
//       store transaction); a send refused as underpriced ("fee too low", "transaction
//       underpriced", below the base fee) is re-signed with the same nonce at
//       max(12.5% more, the market), recorded as a new version, and sent
//   tx.confirm {txId}  one poll: a receipt for any hash the transaction had, deep enough
//       → confirmed (status 1) or failed (status 0: reverted, the nonce and the spend are
//       used); none and the last send older than stuck_after_ms → re-signed with both fee
//       fields bumped by 12.5% (same nonce), recorded, sent; otherwise the last version is
//       sent again. Then the next poll is enqueued as a fresh delayed job.
//
// Each step is durable before the next begins, so a crash anywhere re-runs into the same
// nonce and, once signed, the same bytes. docs/chains.md, "Broadcast".
//
//   ChainRegistry chains(db);
//   Broadcaster broadcaster(db, wallets, chains, events);
//   TransactionService txs(db, wallets, events, &broadcaster);
//   RETURN_IF_ERROR(broadcaster.RegisterHandlers(pool));   // before pool.Start()
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "vp/base/status.h"
#include "vp/store/db.h"
#include "vp/store/jobs.h"
#include "vp/store/worker.h"
#include "vp/wallet/chains.h"
#include "vp/wallet/events.h"
#include "vp/wallet/wallets.h"

namespace vp::wallet {

struct BroadcastOptions {
  int64_t poll_ms = 1'000;          // between two confirmation polls
  int64_t stuck_after_ms = 30'000;  // no receipt this long after the last send: bump the fees
  int64_t max_bumps = 10;           // re-signed versions (fee bumps and re-prices) per transaction;
                                    // after that it only waits (and re-sends the last one)
  int64_t gas_margin_percent = 20;  // added to eth_estimateGas's answer
  int64_t fee_history_blocks = 10;  // eth_feeHistory window for the priority fee (50th percentile)
  std::function<int64_t()> clock;   // ms since the epoch; empty: the system clock
  // Test hook: called after each durable step ("nonce_assigned", "signed", "repriced", "sent", "bumped")
  // with the transaction id. A non-OK return ends the handler right there, as a crash
  // would (the job is retried).
  std::function<Status(std::string_view step, std::string_view tx_id)> after_step;
};

class Broadcaster {
 public:
  static constexpr std::string_view kBroadcastQueue = "tx.broadcast";
  static constexpr std::string_view kConfirmQueue = "tx.confirm";

  // Everything passed must outlive the broadcaster.
  Broadcaster(store::Db& db, WalletService& wallets, ChainRegistry& chains, EventSink& events,
              BroadcastOptions options = {});

  // Registers the handlers of both queues (before pool.Start()) and keeps the pool to
  // Notify it of new work. Errors as WorkerPool::Register.
  Status RegisterHandlers(store::WorkerPool& pool);

  // Enqueues the drain of (chain, from) inside the caller's store transaction (TransactionService
  // calls it as a transaction becomes approved); call Notify() after the commit.
  Status EnqueueBroadcast(store::Conn& c, uint64_t chain_id, std::string_view from, int64_t now_ms);
  void Notify();

  // The handlers' work, callable directly (tests). Broadcast drains the sender's
  // approved, nonce_assigned and signed transactions; Confirm polls one transaction.
  store::JobResult Broadcast(uint64_t chain_id, std::string_view from);
  store::JobResult Confirm(std::string_view tx_id);

  ChainRegistry& chains() { return chains_; }

 private:
  int64_t Now() const;
  Status Step(std::string_view step, std::string_view tx_id);
  Status ScheduleConfirm(store::Conn& c, std::string_view tx_id, int64_t now_ms);

  store::Db& db_;
  WalletService& wallets_;
  ChainRegistry& chains_;
  EventSink& events_;
  BroadcastOptions options_;
  std::atomic<store::WorkerPool*> pool_{nullptr};
};

}  // namespace vp::wallet
