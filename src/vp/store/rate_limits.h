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

class RateLimitRepo {
 public:
  explicit RateLimitRepo(Db& db) : db_(db) {}

  // kInvalidArgument for an empty bucket, window_ms <= 0 or limit < 0 (limit 0 refuses all).
  StatusOr<RateDecision> Hit(std::string_view bucket, int64_t window_ms, int64_t limit, int64_t now_ms,
                             WindowKind kind);

  // Replaces the stored state of every bucket named in the snapshot with the snapshot's
  // (one transaction). Buckets not named are left alone.
  Status SaveSnapshot(const RateLimitSnapshot& snapshot);
  // Everything stored: sliding hits newer than now_ms - max_window_ms, and fixed counters
  // whose window started after now_ms - max_window_ms. The caller drops what its own
  // windows no longer need.
  StatusOr<RateLimitSnapshot> LoadSnapshot(int64_t now_ms, int64_t max_window_ms);
  // Deletes sliding hits and fixed counters older than now_ms - max_window_ms (buckets that
  // went quiet are otherwise pruned only when hit again). Returns rows deleted.
  StatusOr<int64_t> Sweep(int64_t now_ms, int64_t max_window_ms);

 private:
  Db& db_;
};

}  // namespace vp::store
