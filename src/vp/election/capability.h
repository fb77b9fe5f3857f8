// Session capability tokens of the ballot API (docs/api.md, "Ballot API"): a voter's session
// is authenticated by `X-Session-ID` and `X-Session-Capability`, the token minted when the
// session was created:
//
//   v1.<base64url(payload)>.<hex HMAC-SHA256(key, "v1." + base64url(payload))>
//   payload = {"eid":"<election uuid>","exp":<unix seconds>,"sid":"<session uuid>"}
//
// The key is 32 bytes derived from the gateway's pepper (DeriveCapabilityKey), so it is never
// stored. Parsing is strict (one text per token) and the MAC is checked in constant time
// before the payload's JSON is read.
//
//   ASSIGN_OR_RETURN(SecureBuffer key, DeriveCapabilityKey(pepper.view()));
//   std::string token = MintCapability(key.view(), {sid, eid, now_s + kCapabilityTtlS});
//   ASSIGN_OR_RETURN(CapabilityClaims c, VerifyCapability(key.view(), token, sid, now_ms));
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "vp/base/bytes.h"
#include "vp/base/secure.h"
#include "vp/base/status.h"

namespace vp::election {

inline constexpr int64_t kCapabilityTtlS = 24 * 3600;
// Longer texts are refused before any decoding (a real token is about 190 characters).
inline constexpr size_t kMaxCapabilityLength = 512;

// Refusal codes. Every refusal is kUnauthenticated with a message "CODE: reason" (ErrorCode()).
inline constexpr std::string_view kInvalidCapability = "INVALID_CAPABILITY";
inline constexpr std::string_view kSessionExpired = "SESSION_EXPIRED";

struct CapabilityClaims {
  std::string session_id;   // canonical lower-case UUID
  std::string election_id;  // canonical lower-case UUID
  int64_t expires_s = 0;    // unix seconds; the token is refused from this second on

  friend bool operator==(const CapabilityClaims&, const CapabilityClaims&) = default;
};

// HKDF-SHA256 of the gateway's 32-byte pepper with its own label. kInvalidArgument unless
// the pepper is 32 bytes.
StatusOr<SecureBuffer> DeriveCapabilityKey(ByteSpan pepper);

// The token for the claims (which the caller made: ids canonical, expiry positive).
std::string MintCapability(ByteSpan key, const CapabilityClaims& claims);

// Checks a token presented with X-Session-ID `session_id` at now_ms. kUnauthenticated with
// "INVALID_CAPABILITY: ..." for a malformed token, a wrong MAC (any part tampered, another
// key) or a token of another session; "SESSION_EXPIRED: ..." when exp <= now.
StatusOr<CapabilityClaims> VerifyCapability(ByteSpan key, std::string_view token, std::string_view session_id,
                                            int64_t now_ms);

// RFC 4648 section 5 without padding. Decoding is strict: only the URL-safe alphabet, no '=',
// no length of 1 mod 4, and the unused low bits of the last character must be zero (so every
// byte string has exactly one text). kInvalidArgument otherwise.
std::string Base64UrlEncode(ByteSpan data);
StatusOr<Bytes> Base64UrlDecode(std::string_view text);

}  // namespace vp::election
