#include "vp/crypto/keccak.h"

#include <algorithm>
#include <cstring>

namespace vp::crypto {
namespace {

constexpr uint64_t kRoundConstants[24] = {
    0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL, 0x8000000080008000ULL,
    0x000000000000808bULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
    0x000000000000008aULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
    0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
    0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800aULL, 0x800000008000000aULL,
    0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL,
};
// Rotation offsets and lane order of the combined rho+pi step, from the Keccak reference.
constexpr unsigned kRho[24] = {1,  3,  6,  10, 15, 21, 28, 36, 45, 55, 2,  14,
                               27, 41, 56, 8,  25, 43, 62, 18, 39, 61, 20, 44};
constexpr unsigned kPi[24] = {10, 7,  11, 17, 18, 3, 5,  16, 8,  21, 24, 4,
                              15, 23, 19, 13, 12, 2, 20, 14, 22, 9,  6,  1};

constexpr size_t kRate = 136;  // 1088 bits: Keccak-256

inline uint64_t Rotl(uint64_t x, unsigned n) { return (x << n) | (x >> ((64 - n) & 63)); }

inline uint64_t LoadLE(const uint8_t* p) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
  return v;
}

void AbsorbBlock(uint64_t* state, const uint8_t* block) {
  for (size_t i = 0; i < kRate / 8; ++i) state[i] ^= LoadLE(block + 8 * i);
  KeccakF1600(state);
}

}  // namespace

void KeccakF1600(uint64_t st[25]) {
  uint64_t bc[5];
  for (uint64_t rc : kRoundConstants) {
    // theta (written out: the modular index arithmetic of the loop form kept the compiler
    // from unrolling it and cost 4x on short inputs)
    bc[0] = st[0] ^ st[5] ^ st[10] ^ st[15] ^ st[20];
    bc[1] = st[1] ^ st[6] ^ st[11] ^ st[16] ^ st[21];
    bc[2] = st[2] ^ st[7] ^ st[12] ^ st[17] ^ st[22];
    bc[3] = st[3] ^ st[8] ^ st[13] ^ st[18] ^ st[23];
    bc[4] = st[4] ^ st[9] ^ st[14] ^ st[19] ^ st[24];
    const uint64_t d0 = bc[4] ^ Rotl(bc[1], 1), d1 = bc[0] ^ Rotl(bc[2], 1), d2 = bc[1] ^ Rotl(bc[3], 1),
                   d3 = bc[2] ^ Rotl(bc[4], 1), d4 = bc[3] ^ Rotl(bc[0], 1);
    for (size_t j = 0; j < 25; j += 5) {
      st[j] ^= d0;
      st[j + 1] ^= d1;
      st[j + 2] ^= d2;
      st[j + 3] ^= d3;
      st[j + 4] ^= d4;
    }
    // rho and pi
    uint64_t t = st[1];
    for (size_t i = 0; i < 24; ++i) {
      const size_t j = kPi[i];
      const uint64_t next = st[j];
      st[j] = Rotl(t, kRho[i]);
      t = next;
    }
    // chi
    for (size_t j = 0; j < 25; j += 5) {
      const uint64_t a0 = st[j], a1 = st[j + 1], a2 = st[j + 2], a3 = st[j + 3], a4 = st[j + 4];
      st[j] = a0 ^ (~a1 & a2);
      st[j + 1] = a1 ^ (~a2 & a3);
      st[j + 2] = a2 ^ (~a3 & a4);
      st[j + 3] = a3 ^ (~a4 & a0);
      st[j + 4] = a4 ^ (~a0 & a1);
    }
    // iota
    st[0] ^= rc;
  }
}

Keccak256Hasher::Keccak256Hasher() { std::memset(state_, 0, sizeof(state_)); }

void Keccak256Hasher::Update(ByteSpan data) {
  if (data.empty()) return;  // an empty span may carry a null pointer: memcpy must not see it
  size_t off = 0;
  if (buffered_ > 0) {
    const size_t take = std::min(kRate - buffered_, data.size());
    std::memcpy(buffer_ + buffered_, data.data(), take);
    buffered_ += take;
    off = take;
    if (buffered_ < kRate) return;
    AbsorbBlock(state_, buffer_);
    buffered_ = 0;
  }
  for (; off + kRate <= data.size(); off += kRate) AbsorbBlock(state_, data.data() + off);
  if (off < data.size()) {
    buffered_ = data.size() - off;
    std::memcpy(buffer_, data.data() + off, buffered_);
  }
}

Hash256 Keccak256Hasher::Final() {
  std::memset(buffer_ + buffered_, 0, kRate - buffered_);
  buffer_[buffered_] ^= 0x01;  // original Keccak padding (SHA3 uses 0x06)
  buffer_[kRate - 1] ^= 0x80;
  AbsorbBlock(state_, buffer_);
  Hash256 out;
  for (size_t i = 0; i < 32; ++i) out[i] = static_cast<uint8_t>(state_[i / 8] >> (8 * (i % 8)));
  return out;
}

Hash256 Keccak256(ByteSpan data) {
  Keccak256Hasher h;
  h.Update(data);
  return h.Final();
}

}  // namespace vp::crypto
