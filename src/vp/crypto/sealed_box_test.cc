// Sealed boxes: the byte format of docs/kms.md rebuilt from the primitives, round trips,
// and every tampering or mix-up that must be refused without releasing plaintext.
#include "vp/crypto/sealed_box.h"

#include <gtest/gtest.h>

#include "vp/crypto/aead.h"
#include "vp/crypto/hash.h"
#include "vp/crypto/x25519.h"

namespace vp::crypto {
namespace {

Bytes H(std::string_view hex) { return *HexDecode(hex); }

struct Recipient {
  SecureBuffer priv;
  X25519Public pub{};
};

Recipient NewRecipient() {
  auto kp = X25519Generate();
  EXPECT_TRUE(kp.ok());
  return {std::move(kp->private_key), kp->public_key};
}

TEST(SealedBox, FormatMatchesTheDocumentedConstruction) {
  // The RFC 7748 section 6.1 keys: Alice is the sender's ephemeral key, Bob the recipient.
  const Bytes eph_priv = H("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  const Bytes eph_pub = H("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  const Bytes bob_priv = H("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
  const Bytes bob_pub = H("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
  const Bytes nonce = H("000102030405060708090a0b");
  const Bytes info = {'d', 'e', 'k'};
  const Bytes aad = {'c', 't', 'x'};
  const Bytes plain = {'s', 'e', 'c', 'r', 'e', 't'};

  auto shared = X25519SharedSecret(eph_priv, bob_pub);
  ASSERT_TRUE(shared.ok());
  Bytes salt = eph_pub;
  Append(salt, bob_pub);
  Bytes full_info(AsBytes("vp-seal-v1").begin(), AsBytes("vp-seal-v1").end());
  Append(full_info, info);
  auto key = HkdfSha256(shared->view(), salt, full_info, 32);
  ASSERT_TRUE(key.ok());
  auto ct = Aes256GcmSeal(key->view(), nonce, aad, plain);
  ASSERT_TRUE(ct.ok());
  Bytes box = {0x01};
  Append(box, eph_pub);
  Append(box, nonce);
  Append(box, *ct);
  ASSERT_EQ(box.size(), kSealedBoxOverhead + plain.size());

  auto opened = OpenSealed(bob_priv, info, aad, box);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(HexEncode(opened->view()), HexEncode(plain));
}

TEST(SealedBox, RoundTrip) {
  Recipient r = NewRecipient();
  for (size_t n : {size_t{0}, size_t{1}, size_t{32}, size_t{1000}}) {
    Bytes plain(n);
    for (size_t i = 0; i < n; ++i) plain[i] = static_cast<uint8_t>(i * 7);
    auto box = SealTo(r.pub, AsBytes("info"), AsBytes("aad"), plain);
    ASSERT_TRUE(box.ok());
    EXPECT_EQ(box->size(), kSealedBoxOverhead + n);
    EXPECT_EQ((*box)[0], kSealedBoxVersion);
    auto opened = OpenSealed(r.priv.view(), AsBytes("info"), AsBytes("aad"), *box);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    EXPECT_EQ(HexEncode(opened->view()), HexEncode(plain));
  }
}

TEST(SealedBox, EachSealIsFresh) {
  Recipient r = NewRecipient();
  auto a = SealTo(r.pub, {}, {}, AsBytes("same"));
  auto b = SealTo(r.pub, {}, {}, AsBytes("same"));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);  // fresh ephemeral key and nonce
}

TEST(SealedBox, RefusesTamperingAtEveryByte) {
  Recipient r = NewRecipient();
  auto box = SealTo(r.pub, AsBytes("info"), AsBytes("aad"), AsBytes("a data key of 32 bytes.........."));
  ASSERT_TRUE(box.ok());
  for (size_t i = 0; i < box->size(); ++i) {
    for (uint8_t flip : {uint8_t{0x01}, uint8_t{0x80}}) {
      Bytes bad = *box;
      bad[i] = static_cast<uint8_t>(bad[i] ^ flip);
      auto opened = OpenSealed(r.priv.view(), AsBytes("info"), AsBytes("aad"), bad);
      ASSERT_FALSE(opened.ok()) << "byte " << i;
      // The version byte is a format error; everything else fails authentication.
      EXPECT_EQ(opened.status().code(), i == 0 ? StatusCode::kInvalidArgument : StatusCode::kUnauthenticated)
          << "byte " << i;
    }
  }
}

TEST(SealedBox, RefusesOtherRecipientInfoOrAad) {
  Recipient r = NewRecipient();
  Recipient other = NewRecipient();
  auto box = SealTo(r.pub, AsBytes("info"), AsBytes("aad"), AsBytes("secret"));
  ASSERT_TRUE(box.ok());
  EXPECT_EQ(OpenSealed(other.priv.view(), AsBytes("info"), AsBytes("aad"), *box).status().code(),
            StatusCode::kUnauthenticated);
  EXPECT_EQ(OpenSealed(r.priv.view(), AsBytes("infx"), AsBytes("aad"), *box).status().code(),
            StatusCode::kUnauthenticated);
  EXPECT_EQ(OpenSealed(r.priv.view(), {}, AsBytes("aad"), *box).status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(OpenSealed(r.priv.view(), AsBytes("info"), AsBytes("aaD"), *box).status().code(),
            StatusCode::kUnauthenticated);
  EXPECT_EQ(OpenSealed(r.priv.view(), AsBytes("info"), {}, *box).status().code(), StatusCode::kUnauthenticated);
}

TEST(SealedBox, RefusesLowOrderEphemeralKey) {
  Recipient r = NewRecipient();
  auto box = SealTo(r.pub, {}, {}, AsBytes("secret"));
  ASSERT_TRUE(box.ok());
  Bytes bad = *box;
  for (size_t i = 1; i <= 32; ++i) bad[i] = 0;  // u = 0
  EXPECT_EQ(OpenSealed(r.priv.view(), {}, {}, bad).status().code(), StatusCode::kUnauthenticated);
}

TEST(SealedBox, RefusesMalformedInput) {
  Recipient r = NewRecipient();
  auto box = SealTo(r.pub, {}, {}, AsBytes("secret"));
  ASSERT_TRUE(box.ok());
  for (size_t n = 0; n < kSealedBoxOverhead; ++n) {
    EXPECT_EQ(OpenSealed(r.priv.view(), {}, {}, ByteSpan(*box).first(n)).status().code(),
              StatusCode::kInvalidArgument)
        << n;
  }
  // Cut inside the ciphertext: long enough to parse, but the tag no longer matches.
  for (size_t n = kSealedBoxOverhead; n < box->size(); ++n) {
    EXPECT_EQ(OpenSealed(r.priv.view(), {}, {}, ByteSpan(*box).first(n)).status().code(),
              StatusCode::kUnauthenticated)
        << n;
  }
  Bytes extended = *box;
  extended.push_back(0);
  EXPECT_EQ(OpenSealed(r.priv.view(), {}, {}, extended).status().code(), StatusCode::kUnauthenticated);
  Bytes v2 = *box;
  v2[0] = 2;
  EXPECT_EQ(OpenSealed(r.priv.view(), {}, {}, v2).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(OpenSealed(ByteSpan(r.priv.view()).first(31), {}, {}, *box).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(SealTo(Bytes(31), {}, {}, AsBytes("x")).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(SealTo(Bytes(32, 0), {}, {}, AsBytes("x")).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace vp::crypto
