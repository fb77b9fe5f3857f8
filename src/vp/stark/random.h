// Randomness for the prover's zero-knowledge masks (random trace rows, salts, composition
// blinding). Production code uses SystemRandom (the OS CSPRNG: getrandom(2) on Linux,
// std::random_device elsewhere); tests use SeededRandom so proofs replay exactly.
//
//   SystemRandom rng;                 // masks for a real proof
//   SeededRandom test_rng(42);        // deterministic, NOT for production
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "vp/stark/field.h"
#include "vp/stark/merkle.h"

namespace vp::stark {

class RandomSource {
 public:
  virtual ~RandomSource() = default;
  virtual uint64_t NextU64() = 0;

  // Uniform in [0, p) by rejection.
  Fp NextFp();
  Fp2 NextFp2() {
    const Fp a = NextFp();
    return Fp2(a, NextFp());
  }
  Salt NextSalt();
};

// xoshiro256** seeded through splitmix64. Deterministic; for tests and benchmarks only.
class SeededRandom final : public RandomSource {
 public:
  explicit SeededRandom(uint64_t seed);
  uint64_t NextU64() override;

 private:
  std::array<uint64_t, 4> s_;
};

// Reads the operating system's CSPRNG in blocks.
class SystemRandom final : public RandomSource {
 public:
  SystemRandom() = default;
  uint64_t NextU64() override;

 private:
  void Refill();
  std::array<uint64_t, 64> buf_{};
  size_t pos_ = 64;
};

}  // namespace vp::stark
