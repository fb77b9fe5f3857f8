// Ed25519 against RFC 8032 section 7.1 tests 1 and 2.
#include "vp/crypto/ed25519.h"

#include <gtest/gtest.h>

namespace vp::crypto {
namespace {

Bytes H(std::string_view hex) { return *HexDecode(hex); }

TEST(Ed25519, Rfc8032Test1) {
  const Bytes seed = H("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
  auto pub = Ed25519PublicKey(seed);
  ASSERT_TRUE(pub.ok());
  EXPECT_EQ(HexEncode(*pub), "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  auto sig = Ed25519Sign(seed, {});
  ASSERT_TRUE(sig.ok());
  EXPECT_EQ(HexEncode(*sig),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
  EXPECT_TRUE(Ed25519Verify(*pub, {}, *sig));
}

TEST(Ed25519, Rfc8032Test2) {
  const Bytes seed = H("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb");
  const Bytes msg = H("72");
  auto sig = Ed25519Sign(seed, msg);
  ASSERT_TRUE(sig.ok());
  EXPECT_EQ(HexEncode(*sig),
            "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00");
}

TEST(Ed25519, RejectsTamperedAndMalformed) {
  auto seed = *Ed25519GenerateSeed();
  auto pub = *Ed25519PublicKey(seed.view());
  const Bytes msg = {'s', 't', 'h'};
  auto sig = *Ed25519Sign(seed.view(), msg);
  EXPECT_TRUE(Ed25519Verify(pub, msg, sig));
  auto bad = sig;
  bad[10] ^= 1;
  EXPECT_FALSE(Ed25519Verify(pub, msg, bad));
  EXPECT_FALSE(Ed25519Verify(pub, Bytes{'s', 't', 'H'}, sig));
  EXPECT_FALSE(Ed25519Verify(ByteSpan(pub).first(31), msg, sig));
  EXPECT_FALSE(Ed25519Verify(pub, msg, ByteSpan(sig).first(63)));
  EXPECT_EQ(Ed25519Sign(Bytes(31), msg).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace vp::crypto
