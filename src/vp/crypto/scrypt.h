// scrypt (RFC 7914) through OpenSSL 3, for deriving the key that seals the kms master-key
// file from an operator passphrase. Parameters are bounded so a hostile file header cannot
// make the kms spin or allocate without limit, nor ask for a uselessly weak derivation.
//
//   ASSIGN_OR_RETURN(SecureBuffer k, vp::crypto::Scrypt(passphrase.view(), salt, {}, 32));
#pragma once

#include <cstdint>

#include "vp/base/bytes.h"
#include "vp/base/secure.h"

namespace vp::crypto {

inline constexpr uint64_t kScryptMinN = uint64_t{1} << 10;
inline constexpr uint64_t kScryptMaxN = uint64_t{1} << 22;
inline constexpr uint64_t kScryptMaxRTimesP = 64;
inline constexpr size_t kScryptMaxLength = 1024;

struct ScryptParams {
  uint64_t n = 1u << 15;  // CPU/memory cost; about 32 MiB and 0.1 s with r = 8
  uint32_t r = 8;
  uint32_t p = 1;
};

// kInvalidArgument when n is not a power of two or outside [2^10, 2^22], when r or p is
// zero or r*p > 64, or when length is 0 or above 1024. kResourceExhausted if OpenSSL cannot
// get the memory the parameters need (128 * r * n bytes).
StatusOr<SecureBuffer> Scrypt(ByteSpan passphrase, ByteSpan salt, const ScryptParams& params, size_t length);

// The bounds check alone (what Scrypt refuses), for parsers of stored parameters.
Status CheckScryptParams(const ScryptParams& params);

}  // namespace vp::crypto
