#include "vp/http/replay_guard.h"

#include <cstring>

namespace vp::http {

bool ReplayGuard::Remember(int64_t timestamp, const ByteArray<32>& signature, int64_t now_seconds) {
  Key k{};
  std::memcpy(&k.a, signature.data(), 8);
  std::memcpy(&k.b, signature.data() + 8, 8);
  Shard& s = shards_[static_cast<size_t>(k.a % kShards)];
  std::lock_guard<std::mutex> lock(s.mu);
  // A bucket whose timestamp is older than now - skew can no longer pass the skew check.
  while (!s.buckets.empty() && s.buckets.begin()->first < now_seconds - skew_ - 1) {
    s.buckets.erase(s.buckets.begin());
  }
  return s.buckets[timestamp].insert(k).second;
}

size_t ReplayGuard::size() const {
  size_t n = 0;
  for (const Shard& s : shards_) {
    std::lock_guard<std::mutex> lock(s.mu);
    for (const auto& [ts, set] : s.buckets) n += set.size();
  }
  return n;
}

}  // namespace vp::http
