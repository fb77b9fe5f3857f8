#include "vp/crypto/scrypt.h"

#include <openssl/evp.h>

#include <string>

namespace vp::crypto {

Status CheckScryptParams(const ScryptParams& params) {
  if (params.n == 0 || (params.n & (params.n - 1)) != 0) {
    return InvalidArgumentError("scrypt: n must be a power of two");
  }
  if (params.n < kScryptMinN || params.n > kScryptMaxN) {
    return InvalidArgumentError("scrypt: n must be between 2^10 and 2^22");
  }
  if (params.r == 0 || params.p == 0) return InvalidArgumentError("scrypt: r and p must be positive");
  if (uint64_t{params.r} * uint64_t{params.p} > kScryptMaxRTimesP) {
    return InvalidArgumentError("scrypt: r*p must be at most 64");
  }
  return OkStatus();
}

StatusOr<SecureBuffer> Scrypt(ByteSpan passphrase, ByteSpan salt, const ScryptParams& params, size_t length) {
  RETURN_IF_ERROR(CheckScryptParams(params));
  if (length == 0 || length > kScryptMaxLength) return InvalidArgumentError("scrypt: length must be 1..1024");
  // OpenSSL's own estimate is 128*r*(n+2) for V plus 128*r*p for B; it refuses anything
  // above maxmem (32 MiB by default, too little for n = 2^15, r = 8 plus slack), so allow
  // exactly what the bounded parameters need. No overflow: n <= 2^22 and r <= 64.
  const uint64_t r = params.r;
  const uint64_t maxmem = 128 * r * (params.n + 2) + 128 * r * params.p + (uint64_t{1} << 20);
  SecureBuffer out(length);
  static const char kEmpty = 0;
  const char* pass = passphrase.empty() ? &kEmpty : reinterpret_cast<const char*>(passphrase.data());
  static const unsigned char kEmptySalt = 0;
  const unsigned char* salt_ptr = salt.empty() ? &kEmptySalt : salt.data();
  if (EVP_PBE_scrypt(pass, passphrase.size(), salt_ptr, salt.size(), params.n, r, params.p, maxmem, out.data(),
                     out.size()) != 1) {
    return ResourceExhaustedError("scrypt: derivation failed (out of memory?)");
  }
  return out;
}

}  // namespace vp::crypto
