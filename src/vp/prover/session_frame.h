// The frames of `vaultproof-prover serve` (docs/tally_proof.md, "Prover sessions"), shared by
// the image and the workers' ProverSessionPool. All integers little-endian.
//
//   request: threads u32 (0 = the image's default, <= kMaxRequestThreads), length u32
//            (1 .. kMaxRequestBytes), then the prover input
//   answer:  kind u8 (AnswerKind), length u32, then the proof or the refusal's reason
#pragma once

#include <cstddef>
#include <cstdint>

namespace vp::prover {

inline constexpr size_t kRequestHeaderSize = 8;
inline constexpr size_t kAnswerHeaderSize = 5;
inline constexpr uint32_t kMaxRequestThreads = 1024;
inline constexpr size_t kMaxRequestBytes = size_t{1} << 30;

enum class AnswerKind : uint8_t { kProof = 0, kRefusal = 1 };

inline void PutLe32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

inline uint32_t GetLe32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 | static_cast<uint32_t>(p[2]) << 16 |
         static_cast<uint32_t>(p[3]) << 24;
}

}  // namespace vp::prover
