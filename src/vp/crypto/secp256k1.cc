#include "vp/crypto/secp256k1.h"

#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include <cstring>

#include "vp/crypto/random.h"

namespace vp::crypto {
namespace {

// One context for the process: created once, randomized against side channels (blinding),
// then only read, which libsecp256k1 documents as thread-safe.
const secp256k1_context* Ctx() {
  static const secp256k1_context* ctx = [] {
    secp256k1_context* c = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    uint8_t seed[32];
    // Without randomization the context still works; it only loses blinding.
    if (RandomBytes(std::span<uint8_t>(seed, sizeof(seed))).ok() && secp256k1_context_randomize(c, seed) != 1) {
      seed[0] = 0;
    }
    SecureWipe(seed, sizeof(seed));
    return c;
  }();
  return ctx;
}

Status CheckKey(ByteSpan key) {
  if (key.size() != 32) return InvalidArgumentError("secp256k1: private key must be 32 bytes");
  if (secp256k1_ec_seckey_verify(Ctx(), key.data()) != 1) {
    return InvalidArgumentError("secp256k1: private key is zero or not below the group order");
  }
  return OkStatus();
}

StatusOr<secp256k1_pubkey> ParsePub(ByteSpan pub) {
  secp256k1_pubkey p;
  if ((pub.size() != 33 && pub.size() != 65) || secp256k1_ec_pubkey_parse(Ctx(), &p, pub.data(), pub.size()) != 1) {
    return InvalidArgumentError("secp256k1: invalid public key");
  }
  return p;
}

template <size_t N>
ByteArray<N> Serialize(const secp256k1_pubkey& p) {
  ByteArray<N> out{};
  size_t len = N;
  (void)secp256k1_ec_pubkey_serialize(Ctx(), out.data(), &len, &p,
                                      N == 33 ? SECP256K1_EC_COMPRESSED : SECP256K1_EC_UNCOMPRESSED);
  return out;
}

StatusOr<secp256k1_pubkey> PubFromKey(ByteSpan key) {
  RETURN_IF_ERROR(CheckKey(key));
  secp256k1_pubkey p;
  if (secp256k1_ec_pubkey_create(Ctx(), &p, key.data()) != 1) return InternalError("secp256k1: pubkey_create failed");
  return p;
}

}  // namespace

ByteArray<65> RecoverableSignature::ToRsv27() const {
  ByteArray<65> out{};
  std::memcpy(out.data(), r.data(), 32);
  std::memcpy(out.data() + 32, s.data(), 32);
  out[64] = static_cast<uint8_t>(27 + recovery_id);
  return out;
}

Status Secp256k1ValidatePrivateKey(ByteSpan private_key) { return CheckKey(private_key); }

StatusOr<PublicKeyUncompressed> Secp256k1PublicKey(ByteSpan private_key) {
  ASSIGN_OR_RETURN(secp256k1_pubkey p, PubFromKey(private_key));
  return Serialize<65>(p);
}

StatusOr<PublicKeyCompressed> Secp256k1PublicKeyCompressed(ByteSpan private_key) {
  ASSIGN_OR_RETURN(secp256k1_pubkey p, PubFromKey(private_key));
  return Serialize<33>(p);
}

StatusOr<PublicKeyUncompressed> Secp256k1ParsePublicKey(ByteSpan public_key) {
  ASSIGN_OR_RETURN(secp256k1_pubkey p, ParsePub(public_key));
  return Serialize<65>(p);
}

StatusOr<PublicKeyCompressed> Secp256k1Compress(ByteSpan public_key) {
  ASSIGN_OR_RETURN(secp256k1_pubkey p, ParsePub(public_key));
  return Serialize<33>(p);
}

StatusOr<RecoverableSignature> Secp256k1Sign(ByteSpan private_key, const Hash256& digest) {
  RETURN_IF_ERROR(CheckKey(private_key));
  secp256k1_ecdsa_recoverable_signature sig;
  // nullptr nonce function = RFC 6979 with HMAC-SHA256; libsecp256k1 always emits low-s.
  if (secp256k1_ecdsa_sign_recoverable(Ctx(), &sig, digest.data(), private_key.data(), nullptr, nullptr) != 1) {
    return InternalError("secp256k1: signing failed");
  }
  uint8_t compact[64];
  int recid = 0;
  (void)secp256k1_ecdsa_recoverable_signature_serialize_compact(Ctx(), compact, &recid, &sig);
  RecoverableSignature out;
  std::memcpy(out.r.data(), compact, 32);
  std::memcpy(out.s.data(), compact + 32, 32);
  out.recovery_id = static_cast<uint8_t>(recid);
  return out;
}

StatusOr<PublicKeyUncompressed> Secp256k1Recover(const Hash256& digest, const RecoverableSignature& sig) {
  if (sig.recovery_id > 3) return InvalidArgumentError("secp256k1: recovery id must be 0..3");
  uint8_t compact[64];
  std::memcpy(compact, sig.r.data(), 32);
  std::memcpy(compact + 32, sig.s.data(), 32);
  secp256k1_ecdsa_recoverable_signature rsig;
  if (secp256k1_ecdsa_recoverable_signature_parse_compact(Ctx(), &rsig, compact, sig.recovery_id) != 1) {
    return InvalidArgumentError("secp256k1: r or s not below the group order");
  }
  // Reject zero r/s and high s (EIP-2 malleability) before recovery.
  secp256k1_ecdsa_signature plain;
  (void)secp256k1_ecdsa_recoverable_signature_convert(Ctx(), &plain, &rsig);
  if (secp256k1_ecdsa_signature_normalize(Ctx(), nullptr, &plain) == 1) {
    return InvalidArgumentError("secp256k1: s is in the upper half of the order (malleable)");
  }
  bool r_zero = true, s_zero = true;
  for (size_t i = 0; i < 32; ++i) {
    r_zero = r_zero && sig.r[i] == 0;
    s_zero = s_zero && sig.s[i] == 0;
  }
  if (r_zero || s_zero) return InvalidArgumentError("secp256k1: r or s is zero");
  secp256k1_pubkey pub;
  if (secp256k1_ecdsa_recover(Ctx(), &pub, &rsig, digest.data()) != 1) {
    return InvalidArgumentError("secp256k1: no public key recovers from this signature");
  }
  return Serialize<65>(pub);
}

StatusOr<SecureBuffer> Secp256k1PrivateKeyTweakAdd(ByteSpan private_key, ByteSpan tweak32) {
  RETURN_IF_ERROR(CheckKey(private_key));
  if (tweak32.size() != 32) return InvalidArgumentError("secp256k1: tweak must be 32 bytes");
  SecureBuffer out = SecureBuffer::CopyOf(private_key);
  if (secp256k1_ec_seckey_tweak_add(Ctx(), out.data(), tweak32.data()) != 1) {
    return InvalidArgumentError("secp256k1: tweak not below the order or result is zero");
  }
  return out;
}

StatusOr<PublicKeyCompressed> Secp256k1PublicKeyTweakAdd(ByteSpan public_key, ByteSpan tweak32) {
  if (tweak32.size() != 32) return InvalidArgumentError("secp256k1: tweak must be 32 bytes");
  ASSIGN_OR_RETURN(secp256k1_pubkey p, ParsePub(public_key));
  if (secp256k1_ec_pubkey_tweak_add(Ctx(), &p, tweak32.data()) != 1) {
    return InvalidArgumentError("secp256k1: tweak not below the order or result is infinity");
  }
  return Serialize<33>(p);
}

}  // namespace vp::crypto
