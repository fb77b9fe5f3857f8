#include "vp/crypto/x25519.h"

#include <openssl/evp.h>

#include <memory>

#include "vp/crypto/random.h"

namespace vp::crypto {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;

StatusOr<PkeyPtr> LoadPrivate(ByteSpan private_key) {
  if (private_key.size() != kX25519KeySize) return InvalidArgumentError("x25519: private key must be 32 bytes");
  PkeyPtr k(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, private_key.data(), private_key.size()));
  if (!k) return InternalError("x25519: cannot load private key");
  return k;
}

}  // namespace

StatusOr<X25519KeyPair> X25519Generate() {
  X25519KeyPair kp;
  ASSIGN_OR_RETURN(kp.private_key, RandomSecret(kX25519KeySize));
  ASSIGN_OR_RETURN(kp.public_key, X25519PublicFromPrivate(kp.private_key.view()));
  return kp;
}

StatusOr<X25519Public> X25519PublicFromPrivate(ByteSpan private_key) {
  ASSIGN_OR_RETURN(PkeyPtr k, LoadPrivate(private_key));
  X25519Public pub{};
  size_t len = pub.size();
  if (EVP_PKEY_get_raw_public_key(k.get(), pub.data(), &len) != 1 || len != pub.size()) {
    return InternalError("x25519: cannot derive public key");
  }
  return pub;
}

StatusOr<SecureBuffer> X25519SharedSecret(ByteSpan private_key, ByteSpan peer_public) {
  if (peer_public.size() != kX25519KeySize) return InvalidArgumentError("x25519: public key must be 32 bytes");
  ASSIGN_OR_RETURN(PkeyPtr mine, LoadPrivate(private_key));
  PkeyPtr peer(EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, peer_public.data(), peer_public.size()));
  if (!peer) return InternalError("x25519: cannot load public key");
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new(mine.get(), nullptr));
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 || EVP_PKEY_derive_set_peer(ctx.get(), peer.get()) != 1) {
    return InternalError("x25519: cannot set up key agreement");
  }
  SecureBuffer shared(kX25519KeySize);
  size_t len = shared.size();
  // OpenSSL itself fails the derivation when the result is all zero; the check below makes
  // the refusal independent of that behaviour, without branching on secret bytes.
  if (EVP_PKEY_derive(ctx.get(), shared.data(), &len) != 1 || len != kX25519KeySize) {
    return InvalidArgumentError("x25519: low-order public key");
  }
  uint8_t acc = 0;
  for (size_t i = 0; i < shared.size(); ++i) acc = static_cast<uint8_t>(acc | shared.data()[i]);
  if (acc == 0) return InvalidArgumentError("x25519: low-order public key");
  return shared;
}

}  // namespace vp::crypto
