// AES-256-GCM against the GCM specification's test cases 13 and 14 (McGrew & Viega), and
// the tampering it must refuse.
#include "vp/crypto/aead.h"

#include <gtest/gtest.h>

namespace vp::crypto {
namespace {

TEST(Aes256Gcm, SpecCase13EmptyPlaintext) {
  const Bytes key(32, 0), nonce(12, 0);
  auto sealed = Aes256GcmSeal(key, nonce, {}, {});
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(HexEncode(*sealed), "530f8afbc74536b9a963b4f1c4cb738b");
  auto opened = Aes256GcmOpen(key, nonce, {}, *sealed);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(opened->size(), 0u);
}

TEST(Aes256Gcm, SpecCase14) {
  const Bytes key(32, 0), nonce(12, 0), plain(16, 0);
  auto sealed = Aes256GcmSeal(key, nonce, {}, plain);
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(HexEncode(*sealed), "cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919");
}

TEST(Aes256Gcm, RefusesEveryKindOfTampering) {
  Bytes key(32), nonce(12);
  for (size_t i = 0; i < 32; ++i) key[i] = static_cast<uint8_t>(i);
  const Bytes aad = {'w', 'a', 'l', 'l', 'e', 't'};
  const Bytes plain = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  auto sealed = *Aes256GcmSeal(key, nonce, aad, plain);
  ASSERT_TRUE(Aes256GcmOpen(key, nonce, aad, sealed).ok());
  for (size_t i = 0; i < sealed.size(); ++i) {
    Bytes bad = sealed;
    bad[i] ^= 0x01;
    EXPECT_EQ(Aes256GcmOpen(key, nonce, aad, bad).status().code(), StatusCode::kUnauthenticated) << i;
  }
  Bytes other_aad = aad;
  other_aad[0] = 'W';
  EXPECT_EQ(Aes256GcmOpen(key, nonce, other_aad, sealed).status().code(), StatusCode::kUnauthenticated);
  Bytes other_nonce = nonce;
  other_nonce[11] = 1;
  EXPECT_EQ(Aes256GcmOpen(key, other_nonce, aad, sealed).status().code(), StatusCode::kUnauthenticated);
  Bytes other_key = key;
  other_key[0] ^= 0x80;
  EXPECT_EQ(Aes256GcmOpen(other_key, nonce, aad, sealed).status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(Aes256GcmOpen(key, nonce, aad, ByteSpan(sealed).first(15)).status().code(), StatusCode::kInvalidArgument);
}

TEST(Aes256Gcm, RefusesWrongSizes) {
  EXPECT_EQ(Aes256GcmSeal(Bytes(16), Bytes(12), {}, {}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Aes256GcmSeal(Bytes(32), Bytes(16), {}, {}).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace vp::crypto
