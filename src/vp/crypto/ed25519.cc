#include "vp/crypto/ed25519.h"

#include <openssl/evp.h>

#include <memory>

#include "vp/crypto/random.h"

namespace vp::crypto {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

StatusOr<PkeyPtr> PrivateFromSeed(ByteSpan seed) {
  if (seed.size() != 32) return InvalidArgumentError("ed25519: private key must be 32 bytes");
  PkeyPtr k(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size()));
  if (!k) return InternalError("ed25519: cannot load key");
  return k;
}

}  // namespace

StatusOr<SecureBuffer> Ed25519GenerateSeed() { return RandomSecret(32); }

StatusOr<Ed25519Public> Ed25519PublicKey(ByteSpan seed) {
  ASSIGN_OR_RETURN(PkeyPtr k, PrivateFromSeed(seed));
  Ed25519Public pub{};
  size_t len = pub.size();
  if (EVP_PKEY_get_raw_public_key(k.get(), pub.data(), &len) != 1 || len != pub.size()) {
    return InternalError("ed25519: cannot derive public key");
  }
  return pub;
}

StatusOr<Ed25519Signature> Ed25519Sign(ByteSpan seed, ByteSpan message) {
  ASSIGN_OR_RETURN(PkeyPtr k, PrivateFromSeed(seed));
  MdCtxPtr ctx(EVP_MD_CTX_new());
  Ed25519Signature sig{};
  size_t len = sig.size();
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, k.get()) != 1 ||
      EVP_DigestSign(ctx.get(), sig.data(), &len, message.data(), message.size()) != 1 || len != sig.size()) {
    return InternalError("ed25519: signing failed");
  }
  return sig;
}

bool Ed25519Verify(ByteSpan public_key, ByteSpan message, ByteSpan signature) {
  if (public_key.size() != 32 || signature.size() != 64) return false;
  PkeyPtr k(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, public_key.data(), public_key.size()));
  if (!k) return false;
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, k.get()) != 1) return false;
  return EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), message.data(), message.size()) == 1;
}

}  // namespace vp::crypto
