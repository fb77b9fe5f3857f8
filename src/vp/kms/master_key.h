// The kms master key ring: one active AES-256 key that wraps new data keys, plus keys being
// retired during a rotation that still unwrap what they wrapped. Two backends implement it:
// a sealed file (file_backend.h) and a PKCS#11 token (pkcs11_backend.h). Formats: docs/kms.md.
//
//   ASSIGN_OR_RETURN(WrappedKey w, backend->Wrap(dek.view(), context));
//   Bytes stored = EncodeWrappedKey(w);                       // public, kept beside the blob
//   ASSIGN_OR_RETURN(WrappedKey back, DecodeWrappedKey(stored));
//   ASSIGN_OR_RETURN(SecureBuffer dek, backend->Unwrap(back, context));
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "vp/base/bytes.h"
#include "vp/base/secure.h"

namespace vp::kms {

inline constexpr uint8_t kWrappedKeyVersion = 1;
inline constexpr size_t kMasterKeyIdMaxLength = 64;
inline constexpr size_t kWrapNonceSize = 12;
inline constexpr size_t kWrapTagSize = 16;
// Wrapped plaintexts are data keys: at least 1 byte, and ciphertext || tag at most 1024.
inline constexpr size_t kWrapMinCiphertext = kWrapTagSize + 1;
inline constexpr size_t kWrapMaxCiphertext = 1024;
inline constexpr size_t kWrapMaxPlaintext = kWrapMaxCiphertext - kWrapTagSize;

// What the kms returns for a data key; public, stored beside blobs.
struct WrappedKey {
  std::string master_key_id;  // [a-z0-9-]{1,64}, e.g. "mk-1"
  Bytes nonce;                // 12
  Bytes ciphertext;           // ciphertext || tag
};

// true for [a-z0-9-]{1,64}.
bool IsValidMasterKeyId(std::string_view id);

// u8 version=1 || u8 len(id) || id || nonce(12) || u32be len || ciphertext.
// The input is assumed valid (as produced by a backend); DecodeWrappedKey checks.
Bytes EncodeWrappedKey(const WrappedKey& w);
// Strict: exact length, version 1, id charset, nonce 12, 17 <= len(ciphertext) <= 1024;
// anything else is kInvalidArgument.
StatusOr<WrappedKey> DecodeWrappedKey(ByteSpan encoded);

// The associated data a backend gives AES-GCM: "vp-wrap-v1" || u8 len(id) || id || aad, so a
// wrapped key is bound to the master key id it claims as well as to the caller's context.
Bytes WrapAssociatedData(std::string_view master_key_id, ByteSpan aad);

// All methods are thread-safe (the kms serves several connections).
class MasterKeyBackend {
 public:
  virtual ~MasterKeyBackend() = default;
  // "file" | "pkcs11".
  virtual std::string Kind() const = 0;
  virtual std::string ActiveKeyId() const = 0;
  // Active first, then the keys being retired.
  virtual std::vector<std::string> KeyIds() const = 0;
  // Under the active key with a fresh random nonce. kInvalidArgument for an empty
  // plaintext or one above kWrapMaxPlaintext bytes.
  virtual StatusOr<WrappedKey> Wrap(ByteSpan plaintext, ByteSpan aad) = 0;
  // Under any key of the ring. kNotFound for an unknown or retired id; kUnauthenticated for
  // a wrong aad or any tampering; kInvalidArgument for a malformed WrappedKey.
  virtual StatusOr<SecureBuffer> Unwrap(const WrappedKey& w, ByteSpan aad) = 0;
  // A new active key; the old ones stay for Unwrap. kFailedPrecondition if a rotation is
  // already in progress. Durable when it returns OK.
  virtual Status BeginRotation() = 0;
  // Destroys every key but the active one. kFailedPrecondition if none is in progress.
  virtual Status FinishRotation() = 0;
};

}  // namespace vp::kms
