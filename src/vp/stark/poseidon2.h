// Poseidon2 over Goldilocks (https://eprint.iacr.org/2023/323) with the parameters of the
// HorizenLabs reference instance: S-box x^7, 8 full rounds (4 + 4) and 22 partial rounds,
// widths 8 and 12. Round constants are generated here with the Grain LFSR exactly as the
// reference script poseidon2_rust_params.sage does (checked against the published tables).
// The internal diagonals are data: the script draws them from Grain but re-draws until a
// minimal-polynomial condition holds, and the published ones are not the first draw.
//
//   std::array<Fp, 8> s = {...}; Poseidon2<8>::Permute(s);
//   HashOut h = Poseidon2Hash(elements);          // sponge, width 12, rate 8
//   HashOut c = Poseidon2Compress(left, right);   // 2-to-1, width 8, truncated
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "vp/stark/field.h"

namespace vp::stark {

inline constexpr size_t kPoseidon2FullRounds = 8;
inline constexpr size_t kPoseidon2PartialRounds = 22;

// The Grain LFSR of the Poseidon reference scripts, seeded with (field=1 prime, sbox=0,
// field bits, width, full rounds, partial rounds). NextBits(64) yields the next 64-bit draw,
// most significant bit first.
class GrainLfsr {
 public:
  GrainLfsr(unsigned field_bits, unsigned width, unsigned full_rounds, unsigned partial_rounds);
  uint64_t NextBits(unsigned count);

 private:
  bool Step();
  std::array<uint8_t, 80> state_{};
  size_t head_ = 0;
};

// Round constants in reference order: full rounds contribute `width` constants each, partial
// rounds one (reported as a full row with zeros after the first entry).
std::vector<std::array<uint64_t, 12>> GeneratePoseidon2RoundConstants(size_t width);

// Published internal diagonals minus one (HorizenLabs poseidon2, plain_implementations/src/
// poseidon2/poseidon2_instance_goldilocks.rs, MAT_DIAG8_M_1 and MAT_DIAG12_M_1). In the header
// so that the internal layer, evaluated per row by AIRs, reads them without a call.
inline constexpr std::array<uint64_t, 8> kPoseidon2Diag8MinusOne = {
    0xa98811a1fed4e3a5, 0x1cc48b54f377e2a0, 0xe40cd4f6c5609a26, 0x11de79ebca97a4a3,
    0x9177c73d8b7e929c, 0x2a6fe8085797e791, 0x3de6e93329f8d5ad, 0x3f7af9125da962fe};
inline constexpr std::array<uint64_t, 12> kPoseidon2Diag12MinusOne = {
    0xc3b6c08e23ba9300, 0xd84b5de94a324fb6, 0x0d0c371c5b35b84f, 0x7964f570e7188037,
    0x5daf18bbd996604b, 0x6743bc47b9595257, 0x5528b9362c59bb70, 0xac45e25b7127b68b,
    0xa2077d7dfbb606b5, 0xf3faac6faee378ae, 0x0c6388b51545e883, 0xd27dbb6944917b60};

template <size_t W>
constexpr std::array<Fp, W> Poseidon2DiagMinusOne() {
  std::array<Fp, W> d{};
  for (size_t i = 0; i < W; ++i) d[i] = Fp(W == 8 ? kPoseidon2Diag8MinusOne[i % 8] : kPoseidon2Diag12MinusOne[i % 12]);
  return d;
}

template <size_t W>
struct Poseidon2 {
  static_assert(W == 8 || W == 12, "Poseidon2 over Goldilocks: width 8 or 12");
  using State = std::array<Fp, W>;

  struct Constants {
    std::array<State, kPoseidon2FullRounds> full;       // 4 initial then 4 terminal rounds
    std::array<Fp, kPoseidon2PartialRounds> partial;
    State diag_minus_one;                               // internal matrix = 1 + diag(d)
  };
  static const Constants& GetConstants();

  static void Permute(State& s);
  // The permutation over any field-like F: Fp for Permute, PackedFp for eight states on SIMD
  // lanes (Poseidon2PermuteBatch12). Always inlined into each caller.
  template <typename F>
  [[gnu::always_inline]] static inline void PermuteAny(std::array<F, W>& s);

  static constexpr std::array<Fp, W> kDiagMinusOne = Poseidon2DiagMinusOne<W>();

  // The linear layers, exposed for AIRs that recompute a permutation from witnessed
  // S-box outputs. Always inlined: AIRs call them per row of the evaluation domain.
  template <typename F>
  [[gnu::always_inline]] static inline void ExternalLinear(std::array<F, W>& s);
  template <typename F>
  [[gnu::always_inline]] static inline void InternalLinear(std::array<F, W>& s);
};

template <size_t W>
template <typename F>
inline void Poseidon2<W>::ExternalLinear(std::array<F, W>& s) {
  // Each 4-lane block times M4 = [[5,7,1,3],[4,6,1,1],[1,3,5,7],[1,1,4,6]], then add the sum of
  // the blocks lane-wise (the circ(2 M4, M4, ...) structure).
  for (size_t i = 0; i < W; i += 4) {
    const F t0 = s[i] + s[i + 1];
    const F t1 = s[i + 2] + s[i + 3];
    const F t2 = s[i + 1] + s[i + 1] + t1;
    const F t3 = s[i + 3] + s[i + 3] + t0;
    const F t4 = t1 + t1 + t1 + t1 + t3;
    const F t5 = t0 + t0 + t0 + t0 + t2;
    s[i] = t3 + t5;
    s[i + 1] = t5;
    s[i + 2] = t2 + t4;
    s[i + 3] = t4;
  }
  std::array<F, 4> sums = {s[0], s[1], s[2], s[3]};
  for (size_t i = 4; i < W; i += 4) {
    for (size_t l = 0; l < 4; ++l) sums[l] = sums[l] + s[i + l];
  }
  for (size_t i = 0; i < W; ++i) s[i] = s[i] + sums[i % 4];
}

template <size_t W>
template <typename F>
inline void Poseidon2<W>::InternalLinear(std::array<F, W>& s) {
  const auto& d = kDiagMinusOne;
  F sum = s[0];
  for (size_t i = 1; i < W; ++i) sum = sum + s[i];
  for (size_t i = 0; i < W; ++i) s[i] = s[i] * d[i] + sum;
}

template <typename F>
[[gnu::always_inline]] inline F Pow7(F x) {
  const F x2 = x * x;
  const F x3 = x2 * x;
  const F x4 = x2 * x2;
  return x3 * x4;
}

template <size_t W>
template <typename F>
inline void Poseidon2<W>::PermuteAny(std::array<F, W>& s) {
  const Constants& c = GetConstants();
  const size_t half = kPoseidon2FullRounds / 2;
  ExternalLinear(s);
  for (size_t r = 0; r < half; ++r) {
    for (size_t i = 0; i < W; ++i) s[i] = Pow7(s[i] + c.full[r][i]);
    ExternalLinear(s);
  }
  for (size_t r = 0; r < kPoseidon2PartialRounds; ++r) {
    s[0] = Pow7(s[0] + c.partial[r]);
    InternalLinear(s);
  }
  for (size_t r = half; r < kPoseidon2FullRounds; ++r) {
    for (size_t i = 0; i < W; ++i) s[i] = Pow7(s[i] + c.full[r][i]);
    ExternalLinear(s);
  }
}

using HashOut = std::array<Fp, 4>;

// Permutes each state as Poseidon2<12>::Permute does, eight states at a time on SIMD lanes
// where the CPU has them, and on all threads for batches above 2048. For tree levels, leaf
// hashes, commitments.
void Poseidon2PermuteBatch12(std::span<std::array<Fp, 12>> states);

// Sponge over the width-12 permutation: rate 8, capacity 4, the input length absorbed into
// the capacity, zero padding; the output is the first 4 rate lanes.
HashOut Poseidon2Hash(std::span<const Fp> input);
// 2-to-1 compression: the first 4 lanes of Permute8(left || right) (truncation makes it
// one-way).
HashOut Poseidon2Compress(const HashOut& left, const HashOut& right);

}  // namespace vp::stark
