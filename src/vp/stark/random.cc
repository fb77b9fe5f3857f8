// Random sources for the prover.
#include "vp/stark/random.h"

#include <cstdlib>
#include <random>

#if defined(__linux__)
#include <sys/random.h>
#endif

namespace vp::stark {

Fp RandomSource::NextFp() {
  for (;;) {
    const uint64_t v = NextU64();
    if (v < Fp::kModulus) return Fp(v);
  }
}

Salt RandomSource::NextSalt() {
  Salt s;
  for (size_t i = 0; i < 4; ++i) {
    const uint64_t v = NextU64();
    for (size_t j = 0; j < 8; ++j) s[8 * i + j] = static_cast<uint8_t>(v >> (8 * j));
  }
  return s;
}

SeededRandom::SeededRandom(uint64_t seed) {
  for (auto& w : s_) {
    seed += 0x9E3779B97F4A7C15ULL;
    uint64_t z = seed;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    w = z ^ (z >> 31);
  }
}

uint64_t SeededRandom::NextU64() {
  auto rotl = [](uint64_t x, int k) { return (x << k) | (x >> (64 - k)); };
  const uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

void SystemRandom::Refill() {
  auto* bytes = reinterpret_cast<uint8_t*>(buf_.data());
  size_t need = sizeof(buf_), got = 0;
#if defined(__linux__)
  while (got < need) {
    const ssize_t r = getrandom(bytes + got, need - got, 0);
    if (r <= 0) break;
    got += static_cast<size_t>(r);
  }
#endif
  if (got < need) {
    std::random_device rd;  // /dev/urandom on libstdc++ and libc++
    for (size_t i = got; i < need; ++i) bytes[i] = static_cast<uint8_t>(rd());
  }
  pos_ = 0;
}

uint64_t SystemRandom::NextU64() {
  if (pos_ == buf_.size()) Refill();
  return buf_[pos_++];
}

}  // namespace vp::stark
