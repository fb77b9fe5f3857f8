// X25519 Diffie-Hellman (RFC 7748) through OpenSSL 3. Private keys are 32 raw bytes (clamped
// by the ladder, as RFC 7748 says) and live in SecureBuffer; public keys are u-coordinates.
//
//   ASSIGN_OR_RETURN(auto kp, vp::crypto::X25519Generate());
//   ASSIGN_OR_RETURN(SecureBuffer shared, vp::crypto::X25519SharedSecret(kp.private_key.view(), peer));
#pragma once

#include "vp/base/bytes.h"
#include "vp/base/secure.h"

namespace vp::crypto {

inline constexpr size_t kX25519KeySize = 32;

using X25519Public = ByteArray<32>;

struct X25519KeyPair {
  SecureBuffer private_key;
  X25519Public public_key{};
};

// A fresh key pair from the OS CSPRNG. kUnavailable if the generator fails.
StatusOr<X25519KeyPair> X25519Generate();
// kInvalidArgument unless private_key is 32 bytes.
StatusOr<X25519Public> X25519PublicFromPrivate(ByteSpan private_key);
// The raw shared secret X25519(private_key, peer_public). Use it only through a KDF.
// kInvalidArgument for a key that is not 32 bytes, and for an all-zero result, which
// means the peer sent a low-order point (RFC 7748 section 6.1) and contributes nothing.
StatusOr<SecureBuffer> X25519SharedSecret(ByteSpan private_key, ByteSpan peer_public);

}  // namespace vp::crypto
