#include "vp/eth/address.h"

#include "vp/crypto/keccak.h"

namespace vp::eth {

StatusOr<Address> Address::Parse(std::string_view text) {
  std::string_view digits = text;
  if (digits.size() >= 2 && digits[0] == '0' && digits[1] == 'x') digits.remove_prefix(2);
  if (digits.size() != 40) return InvalidArgumentError("address: expected 40 hex digits");
  auto raw = HexDecodeFixed<20>(digits, HexPrefix::kForbidden);
  if (!raw.ok()) return raw.status().Annotate("address");
  Address a(*raw);
  bool has_lower = false, has_upper = false;
  for (char c : digits) {
    if (c >= 'a' && c <= 'f') has_lower = true;
    if (c >= 'A' && c <= 'F') has_upper = true;
  }
  if (has_lower && has_upper && a.ToChecksumHex().substr(2) != digits) {
    return InvalidArgumentError("address: bad EIP-55 checksum");
  }
  return a;
}

Address Address::FromPublicKey(const crypto::PublicKeyUncompressed& pub) {
  const auto h = crypto::Keccak256(ByteSpan(pub).subspan(1));
  ByteArray<20> out;
  for (size_t i = 0; i < 20; ++i) out[i] = h[12 + i];
  return Address(out);
}

StatusOr<Address> Address::FromPrivateKey(ByteSpan private_key) {
  ASSIGN_OR_RETURN(auto pub, crypto::Secp256k1PublicKey(private_key));
  return FromPublicKey(pub);
}

std::string Address::ToLowerHex() const { return HexEncode(bytes_, true); }

std::string Address::ToChecksumHex() const {
  const std::string lower = HexEncode(bytes_);
  const auto h = crypto::Keccak256(AsBytes(lower));
  std::string out = "0x";
  for (size_t i = 0; i < 40; ++i) {
    char c = lower[i];
    const uint8_t nibble = (i % 2 == 0) ? (h[i / 2] >> 4) : (h[i / 2] & 0x0f);
    if (c >= 'a' && c <= 'f' && nibble >= 8) c = static_cast<char>(c - 'a' + 'A');
    out += c;
  }
  return out;
}

}  // namespace vp::eth
