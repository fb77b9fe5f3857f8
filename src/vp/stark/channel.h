// Fiat-Shamir channel (BLAKE3 duplex): the prover and the verifier absorb the same
// transcript and draw the same challenges. Absorbed bytes are buffered and folded into the
// 32-byte state before the next draw: state' = BLAKE3(state || pending); draws are
// BLAKE3(state || "draw" || counter).
//
//   Channel ch("vaultproof-stark/1");
//   ch.AbsorbDigest(root); Fp2 alpha = ch.DrawFp2();
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "vp/stark/blake3.h"
#include "vp/stark/field.h"

namespace vp::stark {

class Channel {
 public:
  explicit Channel(std::string_view protocol_id);

  void AbsorbBytes(std::span<const uint8_t> data);
  void AbsorbU64(uint64_t v);
  void AbsorbFp(Fp v) { AbsorbU64(v.value()); }
  void AbsorbFp2(Fp2 v) {
    AbsorbFp(v.c0());
    AbsorbFp(v.c1());
  }
  void AbsorbDigest(const Digest& d) { AbsorbBytes(d); }

  uint64_t DrawU64();
  Fp DrawFp();  // uniform, by rejection
  Fp2 DrawFp2();
  // `count` indices uniform in [0, domain_size), domain_size a power of two.
  std::vector<size_t> DrawIndices(size_t count, size_t domain_size);

  // Proof of work on the current state: BLAKE3(state || nonce) must have `bits` trailing zero
  // bits in its first 8 bytes read little-endian.
  bool CheckPow(uint64_t nonce, unsigned bits);
  // The smallest valid nonce (deterministic whatever the thread count).
  uint64_t Grind(unsigned bits);

 private:
  void Flush();
  Digest state_{};
  std::vector<uint8_t> pending_;
  uint64_t counter_ = 0;
};

}  // namespace vp::stark
