#include "vp/http/rate_limiter.h"

#include <functional>

namespace vp::http {

int64_t RetryAfterSeconds(int64_t retry_after_ms) {
  int64_t s = (retry_after_ms + 999) / 1000;
  return s < 1 ? 1 : s;
}

void MemoryRateLimiter::Sweep(Shard& s, int64_t now_ms) {
  for (auto it = s.sliding.begin(); it != s.sliding.end();) {
    const Sliding& w = it->second;
    if (w.hits.empty() || w.hits.back() <= now_ms - w.window_ms) {
      it = s.sliding.erase(it);
    } else {
      ++it;
    }
  }
  for (auto it = s.fixed.begin(); it != s.fixed.end();) {
    if (it->second.start + it->second.window_ms <= now_ms) {
      it = s.fixed.erase(it);
    } else {
      ++it;
    }
  }
}

RateDecision MemoryRateLimiter::Hit(std::string_view bucket, int64_t window_ms, int64_t limit, int64_t now_ms,
                                    RateKind kind) {
  RateDecision d;
  if (window_ms <= 0) window_ms = 1;
  Shard& s = shards_[std::hash<std::string_view>{}(bucket) % kShards];
  std::lock_guard<std::mutex> lock(s.mu);
  // Idle buckets are dropped now and then so memory follows the active clients.
  if (++s.hits_since_sweep >= 4096) {
    s.hits_since_sweep = 0;
    Sweep(s, now_ms);
  }
  if (kind == RateKind::kSliding) {
    Sliding& w = s.sliding[std::string(bucket)];
    w.window_ms = window_ms;
    while (!w.hits.empty() && w.hits.front() <= now_ms - window_ms) w.hits.pop_front();
    int64_t used = static_cast<int64_t>(w.hits.size());
    if (limit <= 0 || used >= limit) {
      d.allowed = false;
      d.remaining = 0;
      if (limit > 0 && used >= limit) {
        // The hit that must leave before one more fits: the (used - limit + 1)-th oldest.
        d.retry_after_ms = w.hits[static_cast<size_t>(used - limit)] + window_ms - now_ms;
      } else {
        d.retry_after_ms = window_ms;
      }
      if (d.retry_after_ms < 1) d.retry_after_ms = 1;
      return d;
    }
    w.hits.push_back(now_ms);
    d.remaining = limit - used - 1;
    return d;
  }
  Fixed& f = s.fixed[std::string(bucket)];
  int64_t start = now_ms - (now_ms % window_ms);
  if (f.start != start) {
    f.start = start;
    f.count = 0;
  }
  f.window_ms = window_ms;
  if (limit <= 0 || f.count >= limit) {
    d.allowed = false;
    d.retry_after_ms = start + window_ms - now_ms;
    return d;
  }
  ++f.count;
  d.remaining = limit - f.count;
  return d;
}

std::vector<MemoryRateLimiter::Snapshot> MemoryRateLimiter::Export(int64_t now_ms) const {
  std::vector<Snapshot> out;
  for (const Shard& s : shards_) {
    std::lock_guard<std::mutex> lock(s.mu);
    for (const auto& [name, w] : s.sliding) {
      Snapshot snap{name, RateKind::kSliding, w.window_ms, {}};
      for (int64_t t : w.hits) {
        if (t > now_ms - w.window_ms) snap.hits.push_back(t);
      }
      if (!snap.hits.empty()) out.push_back(std::move(snap));
    }
    for (const auto& [name, f] : s.fixed) {
      if (f.start + f.window_ms > now_ms) out.push_back({name, RateKind::kFixed, f.window_ms, {f.start, f.count}});
    }
  }
  return out;
}

void MemoryRateLimiter::Import(const std::vector<Snapshot>& snapshots, int64_t max_window_ms) {
  for (const Snapshot& snap : snapshots) {
    Shard& s = shards_[std::hash<std::string_view>{}(snap.bucket) % kShards];
    std::lock_guard<std::mutex> lock(s.mu);
    if (snap.kind == RateKind::kSliding) {
      Sliding& w = s.sliding[snap.bucket];
      w.window_ms = snap.window_ms;
      w.hits.assign(snap.hits.begin(), snap.hits.end());
    } else if (snap.hits.size() == 2) {
      s.fixed[snap.bucket] = Fixed{snap.window_ms > 0 ? snap.window_ms : max_window_ms, snap.hits[0], snap.hits[1]};
    }
  }
}

}  // namespace vp::http
