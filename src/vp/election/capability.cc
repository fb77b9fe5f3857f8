// Session capability tokens: minting, strict parsing and constant-time verification.
#include "vp/election/capability.h"

#include <array>

#include <nlohmann/json.hpp>

#include "vp/ballot/commitment.h"
#include "vp/base/json.h"
#include "vp/crypto/hash.h"

namespace vp::election {
namespace {

constexpr std::string_view kVersionPrefix = "v1.";
constexpr std::string_view kKeyInfo = "vaultproof ballot capability key v1";
constexpr size_t kMacHexLength = 64;
constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int Base64UrlValue(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

Status Invalid(std::string_view reason) {
  return UnauthenticatedError(std::string(kInvalidCapability) + ": " + std::string(reason));
}

std::string MacHex(ByteSpan key, std::string_view signed_part) {
  return HexEncode(crypto::HmacSha256(key, AsBytes(signed_part)));
}

bool IsLowerHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// The canonical UUID text (ballot::ParseElectionId is the one strict UUID parser).
bool IsCanonicalUuid(std::string_view s) { return ballot::ParseElectionId(s).ok(); }

}  // namespace

StatusOr<SecureBuffer> DeriveCapabilityKey(ByteSpan pepper) {
  if (pepper.size() != 32) return InvalidArgumentError("capability key: the pepper must be 32 bytes");
  return crypto::HkdfSha256(pepper, {}, AsBytes(kKeyInfo), 32);
}

std::string Base64UrlEncode(ByteSpan data) {
  std::string out;
  out.reserve((data.size() * 4 + 2) / 3);
  size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    const uint32_t v = (uint32_t{data[i]} << 16) | (uint32_t{data[i + 1]} << 8) | data[i + 2];
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  const size_t rest = data.size() - i;
  if (rest == 1) {
    const uint32_t v = uint32_t{data[i]} << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
  } else if (rest == 2) {
    const uint32_t v = (uint32_t{data[i]} << 16) | (uint32_t{data[i + 1]} << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
  }
  return out;
}

StatusOr<Bytes> Base64UrlDecode(std::string_view text) {
  if (text.size() % 4 == 1) return InvalidArgumentError("base64url: impossible length");
  Bytes out;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    const int v = Base64UrlValue(c);
    if (v < 0) return InvalidArgumentError("base64url: character outside the URL-safe alphabet (no padding)");
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<uint8_t>((acc >> bits) & 0xff));
    }
  }
  // What is left must be zero bits: otherwise two texts would decode to the same bytes.
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return InvalidArgumentError("base64url: non-canonical last character");
  return out;
}

std::string MintCapability(ByteSpan key, const CapabilityClaims& claims) {
  const nlohmann::json payload = {{"sid", claims.session_id}, {"eid", claims.election_id}, {"exp", claims.expires_s}};
  std::string signed_part = std::string(kVersionPrefix) + Base64UrlEncode(AsBytes(payload.dump()));
  const std::string mac = MacHex(key, signed_part);
  return signed_part + "." + mac;
}

StatusOr<CapabilityClaims> VerifyCapability(ByteSpan key, std::string_view token, std::string_view session_id,
                                            int64_t now_ms) {
  if (token.empty()) return Invalid("X-Session-Capability is missing");
  if (token.size() > kMaxCapabilityLength) return Invalid("token too long");
  if (token.substr(0, kVersionPrefix.size()) != kVersionPrefix) return Invalid("expected a v1. token");
  const size_t dot = token.rfind('.');
  if (dot < kVersionPrefix.size() + 1) return Invalid("expected v1.<payload>.<mac>");
  const std::string_view signed_part = token.substr(0, dot);
  const std::string_view payload_b64 = signed_part.substr(kVersionPrefix.size());
  const std::string_view mac_hex = token.substr(dot + 1);
  if (mac_hex.size() != kMacHexLength || !IsLowerHex(mac_hex)) return Invalid("the MAC must be 64 lower-case hex digits");
  // The alphabet has no '.', so a third dot lands here as an invalid character.
  StatusOr<Bytes> payload = Base64UrlDecode(payload_b64);
  if (!payload.ok()) return Invalid("payload: " + payload.status().message());

  // The MAC first: nothing from an unauthenticated payload is interpreted.
  const std::string expected = MacHex(key, signed_part);
  if (!ConstantTimeEqual(AsBytes(expected), AsBytes(mac_hex))) return Invalid("the MAC does not match");

  const std::string_view text(reinterpret_cast<const char*>(payload->data()), payload->size());
  StatusOr<nlohmann::json> doc = ParseJsonStrict(text, "capability payload", 2);
  if (!doc.ok()) return Invalid(doc.status().message());
  const nlohmann::json& j = *doc;
  if (!j.is_object() || j.size() != 3) return Invalid("payload must be an object {sid, eid, exp}");
  CapabilityClaims claims;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key() == "sid" && it->is_string()) {
      claims.session_id = it->get<std::string>();
    } else if (it.key() == "eid" && it->is_string()) {
      claims.election_id = it->get<std::string>();
    } else if (it.key() == "exp" && it->is_number_unsigned()) {
      const uint64_t exp = it->get<uint64_t>();
      if (exp == 0 || exp > (uint64_t{1} << 40)) return Invalid("exp out of range");
      claims.expires_s = static_cast<int64_t>(exp);
    } else {
      return Invalid("payload must be an object {sid, eid, exp}");
    }
  }
  if (!IsCanonicalUuid(claims.session_id) || !IsCanonicalUuid(claims.election_id) || claims.expires_s == 0) {
    return Invalid("payload must be an object {sid, eid, exp}");
  }
  if (claims.session_id != session_id) return Invalid("the token was issued for another session");
  if (claims.expires_s * 1000 <= now_ms) {
    return UnauthenticatedError(std::string(kSessionExpired) + ": the capability expired; create a new session");
  }
  return claims;
}

}  // namespace vp::election
