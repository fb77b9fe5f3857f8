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

// ---- leases ----

// Sliding windows are counted per slice; a day-long window needs no more than 600 rows.
int64_t SliceMs(int64_t window_ms) { return std::max<int64_t>(1000, window_ms / 600); }

int64_t FloorTo(int64_t t, int64_t step) {
  int64_t s = t / step * step;
  if (t % step < 0) s -= step;
  return s;
}

// The grant: what the caller wants, but at most a quarter of what is left (at least one).
int64_t Grant(int64_t want, int64_t left) { return std::min(want, std::max<int64_t>(1, left / 4)); }

Status ReturnSlices(Conn& c, std::string_view bucket, const std::vector<RateLeaseReturn>& returns) {
  for (const RateLeaseReturn& r : returns) {
    if (r.unused <= 0) continue;
    RETURN_IF_ERROR(c.Exec("UPDATE rate_slices SET n = CASE WHEN n > $3 THEN n - $3 ELSE 0 END"
                           " WHERE bucket = $1 AND slot = $2",
                           {Value(bucket), Value(r.charged_at_ms), Value(r.unused)}));
  }
  return OkStatus();
}

Status ReturnFixed(Conn& c, std::string_view bucket, const std::vector<RateLeaseReturn>& returns) {
  for (const RateLeaseReturn& r : returns) {
    if (r.unused <= 0) continue;
    RETURN_IF_ERROR(c.Exec("UPDATE rate_fixed SET hits = CASE WHEN hits > $3 THEN hits - $3 ELSE 0 END"
                           " WHERE bucket = $1 AND window_start = $2",
                           {Value(bucket), Value(r.charged_at_ms), Value(r.unused)}));
  }
  return OkStatus();
}

StatusOr<RateLease> LeaseSliding(Conn& c, std::string_view bucket, int64_t window_ms, int64_t limit, int64_t now_ms,
                                 int64_t want, int64_t hold_ms, const std::vector<RateLeaseReturn>& returns) {
  if (c.dialect() == Dialect::kPostgres) {
    RETURN_IF_ERROR(LockBucket(c, bucket));
  }
  RETURN_IF_ERROR(ReturnSlices(c, bucket, returns));
  const int64_t slice = SliceMs(window_ms);
  // A slice [s, s + slice) holds hits that all leave the window by s + slice + window_ms.
  RETURN_IF_ERROR(c.Exec("DELETE FROM rate_slices WHERE bucket = $1 AND slot <= $2",
                         {Value(bucket), Value(now_ms - window_ms - slice)}));
  ASSIGN_OR_RETURN(Rows n, c.Query("SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM rate_slices WHERE bucket = $1",
                                   {Value(bucket)}));
  const int64_t used = n.Int(0, 0);
  RateLease out;
  if (used < limit) {
    out.allowed = true;
    out.granted = Grant(want, limit - used);
    // One slot is this hit, spent now; more are spent until now + hold_ms and charged there.
    out.expires_at_ms = out.granted == 1 ? now_ms : now_ms + hold_ms;
    out.charged_at_ms = FloorTo(out.expires_at_ms, slice);
    out.remaining = limit - used - out.granted;
    RETURN_IF_ERROR(c.Exec("INSERT INTO rate_slices (bucket, slot, n) VALUES ($1, $2, $3)"
                           " ON CONFLICT (bucket, slot) DO UPDATE SET n = rate_slices.n + excluded.n",
                           {Value(bucket), Value(out.charged_at_ms), Value(out.granted)}));
    return out;
  }
  if (limit == 0 || used == 0) {
    out.retry_after_ms = window_ms;
    return out;
  }
  // Free again once the oldest slices holding used - limit + 1 hits have left the window.
  ASSIGN_OR_RETURN(Rows k, c.Query("SELECT slot FROM (SELECT slot, SUM(n) OVER (ORDER BY slot) AS cum"
                                   " FROM rate_slices WHERE bucket = $1) AS t WHERE cum >= $2 ORDER BY slot LIMIT 1",
                                   {Value(bucket), Value(used - limit + 1)}));
  out.retry_after_ms = std::max<int64_t>(1, k.Int(0, 0) + slice + window_ms - now_ms);
  return out;
}

StatusOr<RateLease> LeaseFixed(Conn& c, std::string_view bucket, int64_t window_ms, int64_t limit, int64_t now_ms,
                               int64_t want, int64_t hold_ms, const std::vector<RateLeaseReturn>& returns) {
  const int64_t start = FloorTo(now_ms, window_ms);
  RateLease out;
  out.retry_after_ms = std::max<int64_t>(1, start + window_ms - now_ms);
  RETURN_IF_ERROR(ReturnFixed(c, bucket, returns));
  if (limit == 0) return out;
  RETURN_IF_ERROR(c.Exec("DELETE FROM rate_fixed WHERE bucket = $1 AND window_start < $2", {Value(bucket), Value(start)}));
  // The no-op update locks the counter row (PostgreSQL) until the grant is written.
  ASSIGN_OR_RETURN(Rows r, c.Query("INSERT INTO rate_fixed (bucket, window_start, hits) VALUES ($1, $2, 0)"
                                   " ON CONFLICT (bucket, window_start) DO UPDATE SET hits = rate_fixed.hits"
                                   " RETURNING hits",
                                   {Value(bucket), Value(start)}));
  const int64_t used = r.Int(0, 0);
  if (used >= limit) return out;
  out.allowed = true;
  out.retry_after_ms = 0;
  out.granted = Grant(want, limit - used);
  out.expires_at_ms = out.granted == 1 ? now_ms : std::min(now_ms + hold_ms, start + window_ms - 1);
  out.charged_at_ms = start;
  out.remaining = limit - used - out.granted;
  RETURN_IF_ERROR(c.Exec("UPDATE rate_fixed SET hits = hits + $3 WHERE bucket = $1 AND window_start = $2",
                         {Value(bucket), Value(start), Value(out.granted)}));
  return out;
}

}  // namespace

StatusOr<RateLease> RateLimitRepo::Lease(std::string_view bucket, int64_t window_ms, int64_t limit, int64_t now_ms,
                                         WindowKind kind, int64_t want, int64_t hold_ms,
                                         const std::vector<RateLeaseReturn>& returns) {
  RETURN_IF_ERROR(CheckArgs(bucket, window_ms, limit));
  if (want < 1) return InvalidArgumentError("rate limit: a lease wants at least one slot");
  if (hold_ms < 0) return InvalidArgumentError("rate limit: negative lease time");
  RateLease out;
  if (Status tx = db_.Transact(TxMode::kWriteRelaxed, [&](Conn& c) -> Status {
    ASSIGN_OR_RETURN(out, kind == WindowKind::kSliding
                              ? LeaseSliding(c, bucket, window_ms, limit, now_ms, want, hold_ms, returns)
                              : LeaseFixed(c, bucket, window_ms, limit, now_ms, want, hold_ms, returns));
    return OkStatus();
  }); !tx.ok()) return tx;
  return out;
}

Status RateLimitRepo::Return(std::string_view bucket, int64_t window_ms, WindowKind kind,
                             const std::vector<RateLeaseReturn>& returns) {
  RETURN_IF_ERROR(CheckArgs(bucket, window_ms, 0));
  return db_.Transact(TxMode::kWriteRelaxed, [&](Conn& c) -> Status {
    return kind == WindowKind::kSliding ? ReturnSlices(c, bucket, returns) : ReturnFixed(c, bucket, returns);
  });
}

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
    ASSIGN_OR_RETURN(Rows s, c.Query("DELETE FROM rate_slices WHERE slot <= $1",
                                     {Value(horizon - SliceMs(max_window_ms))}));
    ASSIGN_OR_RETURN(Rows e, c.Query("DELETE FROM rate_buckets WHERE NOT EXISTS"
                                     " (SELECT 1 FROM rate_hits WHERE rate_hits.bucket = rate_buckets.bucket)"
                                     " AND NOT EXISTS (SELECT 1 FROM rate_slices WHERE rate_slices.bucket = rate_buckets.bucket)"));
    deleted = a.affected + b.affected + s.affected;
    (void)e;
    return OkStatus();
  }); !tx.ok()) return tx;
  return deleted;
}

}  // namespace vp::store
