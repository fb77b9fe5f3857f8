// BIP-32 hierarchical deterministic keys on secp256k1, the derivation paths that address
// them, and the BIP-44 Ethereum convenience (m/44'/60'/0'/0/i -> key, public key, address).
// Private keys and chain codes live in SecureBuffer; an ExtendedKey is move-only.
//
//   ASSIGN_OR_RETURN(SecureBuffer seed, vp::eth::MnemonicToSeed(words, passphrase));
//   ASSIGN_OR_RETURN(vp::eth::EthereumKey k,
//                    vp::eth::DeriveEthereumKey(seed.view(), "m/44'/60'/0'/0/0"));
//   k.address.ToChecksumHex();
//
//   ASSIGN_OR_RETURN(vp::eth::ExtendedKey xpub, vp::eth::ExtendedKey::Parse("xpub661My..."));
//   ASSIGN_OR_RETURN(vp::eth::ExtendedKey child, xpub.DeriveChild(7));   // public derivation
//
// Serialisation is the mainnet form only (xprv 0x0488ADE4 / xpub 0x0488B21E); the parser
// is strict and refuses, each with its own message, what BIP-32 test vector 5 lists:
// unknown versions, a key that does not match the version, a private key outside
// 1..n-1, a public key off the curve, a bad checksum, and depth 0 with a non-zero parent
// fingerprint or child number.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vp/base/bytes.h"
#include "vp/base/secure.h"
#include "vp/crypto/secp256k1.h"
#include "vp/eth/address.h"

namespace vp::eth {

inline constexpr uint32_t kHardenedBit = 0x80000000u;
inline constexpr size_t kMaxDerivationDepth = 255;  // the depth field is one byte
inline constexpr uint32_t kXprvVersion = 0x0488ADE4u;
inline constexpr uint32_t kXpubVersion = 0x0488B21Eu;
inline constexpr std::string_view kEthereumDefaultPath = "m/44'/60'/0'/0/0";

// A path from the master key: "m", "m/44'/60'/0'/0/7". Hardened levels are marked with
// ', h or H. Parse refuses (kInvalidArgument) a missing or upper-case "m", empty levels
// ("m/", "m//0", "m/0/"), signs, spaces or any other character, leading zeros ("m/01"),
// an index >= 2^31 (hardened or not: the marker, not the number, sets the hardened bit),
// and more than 255 levels.
class DerivationPath {
 public:
  DerivationPath() = default;  // "m"
  explicit DerivationPath(std::vector<uint32_t> indices) : indices_(std::move(indices)) {}

  static StatusOr<DerivationPath> Parse(std::string_view text);
  // m/44'/60'/0'/0/index (BIP-44, coin type 60); kInvalidArgument if index >= 2^31.
  static StatusOr<DerivationPath> Ethereum(uint32_t index);

  // Child numbers, hardened ones with kHardenedBit set.
  const std::vector<uint32_t>& indices() const { return indices_; }
  // Canonical text, hardened levels marked with '.
  std::string ToString() const;

  friend bool operator==(const DerivationPath&, const DerivationPath&) = default;

 private:
  std::vector<uint32_t> indices_;
};

// A BIP-32 extended key: a private or public secp256k1 key with its chain code and
// position in the tree.
class ExtendedKey {
 public:
  // Master key: HMAC-SHA512(key "Bitcoin seed", seed). The seed must be 16 to 64 bytes;
  // kInvalidArgument for another size or if the derived key is invalid (zero or >= n).
  static StatusOr<ExtendedKey> FromSeed(ByteSpan seed);
  // Parses an xprv or xpub (Base58Check); kInvalidArgument with the reason otherwise.
  static StatusOr<ExtendedKey> Parse(std::string_view text);

  ExtendedKey(ExtendedKey&&) noexcept = default;
  ExtendedKey& operator=(ExtendedKey&&) noexcept = default;

  bool is_private() const { return !private_key_.empty(); }
  uint8_t depth() const { return depth_; }
  uint32_t child_number() const { return child_number_; }
  const ByteArray<4>& parent_fingerprint() const { return parent_fingerprint_; }
  // First 4 bytes of Hash160 of the compressed public key.
  ByteArray<4> fingerprint() const;
  ByteSpan chain_code() const { return chain_code_.view(); }
  const crypto::PublicKeyCompressed& public_key() const { return public_key_; }
  // The 32-byte private key; empty for a public-only key. Owned by this object.
  ByteSpan private_key() const { return private_key_.view(); }

  // Child 'index' (hardened when index has kHardenedBit). A private key derives private
  // children; a public key derives public children and refuses hardened ones
  // (kFailedPrecondition). kInvalidArgument past depth 255, or in the ~2^-127 case where
  // BIP-32 says the index is invalid and the next one should be used.
  StatusOr<ExtendedKey> DeriveChild(uint32_t index) const;
  // Follows 'path' from this key, which must be a master key (depth 0), else
  // kFailedPrecondition; errors of DeriveChild otherwise.
  StatusOr<ExtendedKey> Derive(const DerivationPath& path) const;

  // The public half (same position, no private key).
  ExtendedKey Neuter() const;
  ExtendedKey Clone() const;

  // "xprv..." in a SecureBuffer (ASCII); kFailedPrecondition for a public-only key.
  StatusOr<SecureBuffer> ToXprv() const;
  // "xpub..." (of the public half for a private key).
  std::string ToXpub() const;

 private:
  ExtendedKey() = default;

  SecureBuffer private_key_;  // 32 bytes, or empty
  SecureBuffer chain_code_;   // 32 bytes
  crypto::PublicKeyCompressed public_key_{};
  uint8_t depth_ = 0;
  uint32_t child_number_ = 0;
  ByteArray<4> parent_fingerprint_{};
};

// A key at a path below a BIP-39 seed, in the forms Ethereum tools print.
struct EthereumKey {
  SecureBuffer private_key;                           // 32 bytes
  crypto::PublicKeyUncompressed public_key{};         // 0x04 || X || Y
  // 0x02/0x03 || X: what ethers v6 prints as HDNodeWallet.publicKey (its signingKey.publicKey
  // is the uncompressed form above).
  crypto::PublicKeyCompressed public_key_compressed{};
  Address address;
};

// FromSeed(seed) then Derive(path). Errors as those two and DerivationPath::Parse.
StatusOr<EthereumKey> DeriveEthereumKey(ByteSpan seed, const DerivationPath& path);
StatusOr<EthereumKey> DeriveEthereumKey(ByteSpan seed, std::string_view path);

}  // namespace vp::eth
