// U256: strict parsing (decimal, 0x-hex), the output forms, wrapping and checked arithmetic,
// ordering, and a seeded cross-check against the compiler's 128-bit integers.
#include "vp/eth/uint256.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <iostream>
#include <random>
#include <string>

namespace vp::eth {
namespace {

uint64_t TestSeed() {
  const char* env = std::getenv("VP_TEST_SEED");
  const uint64_t seed = env != nullptr ? std::strtoull(env, nullptr, 10) : 20261121;
  std::cout << "[ seed ] VP_TEST_SEED=" << seed << "\n";
  return seed;
}

constexpr std::string_view kMaxDecimal =
    "115792089237316195423570985008687907853269984665640564039457584007913129639935";  // 2^256 - 1
constexpr std::string_view kTwoTo256 =
    "115792089237316195423570985008687907853269984665640564039457584007913129639936";

TEST(U256Parse, DecimalAndHex) {
  EXPECT_EQ(*U256::Parse("0"), U256(0));
  EXPECT_EQ(*U256::Parse("123"), U256(123));
  EXPECT_EQ(*U256::Parse("0x7b"), U256(123));
  EXPECT_EQ(*U256::Parse("0X7B"), U256(123));
  EXPECT_EQ(*U256::Parse("0x0"), U256(0));
  EXPECT_EQ(*U256::ParseHex("7b"), U256(123));
  EXPECT_EQ(*U256::ParseDecimal("18446744073709551616"), U256::PowerOfTwo(64));
  EXPECT_EQ(*U256::Parse(kMaxDecimal), U256::Max());
  EXPECT_EQ(*U256::Parse("0x" + std::string(64, 'f')), U256::Max());
  // Leading zeros are accepted in both forms (documented), including past 64 hex digits.
  EXPECT_EQ(*U256::Parse("007"), U256(7));
  EXPECT_EQ(*U256::Parse("0x0007"), U256(7));
  EXPECT_EQ(*U256::Parse("0x" + std::string(10, '0') + std::string(64, 'f')), U256::Max());
}

TEST(U256Parse, RefusesMalformedAndOverflow) {
  for (std::string_view bad : {"", "0x", "0X", "-1", "+1", " 1", "1 ", "1_000", "0x1g", "12a", "0b101", "1e3",
                               "0x-1", "٣"}) {
    auto r = U256::Parse(bad);
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << "'" << bad << "'";
  }
  EXPECT_EQ(U256::Parse(kTwoTo256).status().message(), "integer: exceeds 256 bits");
  EXPECT_EQ(U256::Parse("0x1" + std::string(64, '0')).status().message(), "integer: exceeds 256 bits");
  EXPECT_EQ(U256::Parse(std::string(100, '9')).status().message(), "integer: exceeds 256 bits");
  EXPECT_EQ(U256::ParseDecimal("0x10").status().message(), "integer: invalid decimal digit");
}

TEST(U256Bytes, BigEndianForms) {
  EXPECT_TRUE(U256(0).ToBigEndianMinimal().empty());
  EXPECT_EQ(U256(0x0400).ToBigEndianMinimal(), (Bytes{0x04, 0x00}));
  EXPECT_EQ(U256::Max().ToBigEndianMinimal(), Bytes(32, 0xff));
  const ByteArray<32> one = U256(1).ToBigEndian32();
  EXPECT_EQ(one[31], 1);
  EXPECT_EQ(one[0], 0);
  EXPECT_EQ(*U256::FromBigEndian(Bytes{}), U256(0));
  EXPECT_EQ(*U256::FromBigEndian(Bytes{0, 0, 1, 2}), U256(0x0102));
  EXPECT_EQ(*U256::FromBigEndian(Bytes(32, 0xff)), U256::Max());
  EXPECT_EQ(U256::FromBigEndian(Bytes(33, 0)).status().message(), "integer: more than 32 bytes");
  EXPECT_EQ(*U256::FromBigEndian(U256::PowerOfTwo(255).ToBigEndian32()), U256::PowerOfTwo(255));
}

TEST(U256Text, DecimalAndHexOutput) {
  EXPECT_EQ(U256(0).ToDecimal(), "0");
  EXPECT_EQ(U256(0).ToHex(), "0x0");
  EXPECT_EQ(U256(15).ToHex(), "0xf");
  EXPECT_EQ(U256(16).ToHex(), "0x10");
  EXPECT_EQ(U256(1000000000000000000u).ToDecimal(), "1000000000000000000");
  EXPECT_EQ(U256::Max().ToDecimal(), kMaxDecimal);
  EXPECT_EQ(U256::Max().ToHex(), "0x" + std::string(64, 'f'));
  EXPECT_EQ(U256::PowerOfTwo(64).ToDecimal(), "18446744073709551616");
  EXPECT_EQ(U256::PowerOfTwo(200).ToHex(), "0x1" + std::string(50, '0'));
}

TEST(U256Arithmetic, WrapsAndReportsOverflow) {
  EXPECT_EQ(U256::Max() + U256(1), U256(0));
  EXPECT_EQ(U256(0) - U256(1), U256::Max());
  EXPECT_EQ(U256::PowerOfTwo(64) - U256(1), U256(UINT64_MAX));
  EXPECT_EQ(U256(UINT64_MAX) + U256(1), U256::PowerOfTwo(64));  // carry across limbs
  EXPECT_EQ(~U256(0), U256::Max());
  U256 out;
  EXPECT_TRUE(U256(1).AddChecked(U256(2), &out));
  EXPECT_EQ(out, U256(3));
  EXPECT_FALSE(U256::Max().AddChecked(U256(1), &out));
  EXPECT_TRUE(U256::PowerOfTwo(254).MulSmallChecked(3, &out));
  EXPECT_EQ(out, U256::PowerOfTwo(255) + U256::PowerOfTwo(254));
  EXPECT_FALSE(U256::PowerOfTwo(255).MulSmallChecked(2, &out));
  EXPECT_TRUE(U256(0).MulSmallChecked(UINT64_MAX, &out));
  EXPECT_EQ(out, U256(0));
}

TEST(U256Misc, PowersOrderingAndBits) {
  EXPECT_EQ(U256::PowerOfTwo(0), U256(1));
  EXPECT_EQ(U256::PowerOfTwo(256), U256(0));  // out of range: documented bits < 256
  EXPECT_LT(U256(1), U256(2));
  EXPECT_LT(U256(UINT64_MAX), U256::PowerOfTwo(64));
  EXPECT_GT(U256::PowerOfTwo(192), U256::PowerOfTwo(128) + U256(UINT64_MAX));
  EXPECT_EQ(U256(0).BitLength(), 0u);
  EXPECT_EQ(U256(1).BitLength(), 1u);
  EXPECT_EQ(U256(255).BitLength(), 8u);
  EXPECT_EQ(U256::PowerOfTwo(64).BitLength(), 65u);
  EXPECT_EQ(U256::Max().BitLength(), 256u);
  EXPECT_TRUE(U256(UINT64_MAX).FitsUint64());
  EXPECT_FALSE(U256::PowerOfTwo(64).FitsUint64());
  EXPECT_TRUE(U256(0).IsZero());
  EXPECT_FALSE(U256::PowerOfTwo(255).IsZero());
  EXPECT_EQ(U256(42).Low64(), 42u);
}

std::string ToDecimal128(unsigned __int128 v) {
  if (v == 0) return "0";
  std::string s;
  while (v > 0) {
    s.insert(s.begin(), static_cast<char>('0' + static_cast<int>(v % 10)));
    v /= 10;
  }
  return s;
}

TEST(U256Random, AgreesWithInt128AndRoundTrips) {
  std::mt19937_64 rng(TestSeed());
  for (int i = 0; i < 2000; ++i) {
    // Both below 2^127, so their sum fits 128 bits.
    const unsigned __int128 a = (static_cast<unsigned __int128>(rng() >> (1 + rng() % 63)) << 64) | rng();
    const unsigned __int128 b = (static_cast<unsigned __int128>(rng() >> (1 + rng() % 63)) << 64) | rng();
    const U256 ua = *U256::ParseDecimal(ToDecimal128(a));
    const U256 ub = *U256::ParseDecimal(ToDecimal128(b));
    EXPECT_EQ(ua.ToDecimal(), ToDecimal128(a));
    EXPECT_EQ((ua + ub).ToDecimal(), ToDecimal128(a + b));
    if (a >= b) {
      EXPECT_EQ((ua - ub).ToDecimal(), ToDecimal128(a - b));
    }
    EXPECT_EQ(ua < ub, a < b);
    EXPECT_EQ(*U256::Parse(ua.ToHex()), ua);
    EXPECT_EQ(*U256::FromBigEndian(ua.ToBigEndianMinimal()), ua);
    // Multiplication by a small factor agrees with repeated addition.
    const uint64_t m = rng() % 16;
    U256 sum;
    for (uint64_t k = 0; k < m; ++k) sum = sum + ua;
    U256 prod;
    ASSERT_TRUE(ua.MulSmallChecked(m, &prod));
    EXPECT_EQ(prod, sum);
  }
  // Full-width random values round trip through every text and byte form.
  for (int i = 0; i < 500; ++i) {
    ByteArray<32> raw{};
    for (uint8_t& x : raw) x = static_cast<uint8_t>(rng());
    const U256 v = *U256::FromBigEndian(raw);
    EXPECT_EQ(v.ToBigEndian32(), raw);
    EXPECT_EQ(*U256::ParseDecimal(v.ToDecimal()), v);
    EXPECT_EQ(*U256::ParseHex(v.ToHex()), v);
  }
}

}  // namespace
}  // namespace vp::eth
