// EIP-712 typed structured data: hashing and signing of eth_signTypedData_v4 documents
// ({"types", "primaryType", "domain", "message"}), giving the same digest and signature
// bytes as ethers v6 (TypedDataEncoder.hash, Wallet.signTypedData).
//
//   ASSIGN_OR_RETURN(nlohmann::json doc, vp::eth::ParseTypedDataJson(request_body));
//   ASSIGN_OR_RETURN(vp::eth::TypedDataHash h, vp::eth::HashTypedData(doc));
//   ASSIGN_OR_RETURN(vp::eth::TypedDataSignature s, vp::eth::SignTypedData(doc, key.view()));
//
// Every rule below is enforced; a violation is kInvalidArgument with a message that starts
// "eip712: " and names where it is ("types.Mail[1].type", "message.to.wallets[1]").
// Where ethers is looser we are stricter, never the other way round, so a document we
// accept hashes as ethers hashes it.
//
// Document: a JSON object with exactly the keys types, primaryType, domain and message.
// ParseTypedDataJson also refuses a repeated key in any object (nlohmann would silently keep
// the last one, so "a type is defined once" could not be checked after parsing).
//
// types: an object mapping struct names to arrays of {"name": ..., "type": ...}.
//  - Struct and field names are identifiers ([A-Za-z_$][A-Za-z0-9_$]*, at most 256 chars).
//    A struct may not be named like an atomic type (bool, address, string, bytes, bytesN,
//    intN, uintN, or int/uint/bytes followed by any digits). Field names are unique within
//    a struct; a struct with no fields is allowed ("Empty()").
//  - A field type is a base type plus array suffixes "[]" or "[N]" (N written in decimal
//    without leading zeros, 1 <= N < 2^32; at most 32 suffixes). The base is bool, address,
//    string, bytes, bytes1..bytes32, uint8..uint256 or int8..int256 (multiples of 8), or a
//    struct defined in types. The bare aliases "uint" and "int" are refused: ethers rewrites
//    them to uint256/int256 in the type string while eth-sig-util hashes them verbatim, so
//    the same document would have two digests.
//  - No recursion: a struct may not reach itself through its fields, arrays included.
//    EIP-712 would allow recursion through arrays, but ethers v6 refuses every cycle, and
//    a signature ethers cannot reproduce cannot be checked by the other side.
//  - Structs not reachable from primaryType are allowed (MetaMask's own v4 example carries
//    an unused "Group"), are validated like the others, and do not affect the hash. (ethers
//    derives the primary type and so refuses them; give it only the reachable types.)
//  - Limits against hostile input: at most 256 structs, 256 fields per struct, and 1 MiB
//    for all the full encodeType strings together.
//
// primaryType: a struct in types other than EIP712Domain. Message structs may not refer to
// EIP712Domain.
//
// domain: an object. When types has EIP712Domain, that definition is used as given (its
// order is hashed); its fields must come from name (string), version (string), chainId
// (uint256), verifyingContract (address) and salt (bytes32), and the domain object must have
// exactly those fields. Otherwise the domain type is derived from the keys present, in that
// canonical order, as ethers' hashDomain does; any other key is refused, and so is a null
// value (ethers skips nulls; we refuse an ambiguous domain).
//
// Values (domain and message alike):
//  - struct: an object with exactly the declared fields. A missing field is refused (ethers
//    would hash a missing bool as false); an extra field is refused (ethers ignores it, and
//    a signer must not appear to approve data that is not signed).
//  - T[] / T[N]: an array; T[N] must have exactly N elements.
//  - nesting: the message is level 1, each struct or array adds one; at most 32 levels.
//  - uintN / intN: a JSON integer with |v| <= 2^53 - 1 (larger ones JavaScript would already
//    have rounded: send a string), or a string of decimal digits or 0x-hex digits, with a
//    leading '-' for intN only ("-0x10" is -16, as in ethers). No spaces, '+', 0b/0o forms,
//    or JSON fractions (1.0 included). uintN: 0 <= v < 2^N; intN: -2^(N-1) <= v < 2^(N-1),
//    encoded as 256-bit two's complement.
//  - bool: JSON true or false only (ethers takes any truthy value).
//  - address: "0x" + 40 hex digits; mixed case must match EIP-55. The lower-case 0x prefix
//    is required (ethers' Wallet.signTypedData takes anything else for an ENS name).
//  - bytes: "0x" (or "0X", as ethers) + an even number of hex digits ("0x" is empty);
//    bytesN: exactly N bytes.
//  - string: a JSON string of valid UTF-8, hashed as its bytes.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json_fwd.hpp>

#include "vp/base/bytes.h"
#include "vp/base/status.h"
#include "vp/crypto/keccak.h"

namespace vp::eth {

struct TypedDataHash {
  crypto::Hash256 domain_separator{};  // hashStruct(EIP712Domain, domain)
  crypto::Hash256 struct_hash{};       // hashStruct(primaryType, message)
  crypto::Hash256 digest{};            // keccak256(0x19 0x01 || domain_separator || struct_hash)
};

struct TypedDataSignature {
  ByteArray<65> signature{};  // r || s || v with v = 27 or 28 (RFC 6979, low s)
  crypto::Hash256 digest{};
};

// Parses JSON text, refusing malformed JSON, a repeated key in any object and nesting
// deeper than 64. kInvalidArgument on failure.
StatusOr<nlohmann::json> ParseTypedDataJson(std::string_view text);

// Validates the whole document (rules above) and hashes it.
StatusOr<TypedDataHash> HashTypedData(const nlohmann::json& doc);

// HashTypedData, then a secp256k1 signature of the digest. An invalid private key is
// kInvalidArgument. The key is only read.
StatusOr<TypedDataSignature> SignTypedData(const nlohmann::json& doc, ByteSpan private_key);

// A validated "types" object, exposing the EIP-712 building blocks (for tests and for
// callers that hash a struct on its own). Here EIP712Domain is an ordinary struct name and
// unreferenced structs are fine. Cheap to copy (shared, immutable).
class TypedDataTypes {
 public:
  static StatusOr<TypedDataTypes> Parse(const nlohmann::json& types);

  bool Has(std::string_view struct_name) const;
  // "Mail(Person from,Person to,string contents)Person(string name,address wallet)".
  // kInvalidArgument for an unknown name.
  StatusOr<std::string> EncodeType(std::string_view struct_name) const;
  StatusOr<crypto::Hash256> TypeHash(std::string_view struct_name) const;
  // keccak256(typeHash || encodeData(value)). 'path' names the value in error messages.
  StatusOr<crypto::Hash256> HashStruct(std::string_view struct_name, const nlohmann::json& value,
                                       std::string_view path = "value") const;

 private:
  struct Impl;
  explicit TypedDataTypes(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  friend StatusOr<TypedDataHash> HashTypedData(const nlohmann::json& doc);

  std::shared_ptr<const Impl> impl_;
};

}  // namespace vp::eth
