// secp256k1 ECDSA through libsecp256k1: RFC 6979 deterministic nonces, low-s signatures,
// public-key recovery, and the key tweaks BIP-32 needs. Private keys are 32-byte spans the
// caller keeps in a SecureBuffer; every function rejects an invalid key (zero or >= n)
// with kInvalidArgument.
//
//   ASSIGN_OR_RETURN(auto sig, vp::crypto::Secp256k1Sign(key.view(), digest));
//   ASSIGN_OR_RETURN(auto pub, vp::crypto::Secp256k1Recover(digest, sig));
#pragma once

#include "vp/base/bytes.h"
#include "vp/base/secure.h"
#include "vp/crypto/keccak.h"

namespace vp::crypto {

// r || s || recovery id (0 or 1).
struct RecoverableSignature {
  ByteArray<32> r{};
  ByteArray<32> s{};
  uint8_t recovery_id = 0;

  // r || s || (27 + recovery_id): the 65-byte form of EIP-191/EIP-712 signatures.
  ByteArray<65> ToRsv27() const;
};

using PublicKeyUncompressed = ByteArray<65>;  // 0x04 || X || Y
using PublicKeyCompressed = ByteArray<33>;    // 0x02/0x03 || X

Status Secp256k1ValidatePrivateKey(ByteSpan private_key);
StatusOr<PublicKeyUncompressed> Secp256k1PublicKey(ByteSpan private_key);
StatusOr<PublicKeyCompressed> Secp256k1PublicKeyCompressed(ByteSpan private_key);
// Parses a 33- or 65-byte public key; kInvalidArgument if it is not on the curve.
StatusOr<PublicKeyUncompressed> Secp256k1ParsePublicKey(ByteSpan public_key);
StatusOr<PublicKeyCompressed> Secp256k1Compress(ByteSpan public_key);

// Deterministic (RFC 6979) low-s signature over a 32-byte digest.
StatusOr<RecoverableSignature> Secp256k1Sign(ByteSpan private_key, const Hash256& digest);
// Recovers the signer's public key. Rejects high-s, r or s zero or >= n, recovery id > 3.
StatusOr<PublicKeyUncompressed> Secp256k1Recover(const Hash256& digest, const RecoverableSignature& sig);

// (key + tweak) mod n; kInvalidArgument if tweak >= n or the result is zero (BIP-32).
StatusOr<SecureBuffer> Secp256k1PrivateKeyTweakAdd(ByteSpan private_key, ByteSpan tweak32);
// point + tweak*G, compressed; kInvalidArgument if tweak >= n or the result is infinity.
StatusOr<PublicKeyCompressed> Secp256k1PublicKeyTweakAdd(ByteSpan public_key, ByteSpan tweak32);

}  // namespace vp::crypto
