// Capability tokens: the format (a vector computed independently with Python's hmac, hashlib
// and base64), every tampered part, expiry at the boundary, another session's token, and the
// strict base64url of RFC 4648 (its section 10 vectors).
#include "vp/election/capability.h"

#include <gtest/gtest.h>

#include <string>

#include "vp/crypto/hash.h"

namespace vp::election {
namespace {

constexpr std::string_view kSid = "0f8c5b1e-2a47-4d3b-9c61-7e5a3f2d1b09";
constexpr std::string_view kEid = "00000000-0000-4000-8000-000000000001";
constexpr int64_t kExp = 1700086400;

Bytes TestKey() {
  Bytes k(32);
  for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<uint8_t>(i);
  return k;
}

CapabilityClaims Claims() { return {std::string(kSid), std::string(kEid), kExp}; }

// A token over any payload text, MACed with the right key: what only the key holder can make.
std::string Forge(ByteSpan key, std::string_view payload) {
  const std::string signed_part = "v1." + Base64UrlEncode(AsBytes(payload));
  return signed_part + "." + HexEncode(crypto::HmacSha256(key, AsBytes(signed_part)));
}

void ExpectCode(const StatusOr<CapabilityClaims>& r, std::string_view code) {
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(r.status().message().rfind(std::string(code) + ": ", 0), 0u) << r.status().message();
}

constexpr int64_t kNowMs = (kExp - 3600) * 1000;

TEST(Capability, MatchesTheIndependentVector) {
  // Python: payload = json.dumps({...}, separators=(',', ':'), sort_keys=True);
  // "v1." + urlsafe_b64encode(payload).rstrip("="), then hmac.new(key, that, sha256).hexdigest().
  const std::string token = MintCapability(TestKey(), Claims());
  EXPECT_EQ(token,
            "v1.eyJlaWQiOiIwMDAwMDAwMC0wMDAwLTQwMDAtODAwMC0wMDAwMDAwMDAwMDEiLCJleHAiOjE3MDAwODY0MDAsInNpZCI6IjBmOGM1"
            "YjFlLTJhNDctNGQzYi05YzYxLTdlNWEzZjJkMWIwOSJ9.6453e755e313d81f1e259165556af554c3d6538740859058a8e356a94e9ef99f");
  auto r = VerifyCapability(TestKey(), token, kSid, kNowMs);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, Claims());
}

TEST(Capability, ExpiresAtExpExactly) {
  const std::string token = MintCapability(TestKey(), Claims());
  EXPECT_TRUE(VerifyCapability(TestKey(), token, kSid, kExp * 1000 - 1).ok());
  ExpectCode(VerifyCapability(TestKey(), token, kSid, kExp * 1000), kSessionExpired);
  ExpectCode(VerifyCapability(TestKey(), token, kSid, kExp * 1000 + 86'400'000), kSessionExpired);
}

TEST(Capability, AnotherSessionsTokenIsRefused) {
  const std::string token = MintCapability(TestKey(), Claims());
  ExpectCode(VerifyCapability(TestKey(), token, "0f8c5b1e-2a47-4d3b-9c61-7e5a3f2d1b0a", kNowMs), kInvalidCapability);
  ExpectCode(VerifyCapability(TestKey(), token, "", kNowMs), kInvalidCapability);
}

TEST(Capability, AnotherKeyIsRefused) {
  Bytes other = TestKey();
  other[0] ^= 1;
  ExpectCode(VerifyCapability(other, MintCapability(TestKey(), Claims()), kSid, kNowMs), kInvalidCapability);
}

TEST(Capability, EveryTamperedCharacterIsRefused) {
  const std::string token = MintCapability(TestKey(), Claims());
  for (size_t i = 0; i < token.size(); ++i) {
    for (char replacement : {'A', 'a', '0', '.', '_', 'f'}) {
      if (token[i] == replacement) continue;
      std::string t = token;
      t[i] = replacement;
      const auto r = VerifyCapability(TestKey(), t, kSid, kNowMs);
      EXPECT_FALSE(r.ok()) << "position " << i << " -> " << replacement;
      if (!r.ok()) {
        EXPECT_EQ(r.status().message().rfind("INVALID_CAPABILITY: ", 0), 0u) << r.status().message();
      }
    }
  }
}

TEST(Capability, MalformedTokensAreRefused) {
  const std::string token = MintCapability(TestKey(), Claims());
  const std::string mac = token.substr(token.rfind('.') + 1);
  const std::string payload = token.substr(3, token.rfind('.') - 3);
  std::string upper_mac = mac;
  for (char& c : upper_mac) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const std::string cases[] = {
      "",
      "v1",
      "v1.",
      "v1..",
      "v1." + payload,
      "v1." + payload + ".",
      "v2." + payload + "." + mac,
      "V1." + payload + "." + mac,
      "v1." + payload + "." + upper_mac,              // the MAC is lower-case hex only
      "v1." + payload + "." + mac + "0",              // 65 digits
      "v1." + payload + "." + mac.substr(1),          // 63 digits
      "v1." + payload + "=." + mac,                   // padding
      "v1." + payload + ".x." + mac,                  // a third part
      " " + token,
      token + " ",
      token + "\n",
      "v1." + std::string(600, 'A') + "." + mac,      // too long
  };
  for (const std::string& t : cases) {
    ExpectCode(VerifyCapability(TestKey(), t, kSid, kNowMs), kInvalidCapability);
  }
}

TEST(Capability, PayloadsThatAreNotExactlySidEidExpAreRefusedEvenWithAValidMac) {
  const Bytes key = TestKey();
  const std::string sid(kSid), eid(kEid);
  const std::string cases[] = {
      "not json",
      "[]",
      R"({"sid":")" + sid + R"(","eid":")" + eid + R"("})",
      R"({"sid":")" + sid + R"(","eid":")" + eid + R"(","exp":1700086400,"x":1})",
      R"({"sid":")" + sid + R"(","eid":")" + eid + R"(","exp":"1700086400"})",
      R"({"sid":")" + sid + R"(","eid":")" + eid + R"(","exp":-1})",
      R"({"sid":")" + sid + R"(","eid":")" + eid + R"(","exp":1.7e9})",
      R"({"sid":")" + sid + R"(","eid":")" + eid + R"(","exp":0})",
      R"({"sid":")" + sid + R"(","eid":")" + eid + R"(","exp":99999999999999999})",
      R"({"sid":")" + sid + R"(","sid":")" + sid + R"(","eid":")" + eid + R"(","exp":1700086400})",
      R"({"sid":")" + sid + R"(","eid":"not-a-uuid","exp":1700086400})",
      R"({"sid":"0F8C5B1E-2A47-4D3B-9C61-7E5A3F2D1B09","eid":")" + eid + R"(","exp":1700086400})",
      R"({"sid":1,"eid":")" + eid + R"(","exp":1700086400})",
  };
  for (const std::string& p : cases) {
    ExpectCode(VerifyCapability(key, Forge(key, p), kSid, kNowMs), kInvalidCapability);
  }
  // The same payload in nlohmann's key order is accepted: the MAC, not the text order, decides.
  const std::string ok = R"({"exp":1700086400,"sid":")" + sid + R"(","eid":")" + eid + R"("})";
  EXPECT_TRUE(VerifyCapability(key, Forge(key, ok), kSid, kNowMs).ok());
}

TEST(Capability, KeyDerivationNeedsA32BytePepper) {
  EXPECT_FALSE(DeriveCapabilityKey(Bytes(31)).ok());
  auto a = DeriveCapabilityKey(TestKey());
  auto b = DeriveCapabilityKey(TestKey());
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->size(), 32u);
  EXPECT_TRUE(ConstantTimeEqual(a->view(), b->view()));
  EXPECT_FALSE(ConstantTimeEqual(a->view(), TestKey()));  // not the pepper itself
}

TEST(Base64Url, Rfc4648Vectors) {
  // RFC 4648 section 10, without padding.
  const std::pair<std::string, std::string> vectors[] = {
      {"", ""}, {"f", "Zg"}, {"fo", "Zm8"}, {"foo", "Zm9v"}, {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(Base64UrlEncode(AsBytes(plain)), encoded);
    auto d = Base64UrlDecode(encoded);
    ASSERT_TRUE(d.ok()) << encoded;
    EXPECT_EQ(std::string(d->begin(), d->end()), plain);
  }
  // The URL-safe alphabet: 0xfb 0xff is "+/8=" in standard base64.
  const Bytes b = {0xfb, 0xff};
  EXPECT_EQ(Base64UrlEncode(b), "-_8");
  EXPECT_EQ(*Base64UrlDecode("-_8"), b);
}

TEST(Base64Url, DecodingIsStrict) {
  for (const char* bad : {"Zg==", "Zh", "Zm9=", "+/8", "Z", "Zm9vY", "Zm 9v", "Zm9v\n", "Zm9\xc3\xa9"}) {
    EXPECT_FALSE(Base64UrlDecode(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace vp::election
