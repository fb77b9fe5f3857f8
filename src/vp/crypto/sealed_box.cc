#include "vp/crypto/sealed_box.h"

#include "vp/crypto/aead.h"
#include "vp/crypto/hash.h"
#include "vp/crypto/random.h"
#include "vp/crypto/x25519.h"

namespace vp::crypto {
namespace {

constexpr std::string_view kInfoPrefix = "vp-seal-v1";

// key = HKDF-SHA256(ikm = shared, salt = ephemeral_pub || recipient_pub, info = "vp-seal-v1" || info).
// Both public keys go into the salt so a box cannot be re-targeted to another key pair that
// happens to give the same shared secret (low-order twists, key substitution).
StatusOr<SecureBuffer> DeriveKey(ByteSpan shared, ByteSpan ephemeral_pub, ByteSpan recipient_pub, ByteSpan info) {
  Bytes salt;
  salt.reserve(2 * kX25519KeySize);
  Append(salt, ephemeral_pub);
  Append(salt, recipient_pub);
  Bytes full_info;
  full_info.reserve(kInfoPrefix.size() + info.size());
  Append(full_info, AsBytes(kInfoPrefix));
  Append(full_info, info);
  return HkdfSha256(shared, salt, full_info, kAesGcmKeySize);
}

}  // namespace

StatusOr<Bytes> SealTo(ByteSpan recipient_public, ByteSpan info, ByteSpan aad, ByteSpan plaintext) {
  if (recipient_public.size() != kX25519KeySize) {
    return InvalidArgumentError("sealed box: recipient public key must be 32 bytes");
  }
  ASSIGN_OR_RETURN(X25519KeyPair eph, X25519Generate());
  ASSIGN_OR_RETURN(SecureBuffer shared, X25519SharedSecret(eph.private_key.view(), recipient_public));
  ASSIGN_OR_RETURN(SecureBuffer key, DeriveKey(shared.view(), eph.public_key, recipient_public, info));
  ByteArray<kAesGcmNonceSize> nonce{};
  RETURN_IF_ERROR(RandomBytes(nonce));
  ASSIGN_OR_RETURN(Bytes ct, Aes256GcmSeal(key.view(), nonce, aad, plaintext));
  Bytes out;
  out.reserve(1 + eph.public_key.size() + nonce.size() + ct.size());
  out.push_back(kSealedBoxVersion);
  Append(out, eph.public_key);
  Append(out, nonce);
  Append(out, ct);
  return out;
}

StatusOr<SecureBuffer> OpenSealed(ByteSpan recipient_private, ByteSpan info, ByteSpan aad, ByteSpan sealed) {
  if (recipient_private.size() != kX25519KeySize) {
    return InvalidArgumentError("sealed box: recipient private key must be 32 bytes");
  }
  if (sealed.size() < kSealedBoxOverhead) return InvalidArgumentError("sealed box: too short");
  if (sealed[0] != kSealedBoxVersion) {
    return InvalidArgumentError("sealed box: unsupported version " + std::to_string(sealed[0]));
  }
  const ByteSpan eph_pub = sealed.subspan(1, kX25519KeySize);
  const ByteSpan nonce = sealed.subspan(1 + kX25519KeySize, kAesGcmNonceSize);
  const ByteSpan ct = sealed.subspan(1 + kX25519KeySize + kAesGcmNonceSize);
  ASSIGN_OR_RETURN(X25519Public recipient_pub, X25519PublicFromPrivate(recipient_private));
  auto shared = X25519SharedSecret(recipient_private, eph_pub);
  // A low-order ephemeral key is a forged box, not a format error: same answer as a bad tag.
  if (!shared.ok()) return UnauthenticatedError("sealed box: authentication failed");
  ASSIGN_OR_RETURN(SecureBuffer key, DeriveKey(shared->view(), eph_pub, recipient_pub, info));
  auto plain = Aes256GcmOpen(key.view(), nonce, aad, ct);
  if (!plain.ok()) {
    if (plain.status().code() == StatusCode::kUnauthenticated) {
      return UnauthenticatedError("sealed box: authentication failed");
    }
    return plain.status();
  }
  return std::move(plain).value();
}

}  // namespace vp::crypto
