// AES-256-GCM through OpenSSL 3, with a 12-byte nonce and a 16-byte tag appended to the
// ciphertext. Open() refuses any modified ciphertext, tag, nonce or associated data with
// kUnauthenticated and releases no plaintext.
//
//   Bytes sealed = *vp::crypto::Aes256GcmSeal(key, nonce, aad, secret);
//   ASSIGN_OR_RETURN(SecureBuffer plain, vp::crypto::Aes256GcmOpen(key, nonce, aad, sealed));
#pragma once

#include "vp/base/bytes.h"
#include "vp/base/secure.h"

namespace vp::crypto {

inline constexpr size_t kAesGcmKeySize = 32;
inline constexpr size_t kAesGcmNonceSize = 12;
inline constexpr size_t kAesGcmTagSize = 16;

// Returns ciphertext || tag. kInvalidArgument on a wrong key or nonce size.
StatusOr<Bytes> Aes256GcmSeal(ByteSpan key, ByteSpan nonce, ByteSpan aad, ByteSpan plaintext);
// Input is ciphertext || tag.
StatusOr<SecureBuffer> Aes256GcmOpen(ByteSpan key, ByteSpan nonce, ByteSpan aad, ByteSpan sealed);
// As Aes256GcmOpen, into `plain` (exactly the ciphertext's size), for callers opening many
// small records into one buffer they wipe themselves (a SecureBuffer is a locked mapping of
// its own). `plain` is wiped when authentication fails.
Status Aes256GcmOpenInto(ByteSpan key, ByteSpan nonce, ByteSpan aad, ByteSpan sealed, std::span<uint8_t> plain);

}  // namespace vp::crypto
