// MemoryRateLimiter: the exact in-memory limiter of a single gateway (SQLite mode).
// Sliding windows keep the timestamps of the last `limit` allowed hits per bucket (an
// exact log: a hit is allowed iff fewer than `limit` hits fall in (now - window, now]);
// fixed windows keep one counter per (bucket, window start). With PostgreSQL every hit
// goes through store::RateLimitRepo instead, which implements the same semantics.
//
//   RateDecision d = limiter.Hit("key:vpk_1", 60'000, 100, now_ms, RateKind::kSliding);
//   if (!d.allowed) -> 429, Retry-After: ceil(d.retry_after_ms / 1000)
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace vp::http {

enum class RateKind { kSliding, kFixed };

struct RateDecision {
  bool allowed = true;
  int64_t remaining = 0;       // hits left in the window after this one
  int64_t retry_after_ms = 0;  // when refused: until the oldest counted hit leaves the window
};

// Retry-After in whole seconds, rounded up, at least 1.
int64_t RetryAfterSeconds(int64_t retry_after_ms);

class MemoryRateLimiter {
 public:
  // A refused hit is not counted. limit <= 0 refuses everything; window_ms must be > 0.
  RateDecision Hit(std::string_view bucket, int64_t window_ms, int64_t limit, int64_t now_ms, RateKind kind);

  // For persistence: every sliding bucket's live timestamps and every current fixed
  // counter, and the reverse (restores state saved by another run of this node).
  struct Snapshot {
    std::string bucket;
    RateKind kind;
    int64_t window_ms;
    std::vector<int64_t> hits;  // sliding: timestamps; fixed: {window_start, count}
  };
  std::vector<Snapshot> Export(int64_t now_ms) const;
  // Fixed counters are restored with max_window_ms as their lifetime for sweeping.
  void Import(const std::vector<Snapshot>& snapshots, int64_t max_window_ms);

 private:
  struct Sliding {
    int64_t window_ms = 0;
    std::deque<int64_t> hits;  // ascending
  };
  struct Fixed {
    int64_t window_ms = 0;
    int64_t start = 0;
    int64_t count = 0;
  };
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, Sliding> sliding;
    std::unordered_map<std::string, Fixed> fixed;
    int64_t hits_since_sweep = 0;
  };
  static void Sweep(Shard& s, int64_t now_ms);
  static constexpr size_t kShards = 16;
  std::array<Shard, kShards> shards_;
};

}  // namespace vp::http
