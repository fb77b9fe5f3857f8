// RateLimitRepo: rate limits kept in the store, so several gateways sharing PostgreSQL
// count exactly. Each Hit() is one write transaction that reads, decides and records.
//
// Windows (times in unix milliseconds):
//   kSliding: an exact log of accepted hits per bucket. A hit at time t is allowed when
//     fewer than `limit` accepted hits lie in (t - window_ms, t]; a hit exactly window_ms
//     after an earlier one no longer counts that one. Refused hits are not recorded.
//   kFixed: one counter per (bucket, window start), window start = floor(t / window_ms) *
//     window_ms. Allowed while the counter is below `limit`.
// retry_after_ms, when refused, is the wait until a hit would be allowed (>= 1).
//
// A single gateway on SQLite uses an exact in-memory limiter instead (vp::http) and only
// persists its state here periodically and at shutdown: SaveSnapshot / LoadSnapshot.
//
//   ASSIGN_OR_RETURN(RateDecision d, limits.Hit("key:ak_1", 60'000, 100, now_ms, WindowKind::kSliding));
//   if (!d.allowed) -> 429 with Retry-After = ceil(d.retry_after_ms / 1000)
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "vp/base/status.h"
#include "vp/store/db.h"

namespace vp::store {

enum class WindowKind { kSliding, kFixed };

struct RateDecision {
  bool allowed = false;
  int64_t remaining = 0;       // hits still allowed in the window after this one
  int64_t retry_after_ms = 0;  // 0 when allowed
};

// State of an in-memory limiter, for persisting it.
struct RateLimitSnapshot {
  struct Sliding {
    std::string bucket;
    std::vector<int64_t> hits_ms;  // accepted hit times, any order
  };
  struct Fixed {
    std::string bucket;
    int64_t window_start_ms = 0;
    int64_t count = 0;
  };
  std::vector<Sliding> sliding;
  std::vector<Fixed> fixed;
};

// Leases (gateways sharing PostgreSQL). A gateway takes a slice of a bucket's budget in one
// transaction and spends it locally, so the store is visited once per lease instead of once
// per request; unused slots go back with the next lease or Release. The store never
// under-counts: a leased slot is charged to the time the lease ends (every slot is spent
// before then), so no window ever admits more than `limit` across all gateways. Sliding
// windows are kept as counters per slice of max(1 s, window / 600); a hit counts until
// its slice's end plus the window, so a refused client may wait up to one slice longer than
// an exact log would make it. The grant is at most a quarter of what is left (at least
// one), so the last slots of a budget are handed out one by one, exactly.
struct RateLeaseReturn {
  int64_t charged_at_ms = 0;  // RateLease::charged_at_ms of the lease
  int64_t unused = 0;         // slots not spent
};
struct RateLease {
  bool allowed = false;
  int64_t granted = 0;          // slots granted, >= 1 when allowed (one of them is this hit)
  int64_t charged_at_ms = 0;    // where the grant was recorded (to return unused slots)
  int64_t expires_at_ms = 0;    // the slots may be spent until then, not after
  int64_t remaining = 0;        // budget left in the store after the grant
  int64_t retry_after_ms = 0;   // when refused: the wait until a slot can free up (>= 1)
};

class RateLimitRepo {
 public:
  explicit RateLimitRepo(Db& db) : db_(db) {}

  // kInvalidArgument for an empty bucket, window_ms <= 0 or limit < 0 (limit 0 refuses all).
  StatusOr<RateDecision> Hit(std::string_view bucket, int64_t window_ms, int64_t limit, int64_t now_ms,
                             WindowKind kind);

  // Takes up to `want` slots (>= 1) of the bucket's budget, to be spent until now_ms +
  // hold_ms (a fixed window: not past its end); first gives back `returns` of earlier leases
  // of the same bucket and kind. kInvalidArgument as Hit, or for want < 1, hold_ms < 0.
  StatusOr<RateLease> Lease(std::string_view bucket, int64_t window_ms, int64_t limit, int64_t now_ms,
                            WindowKind kind, int64_t want, int64_t hold_ms,
                            const std::vector<RateLeaseReturn>& returns = {});
  // Gives back unused slots of expired leases (a gateway's idle buckets, or at shutdown).
  Status Return(std::string_view bucket, int64_t window_ms, WindowKind kind, const std::vector<RateLeaseReturn>& returns);

  // Replaces the stored state of every bucket named in the snapshot with the snapshot's
  // (one transaction). Buckets not named are left alone.
  Status SaveSnapshot(const RateLimitSnapshot& snapshot);
  // Everything stored: sliding hits newer than now_ms - max_window_ms, and fixed counters
  // whose window started after now_ms - max_window_ms. The caller drops what its own
  // windows no longer need.
  StatusOr<RateLimitSnapshot> LoadSnapshot(int64_t now_ms, int64_t max_window_ms);
  // Deletes sliding hits, slices and fixed counters older than now_ms - max_window_ms (buckets that
  // went quiet are otherwise pruned only when hit again). Returns rows deleted.
  StatusOr<int64_t> Sweep(int64_t now_ms, int64_t max_window_ms);

 private:
  Db& db_;
};

}  // namespace vp::store
