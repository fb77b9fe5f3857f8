// Keccak-256 as Ethereum uses it (original Keccak padding 0x01, not SHA3's 0x06), built
// on an in-house keccak-f[1600] because OpenSSL 3.0 has no Keccak-256. Portable C++ only.
//
//   vp::crypto::Hash256 h = vp::crypto::Keccak256(vp::AsBytes("abc"));
//   vp::crypto::Keccak256Hasher k; k.Update(a); k.Update(b); h = k.Final();
#pragma once

#include <cstdint>

#include "vp/base/bytes.h"

namespace vp::crypto {

using Hash256 = ByteArray<32>;

// Incremental Keccak-256. Final() may be called once; the hasher is then spent.
class Keccak256Hasher {
 public:
  Keccak256Hasher();
  void Update(ByteSpan data);
  Hash256 Final();

 private:
  uint64_t state_[25];
  uint8_t buffer_[136];
  size_t buffered_ = 0;
};

Hash256 Keccak256(ByteSpan data);

// The keccak-f[1600] permutation on 25 lanes (exposed for tests against the Keccak team's
// published permutation vectors).
void KeccakF1600(uint64_t state[25]);

}  // namespace vp::crypto
