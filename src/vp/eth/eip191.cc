// EIP-191 personal_sign: digest, signing and signer recovery.
#include "vp/eth/eip191.h"

#include "vp/crypto/secp256k1.h"

namespace vp::eth {

crypto::Hash256 PersonalMessageDigest(ByteSpan message) {
  crypto::Keccak256Hasher h;
  h.Update(AsBytes("\x19" "Ethereum Signed Message:\n"));
  h.Update(AsBytes(std::to_string(message.size())));
  h.Update(message);
  return h.Final();
}

StatusOr<ByteArray<65>> SignPersonalMessage(ByteSpan private_key, ByteSpan message) {
  auto sig = crypto::Secp256k1Sign(private_key, PersonalMessageDigest(message));
  if (!sig.ok()) return sig.status().Annotate("personal_sign");
  return sig->ToRsv27();
}

StatusOr<std::string> SignPersonalMessageHex(ByteSpan private_key, ByteSpan message) {
  ASSIGN_OR_RETURN(ByteArray<65> sig, SignPersonalMessage(private_key, message));
  return HexEncode(sig, true);
}

StatusOr<Address> RecoverPersonalMessageSigner(ByteSpan message, ByteSpan signature) {
  if (signature.size() != 65) {
    return InvalidArgumentError("personal_sign: signature must be 65 bytes (r || s || v), got " +
                                std::to_string(signature.size()));
  }
  const uint8_t v = signature[64];
  if (v != 27 && v != 28 && v != 0 && v != 1) {
    return InvalidArgumentError("personal_sign: v must be 27, 28, 0 or 1, got " + std::to_string(v));
  }
  crypto::RecoverableSignature sig;
  for (size_t i = 0; i < 32; ++i) {
    sig.r[i] = signature[i];
    sig.s[i] = signature[32 + i];
  }
  sig.recovery_id = static_cast<uint8_t>(v >= 27 ? v - 27 : v);
  auto pub = crypto::Secp256k1Recover(PersonalMessageDigest(message), sig);
  if (!pub.ok()) return pub.status().Annotate("personal_sign");
  return Address::FromPublicKey(*pub);
}

StatusOr<Address> RecoverPersonalMessageSignerHex(ByteSpan message, std::string_view signature_hex) {
  auto sig = HexDecode(signature_hex);
  if (!sig.ok()) return sig.status().Annotate("personal_sign: signature");
  return RecoverPersonalMessageSigner(message, *sig);
}

}  // namespace vp::eth
