// X25519 against RFC 7748: the section 5.2 function vectors (one step and the 1000-step
// ladder) and the section 6.1 Diffie-Hellman example; low-order points must be refused.
#include "vp/crypto/x25519.h"

#include <gtest/gtest.h>

namespace vp::crypto {
namespace {

Bytes H(std::string_view hex) { return *HexDecode(hex); }

std::string Shared(std::string_view scalar, std::string_view u) {
  auto s = X25519SharedSecret(H(scalar), H(u));
  if (!s.ok()) return s.status().ToString();
  return HexEncode(s->view());
}

TEST(X25519, Rfc7748Section52Vectors) {
  EXPECT_EQ(Shared("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
                   "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c"),
            "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552");
  // The input u has its top bit set; RFC 7748 says it is masked, so this must still match.
  EXPECT_EQ(Shared("4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
                   "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493"),
            "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957");
}

TEST(X25519, Rfc7748Section52IteratedLadder) {
  Bytes k = H("0900000000000000000000000000000000000000000000000000000000000000");
  Bytes u = k;
  for (int i = 1; i <= 1000; ++i) {
    auto r = X25519SharedSecret(k, u);
    ASSERT_TRUE(r.ok()) << i;
    u = k;
    k.assign(r->view().begin(), r->view().end());
    if (i == 1) {
      EXPECT_EQ(HexEncode(k), "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079");
    }
  }
  EXPECT_EQ(HexEncode(k), "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51");
}

TEST(X25519, Rfc7748Section61DiffieHellman) {
  const Bytes alice = H("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  const Bytes bob = H("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
  auto alice_pub = X25519PublicFromPrivate(alice);
  auto bob_pub = X25519PublicFromPrivate(bob);
  ASSERT_TRUE(alice_pub.ok() && bob_pub.ok());
  EXPECT_EQ(HexEncode(*alice_pub), "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  EXPECT_EQ(HexEncode(*bob_pub), "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
  auto k1 = X25519SharedSecret(alice, *bob_pub);
  auto k2 = X25519SharedSecret(bob, *alice_pub);
  ASSERT_TRUE(k1.ok() && k2.ok());
  EXPECT_EQ(HexEncode(k1->view()), "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
  EXPECT_EQ(HexEncode(k2->view()), HexEncode(k1->view()));
}

TEST(X25519, GeneratedPairsAgree) {
  auto a = X25519Generate();
  auto b = X25519Generate();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->public_key, b->public_key);
  EXPECT_EQ(*X25519PublicFromPrivate(a->private_key.view()), a->public_key);
  auto k1 = X25519SharedSecret(a->private_key.view(), b->public_key);
  auto k2 = X25519SharedSecret(b->private_key.view(), a->public_key);
  ASSERT_TRUE(k1.ok() && k2.ok());
  EXPECT_TRUE(ConstantTimeEqual(k1->view(), k2->view()));
}

TEST(X25519, RefusesLowOrderPoints) {
  auto a = X25519Generate();
  ASSERT_TRUE(a.ok());
  // u = 0, u = 1, and a point of order 8 (the small-subgroup points listed for Curve25519);
  // each makes the shared secret all zero whatever the private key.
  for (std::string_view u : {"0000000000000000000000000000000000000000000000000000000000000000",
                             "0100000000000000000000000000000000000000000000000000000000000000",
                             "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
                             "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157"}) {
    auto s = X25519SharedSecret(a->private_key.view(), H(u));
    EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument) << u;
  }
}

TEST(X25519, RefusesWrongSizes) {
  EXPECT_EQ(X25519PublicFromPrivate(Bytes(31)).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(X25519PublicFromPrivate(Bytes(33)).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(X25519SharedSecret(Bytes(32, 1), Bytes(31, 9)).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(X25519SharedSecret(Bytes(16, 1), Bytes(32, 9)).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(X25519SharedSecret({}, {}).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace vp::crypto
