// The signer's wire messages, version 1 (docs/signer_protocol.md): operation codes, the
// request mac, key contexts and key blobs. Shared by the signer, its client in the
// gateway, and tools that re-wrap blobs during master-key rotation.
//
//   KeyContext ctx{.wallet_id = "w-1", .key_kind = KeyKind::kSecp256k1};
//   Bytes canon = EncodeKeyContext(ctx);          // the AEAD associated data
//   ASSIGN_OR_RETURN(KeyBlob blob, DecodeKeyBlob(stored));
#pragma once

#include <cstdint>
#include <string>

#include "vp/base/bytes.h"
#include "vp/base/status.h"
#include "vp/ipc/frame.h"

namespace vp::signer {

enum class Op : uint8_t {
  kHealth = 0x01,
  kCreateKey = 0x02,
  kImportKey = 0x03,
  kDeriveAddress = 0x04,
  kSignTransaction = 0x05,
  kSignMessage = 0x06,
  kSignTypedData = 0x07,
  kSignDigest = 0x08,
  kAttestation = 0x09,
  kSignEd25519 = 0x0A,
};
bool IsKnownOp(uint8_t kind);

// kEd25519: a 32-byte Ed25519 seed for service keys (audit digests, signed tree heads);
// its context "address" is the first 20 bytes of SHA-256(public key).
enum class KeyKind : uint8_t { kSecp256k1 = 1, kHdSeed = 2, kEd25519 = 3 };

inline constexpr size_t kMacSize = 32;
inline constexpr size_t kChallengeSize = 16;
inline constexpr size_t kMaxWalletIdBytes = 128;
inline constexpr size_t kMaxBlobBytes = 1024;
inline constexpr size_t kMaxPathBytes = 64;
inline constexpr std::string_view kImportSealInfo = "vp-signer-import-v1";

// mac = HMAC-SHA256(auth_key, "vp-signer-req-v1" || challenge || kind || u64 id || fields)
ByteArray<32> RequestMac(ByteSpan auth_key, ByteSpan challenge, const ipc::Frame& frame, ByteSpan fields);

struct KeyContext {
  std::string wallet_id;
  ByteArray<20> address{};  // all zero in a create request
  uint32_t key_version = 1;
  KeyKind key_kind = KeyKind::kSecp256k1;

  friend bool operator==(const KeyContext&, const KeyContext&) = default;
};
// "vp-keyctx-v1" || u8 len || wallet_id || address || u32 key_version || u8 key_kind
Bytes EncodeKeyContext(const KeyContext& ctx);
StatusOr<KeyContext> DecodeKeyContext(ByteSpan data);

struct KeyBlob {
  KeyContext context;
  Bytes wrapped_dek;   // kms::EncodeWrappedKey bytes, opaque here
  ByteArray<12> nonce{};
  Bytes sealed_key;    // AES-256-GCM(DEK, key; aad = EncodeKeyContext(context)) || tag
};
Bytes EncodeKeyBlob(const KeyBlob& blob);
StatusOr<KeyBlob> DecodeKeyBlob(ByteSpan data);

}  // namespace vp::signer
