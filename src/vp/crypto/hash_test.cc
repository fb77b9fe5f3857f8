// SHA-2 / RIPEMD-160 (FIPS 180 and the RIPEMD-160 page), HMAC (RFC 4231), HKDF (RFC 5869),
// PBKDF2-HMAC-SHA512 through the BIP-39 vector elsewhere.
#include "vp/crypto/hash.h"

#include <gtest/gtest.h>

namespace vp::crypto {
namespace {

Bytes H(std::string_view hex) { return *HexDecode(hex); }

TEST(Sha2, FipsAbc) {
  EXPECT_EQ(HexEncode(Sha256(AsBytes("abc"))), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(HexEncode(Sha384(AsBytes("abc"))),
            "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7");
  EXPECT_EQ(HexEncode(Sha512(AsBytes("abc"))),
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
  EXPECT_EQ(HexEncode(Sha256({})), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Ripemd160, KnownAnswers) {
  EXPECT_EQ(HexEncode(Ripemd160(AsBytes("abc"))), "8eb208f7e05d987a9b044a8e98c6b087f15a0bfc");
  EXPECT_EQ(HexEncode(Ripemd160({})), "9c1185a5c5e9fc54612808977ee8f548b2258d31");
}

TEST(Hmac, Rfc4231Case1And2) {
  const Bytes key1(20, 0x0b);
  EXPECT_EQ(HexEncode(HmacSha256(key1, AsBytes("Hi There"))),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(HexEncode(HmacSha512(key1, AsBytes("Hi There"))),
            "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854");
  EXPECT_EQ(HexEncode(HmacSha256(AsBytes("Jefe"), AsBytes("what do ya want for nothing?"))),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Hkdf, Rfc5869Case1) {
  auto okm = HkdfSha256(Bytes(22, 0x0b), H("000102030405060708090a0b0c"), H("f0f1f2f3f4f5f6f7f8f9"), 42);
  ASSERT_TRUE(okm.ok());
  EXPECT_EQ(HexEncode(okm->view()),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
}

TEST(Hkdf, Rfc5869Case3EmptySaltAndInfo) {
  auto okm = HkdfSha256(Bytes(22, 0x0b), {}, {}, 42);
  ASSERT_TRUE(okm.ok());
  EXPECT_EQ(HexEncode(okm->view()),
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
}

TEST(Hkdf, RejectsBadLengths) {
  EXPECT_EQ(HkdfSha256(Bytes(22, 1), {}, {}, 0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(HkdfSha256(Bytes(22, 1), {}, {}, 255 * 32 + 1).status().code(), StatusCode::kInvalidArgument);
}

TEST(Pbkdf2, RejectsZeroIterations) {
  EXPECT_FALSE(Pbkdf2HmacSha512(AsBytes("p"), AsBytes("s"), 0, 64).ok());
}

}  // namespace
}  // namespace vp::crypto
