// SHA-2, RIPEMD-160, HMAC, HKDF and PBKDF2 through OpenSSL 3. Digests of public data
// return arrays; derived secrets return SecureBuffer.
//
//   auto d = vp::crypto::Sha256(data);
//   auto mac = vp::crypto::HmacSha256(key, msg);
#pragma once

#include "vp/base/bytes.h"
#include "vp/base/secure.h"

namespace vp::crypto {

ByteArray<32> Sha256(ByteSpan data);
ByteArray<48> Sha384(ByteSpan data);
ByteArray<64> Sha512(ByteSpan data);
ByteArray<20> Ripemd160(ByteSpan data);
// RIPEMD-160(SHA-256(data)), the Bitcoin "hash160" (BIP-32 fingerprints).
ByteArray<20> Hash160(ByteSpan data);

ByteArray<32> HmacSha256(ByteSpan key, ByteSpan data);
ByteArray<64> HmacSha512(ByteSpan key, ByteSpan data);

// RFC 5869 HKDF-SHA256. length must be <= 255*32, else kInvalidArgument.
StatusOr<SecureBuffer> HkdfSha256(ByteSpan ikm, ByteSpan salt, ByteSpan info, size_t length);

// PBKDF2-HMAC-SHA512 (BIP-39 seeds: 2048 iterations, 64 bytes).
StatusOr<SecureBuffer> Pbkdf2HmacSha512(ByteSpan password, ByteSpan salt, uint32_t iterations,
                                        size_t length);

}  // namespace vp::crypto
