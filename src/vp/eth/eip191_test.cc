// EIP-191 personal_sign: published digest and signature, recovery, and the malformed
// signatures recovery must refuse.
#include "vp/eth/eip191.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <iostream>
#include <random>
#include <string>

#include "vp/eth/uint256.h"

namespace vp::eth {
namespace {

Bytes H(std::string_view hex) { return *HexDecode(hex); }

uint64_t TestSeed() {
  const char* env = std::getenv("VP_TEST_SEED");
  const uint64_t seed = env != nullptr ? std::strtoull(env, nullptr, 10) : 20261121;
  std::cout << "[ seed ] VP_TEST_SEED=" << seed << "\n";
  return seed;
}

// web3.js documentation, web3.eth.accounts.sign / recover
// (https://docs.web3js.org/api/web3-eth-accounts/function/sign): RFC 6979, so byte-exact.
const Bytes kWeb3Key = H("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318");
constexpr std::string_view kWeb3Signature =
    "0xb91467e570a6466aa9e9876cbcd013baba02900b8979d43fe208a4a4f339f5fd6007e74cd82e037b800186422fc2da167c747ef045e5"
    "d18a5f5d4300f8e1a0291c";
constexpr std::string_view kWeb3Signer = "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23";

TEST(PersonalSign, DigestMatchesPublishedValues) {
  EXPECT_EQ(HexEncode(PersonalMessageDigest(AsBytes("Some data")), true),
            "0x1da44b586eb0729ff70a73c326926f6ed5a25f5b056e7f47fbc6e58d86871655");
  // The prefix counts bytes in decimal: the digest is keccak256 of exactly this string.
  EXPECT_EQ(PersonalMessageDigest(AsBytes("Some data")),
            crypto::Keccak256(AsBytes("\x19" "Ethereum Signed Message:\n9Some data")));
  // A 10-byte message gets a two-digit length.
  EXPECT_EQ(PersonalMessageDigest(AsBytes("0123456789")),
            crypto::Keccak256(AsBytes("\x19" "Ethereum Signed Message:\n100123456789")));
  // The empty message (ethers hashMessage("")).
  EXPECT_EQ(HexEncode(PersonalMessageDigest({}), true),
            "0x5f35dce98ba4fba25530a026ed80b2cecdaa31091ba4958b99b52ea1d068adad");
}

TEST(PersonalSign, SignsThePublishedVector) {
  auto sig = SignPersonalMessageHex(kWeb3Key, AsBytes("Some data"));
  ASSERT_TRUE(sig.ok()) << sig.status().ToString();
  EXPECT_EQ(*sig, kWeb3Signature);
  auto raw = SignPersonalMessage(kWeb3Key, AsBytes("Some data"));
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ((*raw)[64], 0x1c);
}

TEST(PersonalSign, RecoversThePublishedSigner) {
  auto who = RecoverPersonalMessageSignerHex(AsBytes("Some data"), kWeb3Signature);
  ASSERT_TRUE(who.ok()) << who.status().ToString();
  EXPECT_EQ(who->ToChecksumHex(), kWeb3Signer);
  EXPECT_EQ(*who, *Address::FromPrivateKey(kWeb3Key));
  // v written as 0/1 instead of 27/28 recovers the same signer.
  Bytes sig = H(kWeb3Signature);
  sig[64] = 1;
  EXPECT_EQ(RecoverPersonalMessageSigner(AsBytes("Some data"), sig)->ToChecksumHex(), kWeb3Signer);
  // A different message recovers someone else.
  auto other = RecoverPersonalMessageSignerHex(AsBytes("Some data!"), kWeb3Signature);
  ASSERT_TRUE(other.ok());
  EXPECT_NE(other->ToChecksumHex(), kWeb3Signer);
}

void ExpectRefused(const Bytes& sig, std::string_view message_part) {
  auto r = RecoverPersonalMessageSigner(AsBytes("Some data"), sig);
  ASSERT_FALSE(r.ok()) << HexEncode(sig);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find(message_part), std::string::npos) << r.status().message();
}

TEST(PersonalSign, RecoveryRefusesMalformedSignatures) {
  const Bytes good = H(kWeb3Signature);
  ExpectRefused({}, "signature must be 65 bytes (r || s || v), got 0");
  ExpectRefused(Bytes(good.begin(), good.begin() + 64), "got 64");  // no EIP-2098 compact form
  Bytes longer = good;
  longer.push_back(0);
  ExpectRefused(longer, "got 66");
  for (int v : {2, 26, 29, 35, 37, 255}) {
    Bytes bad_v = good;
    bad_v[64] = static_cast<uint8_t>(v);
    ExpectRefused(bad_v, "v must be 27, 28, 0 or 1, got " + std::to_string(v));
  }
  Bytes zero_r = good;
  std::fill(zero_r.begin(), zero_r.begin() + 32, 0);
  ExpectRefused(zero_r, "personal_sign: secp256k1:");
  Bytes big_r = good;
  std::fill(big_r.begin(), big_r.begin() + 32, 0xff);
  ExpectRefused(big_r, "personal_sign: secp256k1:");
  // The malleable twin (n - s, flipped v) is refused: only low s is accepted (EIP-2).
  const U256 n = *U256::Parse("0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141");
  const U256 s = *U256::FromBigEndian(ByteSpan(good).subspan(32, 32));
  Bytes twin = good;
  const auto high_s = (n - s).ToBigEndian32();
  std::copy(high_s.begin(), high_s.end(), twin.begin() + 32);
  twin[64] = 27;
  ExpectRefused(twin, "personal_sign: secp256k1:");
  EXPECT_EQ(RecoverPersonalMessageSignerHex(AsBytes("x"), "0xzz").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(RecoverPersonalMessageSignerHex(AsBytes("x"), "0x1").status().code(), StatusCode::kInvalidArgument);
}

TEST(PersonalSign, RefusesInvalidKeys) {
  EXPECT_EQ(SignPersonalMessage(Bytes(32, 0), AsBytes("x")).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(SignPersonalMessage(Bytes(16, 1), AsBytes("x")).status().code(), StatusCode::kInvalidArgument);
}

TEST(PersonalSign, RandomMessagesRoundTrip) {
  std::mt19937_64 rng(TestSeed());
  for (int i = 0; i < 100; ++i) {
    Bytes key(32);
    do {
      for (uint8_t& x : key) x = static_cast<uint8_t>(rng());
    } while (!crypto::Secp256k1ValidatePrivateKey(key).ok());
    Bytes message(rng() % 200);
    for (uint8_t& x : message) x = static_cast<uint8_t>(rng());
    auto sig = SignPersonalMessage(key, message);
    ASSERT_TRUE(sig.ok());
    EXPECT_TRUE((*sig)[64] == 27 || (*sig)[64] == 28);
    auto who = RecoverPersonalMessageSigner(message, *sig);
    ASSERT_TRUE(who.ok()) << who.status().ToString();
    EXPECT_EQ(*who, *Address::FromPrivateKey(key));
    // Deterministic (RFC 6979): signing twice gives the same bytes.
    EXPECT_EQ(*SignPersonalMessage(key, message), *sig);
  }
}

}  // namespace
}  // namespace vp::eth
