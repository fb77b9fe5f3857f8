// Signed tree heads of the bulletin log: {logId, treeSize, timestamp, root} and the exact bytes
// the log key signs (format: docs/ballot_log.md, version 1). The signature is Ed25519 by a
// signer-held key; this library only defines the message, and the caller supplies the Ed25519
// check (OpenSSL natively, the browser's own in WASM), so it stays standard-library only.
//
//   Sth sth{log_id, tree.size(), now_ms, tree.Root()};
//   Bytes msg = SthMessage(sth);                        // 97 bytes, sign these
//   RETURN_IF_ERROR(VerifySthSignature(signed_sth, [&](ByteSpan m, ByteSpan s) {
//     return crypto::Ed25519Verify(log_public_key, m, s);
//   }));
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "vp/ballot/commitment.h"
#include "vp/base/bytes.h"
#include "vp/base/status.h"

namespace vp::ballot {

inline constexpr std::string_view kSthMessagePrefix = "vaultproof:sth:v1";
// prefix (17) || logId (32) || treeSize (8, big-endian) || timestamp (8, big-endian) ||
// root (4 x 8, big-endian elements).
inline constexpr size_t kSthMessageSize = 17 + 32 + 8 + 8 + 32;
// treeSize and timestamp travel as JSON numbers; above 2^53 - 1 a browser loses precision.
inline constexpr uint64_t kMaxJsonSafeInteger = (uint64_t{1} << 53) - 1;

// 32 opaque bytes naming the log; the service chooses them (one log per election).
using LogId = ByteArray<32>;
using SthSignature = ByteArray<64>;  // Ed25519

struct Sth {
  LogId log_id{};
  uint64_t tree_size = 0;
  uint64_t timestamp_ms = 0;  // unix time in milliseconds
  HashOut root{};

  friend bool operator==(const Sth&, const Sth&) = default;
};

struct SignedSth {
  Sth sth;
  SthSignature signature{};
};

// The bytes the log key signs (kSthMessageSize of them). Fixed width, so no two heads share a
// message and no other vaultproof message (they all start with their own prefix) is one.
Bytes SthMessage(const Sth& sth);
// The inverse, strict: exact size and prefix, canonical root elements.
StatusOr<Sth> ParseSthMessage(ByteSpan message);

// Checks a head for shape: treeSize and timestamp <= kMaxJsonSafeInteger, and the empty tree
// has EmptyRoot(). kInvalidArgument with the reason otherwise.
Status ValidateSth(const Sth& sth);

// The caller's Ed25519 verification with the log's public key bound in: true when signature
// is valid for message.
using Ed25519VerifyFn = std::function<bool(ByteSpan message, ByteSpan signature)>;
// OK when the head has a valid shape and ed25519_verify accepts SthMessage(signed_sth.sth);
// kInvalidArgument for a bad shape, kUnauthenticated for a bad signature.
Status VerifySthSignature(const SignedSth& signed_sth, const Ed25519VerifyFn& ed25519_verify);

// Text forms: logId 64 and signature 128 lower-case hex digits, no "0x" (strict, as
// ParseHash).
StatusOr<LogId> ParseLogId(std::string_view text);
std::string FormatLogId(const LogId& id);
StatusOr<SthSignature> ParseSthSignature(std::string_view text);
std::string FormatSthSignature(const SthSignature& signature);

// Builds a head from its JSON fields (already type-checked by the caller's JSON reader) and
// validates it.
StatusOr<Sth> SthFromFields(std::string_view log_id_hex, uint64_t tree_size,
                            uint64_t timestamp_ms, std::string_view root_hex);

// JSON field names of a signed tree head:
//   {"logId": hex64, "treeSize": n, "timestamp": unix_ms, "root": hex64, "signature": hex128}
namespace json_names {
inline constexpr std::string_view kLogId = "logId";
inline constexpr std::string_view kSthTreeSize = "treeSize";
inline constexpr std::string_view kTimestamp = "timestamp";
inline constexpr std::string_view kRoot = "root";
inline constexpr std::string_view kSignature = "signature";
}  // namespace json_names

}  // namespace vp::ballot
