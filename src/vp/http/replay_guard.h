// ReplayGuard: the single-node memory of signatures seen inside the skew window. A signed
// request is valid only while |timestamp - now| <= skew, so a signature must be remembered
// until now > timestamp + skew; entries are bucketed by their timestamp second and whole
// buckets are dropped once they can no longer be replayed. Sharded to keep io threads off
// one lock. With several gateways (PostgreSQL) the gateway uses store::ReplayRepo instead.
//
//   if (!guard.Remember(auth.timestamp, auth.signature, now_s)) return Unauthenticated("replayed");
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <unordered_set>

#include "vp/base/bytes.h"

namespace vp::http {

class ReplayGuard {
 public:
  explicit ReplayGuard(int64_t skew_seconds = 300) : skew_(skew_seconds) {}

  // true the first time (timestamp, signature) is seen; false for a replay. The caller has
  // already refused timestamps outside the skew window.
  bool Remember(int64_t timestamp, const ByteArray<32>& signature, int64_t now_seconds);

  size_t size() const;

 private:
  // HMAC outputs are uniform: the first 16 bytes identify a signature (collision 2^-64
  // after 2^32 entries) at half the memory.
  struct Key {
    uint64_t a, b;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const { return static_cast<size_t>(k.a ^ (k.b * 0x9e3779b97f4a7c15ULL)); }
  };
  struct Shard {
    mutable std::mutex mu;
    std::map<int64_t, std::unordered_set<Key, KeyHash>> buckets;  // by timestamp second
  };
  static constexpr size_t kShards = 16;
  int64_t skew_;
  std::array<Shard, kShards> shards_;
};

}  // namespace vp::http
