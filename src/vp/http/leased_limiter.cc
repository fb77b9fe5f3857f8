#include "vp/http/leased_limiter.h"

#include <algorithm>
#include <functional>

namespace vp::http {

LeasedRateLimiter::Shard& LeasedRateLimiter::ShardOf(const std::string& bucket) {
  return shards_[std::hash<std::string>{}(bucket) % kShards];
}

const LeasedRateLimiter::Shard& LeasedRateLimiter::ShardOf(const std::string& bucket) const {
  return shards_[std::hash<std::string>{}(bucket) % kShards];
}

namespace {

// Removes the bucket's leases that ended by now_ms (all of them with everything) and
// returns the unused slots among them, to give back to the store.
std::vector<store::RateLeaseReturn> TakeEnded(std::vector<LeasedRateLimiter::Held>& leases, int64_t now_ms,
                                              bool everything) {
  std::vector<store::RateLeaseReturn> out;
  auto ended = [&](const LeasedRateLimiter::Held& h) {
    return everything || h.slots <= 0 || h.expires_at_ms < now_ms;
  };
  for (const auto& h : leases) {
    if (ended(h) && h.slots > 0) out.push_back({h.charged_at_ms, h.slots});
  }
  leases.erase(std::remove_if(leases.begin(), leases.end(), ended), leases.end());
  return out;
}

}  // namespace

std::optional<RateDecision> LeasedRateLimiter::TryLocal(const std::string& bucket, int64_t now_ms) {
  Shard& s = ShardOf(bucket);
  std::lock_guard<std::mutex> lock(s.mu);
  Bucket& b = s.buckets[bucket];
  b.last_seen_ms = now_ms;
  const int64_t second = now_ms / 1000;
  if (second != b.second) {
    b.hits_last_second = second == b.second + 1 ? b.hits_this_second : 0;
    b.hits_this_second = 0;
    b.second = second;
  }
  ++b.hits_this_second;
  if (now_ms < b.refused_until_ms) {
    RateDecision d;
    d.allowed = false;
    d.retry_after_ms = std::max<int64_t>(1, b.retry_at_ms - now_ms);
    return d;
  }
  // Spend from the lease that ends first, so fewer slots are left over.
  Held* best = nullptr;
  int64_t held = 0;
  for (Held& h : b.leases) {
    if (h.slots <= 0 || h.expires_at_ms < now_ms) continue;
    held += h.slots;
    if (best == nullptr || h.expires_at_ms < best->expires_at_ms) best = &h;
  }
  if (best == nullptr) return std::nullopt;
  --best->slots;
  RateDecision d;
  d.allowed = true;
  d.remaining = held - 1;
  return d;
}

LeasedRateLimiter::LeaseRequest LeasedRateLimiter::Prepare(const std::string& bucket, int64_t window_ms,
                                                           store::WindowKind kind, int64_t now_ms) {
  Shard& s = ShardOf(bucket);
  std::lock_guard<std::mutex> lock(s.mu);
  Bucket& b = s.buckets[bucket];
  b.window_ms = window_ms;
  b.kind = kind;
  LeaseRequest q;
  // Enough for hold_ms at the recent rate.
  const int64_t rate = std::max(b.hits_last_second, b.hits_this_second);
  q.want = std::clamp<int64_t>(rate * opt_.hold_ms / 1000, 1, opt_.max_chunk);
  q.returns = TakeEnded(b.leases, now_ms, /*everything=*/false);
  return q;
}

RateDecision LeasedRateLimiter::Apply(const std::string& bucket, const store::RateLease& lease, int64_t now_ms) {
  Shard& s = ShardOf(bucket);
  std::lock_guard<std::mutex> lock(s.mu);
  Bucket& b = s.buckets[bucket];
  RateDecision d;
  if (!lease.allowed) {
    d.allowed = false;
    d.retry_after_ms = std::max<int64_t>(1, lease.retry_after_ms);
    b.retry_at_ms = now_ms + d.retry_after_ms;
    b.refused_until_ms = now_ms + std::min(d.retry_after_ms, opt_.refusal_memory_ms);
    return d;
  }
  d.allowed = true;
  d.remaining = lease.remaining + lease.granted - 1;
  if (lease.granted > 1) b.leases.push_back({lease.granted - 1, lease.expires_at_ms, lease.charged_at_ms});
  return d;
}

std::vector<LeasedRateLimiter::Returns> LeasedRateLimiter::TakeReturns(int64_t now_ms, bool everything) {
  std::vector<Returns> out;
  for (Shard& s : shards_) {
    std::lock_guard<std::mutex> lock(s.mu);
    for (auto it = s.buckets.begin(); it != s.buckets.end();) {
      Bucket& b = it->second;
      Returns r{it->first, b.window_ms, b.kind, TakeEnded(b.leases, now_ms, everything)};
      if (!r.returns.empty() && r.window_ms > 0) out.push_back(std::move(r));
      if (b.leases.empty() && b.last_seen_ms < now_ms - 60'000 && b.refused_until_ms < now_ms) {
        it = s.buckets.erase(it);
      } else {
        ++it;
      }
    }
  }
  return out;
}

int64_t LeasedRateLimiter::HeldSlots(const std::string& bucket, int64_t now_ms) const {
  const Shard& s = ShardOf(bucket);
  std::lock_guard<std::mutex> lock(s.mu);
  auto it = s.buckets.find(bucket);
  if (it == s.buckets.end()) return 0;
  int64_t n = 0;
  for (const Held& h : it->second.leases) {
    if (h.expires_at_ms >= now_ms) n += h.slots;
  }
  return n;
}

}  // namespace vp::http
