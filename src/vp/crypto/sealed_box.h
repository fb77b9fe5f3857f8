// Sealed boxes: encrypt to a recipient's X25519 public key (ECIES with an ephemeral X25519
// key, HKDF-SHA256 and AES-256-GCM). The kms uses them to hand a data key to a signer whose
// attested ephemeral key is the recipient, so the key never crosses a socket in plaintext.
// Byte format: docs/kms.md, section "Sealed box".
//
//   ASSIGN_OR_RETURN(Bytes box, vp::crypto::SealTo(signer_pub, AsBytes("data-key"), context, dek));
//   ASSIGN_OR_RETURN(SecureBuffer dek, vp::crypto::OpenSealed(signer_priv.view(), AsBytes("data-key"), context, box));
#pragma once

#include "vp/base/bytes.h"
#include "vp/base/secure.h"

namespace vp::crypto {

inline constexpr uint8_t kSealedBoxVersion = 1;
// version(1) || ephemeral_pub(32) || nonce(12) || ciphertext || tag(16)
inline constexpr size_t kSealedBoxOverhead = 1 + 32 + 12 + 16;

// info separates uses (the same recipient key opens only boxes sealed with the same info);
// aad is bound as AES-GCM associated data. kInvalidArgument for a recipient key that is
// not 32 bytes or is a low-order point.
StatusOr<Bytes> SealTo(ByteSpan recipient_public, ByteSpan info, ByteSpan aad, ByteSpan plaintext);
// kInvalidArgument for a malformed box (too short, unknown version) or a private key that
// is not 32 bytes; kUnauthenticated for any box that does not open with this key, info
// and aad (tampering, another recipient), with no plaintext released.
StatusOr<SecureBuffer> OpenSealed(ByteSpan recipient_private, ByteSpan info, ByteSpan aad, ByteSpan sealed);

}  // namespace vp::crypto
