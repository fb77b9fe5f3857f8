#include "vp/crypto/hash.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <cstdlib>

namespace vp::crypto {
namespace {

// Digest through EVP. A failure here means OpenSSL itself is broken (no provider): there is
// no caller that could recover, so abort rather than return a wrong digest.
template <size_t N>
ByteArray<N> Digest(const char* name, ByteSpan data) {
  ByteArray<N> out{};
  unsigned int len = 0;
  EVP_MD* md = EVP_MD_fetch(nullptr, name, nullptr);
  if (md == nullptr || EVP_Digest(data.data(), data.size(), out.data(), &len, md, nullptr) != 1 || len != N) {
    std::abort();
  }
  EVP_MD_free(md);
  return out;
}

template <size_t N>
ByteArray<N> Hmac(const char* digest, ByteSpan key, ByteSpan data) {
  ByteArray<N> out{};
  unsigned int len = 0;
  const EVP_MD* md = EVP_get_digestbyname(digest);
  // HMAC with an empty key is valid; OpenSSL wants a non-null pointer for it.
  static const uint8_t kEmpty = 0;
  if (md == nullptr ||
      HMAC(md, key.empty() ? &kEmpty : key.data(), static_cast<int>(key.size()), data.data(), data.size(),
           out.data(), &len) == nullptr ||
      len != N) {
    std::abort();
  }
  return out;
}

}  // namespace

ByteArray<32> Sha256(ByteSpan data) { return Digest<32>("SHA256", data); }
ByteArray<48> Sha384(ByteSpan data) { return Digest<48>("SHA384", data); }
ByteArray<64> Sha512(ByteSpan data) { return Digest<64>("SHA512", data); }
ByteArray<20> Ripemd160(ByteSpan data) { return Digest<20>("RIPEMD160", data); }
ByteArray<20> Hash160(ByteSpan data) { return Ripemd160(Sha256(data)); }

ByteArray<32> HmacSha256(ByteSpan key, ByteSpan data) { return Hmac<32>("SHA256", key, data); }
ByteArray<64> HmacSha512(ByteSpan key, ByteSpan data) { return Hmac<64>("SHA512", key, data); }

StatusOr<SecureBuffer> HkdfSha256(ByteSpan ikm, ByteSpan salt, ByteSpan info, size_t length) {
  if (length == 0 || length > 255 * 32) return InvalidArgumentError("hkdf: output length out of range");
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  if (kdf == nullptr) return InternalError("hkdf: not available");
  EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(kdf);
  EVP_KDF_free(kdf);
  if (ctx == nullptr) return InternalError("hkdf: out of memory");
  static uint8_t kEmpty = 0;
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string("digest", digest, 0),
      OSSL_PARAM_construct_octet_string("key", ikm.empty() ? &kEmpty : const_cast<uint8_t*>(ikm.data()), ikm.size()),
      OSSL_PARAM_construct_octet_string("salt", salt.empty() ? &kEmpty : const_cast<uint8_t*>(salt.data()), salt.size()),
      OSSL_PARAM_construct_octet_string("info", info.empty() ? &kEmpty : const_cast<uint8_t*>(info.data()), info.size()),
      OSSL_PARAM_construct_end(),
  };
  SecureBuffer out(length);
  const int rc = EVP_KDF_derive(ctx, out.data(), length, params);
  EVP_KDF_CTX_free(ctx);
  if (rc != 1) return InternalError("hkdf: derivation failed");
  return out;
}

StatusOr<SecureBuffer> Pbkdf2HmacSha512(ByteSpan password, ByteSpan salt, uint32_t iterations, size_t length) {
  if (iterations == 0 || length == 0) return InvalidArgumentError("pbkdf2: zero iterations or length");
  SecureBuffer out(length);
  if (PKCS5_PBKDF2_HMAC(reinterpret_cast<const char*>(password.data()), static_cast<int>(password.size()),
                        salt.data(), static_cast<int>(salt.size()), static_cast<int>(iterations), EVP_sha512(),
                        static_cast<int>(length), out.data()) != 1) {
    return InternalError("pbkdf2: derivation failed");
  }
  return out;
}

}  // namespace vp::crypto
