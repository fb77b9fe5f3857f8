// BIP-32 (https://github.com/bitcoin/bips/blob/master/bip-0032.mediawiki): CKDpriv,
// CKDpub, Base58Check serialisation of extended keys, and path parsing.
#include "vp/eth/bip32.h"

#include <algorithm>
#include <array>
#include <utility>

#include "vp/crypto/hash.h"

namespace vp::eth {
namespace {

constexpr size_t kPayloadSize = 78;  // version 4, depth 1, parent 4, child 4, chain 32, key 33
constexpr size_t kChecksumSize = 4;
constexpr size_t kEncodedSize = kPayloadSize + kChecksumSize;
// Every 82-byte value fits in 112 Base58 digits; refusing longer text up front keeps the
// quadratic conversion bounded.
constexpr size_t kMaxBase58Length = 112;
constexpr std::string_view kBase58Alphabet =
    "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
constexpr std::string_view kMasterHmacKey = "Bitcoin seed";

std::string Hex32(uint32_t v) {
  const uint8_t b[4] = {static_cast<uint8_t>(v >> 24), static_cast<uint8_t>(v >> 16),
                        static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
  return HexEncode(ByteSpan(b, 4), /*prefix=*/true);
}

uint32_t ReadBigEndian32(const uint8_t* p) {
  return (static_cast<uint32_t>(p[0]) << 24) | (static_cast<uint32_t>(p[1]) << 16) |
         (static_cast<uint32_t>(p[2]) << 8) | static_cast<uint32_t>(p[3]);
}

void WriteBigEndian32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

ByteArray<kChecksumSize> Checksum(ByteSpan payload) {
  const auto once = crypto::Sha256(payload);
  const auto twice = crypto::Sha256(once);
  ByteArray<kChecksumSize> out;
  for (size_t i = 0; i < kChecksumSize; ++i) out[i] = twice[i];
  return out;
}

// Base58 of 'data' as ASCII. Working memory is a SecureBuffer because xprv payloads are
// secret.
SecureBuffer Base58Encode(ByteSpan data) {
  size_t zeros = 0;
  while (zeros < data.size() && data[zeros] == 0) ++zeros;
  // log(256) / log(58) < 1.38
  const size_t capacity = (data.size() - zeros) * 138 / 100 + 1;
  SecureBuffer digits(capacity);
  size_t length = 0;  // significant digits, stored at the end of 'digits'
  for (size_t i = zeros; i < data.size(); ++i) {
    uint32_t carry = data[i];
    size_t j = 0;
    for (size_t k = capacity; k-- > 0 && (carry != 0 || j < length); ++j) {
      carry += 256u * digits.data()[k];
      digits.data()[k] = static_cast<uint8_t>(carry % 58);
      carry /= 58;
    }
    length = j;
  }
  SecureBuffer out(zeros + length);
  for (size_t i = 0; i < zeros; ++i) out.data()[i] = '1';
  for (size_t i = 0; i < length; ++i) {
    const uint8_t digit = digits.data()[capacity - length + i];
    out.data()[zeros + i] = static_cast<uint8_t>(kBase58Alphabet[digit]);
  }
  return out;
}

StatusOr<SecureBuffer> Base58Decode(std::string_view text) {
  size_t zeros = 0;
  while (zeros < text.size() && text[zeros] == '1') ++zeros;
  // log(58) / log(256) < 0.733
  const size_t capacity = (text.size() - zeros) * 733 / 1000 + 1;
  SecureBuffer bytes(capacity);
  size_t length = 0;
  for (size_t i = zeros; i < text.size(); ++i) {
    const size_t digit = kBase58Alphabet.find(text[i]);
    if (digit == std::string_view::npos) {
      return InvalidArgumentError("character at offset " + std::to_string(i) +
                                  " is not Base58");
    }
    uint32_t carry = static_cast<uint32_t>(digit);
    size_t j = 0;
    for (size_t k = capacity; k-- > 0 && (carry != 0 || j < length); ++j) {
      carry += 58u * bytes.data()[k];
      bytes.data()[k] = static_cast<uint8_t>(carry & 0xff);
      carry >>= 8;
    }
    length = j;
  }
  SecureBuffer out(zeros + length);
  for (size_t i = 0; i < length; ++i) out.data()[zeros + i] = bytes.data()[capacity - length + i];
  return out;
}

Status InvalidKey(std::string_view reason) {
  return InvalidArgumentError("extended key: " + std::string(reason));
}

}  // namespace

// ---------------------------------------------------------------- DerivationPath

StatusOr<DerivationPath> DerivationPath::Parse(std::string_view text) {
  if (text.empty()) return InvalidArgumentError("bip32 path: empty");
  for (char c : text) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f') {
      return InvalidArgumentError("bip32 path: whitespace is not allowed");
    }
  }
  if (text[0] != 'm') return InvalidArgumentError("bip32 path: must start with \"m\"");
  std::vector<uint32_t> indices;
  if (text.size() == 1) return DerivationPath(std::move(indices));
  if (text[1] != '/') return InvalidArgumentError("bip32 path: expected \"/\" after \"m\"");

  size_t start = 2;
  while (true) {
    const size_t end = std::min(text.find('/', start), text.size());
    const std::string_view part = text.substr(start, end - start);
    const std::string level = "bip32 path: level " + std::to_string(indices.size() + 1);
    if (indices.size() == kMaxDerivationDepth) {
      return InvalidArgumentError("bip32 path: more than 255 levels");
    }
    if (part.empty()) return InvalidArgumentError(level + " is empty");
    size_t digits = 0;
    while (digits < part.size() && part[digits] >= '0' && part[digits] <= '9') ++digits;
    if (digits == 0) {
      if (part[0] == '+' || part[0] == '-') {
        return InvalidArgumentError(level + ": sign not allowed");
      }
      return InvalidArgumentError(level + ": expected a decimal index");
    }
    const std::string_view marker = part.substr(digits);
    const bool hardened = !marker.empty();
    if (hardened && marker != "'" && marker != "h" && marker != "H") {
      return InvalidArgumentError(level + ": only ', h or H may follow the index");
    }
    if (digits > 1 && part[0] == '0') return InvalidArgumentError(level + ": leading zero");
    if (digits > 10) return InvalidArgumentError(level + ": index >= 2^31");
    uint64_t value = 0;
    for (size_t i = 0; i < digits; ++i) value = value * 10 + static_cast<uint64_t>(part[i] - '0');
    if (value >= kHardenedBit) {
      const std::string hint = hardened ? "" : "; mark hardened levels with ', h or H";
      return InvalidArgumentError(level + ": index >= 2^31" + hint);
    }
    indices.push_back(static_cast<uint32_t>(value) | (hardened ? kHardenedBit : 0u));
    if (end == text.size()) break;
    start = end + 1;
  }
  return DerivationPath(std::move(indices));
}

StatusOr<DerivationPath> DerivationPath::Ethereum(uint32_t index) {
  if (index >= kHardenedBit) return InvalidArgumentError("bip44: address index >= 2^31");
  return DerivationPath({44 | kHardenedBit, 60 | kHardenedBit, 0 | kHardenedBit, 0, index});
}

std::string DerivationPath::ToString() const {
  std::string out = "m";
  for (uint32_t i : indices_) {
    out += '/';
    out += std::to_string(i & ~kHardenedBit);
    if (i & kHardenedBit) out += '\'';
  }
  return out;
}

// ---------------------------------------------------------------- ExtendedKey

StatusOr<ExtendedKey> ExtendedKey::FromSeed(ByteSpan seed) {
  if (seed.size() < 16 || seed.size() > 64) {
    return InvalidArgumentError("bip32: seed must be 16 to 64 bytes, got " +
                                std::to_string(seed.size()));
  }
  auto mac = crypto::HmacSha512(AsBytes(kMasterHmacKey), seed);
  SecureBuffer i = SecureBuffer::CopyOf(mac);
  SecureWipe(mac.data(), mac.size());

  ExtendedKey key;
  key.private_key_ = SecureBuffer::CopyOf(i.view().first(32));
  key.chain_code_ = SecureBuffer::CopyOf(i.view().subspan(32));
  auto pub = crypto::Secp256k1PublicKeyCompressed(key.private_key_.view());
  if (!pub.ok()) {
    return InvalidArgumentError("bip32: seed gives an invalid master key (zero or >= n)");
  }
  key.public_key_ = *pub;
  return key;
}

StatusOr<ExtendedKey> ExtendedKey::Parse(std::string_view text) {
  if (text.empty()) return InvalidKey("empty");
  if (text.size() > kMaxBase58Length) return InvalidKey("too long");
  auto decoded = Base58Decode(text);
  if (!decoded.ok()) return decoded.status().Annotate("extended key");
  const SecureBuffer& raw = *decoded;
  if (raw.size() != kEncodedSize) {
    return InvalidKey("decodes to " + std::to_string(raw.size()) + " bytes; expected 82");
  }
  const ByteSpan payload = raw.view().first(kPayloadSize);
  const auto expected = Checksum(payload);
  if (!ConstantTimeEqual(expected, raw.view().subspan(kPayloadSize))) {
    return InvalidKey("invalid checksum");
  }

  const uint8_t* p = payload.data();
  const uint32_t version = ReadBigEndian32(p);
  if (version != kXprvVersion && version != kXpubVersion) {
    return InvalidKey("unknown extended key version " + Hex32(version) +
                      " (only mainnet xprv/xpub are supported)");
  }
  ExtendedKey key;
  key.depth_ = p[4];
  for (size_t i = 0; i < 4; ++i) key.parent_fingerprint_[i] = p[5 + i];
  key.child_number_ = ReadBigEndian32(p + 9);
  if (key.depth_ == 0 && key.parent_fingerprint_ != ByteArray<4>{}) {
    return InvalidKey("zero depth with non-zero parent fingerprint");
  }
  if (key.depth_ == 0 && key.child_number_ != 0) {
    return InvalidKey("zero depth with non-zero index (child number)");
  }
  key.chain_code_ = SecureBuffer::CopyOf(payload.subspan(13, 32));
  const ByteSpan key_data = payload.subspan(45, 33);

  if (version == kXprvVersion) {
    if (key_data[0] != 0x00) {
      return InvalidKey("private key must be prefixed with 0x00, found " +
                        HexEncode(key_data.first(1), /*prefix=*/true));
    }
    key.private_key_ = SecureBuffer::CopyOf(key_data.subspan(1));
    auto pub = crypto::Secp256k1PublicKeyCompressed(key.private_key_.view());
    if (!pub.ok()) return InvalidKey("private key not in 1..n-1");
    key.public_key_ = *pub;
  } else {
    if (key_data[0] != 0x02 && key_data[0] != 0x03) {
      return InvalidKey("invalid public key prefix " +
                        HexEncode(key_data.first(1), /*prefix=*/true) + "; expected 0x02 or 0x03");
    }
    if (!crypto::Secp256k1ParsePublicKey(key_data).ok()) {
      return InvalidKey("public key is not on the curve");
    }
    for (size_t i = 0; i < key.public_key_.size(); ++i) key.public_key_[i] = key_data[i];
  }
  return key;
}

ByteArray<4> ExtendedKey::fingerprint() const {
  const auto h = crypto::Hash160(public_key_);
  return {h[0], h[1], h[2], h[3]};
}

StatusOr<ExtendedKey> ExtendedKey::DeriveChild(uint32_t index) const {
  const bool hardened = (index & kHardenedBit) != 0;
  if (depth_ >= kMaxDerivationDepth) return InvalidArgumentError("bip32: depth would exceed 255");
  if (hardened && !is_private()) {
    return FailedPreconditionError("bip32: hardened child of a public key cannot be derived");
  }

  // Data = 0x00 || ser256(k) || ser32(i) when hardened, else serP(K) || ser32(i).
  SecureBuffer data(37);
  if (hardened) {
    for (size_t i = 0; i < 32; ++i) data.data()[1 + i] = private_key_.data()[i];
  } else {
    for (size_t i = 0; i < 33; ++i) data.data()[i] = public_key_[i];
  }
  WriteBigEndian32(data.data() + 33, index);
  auto mac = crypto::HmacSha512(chain_code_.view(), data.view());
  SecureBuffer i = SecureBuffer::CopyOf(mac);
  SecureWipe(mac.data(), mac.size());
  const ByteSpan il = i.view().first(32);

  ExtendedKey child;
  child.depth_ = static_cast<uint8_t>(depth_ + 1);
  child.child_number_ = index;
  child.parent_fingerprint_ = fingerprint();
  child.chain_code_ = SecureBuffer::CopyOf(i.view().subspan(32));
  const std::string invalid = "bip32: child " + std::to_string(index & ~kHardenedBit) +
                              (hardened ? "'" : "") +
                              " is invalid (BIP-32: use the next index)";
  if (is_private()) {
    auto k = crypto::Secp256k1PrivateKeyTweakAdd(private_key_.view(), il);
    if (!k.ok()) return InvalidArgumentError(invalid);
    child.private_key_ = std::move(*k);
    auto pub = crypto::Secp256k1PublicKeyCompressed(child.private_key_.view());
    if (!pub.ok()) return InvalidArgumentError(invalid);
    child.public_key_ = *pub;
  } else {
    auto pub = crypto::Secp256k1PublicKeyTweakAdd(public_key_, il);
    if (!pub.ok()) return InvalidArgumentError(invalid);
    child.public_key_ = *pub;
  }
  return child;
}

StatusOr<ExtendedKey> ExtendedKey::Derive(const DerivationPath& path) const {
  if (depth_ != 0) {
    return FailedPreconditionError(
        "bip32: a path from m needs the master key, this key has depth " + std::to_string(depth_));
  }
  ExtendedKey node = Clone();
  for (uint32_t index : path.indices()) {
    ASSIGN_OR_RETURN(node, node.DeriveChild(index));
  }
  return node;
}

ExtendedKey ExtendedKey::Neuter() const {
  ExtendedKey out;
  out.chain_code_ = SecureBuffer::CopyOf(chain_code_.view());
  out.public_key_ = public_key_;
  out.depth_ = depth_;
  out.child_number_ = child_number_;
  out.parent_fingerprint_ = parent_fingerprint_;
  return out;
}

ExtendedKey ExtendedKey::Clone() const {
  ExtendedKey out = Neuter();
  if (is_private()) out.private_key_ = SecureBuffer::CopyOf(private_key_.view());
  return out;
}

namespace {

// version || depth || parent || child || chain code || key33, then Base58Check.
SecureBuffer Serialise(uint32_t version, uint8_t depth, const ByteArray<4>& parent,
                       uint32_t child, ByteSpan chain_code, ByteSpan key33) {
  SecureBuffer raw(kEncodedSize);
  uint8_t* p = raw.data();
  WriteBigEndian32(p, version);
  p[4] = depth;
  for (size_t i = 0; i < 4; ++i) p[5 + i] = parent[i];
  WriteBigEndian32(p + 9, child);
  for (size_t i = 0; i < 32; ++i) p[13 + i] = chain_code[i];
  for (size_t i = 0; i < 33; ++i) p[45 + i] = key33[i];
  const auto check = Checksum(raw.view().first(kPayloadSize));
  for (size_t i = 0; i < kChecksumSize; ++i) p[kPayloadSize + i] = check[i];
  return Base58Encode(raw.view());
}

}  // namespace

StatusOr<SecureBuffer> ExtendedKey::ToXprv() const {
  if (!is_private()) return FailedPreconditionError("bip32: public key has no xprv form");
  SecureBuffer key33(33);
  for (size_t i = 0; i < 32; ++i) key33.data()[1 + i] = private_key_.data()[i];
  return Serialise(kXprvVersion, depth_, parent_fingerprint_, child_number_, chain_code_.view(),
                   key33.view());
}

std::string ExtendedKey::ToXpub() const {
  const SecureBuffer text = Serialise(kXpubVersion, depth_, parent_fingerprint_, child_number_,
                                      chain_code_.view(), public_key_);
  return std::string(AsString(text.view()));
}

// ---------------------------------------------------------------- BIP-44 Ethereum

StatusOr<EthereumKey> DeriveEthereumKey(ByteSpan seed, const DerivationPath& path) {
  ASSIGN_OR_RETURN(ExtendedKey master, ExtendedKey::FromSeed(seed));
  ASSIGN_OR_RETURN(ExtendedKey node, master.Derive(path));
  EthereumKey out;
  out.private_key = SecureBuffer::CopyOf(node.private_key());
  auto pub = crypto::Secp256k1PublicKey(out.private_key.view());
  if (!pub.ok()) return pub.status().Annotate("bip44");
  out.public_key = *pub;
  out.public_key_compressed = node.public_key();
  out.address = Address::FromPublicKey(out.public_key);
  return out;
}

StatusOr<EthereumKey> DeriveEthereumKey(ByteSpan seed, std::string_view path) {
  ASSIGN_OR_RETURN(DerivationPath parsed, DerivationPath::Parse(path));
  return DeriveEthereumKey(seed, parsed);
}

}  // namespace vp::eth
