// Ed25519 (RFC 8032) through OpenSSL 3. The private key is the 32-byte seed.
//
//   ASSIGN_OR_RETURN(auto pub, vp::crypto::Ed25519PublicKey(seed));
//   ASSIGN_OR_RETURN(auto sig, vp::crypto::Ed25519Sign(seed, msg));
//   bool ok = vp::crypto::Ed25519Verify(pub, msg, sig);
#pragma once

#include "vp/base/bytes.h"
#include "vp/base/secure.h"

namespace vp::crypto {

using Ed25519Signature = ByteArray<64>;
using Ed25519Public = ByteArray<32>;

// Fresh key from the OS CSPRNG: a 32-byte seed.
StatusOr<SecureBuffer> Ed25519GenerateSeed();
StatusOr<Ed25519Public> Ed25519PublicKey(ByteSpan seed);
StatusOr<Ed25519Signature> Ed25519Sign(ByteSpan seed, ByteSpan message);
// false for any malformed key or signature, never an error.
bool Ed25519Verify(ByteSpan public_key, ByteSpan message, ByteSpan signature);

}  // namespace vp::crypto
