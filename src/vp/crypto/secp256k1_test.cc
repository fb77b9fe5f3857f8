// secp256k1 through libsecp256k1: the generator point, the widely published RFC 6979
// vector (private key 1, SHA-256("Satoshi Nakamoto")), recovery, and the refusals.
#include "vp/crypto/secp256k1.h"

#include <gtest/gtest.h>

#include "vp/crypto/hash.h"

namespace vp::crypto {
namespace {

Bytes H(std::string_view hex) { return *HexDecode(hex); }
Bytes KeyOne() { Bytes k(32, 0); k[31] = 1; return k; }
const char* kOrder = "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141";

TEST(Secp256k1, PublicKeyOfOneIsGenerator) {
  auto pub = Secp256k1PublicKey(KeyOne());
  ASSERT_TRUE(pub.ok());
  EXPECT_EQ(HexEncode(*pub),
            "0479be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
            "483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8");
  EXPECT_EQ(HexEncode(*Secp256k1PublicKeyCompressed(KeyOne())),
            "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798");
}

TEST(Secp256k1, Rfc6979SatoshiVector) {
  const Hash256 digest = Sha256(AsBytes("Satoshi Nakamoto"));
  auto sig = Secp256k1Sign(KeyOne(), digest);
  ASSERT_TRUE(sig.ok());
  EXPECT_EQ(HexEncode(sig->r), "934b1ea10a4b3c1757e2b0c017d0b6143ce3c9a7e6a4a49860d7a6ab210ee3d8");
  EXPECT_EQ(HexEncode(sig->s), "2442ce9d2b916064108014783e923ec36b49743e2ffa1c4496f01a512aafd9e5");
  auto rec = Secp256k1Recover(digest, *sig);
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(*rec, *Secp256k1PublicKey(KeyOne()));
}

TEST(Secp256k1, DeterministicAndLowS) {
  Bytes key = H("4646464646464646464646464646464646464646464646464646464646464646");
  Hash256 d{};
  for (int i = 0; i < 200; ++i) {
    d[static_cast<size_t>(i % 32)] = static_cast<uint8_t>(d[static_cast<size_t>(i % 32)] + i + 1);
    auto a = *Secp256k1Sign(key, d);
    auto b = *Secp256k1Sign(key, d);
    EXPECT_EQ(a.r, b.r);
    EXPECT_EQ(a.s, b.s);
    EXPECT_LT(a.s[0], 0x80) << "s must be in the lower half";
    EXPECT_EQ(*Secp256k1Recover(d, a), *Secp256k1PublicKey(key));
  }
}

TEST(Secp256k1, RefusesInvalidKeys) {
  EXPECT_EQ(Secp256k1PublicKey(Bytes(32, 0)).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Secp256k1PublicKey(H(kOrder)).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Secp256k1PublicKey(Bytes(31, 1)).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Secp256k1Sign(Bytes(32, 0xff), Hash256{}).status().code(), StatusCode::kInvalidArgument);
}

TEST(Secp256k1, RecoverRefusesMalleableAndMalformed) {
  const Hash256 digest = Sha256(AsBytes("msg"));
  auto sig = *Secp256k1Sign(KeyOne(), digest);
  // s' = n - s is the malleated twin: EIP-2 forbids it.
  auto high = sig;
  const Bytes n = H(kOrder);
  int borrow = 0;
  for (size_t i = 32; i-- > 0;) {
    int v = n[i] - sig.s[i] - borrow;
    borrow = v < 0;
    high.s[i] = static_cast<uint8_t>(v + (borrow ? 256 : 0));
  }
  high.recovery_id ^= 1;
  EXPECT_EQ(Secp256k1Recover(digest, high).status().code(), StatusCode::kInvalidArgument);
  auto zero = sig;
  zero.r = {};
  EXPECT_FALSE(Secp256k1Recover(digest, zero).ok());
  auto big = sig;
  big.r.fill(0xff);
  EXPECT_FALSE(Secp256k1Recover(digest, big).ok());
  auto badid = sig;
  badid.recovery_id = 4;
  EXPECT_FALSE(Secp256k1Recover(digest, badid).ok());
}

TEST(Secp256k1, TweaksMatchBetweenPrivateAndPublic) {
  const Bytes key = H("e8f32e723decf4051aefac8e2c93c9c5b214313817cdb01a1494b917c8436b35");
  Bytes tweak(32, 0);
  tweak[31] = 7;
  auto child = Secp256k1PrivateKeyTweakAdd(key, tweak);
  ASSERT_TRUE(child.ok());
  auto pub = *Secp256k1PublicKeyCompressed(key);
  auto child_pub = Secp256k1PublicKeyTweakAdd(pub, tweak);
  ASSERT_TRUE(child_pub.ok());
  EXPECT_EQ(*child_pub, *Secp256k1PublicKeyCompressed(child->view()));
  EXPECT_FALSE(Secp256k1PrivateKeyTweakAdd(key, H(kOrder)).ok());
  Bytes x_too_big(33, 0xff);  // x >= p: no such point
  x_too_big[0] = 0x02;
  EXPECT_FALSE(Secp256k1ParsePublicKey(x_too_big).ok());
  EXPECT_FALSE(Secp256k1ParsePublicKey(Bytes(64, 4)).ok());
}

}  // namespace
}  // namespace vp::crypto
