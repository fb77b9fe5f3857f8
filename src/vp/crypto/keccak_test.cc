// Keccak-256 against the Keccak team's KAT (ShortMsgKAT_256, original padding) and the
// keccak-f[1600] intermediate values of the reference package.
#include "vp/crypto/keccak.h"

#include <gtest/gtest.h>

#include <random>

namespace vp::crypto {
namespace {

std::string Hex(const Hash256& h) { return HexEncode(h); }

TEST(KeccakF1600, ZeroStatePermutation) {
  // KeccakF-1600-IntermediateValues.txt: permuting the all-zero state.
  uint64_t st[25] = {};
  KeccakF1600(st);
  EXPECT_EQ(st[0], 0xF1258F7940E1DDE7ULL);
  EXPECT_EQ(st[1], 0x84D5CCF933C0478AULL);
  EXPECT_EQ(st[24], 0xEAF1FF7B5CECA249ULL);
}

TEST(Keccak256, KnownAnswers) {
  EXPECT_EQ(Hex(Keccak256({})), "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
  const uint8_t cc[] = {0xcc};
  EXPECT_EQ(Hex(Keccak256(cc)), "eead6dbfc7340a56caedc044696a168870549a6a7f6f56961e84a54bd9970b8a");
  const uint8_t m41fb[] = {0x41, 0xfb};
  EXPECT_EQ(Hex(Keccak256(m41fb)), "a8eaceda4d47b3281a795ad9e1ea2122b407baf9aabcb9e18b5717b7873537d2");
  EXPECT_EQ(Hex(Keccak256(AsBytes("abc"))), "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");
  EXPECT_EQ(Hex(Keccak256(AsBytes("The quick brown fox jumps over the lazy dog"))),
            "4d741b6f1eb29cb2a9b9911c82f56fa8d73b04959d3d9d222895df6c0b28aa15");
}

TEST(Keccak256, IncrementalEqualsOneShotAcrossBlockBoundaries) {
  const uint64_t seed = std::getenv("VP_TEST_SEED") ? std::stoull(std::getenv("VP_TEST_SEED")) : 20261121;
  std::printf("seed=%llu\n", static_cast<unsigned long long>(seed));
  std::mt19937_64 rng(seed);
  for (size_t len : {0u, 1u, 135u, 136u, 137u, 271u, 272u, 273u, 1000u}) {
    Bytes msg(len);
    for (auto& b : msg) b = static_cast<uint8_t>(rng());
    const Hash256 whole = Keccak256(msg);
    for (int trial = 0; trial < 20; ++trial) {
      Keccak256Hasher h;
      size_t off = 0;
      while (off < len) {
        const size_t n = std::min<size_t>(len - off, rng() % 150);
        h.Update(ByteSpan(msg).subspan(off, n));
        off += n;
      }
      EXPECT_EQ(h.Final(), whole) << "len " << len;
    }
  }
}

}  // namespace
}  // namespace vp::crypto
