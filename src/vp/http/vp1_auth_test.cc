// VP1-HMAC-SHA256: fixed vectors (computed independently with Python's hmac/hashlib and
// published in docs/api.md, "Worked example"), RFC 4648 base64url vectors, and every
// malformed Authorization header the parser must refuse.
#include "vp/http/vp1_auth.h"

#include <gtest/gtest.h>

namespace vp::http {
namespace {

Bytes Pepper() {
  Bytes p(32);
  for (size_t i = 0; i < p.size(); ++i) p[i] = static_cast<uint8_t>(i);
  return p;
}

constexpr std::string_view kSecret = "PQDUtrVtInWi0pqcZH7avNxSR7pV60njh5P3Cu9513g";

TEST(Base64Url, Rfc4648Vectors) {
  // RFC 4648 section 10, in the URL-safe alphabet without padding.
  EXPECT_EQ(Base64UrlEncode(AsBytes("")), "");
  EXPECT_EQ(Base64UrlEncode(AsBytes("f")), "Zg");
  EXPECT_EQ(Base64UrlEncode(AsBytes("fo")), "Zm8");
  EXPECT_EQ(Base64UrlEncode(AsBytes("foo")), "Zm9v");
  EXPECT_EQ(Base64UrlEncode(AsBytes("foob")), "Zm9vYg");
  EXPECT_EQ(Base64UrlEncode(AsBytes("fooba")), "Zm9vYmE");
  EXPECT_EQ(Base64UrlEncode(AsBytes("foobar")), "Zm9vYmFy");
  const Bytes high = {0xfb, 0xff, 0xfe};
  EXPECT_EQ(Base64UrlEncode(high), "-__-");
}

TEST(ApiKeySecret, DerivationVector) {
  SecureBuffer s = DeriveApiKeySecret(Pepper(), "ak_test", "n0nce");
  EXPECT_EQ(AsString(s.view()), kSecret);
  EXPECT_EQ(s.size(), 43u);
  // Any change of key id, nonce or pepper gives an unrelated secret.
  EXPECT_NE(AsString(DeriveApiKeySecret(Pepper(), "ak_tesu", "n0nce").view()), kSecret);
  EXPECT_NE(AsString(DeriveApiKeySecret(Pepper(), "ak_test", "n0ncf").view()), kSecret);
  Bytes other = Pepper();
  other[0] ^= 1;
  EXPECT_NE(AsString(DeriveApiKeySecret(other, "ak_test", "n0nce").view()), kSecret);
}

TEST(ApiKeySecret, SaltedHashVector) {
  const Bytes salt(16, 0xaa);
  EXPECT_EQ(HexEncode(ApiKeySecretHash(salt, AsBytes(kSecret))),
            "7292a5f60bdd312d2c68dc7154b756749749899eeba1d161c17ab5339a8daa2d");
}

TEST(Vp1, StringToSignAndSignatureVectors) {
  EXPECT_EQ(Vp1StringToSign("GET", "/v1/ping", "n=1", 1700000000, ""),
            "VP1\nGET\n/v1/ping\nn=1\n1700000000\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(HexEncode(Vp1Signature(AsBytes(kSecret), Vp1StringToSign("GET", "/v1/ping", "n=1", 1700000000, ""))),
            "4a512b70719527f327eec7b615352dc98b5c96865f93514b04d6f401962b93a6");
  EXPECT_EQ(HexEncode(Vp1Signature(AsBytes(kSecret),
                                   Vp1StringToSign("POST", "/v1/echo", "", 1700000000, R"({"hello":"world"})"))),
            "339e7ce9dd40fb66a039ad18113c7b5db4d63730ce80331488a496ad65efdd3b");
}

TEST(Vp1, HeaderRoundTripsAndVerifies) {
  std::string h = Vp1AuthorizationHeader("ak_test", AsBytes(kSecret), "GET", "/v1/ping", "n=1", 1700000000, "");
  EXPECT_EQ(h,
            "VP1-HMAC-SHA256 Credential=ak_test, Timestamp=1700000000, "
            "Signature=4a512b70719527f327eec7b615352dc98b5c96865f93514b04d6f401962b93a6");
  auto a = ParseVp1Authorization(h);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->key_id, "ak_test");
  EXPECT_EQ(a->timestamp, 1700000000);
  EXPECT_TRUE(Vp1Verify(*a, AsBytes(kSecret), "GET", "/v1/ping", "n=1", "").ok());
}

TEST(Vp1, VerifyRefusesAnyChangedInput) {
  auto a = *ParseVp1Authorization(
      Vp1AuthorizationHeader("ak_test", AsBytes(kSecret), "POST", "/v1/echo", "a=1", 1700000000, "{}"));
  EXPECT_TRUE(Vp1Verify(a, AsBytes(kSecret), "POST", "/v1/echo", "a=1", "{}").ok());
  EXPECT_EQ(Vp1Verify(a, AsBytes(kSecret), "PUT", "/v1/echo", "a=1", "{}").code(), StatusCode::kUnauthenticated);
  EXPECT_FALSE(Vp1Verify(a, AsBytes(kSecret), "POST", "/v1/echO", "a=1", "{}").ok());
  EXPECT_FALSE(Vp1Verify(a, AsBytes(kSecret), "POST", "/v1/echo", "a=2", "{}").ok());
  EXPECT_FALSE(Vp1Verify(a, AsBytes(kSecret), "POST", "/v1/echo", "a=1", "{} ").ok());  // body hash
  EXPECT_FALSE(Vp1Verify(a, AsBytes("wrong secret"), "POST", "/v1/echo", "a=1", "{}").ok());
  a.timestamp += 1;
  EXPECT_FALSE(Vp1Verify(a, AsBytes(kSecret), "POST", "/v1/echo", "a=1", "{}").ok());
}

TEST(Vp1, ParseAcceptsAnyOrderAndSpacing) {
  const std::string sig(64, 'a');
  auto a = ParseVp1Authorization("VP1-HMAC-SHA256 Signature=" + sig + ",Timestamp=5,   Credential=k-1_X");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->key_id, "k-1_X");
  EXPECT_EQ(a->timestamp, 5);
}

TEST(Vp1, ParseRefusesMalformedHeaders) {
  const std::string sig(64, 'a');
  const std::string ok_rest = "Credential=k, Timestamp=1, Signature=" + sig;
  const std::vector<std::string> bad = {
      "",
      "VP1-HMAC-SHA256",
      "VP1-HMAC-SHA256 ",
      "Bearer abc",
      "vp1-hmac-sha256 " + ok_rest,
      "VP1-HMAC-SHA256x " + ok_rest,
      "VP1-HMAC-SHA256 Credential=k, Timestamp=1",                          // no signature
      "VP1-HMAC-SHA256 Credential=k, Signature=" + sig,                     // no timestamp
      "VP1-HMAC-SHA256 Timestamp=1, Signature=" + sig,                      // no credential
      "VP1-HMAC-SHA256 " + ok_rest + ", Credential=k",                      // duplicate
      "VP1-HMAC-SHA256 " + ok_rest + ", Extra=1",                           // unknown field
      "VP1-HMAC-SHA256 " + ok_rest + ",",                                   // trailing comma
      "VP1-HMAC-SHA256 Credential=, Timestamp=1, Signature=" + sig,         // empty key id
      "VP1-HMAC-SHA256 Credential=k/1, Timestamp=1, Signature=" + sig,      // bad key id char
      "VP1-HMAC-SHA256 Credential=" + std::string(65, 'k') + ", Timestamp=1, Signature=" + sig,
      "VP1-HMAC-SHA256 Credential=k, Timestamp=-1, Signature=" + sig,
      "VP1-HMAC-SHA256 Credential=k, Timestamp=1e9, Signature=" + sig,
      "VP1-HMAC-SHA256 Credential=k, Timestamp=1234567890123, Signature=" + sig,  // 13 digits
      "VP1-HMAC-SHA256 Credential=k, Timestamp=, Signature=" + sig,
      "VP1-HMAC-SHA256 Credential=k, Timestamp=1, Signature=" + sig.substr(1),    // 63 hex
      "VP1-HMAC-SHA256 Credential=k, Timestamp=1, Signature=0x" + sig.substr(2),
      "VP1-HMAC-SHA256 Credential=k, Timestamp=1, Signature=" + std::string(64, 'g'),
      "VP1-HMAC-SHA256 Credential k, Timestamp=1, Signature=" + sig,
  };
  for (const std::string& h : bad) {
    auto a = ParseVp1Authorization(h);
    EXPECT_FALSE(a.ok()) << h;
    if (!a.ok()) {
      EXPECT_EQ(a.status().code(), StatusCode::kUnauthenticated) << h;
    }
  }
}

TEST(Vp1, SkewWindowIsInclusiveBothWays) {
  EXPECT_TRUE(Vp1CheckSkew(1000, 1000).ok());
  EXPECT_TRUE(Vp1CheckSkew(1300, 1000).ok());
  EXPECT_TRUE(Vp1CheckSkew(700, 1000).ok());
  EXPECT_EQ(Vp1CheckSkew(1301, 1000).code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(Vp1CheckSkew(699, 1000).code(), StatusCode::kUnauthenticated);
  EXPECT_FALSE(Vp1CheckSkew(0, 1700000000).ok());
  EXPECT_FALSE(Vp1CheckSkew(999999999999, 1700000000).ok());
}

}  // namespace
}  // namespace vp::http
