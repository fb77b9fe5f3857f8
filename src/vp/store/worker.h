// WorkerPool: runs the jobs of the store's queue (jobs.h). Threads lease jobs from the
// queues that have a handler, round robin, run the handler while a heartbeat thread keeps
// the lease alive, and record the outcome (Complete, Fail, FailPermanently). The same class
// serves the embedded default (worker threads inside the gateway) and `vaultproof worker`
// processes on many hosts sharing one PostgreSQL. Semantics and metric names: docs/jobs.md.
//
//   WorkerPool pool(db, {.threads = 4});
//   RETURN_IF_ERROR(pool.Register("prove", [](JobContext& ctx) {
//     if (!Valid(ctx.job().payload)) return JobResult::Permanent("malformed payload");
//     ...work, checking ctx.cancelled() / ctx.lease_lost() between steps...
//     return JobResult::Success(R"({"bundle":"..."})");
//   }));
//   RETURN_IF_ERROR(pool.Start());
//   ... jobs.Enqueue(...); pool.Notify();   // runs at once instead of at the next poll
//   pool.Stop();                            // or the destructor
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "vp/base/status.h"
#include "vp/store/db.h"
#include "vp/store/jobs.h"

namespace vp::store {

// What a handler returns. A retryable failure goes back to the queue with backoff (dead
// after the job's max_attempts); a permanent one goes to dead at once.
struct JobResult {
  enum class Kind { kSuccess, kRetry, kPermanent };
  Kind kind = Kind::kSuccess;
  std::string text;  // kSuccess: the result stored with the job; otherwise the error message

  static JobResult Success(std::string result) { return {Kind::kSuccess, std::move(result)}; }
  static JobResult Retry(std::string error) { return {Kind::kRetry, std::move(error)}; }
  static JobResult Permanent(std::string error) { return {Kind::kPermanent, std::move(error)}; }
};

// The running job as its handler sees it. The flags are set by other threads (the heartbeat
// thread, Stop) and may be read at any time. Handlers are expected to check them between
// steps of long work and return soon once one is set; what they return then is not
// recorded (cancelled, lease lost) or, after Stop's deadline, releases the job unless it
// is a success. A JobContext can also be made directly to test a handler.
class JobContext {
 public:
  explicit JobContext(Job job) : job_(std::move(job)) {}
  JobContext(const JobContext&) = delete;
  JobContext& operator=(const JobContext&) = delete;

  const Job& job() const { return job_; }
  // True when the job was cancelled in the store (Cancel; learned from a heartbeat) or when
  // Stop's deadline has passed.
  bool cancelled() const { return store_cancelled_.load() || deadline_passed_.load(); }
  // True when a heartbeat found the lease gone: it expired and another worker took the job.
  bool lease_lost() const { return lease_lost_.load(); }
  // True once Stop was called: no new jobs are leased; finishing this one is still wanted.
  bool stopping() const { return stopping_.load(); }
  // Sleeps up to `d`; returns false early (and at once) when cancelled() or lease_lost().
  bool SleepFor(std::chrono::milliseconds d);

 private:
  friend class WorkerPool;
  void Set(std::atomic<bool>& flag);

  Job job_;
  std::atomic<bool> store_cancelled_{false};
  std::atomic<bool> deadline_passed_{false};
  std::atomic<bool> lease_lost_{false};
  std::atomic<bool> stopping_{false};
  std::mutex mu_;  // with cv_: wakes SleepFor when a flag is set
  std::condition_variable cv_;
};

using JobHandler = std::function<JobResult(JobContext&)>;

// Hooks for metrics and logs, called from the pool's threads (several at once: an
// implementation must be thread-safe). Exceptions thrown by a hook are swallowed.
struct WorkerObserver {
  virtual ~WorkerObserver() = default;
  // Once for each job a handler ran. outcome is one of:
  //   succeeded   the result was recorded
  //   retry       a retryable failure was recorded; the job runs again after the backoff
  //   dead        a permanent failure, or the last attempt failed: the job is a dead letter
  //   cancelled   the job was cancelled while it ran; the handler's result was dropped
  //   lease_lost  the lease expired and another worker took the job; the result was dropped
  //   released    Stop's deadline interrupted the handler; the job is queued again, due now,
  //               and the attempt is not counted
  //   error       the store could not record the outcome (see StoreError); the lease lapses
  //               and the job runs again
  // seconds: from the handler's start to the outcome being known.
  virtual void JobFinished(std::string_view /*queue*/, std::string_view /*outcome*/, double /*seconds*/) {}
  // The same event for logs, right after JobFinished: the job as leased (id, attempts,
  // worker id) and the message (the handler's error, or why the result was dropped; empty
  // on success).
  virtual void JobLog(const Job& /*job*/, std::string_view /*outcome*/, std::string_view /*message*/) {}
  // A store call failed for a reason other than a stale lease (database down, ...). op:
  // lease, heartbeat, complete, fail, fail_permanently, release, get.
  virtual void StoreError(std::string_view /*op*/, const Status& /*status*/) {}
};

struct WorkerOptions {
  std::string worker_id;             // stored with each lease; empty: "hostname:pid:n" (n counts pools)
  size_t threads = 2;                // handlers run at most this many jobs at once
  int64_t visibility_ms = 30'000;    // lease length; a silent worker loses the job after this
  int64_t heartbeat_ms = 0;          // 0: visibility_ms / 3; negative: no heartbeats (tests)
  int64_t idle_poll_ms = 100;        // first wait after finding nothing to do
  int64_t idle_poll_max_ms = 2'000;  // the wait doubles while idle up to this cap
  int64_t stop_deadline_ms = 30'000; // Stop(): how long running handlers may take
  std::function<int64_t()> clock;    // ms since the epoch for store calls; empty: system clock
  WorkerObserver* observer = nullptr;  // not owned; must outlive the pool
};

class WorkerPool {
 public:
  // `db` must outlive the pool.
  WorkerPool(Db& db, WorkerOptions options);
  ~WorkerPool();  // Stop()
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Adds the handler of a queue; before Start only. kInvalidArgument for an empty queue name,
  // an empty handler or a queue that already has one; kFailedPrecondition after Start.
  Status Register(std::string queue, JobHandler handler);
  // Starts the threads. kInvalidArgument for options out of range; kFailedPrecondition with
  // no handler registered or when started before; kInternal if a thread cannot be made.
  Status Start();
  // Wakes the idle threads to look for work now (call after enqueueing a job locally).
  void Notify();
  // Graceful stop: no new leases; running handlers may finish until the deadline, after
  // which their contexts report cancelled(); then waits for them (a handler that never
  // returns blocks Stop) and for their outcomes to be recorded. Idempotent; never call it
  // from a handler.
  void Stop();
  void Stop(std::chrono::milliseconds deadline);

  const std::string& worker_id() const { return options_.worker_id; }

 private:
  struct Active;

  int64_t Now() const;
  void WorkerLoop(size_t index);
  void HeartbeatLoop();
  void StopLocked(std::chrono::milliseconds deadline);  // stop_mu_ held
  void Run(const JobHandler& handler, Job job);
  void Beat(Active& a);
  // After a stale-lease refusal: did Cancel do it (else the lease was lost)?
  bool WasCancelled(int64_t id);
  // Records the handler's result; returns the outcome and its message.
  std::pair<std::string_view, std::string> Record(JobContext& ctx, JobResult result);
  void ObserveFinished(const Job& job, std::string_view outcome, std::string_view message, double seconds);
  void ObserveStoreError(std::string_view op, const Status& status);

  JobQueue queue_;
  WorkerOptions options_;
  int64_t heartbeat_ms_ = 0;  // effective interval; <= 0: none
  std::vector<std::pair<std::string, JobHandler>> handlers_;  // fixed once started

  std::mutex stop_mu_;  // serializes Start and Stop
  bool started_ = false;   // GUARDED_BY(stop_mu_)
  bool stopped_ = false;   // GUARDED_BY(stop_mu_)
  std::vector<std::thread> workers_;
  std::thread heartbeat_;

  std::mutex mu_;
  std::condition_variable wake_cv_;       // idle workers: Notify, Stop
  std::condition_variable done_cv_;       // Stop: a worker thread exited
  std::condition_variable heartbeat_cv_;  // heartbeat thread: a job started, Stop
  uint64_t notify_generation_ = 0;        // GUARDED_BY(mu_)
  bool stopping_ = false;                 // GUARDED_BY(mu_)
  bool deadline_passed_ = false;          // GUARDED_BY(mu_)
  bool heartbeat_stop_ = false;           // GUARDED_BY(mu_)
  size_t live_workers_ = 0;               // GUARDED_BY(mu_)
  std::map<int64_t, std::shared_ptr<Active>> active_;  // GUARDED_BY(mu_): by job id
};

}  // namespace vp::store
