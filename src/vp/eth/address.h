// Ethereum addresses with EIP-55 mixed-case checksums.
//
//   ASSIGN_OR_RETURN(Address a, Address::Parse("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"));
//   a.ToChecksumHex();   // "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
//   Address::FromPublicKey(pub65);
#pragma once

#include <string>
#include <string_view>

#include "vp/base/bytes.h"
#include "vp/crypto/secp256k1.h"

namespace vp::eth {

class Address {
 public:
  Address() = default;
  explicit Address(const ByteArray<20>& bytes) : bytes_(bytes) {}

  // "0x" + 40 hex digits (prefix optional). All-lower or all-upper hex is accepted as is;
  // mixed case must match the EIP-55 checksum, else kInvalidArgument.
  static StatusOr<Address> Parse(std::string_view text);
  // keccak256(X || Y)[12..32] of an uncompressed (0x04-prefixed) public key.
  static Address FromPublicKey(const crypto::PublicKeyUncompressed& pub);
  // Address of a private key; kInvalidArgument for an invalid key.
  static StatusOr<Address> FromPrivateKey(ByteSpan private_key);

  const ByteArray<20>& bytes() const { return bytes_; }
  std::string ToChecksumHex() const;  // EIP-55
  std::string ToLowerHex() const;

  friend bool operator==(const Address&, const Address&) = default;

 private:
  ByteArray<20> bytes_{};
};

}  // namespace vp::eth
