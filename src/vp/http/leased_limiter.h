// LeasedRateLimiter: a gateway's share of rate limits kept in PostgreSQL for several
// gateways (store::RateLimitRepo::Lease). A bucket's hits are served from slots leased
// from the store for a short hold time; the store is visited when the slots run out, not
// per request. The lease size follows the bucket's recent rate here (about hold_ms worth
// of hits), and the store grants at most a quarter of what is left, so a budget's last
// slots go one by one and stay exact across gateways. Slots still unused when their lease
// ends go back to the store with the next lease of the bucket, or in the periodic Return.
// A refusal is remembered for a short while, so a client hammering a spent bucket costs
// no store round trip per request.
//
//   if (auto d = limiter.TryLocal(bucket, now)) use *d;
//   else {
//     LeaseRequest q = limiter.Prepare(bucket, window_ms, kind, now);
//     StatusOr<RateLease> l = repo.Lease(bucket, window_ms, limit, now, kind, q.want, limiter.hold_ms(), q.returns);
//     RateDecision d = limiter.Apply(bucket, *l, now);
//   }
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "vp/http/rate_limiter.h"
#include "vp/store/rate_limits.h"

namespace vp::http {

class LeasedRateLimiter {
 public:
  struct Options {
    int64_t hold_ms = 1000;           // how long leased slots may be spent
    int64_t max_chunk = 4096;         // the most slots one lease asks for
    int64_t refusal_memory_ms = 250;  // a refusal is answered locally for at most this long
  };
  LeasedRateLimiter() : LeasedRateLimiter(Options{}) {}
  explicit LeasedRateLimiter(Options options) : opt_(options) {}

  int64_t hold_ms() const { return opt_.hold_ms; }

  // Spends a held slot, or repeats a recent refusal. nullopt: the caller must lease.
  std::optional<RateDecision> TryLocal(const std::string& bucket, int64_t now_ms);

  struct LeaseRequest {
    int64_t want = 1;
    std::vector<store::RateLeaseReturn> returns;  // unused slots of leases that ended
  };
  // What to ask the store for. Takes the ended leases' leftovers out of local state.
  LeaseRequest Prepare(const std::string& bucket, int64_t window_ms, store::WindowKind kind, int64_t now_ms);

  // Records the store's answer; when allowed, the asking hit has taken one slot.
  RateDecision Apply(const std::string& bucket, const store::RateLease& lease, int64_t now_ms);

  struct Returns {
    std::string bucket;
    int64_t window_ms = 0;
    store::WindowKind kind = store::WindowKind::kSliding;
    std::vector<store::RateLeaseReturn> returns;
  };
  // Leftovers of leases that ended (all leases with everything = true, at shutdown), and
  // forgets buckets idle for a minute.
  std::vector<Returns> TakeReturns(int64_t now_ms, bool everything = false);

  // Slots held locally (tests, metrics).
  int64_t HeldSlots(const std::string& bucket, int64_t now_ms) const;

  // One lease's slots still held here.
  struct Held {
    int64_t slots = 0;
    int64_t expires_at_ms = 0;
    int64_t charged_at_ms = 0;
  };

 private:
  struct Bucket {
    int64_t window_ms = 0;
    store::WindowKind kind = store::WindowKind::kSliding;
    std::vector<Held> leases;
    int64_t refused_until_ms = 0;  // answer refusals locally until then
    int64_t retry_at_ms = 0;       // what the store said the wait ends
    // The bucket's rate: hits in the current and the previous second.
    int64_t second = 0;
    int64_t hits_this_second = 0;
    int64_t hits_last_second = 0;
    int64_t last_seen_ms = 0;
  };
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, Bucket> buckets;
  };
  static constexpr size_t kShards = 16;
  Shard& ShardOf(const std::string& bucket);
  const Shard& ShardOf(const std::string& bucket) const;

  Options opt_;
  std::array<Shard, kShards> shards_;
};

}  // namespace vp::http
