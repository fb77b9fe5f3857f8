// VP1-HMAC-SHA256 request signing (docs/api.md, "Authentication"), as pure functions so
// both the gateway and clients (bench/http_load, tests) compute exactly the same bytes.
//
//   Authorization: VP1-HMAC-SHA256 Credential=<keyId>, Timestamp=<unix s>, Signature=<hex>
//   Signature = hex(HMAC-SHA256(secret, "VP1\n" METHOD "\n" PATH "\n" QUERY "\n" TS "\n"
//                                        hex(SHA-256(body))))
//
// The HMAC key is the secret exactly as `vaultproof api-key create` prints it (its ASCII
// bytes). Secrets are derived, not stored: secret = base64url(HMAC-SHA256(pepper,
// "vp1-api-key|" keyId "|" nonce)); the store keeps salt and SHA-256(salt || secret).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "vp/base/bytes.h"
#include "vp/base/secure.h"

namespace vp::http {

inline constexpr std::string_view kVp1Scheme = "VP1-HMAC-SHA256";
inline constexpr int64_t kVp1MaxSkewSeconds = 300;

struct Vp1Authorization {
  std::string key_id;
  int64_t timestamp = 0;
  ByteArray<32> signature{};
};

// Parses the Authorization header value. The three fields may come in any order, each
// exactly once, separated by "," and optional spaces; keyId is 1..64 of [A-Za-z0-9_-];
// Timestamp is 1..12 decimal digits; Signature is 64 hex digits. Anything else is
// kUnauthenticated with a message saying which part is malformed (never echoing it).
StatusOr<Vp1Authorization> ParseVp1Authorization(std::string_view header);

// "VP1\nMETHOD\nPATH\nQUERY\nTS\nhex(sha256(body))".
std::string Vp1StringToSign(std::string_view method, std::string_view path, std::string_view query,
                            int64_t timestamp, std::string_view body);

ByteArray<32> Vp1Signature(ByteSpan secret, std::string_view string_to_sign);

// The complete header value a client sends.
std::string Vp1AuthorizationHeader(std::string_view key_id, ByteSpan secret, std::string_view method,
                                   std::string_view path, std::string_view query, int64_t timestamp,
                                   std::string_view body);

// kUnauthenticated when |timestamp - now| > max_skew (both directions).
Status Vp1CheckSkew(int64_t timestamp, int64_t now, int64_t max_skew = kVp1MaxSkewSeconds);

// Recomputes the signature and compares in constant time: kUnauthenticated on mismatch.
Status Vp1Verify(const Vp1Authorization& auth, ByteSpan secret, std::string_view method,
                 std::string_view path, std::string_view query, std::string_view body);

// RFC 4648 section 5, without padding.
std::string Base64UrlEncode(ByteSpan data);

// The secret of key_id: base64url(HMAC-SHA256(pepper, "vp1-api-key|" key_id "|" nonce)),
// 43 ASCII characters, in locked memory.
SecureBuffer DeriveApiKeySecret(ByteSpan pepper, std::string_view key_id, std::string_view nonce);

// SHA-256(salt || secret): what the store keeps to check a derived secret.
ByteArray<32> ApiKeySecretHash(ByteSpan salt, ByteSpan secret);

}  // namespace vp::http
