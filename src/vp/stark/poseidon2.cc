// Poseidon2 constants (Grain LFSR) and the permutation.
#include "vp/stark/poseidon2.h"

#include <algorithm>

#include "vp/stark/packed.h"

// PackedFp values cross the per-instruction-set clones below (see packed.h).
#pragma GCC diagnostic ignored "-Wpsabi"

namespace vp::stark {

GrainLfsr::GrainLfsr(unsigned field_bits, unsigned width, unsigned full_rounds,
                     unsigned partial_rounds) {
  size_t pos = 0;
  auto put = [&](uint64_t value, unsigned bits) {
    for (unsigned i = bits; i-- > 0;) state_[pos++] = static_cast<uint8_t>((value >> i) & 1);
  };
  put(1, 2);  // field: prime
  put(0, 4);  // S-box: x^alpha
  put(field_bits, 12);
  put(width, 12);
  put(full_rounds, 10);
  put(partial_rounds, 10);
  put((uint64_t{1} << 30) - 1, 30);
  for (int i = 0; i < 160; ++i) Step();
}

bool GrainLfsr::Step() {
  // b_{i+80} = b_{i+62} ^ b_{i+51} ^ b_{i+38} ^ b_{i+23} ^ b_{i+13} ^ b_i (circular buffer)
  auto at = [&](size_t k) { return state_[(head_ + k) % 80]; };
  const uint8_t bit = at(62) ^ at(51) ^ at(38) ^ at(23) ^ at(13) ^ at(0);
  state_[head_] = bit;
  head_ = (head_ + 1) % 80;
  return bit != 0;
}

uint64_t GrainLfsr::NextBits(unsigned count) {
  uint64_t r = 0;
  for (unsigned i = 0; i < count; ++i) {
    // Self-shrinking: a pair (1, b) outputs b; a pair (0, b) is discarded.
    for (;;) {
      const bool keep = Step();
      const bool b = Step();
      if (keep) {
        r = (r << 1) | (b ? 1 : 0);
        break;
      }
    }
  }
  return r;
}

namespace {

GrainLfsr MakeGrain(size_t width) {
  return GrainLfsr(64, static_cast<unsigned>(width), kPoseidon2FullRounds, kPoseidon2PartialRounds);
}

std::vector<std::array<uint64_t, 12>> ConstantsFrom(GrainLfsr& g, size_t width) {
  const size_t rounds = kPoseidon2FullRounds + kPoseidon2PartialRounds;
  std::vector<std::array<uint64_t, 12>> out(rounds);
  for (size_t r = 0; r < rounds; ++r) {
    const bool partial =
        r >= kPoseidon2FullRounds / 2 && r < kPoseidon2FullRounds / 2 + kPoseidon2PartialRounds;
    const size_t count = partial ? 1 : width;
    out[r].fill(0);
    for (size_t i = 0; i < count; ++i) {
      uint64_t v = g.NextBits(64);
      while (v >= Fp::kModulus) v = g.NextBits(64);  // rejection sampling, as the script does
      out[r][i] = v;
    }
  }
  return out;
}

}  // namespace

std::vector<std::array<uint64_t, 12>> GeneratePoseidon2RoundConstants(size_t width) {
  GrainLfsr g = MakeGrain(width);
  return ConstantsFrom(g, width);
}

template <size_t W>
const typename Poseidon2<W>::Constants& Poseidon2<W>::GetConstants() {
  static const Constants kConstants = [] {
    Constants c{};
    const auto rc = GeneratePoseidon2RoundConstants(W);
    const size_t half = kPoseidon2FullRounds / 2;
    for (size_t r = 0; r < half; ++r) {
      for (size_t i = 0; i < W; ++i) {
        c.full[r][i] = Fp(rc[r][i]);
        c.full[half + r][i] = Fp(rc[half + kPoseidon2PartialRounds + r][i]);
      }
    }
    for (size_t r = 0; r < kPoseidon2PartialRounds; ++r) c.partial[r] = Fp(rc[half + r][0]);
    for (size_t i = 0; i < W; ++i) {
      c.diag_minus_one[i] = kDiagMinusOne[i];
    }
    return c;
  }();
  return kConstants;
}

template <size_t W>
void Poseidon2<W>::Permute(State& s) {
  PermuteAny(s);
}

template struct Poseidon2<8>;
template struct Poseidon2<12>;

namespace {

// Eight states, lane j = states[j]; compiled per instruction set.
VP_STARK_SIMD_CLONES void PermuteEight12(std::array<Fp, 12>* states) {
  std::array<PackedFp, 12> s;
  for (size_t i = 0; i < 12; ++i) {
    Fp lanes[8];
    for (size_t j = 0; j < 8; ++j) lanes[j] = states[j][i];
    s[i] = PackedFp::Load(lanes);
  }
  Poseidon2<12>::PermuteAny(s);
  for (size_t i = 0; i < 12; ++i) {
    for (size_t j = 0; j < 8; ++j) states[j][i] = s[i].Lane(j);
  }
}

}  // namespace

void Poseidon2PermuteBatch12(std::span<std::array<Fp, 12>> states) {
  // Chunks of 2048 states on all threads.
  constexpr size_t kChunk = 2048;
  const long long chunks = static_cast<long long>((states.size() + kChunk - 1) / kChunk);
#pragma omp parallel for schedule(static) if (chunks > 1)
  for (long long c = 0; c < chunks; ++c) {
    const size_t begin = static_cast<size_t>(c) * kChunk;
    const size_t end = std::min(states.size(), begin + kChunk);
    size_t i = begin;
    for (; i + 8 <= end; i += 8) PermuteEight12(&states[i]);
    for (; i < end; ++i) Poseidon2<12>::Permute(states[i]);
  }
}

HashOut Poseidon2Hash(std::span<const Fp> input) {
  Poseidon2<12>::State s{};
  s[8] = Fp(static_cast<uint64_t>(input.size()));
  size_t i = 0;
  do {
    for (size_t j = 0; j < 8; ++j) {
      if (i + j < input.size()) s[j] += input[i + j];
    }
    Poseidon2<12>::Permute(s);
    i += 8;
  } while (i < input.size());
  return {s[0], s[1], s[2], s[3]};
}

HashOut Poseidon2Compress(const HashOut& left, const HashOut& right) {
  Poseidon2<8>::State s = {left[0], left[1], left[2], left[3], right[0], right[1], right[2], right[3]};
  Poseidon2<8>::Permute(s);
  return {s[0], s[1], s[2], s[3]};
}

}  // namespace vp::stark
