// Finalization of an election (docs/api.md, "Ballot API: finalize and verify"): a job on the
// platform queue plays the requested scenario, proves the tally through the signed prover
// image, writes bundle.zip (public) and the prover input (sealed) to the object store, closes
// the election and publishes the result. The voter's session follows it as an "execution":
// queued -> running -> succeeded | failed | cancelled.
//
//   FinalizeService fin(db, ballot, objects, log_key, options);
//   RETURN_IF_ERROR(fin.RegisterHandler(pool));                // before pool.Start()
//   ASSIGN_OR_RETURN(Execution e, fin.Start(ctx, "S0", now));  // enqueues
//   // async: answer 202 with StatusJson(e); sync: WaitFor(e.id, timeout) then 200
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "vp/base/secure.h"
#include "vp/election/election.h"
#include "vp/election/log_key.h"
#include "vp/objects/object_store.h"
#include "vp/prover/prover_image.h"
#include "vp/store/db.h"
#include "vp/store/worker.h"

namespace vp::election {

// Queues: the finalize job plans the scenario and queues one job per segment of the tree;
// the last segment to be proven queues the assembly, which checks them together, writes the
// bundle and publishes the result. Any worker sharing the store takes any of them.
inline constexpr std::string_view kFinalizeQueue = "ballot.finalize";
inline constexpr std::string_view kSegmentQueue = "ballot.prove_segment";
inline constexpr std::string_view kAssembleQueue = "ballot.assemble";
inline constexpr std::string_view kBundleBucket = "ballot-bundles";
inline constexpr std::string_view kPrivateBucket = "ballot-private";  // sealed segment witnesses
inline constexpr std::string_view kWorkBucket = "ballot-work";        // segment proofs until assembled
// Refusals: kFinalizeInProgress, kNotVoted, kNotFinalized, kInvalidScenario (election.h).

struct FinalizeOptions {
  bool async = false;  // POST /api/finalize answers 202 at once (true) or 200 when done
  int64_t sync_timeout_ms = 120'000;
  // The signed prover image; empty binary_path proves in this process (tests and dev only:
  // the gateway refuses it unless [ballot] allow_unsigned_prover is set).
  prover::ProverImage image;
  prover::ProverRunOptions run;
  // Segment jobs go to signed images kept running between segments (`vaultproof-prover
  // serve`), each leaving after prover_idle_exit_ms without work; false starts an image per
  // segment. A fresh image paid 1-2 s of first-touch memory per 2^14-vote segment here.
  bool prover_sessions = true;
  int prover_idle_exit_ms = 60'000;
  // Segments: runs of blocks of block_leaves (a power of two), at most max_segment_leaves
  // leaves each (ballot::SegmentLayout).
  uint64_t max_segment_leaves = ballot::kDefaultMaxSegmentLeaves;
  uint64_t block_leaves = ballot::kDefaultBlockLeaves;
  int64_t object_ttl_ms = 24 * 3600 * 1000;  // bundles and private inputs expire after this
  SecureBuffer seal_key;                     // 32 bytes: seals the private input objects
};

struct Execution {
  std::string id;
  std::string session_id;
  std::string election_id;
  std::string scenario;
  std::string state;  // queued | running | succeeded | failed | cancelled
  int64_t job_id = 0;
  std::string result;  // JSON text when succeeded
  std::string error;   // "CODE: reason" when failed
  std::string verification;  // JSON text of POST /api/verification/run, once run
  int64_t created_ms = 0;
  std::optional<int64_t> started_ms, finished_ms;
};

// OpenMP threads for one prover image when `running` images (this one included) prove at
// once on a host with `cores` cores: the cores split evenly, at least one each. Two images of
// two threads each on two cores took 7.4 s for two 2^14-vote segments, two of one thread
// 5.3 s (a team's barriers wait for threads the other image has descheduled).
unsigned ProverThreads(unsigned cores, unsigned running);

class FinalizeService {
 public:
  FinalizeService(store::Db& db, ElectionService& elections, objects::ObjectStore& objects,
                  std::shared_ptr<const LogSigner> log_key, FinalizeOptions options);

  const FinalizeOptions& options() const { return options_; }
  // Registers the handlers of `queues` (empty: all three) on the pool: a host may run only
  // the segment provers, another the planning and the assembly.
  Status RegisterHandler(store::WorkerPool& pool, std::vector<std::string_view> queues = {});

  // POST /api/finalize: INVALID_SCENARIO, NOT_VOTED (the session has not voted),
  // SESSION_FINALIZED (a finalization of this election succeeded), FINALIZATION_IN_PROGRESS.
  StatusOr<Execution> Start(const SessionContext& ctx, std::string_view scenario, int64_t now_ms);
  // Polls until the execution leaves queued/running or timeout_ms passes (returns it as is).
  StatusOr<Execution> WaitFor(const std::string& execution_id, int64_t timeout_ms);
  StatusOr<Execution> Get(const std::string& execution_id);
  // The session's latest execution; kNotFound when none.
  StatusOr<Execution> Latest(const std::string& session_id);
  // {executionId, statusUrl, state, scenario, queue{position, depth, estimatedStartAt}?,
  //  result?, error?, createdAt, startedAt?, finishedAt?}
  nlohmann::json StatusJson(const Execution& e, int64_t now_ms);
  // POST /api/finalize/cancel: cancels the session's queued or running execution.
  StatusOr<Execution> Cancel(const SessionContext& ctx, int64_t now_ms);
  // bundle.zip of a succeeded execution of that session; kNotFound otherwise.
  StatusOr<Bytes> Bundle(const std::string& session_id, const std::string& execution_id);
  // GET /api/verify: every check on the session's latest succeeded bundle with the voter's
  // receipt as the server knows it. NOT_FINALIZED before.
  StatusOr<nlohmann::json> Verify(const SessionContext& ctx);
  // POST /api/verification/run: as Verify, recorded with the execution (idempotent: a second
  // call answers the recorded report).
  StatusOr<nlohmann::json> RunVerification(const SessionContext& ctx, int64_t now_ms);

 private:
  store::JobResult Run(store::JobContext& job);
  store::JobResult RunSegment(store::JobContext& job);
  store::JobResult RunAssemble(store::JobContext& job);
  Status Finish(const std::string& id, std::string_view state, const std::string& result,
                const std::string& error, int64_t now_ms);
  StatusOr<std::string> ReceiptFor(const SessionContext& ctx, const Execution& e);

  store::Db& db_;
  ElectionService& elections_;
  objects::ObjectStore& objects_;
  std::shared_ptr<const LogSigner> log_key_;
  FinalizeOptions options_;
  store::WorkerPool* pool_ = nullptr;
  std::atomic<unsigned> running_provers_{0};  // segment jobs proving on this host now
  std::unique_ptr<prover::ProverSessionPool> sessions_;  // when options_.prover_sessions
};

}  // namespace vp::election
