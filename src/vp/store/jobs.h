// JobQueue: a durable job queue in the store (the SQS of the design). Workers on any host
// lease jobs with a visibility timeout; a lease carries a fresh random token that every
// later call (Heartbeat, Complete, Fail) must present, so a worker whose lease expired and
// was taken over by another can no longer complete or fail the job.
//
// Life of a job:
//   queued --Lease--> leased --Complete--> succeeded
//                        |----Fail------> queued again at now + backoff (attempts < max_attempts)
//                        |                dead (attempts == max_attempts)
//                        |----lease expires--> leasable again (the expired attempt counts;
//                        |                     once attempts == max_attempts it goes to dead
//                        |                     instead, when a Lease call reaches it in due order)
//                        |----FailPermanently--> dead (whatever the attempts)
//                        |----Release----> queued, due now, this attempt not counted
//   queued/leased --Cancel--> cancelled
// attempts counts leases. Backoff before attempt n+1 = min(backoff_base_ms * 2^(n-1),
// backoff_max_ms). Jobs are taken in order of due time, then id (FIFO for equal times).
// PostgreSQL: SELECT ... FOR UPDATE SKIP LOCKED, so many workers lease concurrently;
// SQLite: inside BEGIN IMMEDIATE.
//
//   JobQueue jobs(*db);
//   ASSIGN_OR_RETURN(int64_t id, jobs.Enqueue("prove", payload_json, {}, now_ms));
//   ASSIGN_OR_RETURN(std::optional<Job> job, jobs.Lease("prove", "worker-1", 30'000, now_ms));
//   if (job) { ...work, Heartbeat now and then...; jobs.Complete(job->id, job->lease_token, result, now_ms); }
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vp/base/status.h"
#include "vp/store/db.h"

namespace vp::store {

enum class JobState { kQueued, kLeased, kSucceeded, kDead, kCancelled };
// "queued", "leased", "succeeded", "dead", "cancelled" (as stored).
std::string_view JobStateName(JobState state);

struct JobOptions {
  int64_t max_attempts = 5;            // >= 1
  int64_t delay_ms = 0;                // first run at now + delay_ms
  int64_t backoff_base_ms = 1'000;     // > 0
  int64_t backoff_max_ms = 300'000;    // >= backoff_base_ms
};

struct Job {
  int64_t id = 0;
  std::string queue;
  std::string payload;       // as enqueued (JSON by convention; not interpreted)
  JobState state = JobState::kQueued;
  int64_t attempts = 0;      // leases so far
  int64_t max_attempts = 0;
  int64_t backoff_base_ms = 0;
  int64_t backoff_max_ms = 0;
  // queued: when it becomes leasable; leased: when the lease expires.
  int64_t visible_at_ms = 0;
  std::string lease_token;   // current lease (state leased); empty otherwise
  std::string worker_id;     // last worker that leased it
  std::string result;        // set by Complete
  std::string last_error;    // set by Fail / lease expiry / Cancel
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

// Counts() row: one queue's unfinished and dead jobs (succeeded and cancelled are not
// counted; they only grow).
struct QueueCounts {
  std::string queue;
  int64_t queued = 0;   // waiting: due, delayed or backing off before a retry
  int64_t leased = 0;   // held by a worker (including leases that expired and not yet retaken)
  int64_t dead = 0;     // dead letters
  // now - the due time of the oldest job that is due and not running (queued and due, or
  // leased with an expired lease): how far the queue lags behind; 0 when nothing is due.
  int64_t oldest_due_age_ms = 0;
};

class JobQueue {
 public:
  explicit JobQueue(Db& db) : db_(db) {}

  // Returns the new job's id (ids increase). kInvalidArgument for an empty queue name or
  // options out of range.
  StatusOr<int64_t> Enqueue(std::string_view queue, std::string_view payload, const JobOptions& options,
                            int64_t now_ms);
  // The same inside the caller's transaction (a transactional outbox: the job exists if
  // and only if the caller's change commits). Errors as above.
  static StatusOr<int64_t> Enqueue(Conn& c, std::string_view queue, std::string_view payload,
                                   const JobOptions& options, int64_t now_ms);
  // Takes the next due job of the queue for visibility_ms (> 0), or nullopt if none is due.
  // The returned Job is in state kLeased with a fresh lease_token.
  StatusOr<std::optional<Job>> Lease(std::string_view queue, std::string_view worker_id, int64_t visibility_ms,
                                     int64_t now_ms);
  // Extends the lease to now + visibility_ms. kNotFound for an unknown id;
  // kFailedPrecondition when the token is not the job's current lease (stale: taken over by
  // another worker, or the job was cancelled / finished).
  Status Heartbeat(int64_t id, std::string_view lease_token, int64_t visibility_ms, int64_t now_ms);
  // Marks the job succeeded with its result. Errors as Heartbeat. A lease that expired but
  // was not yet taken over is still honoured (nobody else holds the job).
  Status Complete(int64_t id, std::string_view lease_token, std::string_view result, int64_t now_ms);
  // Records a failed attempt: back to queued after the backoff, or dead after the last
  // attempt. Returns the job's new state (kQueued or kDead). Errors as Heartbeat.
  StatusOr<JobState> Fail(int64_t id, std::string_view lease_token, std::string_view error, int64_t now_ms);
  // A failure not worth retrying (malformed payload, refused by policy): the job goes to
  // dead at once, whatever attempts remain. Errors as Heartbeat.
  Status FailPermanently(int64_t id, std::string_view lease_token, std::string_view error, int64_t now_ms);
  // Gives the job back unfinished (a worker shutting down): queued again, due at now_ms, and
  // the attempt is not counted (attempts goes back down by one). last_error is kept. Errors
  // as Heartbeat.
  Status Release(int64_t id, std::string_view lease_token, int64_t now_ms);
  // Cancels a queued or leased job (a worker holding it learns at its next call).
  // Cancelling a cancelled job is OK; kFailedPrecondition for succeeded or dead jobs;
  // kNotFound for an unknown id.
  Status Cancel(int64_t id, int64_t now_ms);
  // kNotFound for an unknown id.
  StatusOr<Job> Get(int64_t id);
  // Jobs of the queue that are queued or leased.
  StatusOr<int64_t> Depth(std::string_view queue);
  // Every queue that has queued, leased or dead jobs, ordered by name, from one query (for
  // the vp_jobs{queue,state} gauge and queue lag). now_ms is the reference for
  // oldest_due_age_ms.
  StatusOr<std::vector<QueueCounts>> Counts(int64_t now_ms);

 private:
  Db& db_;
};

}  // namespace vp::store
