// Signed tree heads: the pinned message bytes (docs/ballot_log.md), a real Ed25519 signature
// through the caller's hook, every field bound by the signature, and malformed heads refused.
#include "vp/ballot/sth.h"

#include <gtest/gtest.h>

#include <string>

#include "vp/ballot/bulletin.h"
#include "vp/crypto/ed25519.h"

namespace vp::ballot {
namespace {

// RFC 8032 section 7.1, TEST 1 secret key (the seed).
constexpr std::string_view kRfc8032Seed =
    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";

Sth VectorSth() {
  Sth sth;
  for (size_t i = 0; i < sth.log_id.size(); ++i) sth.log_id[i] = static_cast<uint8_t>(i);
  sth.tree_size = 7;
  sth.timestamp_ms = 1700000000000;  // 2023-11-14T22:13:20Z
  sth.root = {Fp(1), Fp(0x0123456789abcdefULL), Fp(Fp::kModulus - 1), Fp(0)};
  return sth;
}

Bytes Seed() { return *HexDecode(kRfc8032Seed); }

Ed25519VerifyFn VerifierFor(const crypto::Ed25519Public& pub) {
  return [pub](ByteSpan message, ByteSpan signature) {
    return crypto::Ed25519Verify(pub, message, signature);
  };
}

SignedSth Sign(const Sth& sth) {
  SignedSth s{sth, {}};
  const StatusOr<crypto::Ed25519Signature> sig = crypto::Ed25519Sign(Seed(), SthMessage(sth));
  EXPECT_TRUE(sig.ok());
  if (sig.ok()) s.signature = *sig;
  return s;
}

TEST(SthMessageTest, PinnedBytes) {
  const Bytes msg = SthMessage(VectorSth());
  ASSERT_EQ(msg.size(), kSthMessageSize);
  EXPECT_EQ(HexEncode(msg),
            // "vaultproof:sth:v1"
            "7661756c7470726f6f663a7374683a7631"
            // logId 00 01 .. 1f
            "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
            // treeSize 7, timestamp 1700000000000
            "0000000000000007"
            "0000018bcfe56800"
            // root, element by element (the bytes of FormatHash's text)
            "00000000000000010123456789abcdefffffffff000000000000000000000000");
  EXPECT_EQ(HexEncode(ByteSpan(msg).subspan(65)), FormatHash(VectorSth().root));
}

TEST(SthMessageTest, RoundTripsAndRefusesMalformed) {
  const Bytes msg = SthMessage(VectorSth());
  const StatusOr<Sth> back = ParseSthMessage(msg);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, VectorSth());

  EXPECT_FALSE(ParseSthMessage(ByteSpan(msg).subspan(1)).ok());
  Bytes longer = msg;
  longer.push_back(0);
  EXPECT_FALSE(ParseSthMessage(longer).ok());
  EXPECT_FALSE(ParseSthMessage({}).ok());
  Bytes prefix = msg;
  prefix[16] = '2';  // "vaultproof:sth:v2"
  EXPECT_FALSE(ParseSthMessage(prefix).ok());
  for (size_t e = 0; e < 4; ++e) {
    Bytes root = msg;
    for (size_t i = 0; i < 8; ++i) root[65 + 8 * e + i] = 0xff;  // >= p
    const StatusOr<Sth> bad = ParseSthMessage(root);
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.status().message().find("canonical"), std::string::npos);
  }
}

TEST(SthSignatureTest, PinnedSignatureOfTheVector) {
  // Ed25519 is deterministic: this signature is a test vector for other implementations.
  const SignedSth s = Sign(VectorSth());
  EXPECT_EQ(FormatSthSignature(s.signature),
            "aa38d762e5a696a612db31b1ded94afdddc0e8a78c8febdc6d31fbe704cdd701"
            "99b4c0d80d619181f2e25455f7d50760c5ed8a75ada999d5dc7fbc913554fe0d");
}

TEST(SthSignatureTest, VerifiesThroughTheHook) {
  const StatusOr<crypto::Ed25519Public> pub = crypto::Ed25519PublicKey(Seed());
  ASSERT_TRUE(pub.ok());
  const SignedSth s = Sign(VectorSth());
  EXPECT_TRUE(VerifySthSignature(s, VerifierFor(*pub)).ok());
}

TEST(SthSignatureTest, EveryFieldIsBound) {
  const crypto::Ed25519Public pub = *crypto::Ed25519PublicKey(Seed());
  const SignedSth good = Sign(VectorSth());
  std::vector<SignedSth> forged;
  for (size_t i = 0; i < 32; i += 7) {
    SignedSth f = good;
    f.sth.log_id[i] ^= 1;
    forged.push_back(f);
  }
  SignedSth f = good;
  f.sth.tree_size += 1;
  forged.push_back(f);
  f = good;
  f.sth.timestamp_ms -= 1;
  forged.push_back(f);
  for (size_t lane = 0; lane < 4; ++lane) {
    f = good;
    f.sth.root[lane] += Fp::One();
    forged.push_back(f);
  }
  for (size_t i = 0; i < 64; i += 9) {
    f = good;
    f.signature[i] ^= 0x40;
    forged.push_back(f);
  }
  for (const SignedSth& s : forged) {
    EXPECT_EQ(VerifySthSignature(s, VerifierFor(pub)).code(), StatusCode::kUnauthenticated);
  }
  // Another key.
  Bytes other_seed = Seed();
  other_seed[0] ^= 1;
  const crypto::Ed25519Public other = *crypto::Ed25519PublicKey(other_seed);
  EXPECT_EQ(VerifySthSignature(good, VerifierFor(other)).code(), StatusCode::kUnauthenticated);
  // No verifier at all is a caller bug, reported rather than crashing.
  EXPECT_EQ(VerifySthSignature(good, Ed25519VerifyFn()).code(), StatusCode::kInvalidArgument);
}

TEST(SthValidateTest, RefusesHeadsABrowserCannotRepresentOrThatLie) {
  Sth sth = VectorSth();
  EXPECT_TRUE(ValidateSth(sth).ok());
  sth.tree_size = kMaxJsonSafeInteger;
  EXPECT_TRUE(ValidateSth(sth).ok());
  sth.tree_size = kMaxJsonSafeInteger + 1;
  EXPECT_FALSE(ValidateSth(sth).ok());
  sth = VectorSth();
  sth.timestamp_ms = std::numeric_limits<uint64_t>::max();
  EXPECT_FALSE(ValidateSth(sth).ok());
  // The empty log has exactly one root.
  sth = VectorSth();
  sth.tree_size = 0;
  EXPECT_FALSE(ValidateSth(sth).ok());
  sth.root = EmptyRoot();
  EXPECT_TRUE(ValidateSth(sth).ok());
  // A signed but invalid head is refused before the signature is looked at.
  sth.tree_size = kMaxJsonSafeInteger + 1;
  const SignedSth s = Sign(sth);
  const crypto::Ed25519Public pub = *crypto::Ed25519PublicKey(Seed());
  EXPECT_EQ(VerifySthSignature(s, VerifierFor(pub)).code(), StatusCode::kInvalidArgument);
}

TEST(SthTextTest, FromFieldsAndStrictHex) {
  const Sth v = VectorSth();
  const std::string log_hex = FormatLogId(v.log_id);
  const std::string root_hex = FormatHash(v.root);
  const StatusOr<Sth> sth = SthFromFields(log_hex, v.tree_size, v.timestamp_ms, root_hex);
  ASSERT_TRUE(sth.ok()) << sth.status().ToString();
  EXPECT_EQ(*sth, v);

  std::string upper = log_hex;
  upper[1] = 'A';
  upper[3] = 'B';
  EXPECT_FALSE(SthFromFields(upper, 7, 1, root_hex).ok());
  EXPECT_FALSE(SthFromFields(log_hex.substr(2), 7, 1, root_hex).ok());
  EXPECT_FALSE(SthFromFields("0x" + log_hex, 7, 1, root_hex).ok());
  EXPECT_FALSE(SthFromFields(log_hex, 7, 1, std::string(64, 'f')).ok());
  EXPECT_FALSE(SthFromFields(log_hex, 7, kMaxJsonSafeInteger + 1, root_hex).ok());
  const StatusOr<Sth> bad_root = SthFromFields(log_hex, 7, 1, root_hex.substr(1));
  ASSERT_FALSE(bad_root.ok());
  EXPECT_EQ(bad_root.status().message().rfind("sth root", 0), 0u) << bad_root.status().ToString();

  const SignedSth s = Sign(v);
  const std::string sig_hex = FormatSthSignature(s.signature);
  ASSERT_EQ(sig_hex.size(), 128u);
  const StatusOr<SthSignature> sig = ParseSthSignature(sig_hex);
  ASSERT_TRUE(sig.ok());
  EXPECT_EQ(*sig, s.signature);
  EXPECT_FALSE(ParseSthSignature(sig_hex.substr(2)).ok());
  EXPECT_FALSE(ParseSthSignature(sig_hex + "00").ok());
  EXPECT_FALSE(ParseSthSignature("").ok());
}

TEST(SthTextTest, JsonFieldNames) {
  EXPECT_EQ(json_names::kLogId, "logId");
  EXPECT_EQ(json_names::kSthTreeSize, "treeSize");
  EXPECT_EQ(json_names::kTimestamp, "timestamp");
  EXPECT_EQ(json_names::kRoot, "root");
  EXPECT_EQ(json_names::kSignature, "signature");
}

}  // namespace
}  // namespace vp::ballot
