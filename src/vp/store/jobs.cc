// JobQueue over Db. Every call is one write transaction. Lease picks the next due row
// with FOR UPDATE SKIP LOCKED on PostgreSQL, so concurrent workers pass over rows another
// worker is taking instead of waiting on them; on SQLite the write transaction is
// exclusive anyway. Lease tokens are 128 random bits from the OS CSPRNG.
#include "vp/store/jobs.h"

#include "vp/crypto/random.h"

namespace vp::store {
namespace {

constexpr std::string_view kColumns =
    "id, queue, payload, state, attempts, max_attempts, backoff_base_ms, backoff_max_ms, visible_at,"
    " lease_token, worker_id, result, last_error, created_at, updated_at";

// Bounds how many expired final-attempt jobs one Lease call moves to dead before leasing.
constexpr int kMaxDeadSweepPerLease = 64;

JobState ParseState(std::string_view s) {
  if (s == "leased") return JobState::kLeased;
  if (s == "succeeded") return JobState::kSucceeded;
  if (s == "dead") return JobState::kDead;
  if (s == "cancelled") return JobState::kCancelled;
  return JobState::kQueued;
}

Job FromRow(const Rows& r, size_t i) {
  Job j;
  j.id = r.Int(i, 0);
  j.queue = r.Text(i, 1);
  j.payload = r.Text(i, 2);
  j.state = ParseState(r.Text(i, 3));
  j.attempts = r.Int(i, 4);
  j.max_attempts = r.Int(i, 5);
  j.backoff_base_ms = r.Int(i, 6);
  j.backoff_max_ms = r.Int(i, 7);
  j.visible_at_ms = r.Int(i, 8);
  j.lease_token = r.Text(i, 9);
  j.worker_id = r.Text(i, 10);
  j.result = r.Text(i, 11);
  j.last_error = r.Text(i, 12);
  j.created_at_ms = r.Int(i, 13);
  j.updated_at_ms = r.Int(i, 14);
  return j;
}

std::string Sql(std::string_view head, std::string_view tail) {
  std::string s(head);
  s += kColumns;
  s += tail;
  return s;
}

// min(base * 2^(attempts-1), max), without overflow.
int64_t Backoff(int64_t base, int64_t max, int64_t attempts) {
  int64_t d = base;
  for (int64_t i = 1; i < attempts && d < max; ++i) d = d > max / 2 ? max : d * 2;
  return d < max ? d : max;
}

// Why a token-checked update matched nothing: unknown job, or not leased with this token.
Status Refusal(Conn& c, int64_t id) {
  ASSIGN_OR_RETURN(Rows r, c.Query("SELECT state, lease_token FROM jobs WHERE id = $1", {Value(id)}));
  if (r.empty()) return NotFoundError("job " + std::to_string(id) + " not found");
  const std::string& state = r.Text(0, 0);
  if (state != "leased") return FailedPreconditionError("job " + std::to_string(id) + " is " + state);
  return FailedPreconditionError("job " + std::to_string(id) + ": stale lease token (the job was leased again)");
}

StatusOr<std::string> NewToken() {
  ASSIGN_OR_RETURN(Bytes b, crypto::RandomBytes(16));
  return HexEncode(b);
}

}  // namespace

std::string_view JobStateName(JobState state) {
  switch (state) {
    case JobState::kQueued: return "queued";
    case JobState::kLeased: return "leased";
    case JobState::kSucceeded: return "succeeded";
    case JobState::kDead: return "dead";
    case JobState::kCancelled: return "cancelled";
  }
  return "unknown";
}

StatusOr<int64_t> JobQueue::Enqueue(std::string_view queue, std::string_view payload, const JobOptions& options,
                                    int64_t now_ms) {
  int64_t id = 0;
  if (Status tx = db_.Transact(TxMode::kWrite, [&](Conn& c) -> Status {
    ASSIGN_OR_RETURN(id, Enqueue(c, queue, payload, options, now_ms));
    return OkStatus();
  }); !tx.ok()) return tx;
  return id;
}

StatusOr<int64_t> JobQueue::Enqueue(Conn& c, std::string_view queue, std::string_view payload,
                                    const JobOptions& options, int64_t now_ms) {
  if (queue.empty()) return InvalidArgumentError("jobs: empty queue name");
  if (options.max_attempts < 1) return InvalidArgumentError("jobs: max_attempts must be at least 1");
  if (options.delay_ms < 0) return InvalidArgumentError("jobs: negative delay");
  if (options.backoff_base_ms <= 0) return InvalidArgumentError("jobs: backoff base must be positive");
  if (options.backoff_max_ms < options.backoff_base_ms) {
    return InvalidArgumentError("jobs: backoff max below backoff base");
  }
  ASSIGN_OR_RETURN(Rows seq, c.Query(c.dialect() == Dialect::kPostgres
                                         ? "SELECT nextval('job_ids')"
                                         : "UPDATE sequences SET value = value + 1 WHERE name = 'jobs' RETURNING value"));
  if (seq.empty()) return InternalError("jobs: id sequence missing");
  const int64_t id = seq.Int(0, 0);
  RETURN_IF_ERROR(c.Exec("INSERT INTO jobs (id, queue, payload, state, attempts, max_attempts, backoff_base_ms,"
                         " backoff_max_ms, visible_at, created_at, updated_at)"
                         " VALUES ($1, $2, $3, 'queued', 0, $4, $5, $6, $7, $8, $8)",
                         {Value(id), Value(queue), Value(payload), Value(options.max_attempts),
                          Value(options.backoff_base_ms), Value(options.backoff_max_ms),
                          Value(now_ms + options.delay_ms), Value(now_ms)}));
  return id;
}

StatusOr<std::optional<Job>> JobQueue::Lease(std::string_view queue, std::string_view worker_id, int64_t visibility_ms,
                                             int64_t now_ms) {
  if (queue.empty()) return InvalidArgumentError("jobs: empty queue name");
  if (visibility_ms <= 0) return InvalidArgumentError("jobs: visibility timeout must be positive");
  ASSIGN_OR_RETURN(std::string token, NewToken());
  std::optional<Job> out;
  if (Status tx = db_.Transact(TxMode::kWrite, [&](Conn& c) -> Status {
    out.reset();
    const bool pg = c.dialect() == Dialect::kPostgres;
    for (int i = 0; i <= kMaxDeadSweepPerLease; ++i) {
      ASSIGN_OR_RETURN(Rows r, c.Query(pg ? "SELECT id, state, attempts, max_attempts FROM jobs"
                                            " WHERE queue = $1 AND state IN ('queued', 'leased') AND visible_at <= $2"
                                            " ORDER BY visible_at, id LIMIT 1 FOR UPDATE SKIP LOCKED"
                                          : "SELECT id, state, attempts, max_attempts FROM jobs"
                                            " WHERE queue = $1 AND state IN ('queued', 'leased') AND visible_at <= $2"
                                            " ORDER BY visible_at, id LIMIT 1",
                                       {Value(queue), Value(now_ms)}));
      if (r.empty()) return OkStatus();
      const int64_t id = r.Int(0, 0);
      const bool expired_lease = r.Text(0, 1) == "leased";
      if (expired_lease && r.Int(0, 2) >= r.Int(0, 3)) {
        RETURN_IF_ERROR(c.Exec("UPDATE jobs SET state = 'dead', lease_token = NULL, updated_at = $2,"
                               " last_error = 'lease expired on the final attempt' WHERE id = $1",
                               {Value(id), Value(now_ms)}));
        continue;
      }
      ASSIGN_OR_RETURN(Rows j, c.Query(Sql("UPDATE jobs SET state = 'leased', attempts = attempts + 1,"
                                           " visible_at = $2, lease_token = $3, worker_id = $4, updated_at = $5,"
                                           " last_error = CASE WHEN state = 'leased' THEN 'lease expired'"
                                           " ELSE last_error END WHERE id = $1 RETURNING ",
                                           ""),
                                       {Value(id), Value(now_ms + visibility_ms), Value(token), Value(worker_id),
                                        Value(now_ms)}));
      if (j.empty()) return InternalError("jobs: leased row vanished");
      out = FromRow(j, 0);
      return OkStatus();
    }
    return OkStatus();
  }); !tx.ok()) return tx;
  return out;
}

Status JobQueue::Heartbeat(int64_t id, std::string_view lease_token, int64_t visibility_ms, int64_t now_ms) {
  if (visibility_ms <= 0) return InvalidArgumentError("jobs: visibility timeout must be positive");
  return db_.Transact(TxMode::kWrite, [&](Conn& c) -> Status {
    ASSIGN_OR_RETURN(Rows r, c.Query("UPDATE jobs SET visible_at = $3, updated_at = $4"
                                     " WHERE id = $1 AND state = 'leased' AND lease_token = $2",
                                     {Value(id), Value(lease_token), Value(now_ms + visibility_ms), Value(now_ms)}));
    return r.affected == 1 ? OkStatus() : Refusal(c, id);
  });
}

Status JobQueue::Complete(int64_t id, std::string_view lease_token, std::string_view result, int64_t now_ms) {
  return db_.Transact(TxMode::kWrite, [&](Conn& c) -> Status {
    ASSIGN_OR_RETURN(Rows r, c.Query("UPDATE jobs SET state = 'succeeded', result = $3, lease_token = NULL,"
                                     " updated_at = $4 WHERE id = $1 AND state = 'leased' AND lease_token = $2",
                                     {Value(id), Value(lease_token), Value(result), Value(now_ms)}));
    return r.affected == 1 ? OkStatus() : Refusal(c, id);
  });
}

StatusOr<JobState> JobQueue::Fail(int64_t id, std::string_view lease_token, std::string_view error, int64_t now_ms) {
  JobState next = JobState::kQueued;
  if (Status tx = db_.Transact(TxMode::kWrite, [&](Conn& c) -> Status {
    ASSIGN_OR_RETURN(Rows r, c.Query(c.dialect() == Dialect::kPostgres
                                         ? "SELECT attempts, max_attempts, backoff_base_ms, backoff_max_ms FROM jobs"
                                           " WHERE id = $1 AND state = 'leased' AND lease_token = $2 FOR UPDATE"
                                         : "SELECT attempts, max_attempts, backoff_base_ms, backoff_max_ms FROM jobs"
                                           " WHERE id = $1 AND state = 'leased' AND lease_token = $2",
                                     {Value(id), Value(lease_token)}));
    if (r.empty()) return Refusal(c, id);
    const int64_t attempts = r.Int(0, 0);
    if (attempts >= r.Int(0, 1)) {
      next = JobState::kDead;
      return c.Exec("UPDATE jobs SET state = 'dead', lease_token = NULL, last_error = $2, updated_at = $3"
                    " WHERE id = $1",
                    {Value(id), Value(error), Value(now_ms)});
    }
    next = JobState::kQueued;
    const int64_t delay = Backoff(r.Int(0, 2), r.Int(0, 3), attempts);
    return c.Exec("UPDATE jobs SET state = 'queued', lease_token = NULL, last_error = $2, updated_at = $3,"
                  " visible_at = $4 WHERE id = $1",
                  {Value(id), Value(error), Value(now_ms), Value(now_ms + delay)});
  }); !tx.ok()) return tx;
  return next;
}

Status JobQueue::FailPermanently(int64_t id, std::string_view lease_token, std::string_view error, int64_t now_ms) {
  return db_.Transact(TxMode::kWrite, [&](Conn& c) -> Status {
    ASSIGN_OR_RETURN(Rows r, c.Query("UPDATE jobs SET state = 'dead', lease_token = NULL, last_error = $3,"
                                     " updated_at = $4 WHERE id = $1 AND state = 'leased' AND lease_token = $2",
                                     {Value(id), Value(lease_token), Value(error), Value(now_ms)}));
    return r.affected == 1 ? OkStatus() : Refusal(c, id);
  });
}

Status JobQueue::Release(int64_t id, std::string_view lease_token, int64_t now_ms) {
  return db_.Transact(TxMode::kWrite, [&](Conn& c) -> Status {
    ASSIGN_OR_RETURN(Rows r, c.Query("UPDATE jobs SET state = 'queued', lease_token = NULL, visible_at = $3,"
                                     " attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END,"
                                     " updated_at = $3 WHERE id = $1 AND state = 'leased' AND lease_token = $2",
                                     {Value(id), Value(lease_token), Value(now_ms)}));
    return r.affected == 1 ? OkStatus() : Refusal(c, id);
  });
}

Status JobQueue::Cancel(int64_t id, int64_t now_ms) {
  return db_.Transact(TxMode::kWrite, [&](Conn& c) -> Status {
    ASSIGN_OR_RETURN(Rows r, c.Query("UPDATE jobs SET state = 'cancelled', lease_token = NULL,"
                                     " last_error = 'cancelled', updated_at = $2"
                                     " WHERE id = $1 AND state IN ('queued', 'leased')",
                                     {Value(id), Value(now_ms)}));
    if (r.affected == 1) return OkStatus();
    ASSIGN_OR_RETURN(Rows s, c.Query("SELECT state FROM jobs WHERE id = $1", {Value(id)}));
    if (s.empty()) return NotFoundError("job " + std::to_string(id) + " not found");
    if (s.Text(0, 0) == "cancelled") return OkStatus();
    return FailedPreconditionError("job " + std::to_string(id) + " is " + s.Text(0, 0) + "; cannot cancel");
  });
}

StatusOr<Job> JobQueue::Get(int64_t id) {
  Rows r;
  if (Status tx = db_.Transact(TxMode::kRead, [&](Conn& c) -> Status {
    ASSIGN_OR_RETURN(r, c.Query(Sql("SELECT ", " FROM jobs WHERE id = $1"), {Value(id)}));
    return OkStatus();
  }); !tx.ok()) return tx;
  if (r.empty()) return NotFoundError("job " + std::to_string(id) + " not found");
  return FromRow(r, 0);
}

StatusOr<int64_t> JobQueue::Depth(std::string_view queue) {
  int64_t n = 0;
  if (Status tx = db_.Transact(TxMode::kRead, [&](Conn& c) -> Status {
    ASSIGN_OR_RETURN(Rows r, c.Query("SELECT COUNT(*) FROM jobs WHERE queue = $1 AND state IN ('queued', 'leased')",
                                     {Value(queue)}));
    n = r.Int(0, 0);
    return OkStatus();
  }); !tx.ok()) return tx;
  return n;
}

StatusOr<std::vector<QueueCounts>> JobQueue::Counts(int64_t now_ms) {
  Rows r;
  if (Status tx = db_.Transact(TxMode::kRead, [&](Conn& c) -> Status {
    // The MIN is over due rows only; for dead rows it is ignored.
    ASSIGN_OR_RETURN(r, c.Query("SELECT queue, state, COUNT(*), MIN(CASE WHEN visible_at <= $1 THEN visible_at END)"
                                " FROM jobs WHERE state IN ('queued', 'leased', 'dead')"
                                " GROUP BY queue, state ORDER BY queue, state",
                                {Value(now_ms)}));
    return OkStatus();
  }); !tx.ok()) return tx;
  std::vector<QueueCounts> out;
  for (size_t i = 0; i < r.size(); ++i) {
    if (out.empty() || out.back().queue != r.Text(i, 0)) {
      out.emplace_back();
      out.back().queue = r.Text(i, 0);
    }
    QueueCounts& q = out.back();
    const std::string& state = r.Text(i, 1);
    const int64_t n = r.Int(i, 2);
    if (state == "dead") {
      q.dead = n;
      continue;
    }
    (state == "leased" ? q.leased : q.queued) = n;
    if (!r.IsNull(i, 3)) {
      const int64_t age = now_ms - r.Int(i, 3);
      if (age > q.oldest_due_age_ms) q.oldest_due_age_ms = age;
    }
  }
  return out;
}

}  // namespace vp::store
