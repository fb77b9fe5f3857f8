#include "vp/crypto/aead.h"

#include <openssl/evp.h>

#include <memory>

namespace vp::crypto {
namespace {

struct CtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CtxFree>;

Status CheckSizes(ByteSpan key, ByteSpan nonce) {
  if (key.size() != kAesGcmKeySize) return InvalidArgumentError("aes-gcm: key must be 32 bytes");
  if (nonce.size() != kAesGcmNonceSize) return InvalidArgumentError("aes-gcm: nonce must be 12 bytes");
  return OkStatus();
}

}  // namespace

StatusOr<Bytes> Aes256GcmSeal(ByteSpan key, ByteSpan nonce, ByteSpan aad, ByteSpan plaintext) {
  RETURN_IF_ERROR(CheckSizes(key, nonce));
  CtxPtr ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return InternalError("aes-gcm: out of memory");
  Bytes out(plaintext.size() + kAesGcmTagSize);
  int len = 0;
  int total = 0;
  if (EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(), nonce.data()) != 1 ||
      (!aad.empty() && EVP_EncryptUpdate(ctx.get(), nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1) ||
      (!plaintext.empty() &&
       EVP_EncryptUpdate(ctx.get(), out.data(), &len, plaintext.data(), static_cast<int>(plaintext.size())) != 1)) {
    return InternalError("aes-gcm: encryption failed");
  }
  total = plaintext.empty() ? 0 : len;
  if (EVP_EncryptFinal_ex(ctx.get(), out.data() + total, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kAesGcmTagSize),
                          out.data() + plaintext.size()) != 1) {
    return InternalError("aes-gcm: encryption failed");
  }
  return out;
}

Status Aes256GcmOpenInto(ByteSpan key, ByteSpan nonce, ByteSpan aad, ByteSpan sealed, std::span<uint8_t> plain) {
  RETURN_IF_ERROR(CheckSizes(key, nonce));
  if (sealed.size() < kAesGcmTagSize) return InvalidArgumentError("aes-gcm: ciphertext shorter than the tag");
  const size_t ct_len = sealed.size() - kAesGcmTagSize;
  if (plain.size() != ct_len) return InvalidArgumentError("aes-gcm: the plaintext buffer does not fit the ciphertext");
  CtxPtr ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return InternalError("aes-gcm: out of memory");
  uint8_t tag[kAesGcmTagSize];
  for (size_t i = 0; i < kAesGcmTagSize; ++i) tag[i] = sealed[ct_len + i];
  int len = 0;
  if (EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(), nonce.data()) != 1 ||
      (!aad.empty() && EVP_DecryptUpdate(ctx.get(), nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1) ||
      (ct_len > 0 && EVP_DecryptUpdate(ctx.get(), plain.data(), &len, sealed.data(), static_cast<int>(ct_len)) != 1) ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kAesGcmTagSize), tag) != 1) {
    SecureWipe(plain.data(), plain.size());
    return InternalError("aes-gcm: decryption failed");
  }
  uint8_t final_block[16];
  if (EVP_DecryptFinal_ex(ctx.get(), final_block, &len) != 1) {
    SecureWipe(plain.data(), plain.size());
    return UnauthenticatedError("aes-gcm: authentication failed");
  }
  return OkStatus();
}

StatusOr<SecureBuffer> Aes256GcmOpen(ByteSpan key, ByteSpan nonce, ByteSpan aad, ByteSpan sealed) {
  if (sealed.size() < kAesGcmTagSize) return InvalidArgumentError("aes-gcm: ciphertext shorter than the tag");
  SecureBuffer plain(sealed.size() - kAesGcmTagSize);
  RETURN_IF_ERROR(Aes256GcmOpenInto(key, nonce, aad, sealed, plain.span()));
  return plain;
}

}  // namespace vp::crypto
