// RateLimitRepo over Db. Each Hit is one write transaction. On SQLite BEGIN IMMEDIATE
// already serializes it; on PostgreSQL a sliding-window hit locks its bucket row first
// (count-then-insert would otherwise race between gateways), and a fixed-window hit is a
// single conditional upsert, atomic by itself.
#include "vp/store/rate_limits.h"

#include <algorithm>

namespace vp::store {
namespace {

Status CheckArgs(std::string_view bucket, int64_t window_ms, int64_t limit) {
  if (bucket.empty()) return InvalidArgumentError("rate limit: empty bucket");
  if (window_ms <= 0) return InvalidArgumentError("rate limit: window must be positive");
  if (limit < 0) return InvalidArgumentError("rate limit: negative limit");
  return OkStatus();
}

// PostgreSQL: takes the bucket's row lock until the end of the transaction. The upsert
// locks in one statement whether the row is new or not (an INSERT ... DO NOTHING followed
// by SELECT ... FOR UPDATE could find the row deleted by a concurrent Sweep in between).
Status LockBucket(Conn& c, std::string_view bucket) {
  return c.Exec("INSERT INTO rate_buckets (bucket) VALUES ($1)"
                " ON CONFLICT (bucket) DO UPDATE SET bucket = excluded.bucket",
                {Value(bucket)});
}

StatusOr<RateDecision> HitSliding(Conn& c, std::string_view bucket, int64_t window_ms, int64_t limit,
                                  int64_t now_ms) {
  if (c.dialect() == Dialect::kPostgres) {
    RETURN_IF_ERROR(LockBucket(c, bucket));
  }
  const int64_t horizon = now_ms - window_ms;  // hits at or before this no longer count
  RETURN_IF_ERROR(c.Exec("DELETE FROM rate_hits WHERE bucket = $1 AND ts <= $2", {Value(bucket), Value(horizon)}));
  ASSIGN_OR_RETURN(Rows n, c.Query("SELECT COUNT(*) FROM rate_hits WHERE bucket = $1", {Value(bucket)}));
  const int64_t count = n.Int(0, 0);
  RateDecision d;
  if (count < limit) {
    RETURN_IF_ERROR(c.Exec("INSERT INTO rate_hits (bucket, ts) VALUES ($1, $2)", {Value(bucket), Value(now_ms)}));
    d.allowed = true;
    d.remaining = limit - count - 1;
    return d;
  }
  d.allowed = false;
  d.remaining = 0;
  if (count == 0) {  // limit 0: nothing will ever be allowed; say "one window"
    d.retry_after_ms = window_ms;
    return d;
  }
  // Allowed again once all but limit-1 of the logged hits have left the window: when the
  // (count - limit + 1)-th oldest is window_ms old.
  ASSIGN_OR_RETURN(Rows k, c.Query("SELECT ts FROM rate_hits WHERE bucket = $1 ORDER BY ts LIMIT 1 OFFSET $2",
                                   {Value(bucket), Value(count - limit)}));
  d.retry_after_ms = std::max<int64_t>(1, k.Int(0, 0) + window_ms - now_ms);
  return d;
}

StatusOr<RateDecision> HitFixed(Conn& c, std::string_view bucket, int64_t window_ms, int64_t limit, int64_t now_ms) {
  // Floor division, so times before 1970 (tests) fall in the right window too.
  int64_t start = now_ms / window_ms * window_ms;
  if (now_ms % window_ms < 0) start -= window_ms;
  RateDecision d;
  const int64_t wait = std::max<int64_t>(1, start + window_ms - now_ms);
  if (limit == 0) {
    d.retry_after_ms = wait;
    return d;
  }
  RETURN_IF_ERROR(c.Exec("DELETE FROM rate_fixed WHERE bucket = $1 AND window_start < $2", {Value(bucket), Value(start)}));
  ASSIGN_OR_RETURN(Rows r, c.Query("INSERT INTO rate_fixed (bucket, window_start, hits) VALUES ($1, $2, 1)"
                                   " ON CONFLICT (bucket, window_start) DO UPDATE SET hits = rate_fixed.hits + 1"
                                   " WHERE rate_fixed.hits < $3 RETURNING hits",
                                   {Value(bucket), Value(start), Value(limit)}));
  if (r.empty()) {
    d.retry_after_ms = wait;
    return d;
  }
  d.allowed = true;
  d.remaining = limit - r.Int(0, 0);
  return d;
}

}  // namespace

StatusOr<RateDecision> RateLimitRepo::Hit(std::string_view bucket, int64_t window_ms, int64_t limit, int64_t now_ms,
                                          WindowKind kind) {
  RETURN_IF_ERROR(CheckArgs(bucket, window_ms, limit));
  RateDecision out;
  if (Status tx = db_.Transact(TxMode::kWriteRelaxed, [&](Conn& c) -> Status {
    ASSIGN_OR_RETURN(out, kind == WindowKind::kSliding ? HitSliding(c, bucket, window_ms, limit, now_ms)
                                                       : HitFixed(c, bucket, window_ms, limit, now_ms));
    return OkStatus();
  }); !tx.ok()) return tx;
  return out;
}

Status RateLimitRepo::SaveSnapshot(const RateLimitSnapshot& snapshot) {
  for (const auto& s : snapshot.sliding) {
    if (s.bucket.empty()) return InvalidArgumentError("rate limit: empty bucket in snapshot");
  }
  for (const auto& f : snapshot.fixed) {
    if (f.bucket.empty()) return InvalidArgumentError("rate limit: empty bucket in snapshot");
  }
  return db_.Transact(TxMode::kWriteRelaxed, [&](Conn& c) -> Status {
    const bool pg = c.dialect() == Dialect::kPostgres;
    for (const auto& s : snapshot.sliding) {
      if (pg) {
        RETURN_IF_ERROR(LockBucket(c, s.bucket));
      }
      RETURN_IF_ERROR(c.Exec("DELETE FROM rate_hits WHERE bucket = $1", {Value(s.bucket)}));
      for (int64_t ts : s.hits_ms) {
        RETURN_IF_ERROR(c.Exec("INSERT INTO rate_hits (bucket, ts) VALUES ($1, $2)", {Value(s.bucket), Value(ts)}));
      }
    }
    for (const auto& f : snapshot.fixed) {
      RETURN_IF_ERROR(c.Exec("DELETE FROM rate_fixed WHERE bucket = $1", {Value(f.bucket)}));
    }
    for (const auto& f : snapshot.fixed) {
      RETURN_IF_ERROR(c.Exec("INSERT INTO rate_fixed (bucket, window_start, hits) VALUES ($1, $2, $3)"
                             " ON CONFLICT (bucket, window_start) DO UPDATE SET hits = excluded.hits",
                             {Value(f.bucket), Value(f.window_start_ms), Value(f.count)}));
    }
    return OkStatus();
  });
}

StatusOr<RateLimitSnapshot> RateLimitRepo::LoadSnapshot(int64_t now_ms, int64_t max_window_ms) {
  RateLimitSnapshot out;
  const int64_t horizon = now_ms - max_window_ms;
  if (Status tx = db_.Transact(TxMode::kRead, [&](Conn& c) -> Status {
    out = RateLimitSnapshot{};
    ASSIGN_OR_RETURN(Rows hits, c.Query("SELECT bucket, ts FROM rate_hits WHERE ts > $1 ORDER BY bucket, ts",
                                        {Value(horizon)}));
    for (size_t i = 0; i < hits.size(); ++i) {
      if (out.sliding.empty() || out.sliding.back().bucket != hits.Text(i, 0)) {
        out.sliding.push_back({hits.Text(i, 0), {}});
      }
      out.sliding.back().hits_ms.push_back(hits.Int(i, 1));
    }
    ASSIGN_OR_RETURN(Rows fixed, c.Query("SELECT bucket, window_start, hits FROM rate_fixed WHERE window_start > $1"
                                         " ORDER BY bucket, window_start",
                                         {Value(horizon)}));
    for (size_t i = 0; i < fixed.size(); ++i) {
      out.fixed.push_back({fixed.Text(i, 0), fixed.Int(i, 1), fixed.Int(i, 2)});
    }
    return OkStatus();
  }); !tx.ok()) return tx;
  return out;
}

StatusOr<int64_t> RateLimitRepo::Sweep(int64_t now_ms, int64_t max_window_ms) {
  const int64_t horizon = now_ms - max_window_ms;
  int64_t deleted = 0;
  if (Status tx = db_.Transact(TxMode::kWriteRelaxed, [&](Conn& c) -> Status {
    deleted = 0;
    ASSIGN_OR_RETURN(Rows a, c.Query("DELETE FROM rate_hits WHERE ts <= $1", {Value(horizon)}));
    // A window [start, start + w) with w <= max_window_ms is over once start <= now - w.
    ASSIGN_OR_RETURN(Rows b, c.Query("DELETE FROM rate_fixed WHERE window_start <= $1", {Value(horizon)}));
    ASSIGN_OR_RETURN(Rows e, c.Query("DELETE FROM rate_buckets WHERE NOT EXISTS"
                                     " (SELECT 1 FROM rate_hits WHERE rate_hits.bucket = rate_buckets.bucket)"));
    deleted = a.affected + b.affected;
    (void)e;
    return OkStatus();
  }); !tx.ok()) return tx;
  return deleted;
}

}  // namespace vp::store
