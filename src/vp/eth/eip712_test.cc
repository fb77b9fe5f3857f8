// EIP-712 typed data: the specification's Mail example and eth-sig-util's v4 example (hashes
// and signatures), nested arrays of every shape checked against a hand-built encoding and
// against ethers v6, every value boundary and malformed type or value refused with the path
// of the offending field, the tests/corpus/typed_data/ files, and a seeded random test.
#include "vp/eth/eip712.h"

#include <gtest/gtest.h>

#include "vp/base/test_util.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>

#include "vp/crypto/secp256k1.h"
#include "vp/eth/address.h"
#include "vp/eth/uint256.h"

namespace vp::eth {
namespace {

using vp::testing::ReadFile;
using vp::testing::TestSeed;

using crypto::Hash256;
using nlohmann::json;

std::string Hex(ByteSpan b) { return HexEncode(b, true); }

json Parse(std::string_view text) {
  auto doc = ParseTypedDataJson(text);
  EXPECT_TRUE(doc.ok()) << doc.status().ToString();
  return doc.ok() ? *doc : json();
}

// Asserts kInvalidArgument with 'needle' in the message.
void ExpectRefused(const StatusOr<TypedDataHash>& r, std::string_view needle) {
  ASSERT_FALSE(r.ok()) << "accepted; expected an error containing: " << needle;
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().ToString();
  EXPECT_NE(r.status().message().find(needle), std::string::npos)
      << "message: " << r.status().message() << "\nexpected to contain: " << needle;
}

// A document whose message has one field "v" of the given type.
json OneField(std::string_view type, const json& value) {
  json doc;
  doc["types"] = {{"T", json::array({{{"name", "v"}, {"type", type}}})}};
  doc["primaryType"] = "T";
  doc["domain"] = json::object();
  doc["message"] = {{"v", value}};
  return doc;
}

bool Accepts(std::string_view type, const json& value) { return HashTypedData(OneField(type, value)).ok(); }

Hash256 Word(const U256& v) { return v.ToBigEndian32(); }

Hash256 KeccakOf(std::initializer_list<Hash256> words) {
  crypto::Keccak256Hasher h;
  for (const Hash256& w : words) h.Update(w);
  return h.Final();
}

// ---- The EIP-712 specification's example (eips.ethereum.org/EIPS/eip-712, Example.js) ----

constexpr std::string_view kMailDoc = R"({
  "types": {
    "EIP712Domain": [
      {"name": "name", "type": "string"}, {"name": "version", "type": "string"},
      {"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"}],
    "Person": [{"name": "name", "type": "string"}, {"name": "wallet", "type": "address"}],
    "Mail": [{"name": "from", "type": "Person"}, {"name": "to", "type": "Person"},
             {"name": "contents", "type": "string"}]
  },
  "primaryType": "Mail",
  "domain": {"name": "Ether Mail", "version": "1", "chainId": 1,
             "verifyingContract": "0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC"},
  "message": {
    "from": {"name": "Cow", "wallet": "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826"},
    "to": {"name": "Bob", "wallet": "0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB"},
    "contents": "Hello, Bob!"
  }
})";

// The private key of the specification's example: keccak256("cow").
Hash256 CowKey() { return crypto::Keccak256(AsBytes("cow")); }

TEST(Eip712Spec, MailEncodeTypeAndTypeHashes) {
  const json doc = Parse(kMailDoc);
  auto types = TypedDataTypes::Parse(doc["types"]);
  ASSERT_TRUE(types.ok()) << types.status().ToString();
  EXPECT_EQ(*types->EncodeType("Mail"), "Mail(Person from,Person to,string contents)Person(string name,address wallet)");
  EXPECT_EQ(*types->EncodeType("Person"), "Person(string name,address wallet)");
  EXPECT_EQ(*types->EncodeType("EIP712Domain"),
            "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
  EXPECT_EQ(Hex(*types->TypeHash("Mail")), "0xa0cedeb2dc280ba39b857546d74f5549c3a1d7bdc2dd96bf881f76108e23dac2");
  EXPECT_EQ(Hex(*types->TypeHash("Person")), "0xb9d8c78acf9b987311de6c7b45bb6a9c8e1bf361fa7fd3467a2163f994c79500");
  EXPECT_TRUE(types->Has("Mail"));
  EXPECT_FALSE(types->Has("Letter"));
  EXPECT_EQ(types->EncodeType("Letter").status().code(), StatusCode::kInvalidArgument);
}

TEST(Eip712Spec, MailHashes) {
  const json doc = Parse(kMailDoc);
  auto h = HashTypedData(doc);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(Hex(h->domain_separator), "0xf2cee375fa42b42143804025fc449deafd50cc031ca257e0b194a650a912090f");
  EXPECT_EQ(Hex(h->struct_hash), "0xc52c0ee5d84264471806290a3f2c4cecfc5490626bf912d01f240d7a274b371e");
  EXPECT_EQ(Hex(h->digest), "0xbe609aee343fb3c4b28e1df9e632fca64fcfaede20f02e86244efddf30957bd2");

  auto types = TypedDataTypes::Parse(doc["types"]);
  ASSERT_TRUE(types.ok());
  EXPECT_EQ(*types->HashStruct("Mail", doc["message"]), h->struct_hash);
  EXPECT_EQ(*types->HashStruct("EIP712Domain", doc["domain"]), h->domain_separator);
}

TEST(Eip712Spec, DomainTypeDerivedWhenNotDeclared) {
  // ethers v6 derives EIP712Domain from the domain's keys; the result is the same.
  json doc = Parse(kMailDoc);
  doc["types"].erase("EIP712Domain");
  auto h = HashTypedData(doc);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(Hex(h->domain_separator), "0xf2cee375fa42b42143804025fc449deafd50cc031ca257e0b194a650a912090f");
  EXPECT_EQ(Hex(h->digest), "0xbe609aee343fb3c4b28e1df9e632fca64fcfaede20f02e86244efddf30957bd2");
}

TEST(Eip712Spec, MailSignature) {
  // Example.js of the specification: v = 28, r = 0x4355c47d..., s = 0x07299936...; ethers
  // v6.17.0 Wallet.signTypedData gives the same 65 bytes.
  const Hash256 key = CowKey();
  auto sig = SignTypedData(Parse(kMailDoc), key);
  ASSERT_TRUE(sig.ok()) << sig.status().ToString();
  EXPECT_EQ(Hex(sig->signature),
            "0x4355c47d63924e8a72e509b65029052eb6c299d53a04e167c5775fd466751c9d"
            "07299936d304c153f6443dfa05f40ff007d72911b6f72307f996231605b91562"
            "1c");
  EXPECT_EQ(Hex(sig->digest), "0xbe609aee343fb3c4b28e1df9e632fca64fcfaede20f02e86244efddf30957bd2");

  // The signature recovers to the example's "from" wallet.
  crypto::RecoverableSignature rs;
  std::copy(sig->signature.begin(), sig->signature.begin() + 32, rs.r.begin());
  std::copy(sig->signature.begin() + 32, sig->signature.begin() + 64, rs.s.begin());
  rs.recovery_id = static_cast<uint8_t>(sig->signature[64] - 27);
  auto pub = crypto::Secp256k1Recover(sig->digest, rs);
  ASSERT_TRUE(pub.ok());
  EXPECT_EQ(Address::FromPublicKey(*pub).ToChecksumHex(), "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826");
}

TEST(Eip712Spec, SignRefusesInvalidKeyAndInvalidDocument) {
  const Hash256 zero{};
  EXPECT_EQ(SignTypedData(Parse(kMailDoc), zero).status().code(), StatusCode::kInvalidArgument);
  const Hash256 key = CowKey();
  EXPECT_EQ(SignTypedData(json::array(), key).status().code(), StatusCode::kInvalidArgument);
}

// ---- Arrays of structs: eth-sig-util's signTypedData_v4 example ----
// MetaMask/eth-sig-util, src/sign-typed-data.test.ts ("V4" example, also MetaMask's test
// dapp): the unused "Group" type is part of the published document. Expected values as
// published there and repeated by other implementations (Trust Wallet core, web3dart, the
// Go and Python ports): from-Person hash 0x9b4846dd..., Mail type hash 0x4bd8a9a2...,
// struct hash 0xeb422118..., digest 0xa85c2e2b...; signature with keccak256("cow").
constexpr std::string_view kMailV4Doc = R"({
  "types": {
    "EIP712Domain": [
      {"name": "name", "type": "string"}, {"name": "version", "type": "string"},
      {"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"}],
    "Person": [{"name": "name", "type": "string"}, {"name": "wallets", "type": "address[]"}],
    "Mail": [{"name": "from", "type": "Person"}, {"name": "to", "type": "Person[]"},
             {"name": "contents", "type": "string"}],
    "Group": [{"name": "name", "type": "string"}, {"name": "members", "type": "Person[]"}]
  },
  "primaryType": "Mail",
  "domain": {"name": "Ether Mail", "version": "1", "chainId": 1,
             "verifyingContract": "0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC"},
  "message": {
    "from": {"name": "Cow", "wallets": ["0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826",
                                         "0xDeaDbeefdEAdbeefdEadbEEFdeadbeEFdEaDbeeF"]},
    "to": [{"name": "Bob", "wallets": ["0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB",
                                        "0xB0BdaBea57B0BDABeA57b0bdABEA57b0BDabEa57",
                                        "0xB0B0b0b0b0b0B000000000000000000000000000"]}],
    "contents": "Hello, Bob!"
  }
})";

TEST(Eip712ArraysOfStructs, EthSigUtilV4Example) {
  const json doc = Parse(kMailV4Doc);
  auto types = TypedDataTypes::Parse(doc["types"]);
  ASSERT_TRUE(types.ok()) << types.status().ToString();
  EXPECT_EQ(*types->EncodeType("Mail"), "Mail(Person from,Person[] to,string contents)Person(string name,address[] wallets)");
  EXPECT_EQ(*types->EncodeType("Group"), "Group(string name,Person[] members)Person(string name,address[] wallets)");
  EXPECT_EQ(Hex(*types->TypeHash("Mail")), "0x4bd8a9a2b93427bb184aca81e24beb30ffa3c747e2a33d4225ec08bf12e2e753");
  EXPECT_EQ(Hex(*types->HashStruct("Person", doc["message"]["from"])),
            "0x9b4846dd48b866f0ac54d61b9b21a9e746f921cefa4ee94c4c0a1c49c774f67f");

  auto h = HashTypedData(doc);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(Hex(h->domain_separator), "0xf2cee375fa42b42143804025fc449deafd50cc031ca257e0b194a650a912090f");
  EXPECT_EQ(Hex(h->struct_hash), "0xeb4221181ff3f1a83ea7313993ca9218496e424604ba9492bb4052c03d5c3df8");
  EXPECT_EQ(Hex(h->digest), "0xa85c2e2b118698e88db68a8105b794a8cc7cec074e89ef991cb4f5f533819cc2");

  const Hash256 key = CowKey();
  auto sig = SignTypedData(doc, key);
  ASSERT_TRUE(sig.ok());
  EXPECT_EQ(Hex(sig->signature),
            "0x65cbd956f2fae28a601bebc9b906cea0191744bd4c4247bcd27cd08f8eb6b71c"
            "78efdf7a31dc9abee78f492292721f362d296cf86b4538e07b51303b67f74906"
            "1b");
}

TEST(Eip712ArraysOfStructs, UnusedTypesDoNotChangeTheHash) {
  json doc = Parse(kMailV4Doc);
  const auto with_group = HashTypedData(doc);
  doc["types"].erase("Group");
  const auto without_group = HashTypedData(doc);
  ASSERT_TRUE(with_group.ok() && without_group.ok());
  EXPECT_EQ(with_group->digest, without_group->digest);
  // An unused type is still validated.
  doc["types"]["Group"] = json::array({{{"name", "members"}, {"type", "Persn[]"}}});
  ExpectRefused(HashTypedData(doc), "types.Group[0].type: unknown type \"Persn\"");
}

// ---- Nested arrays of every shape ----

TEST(Eip712NestedArrays, MatchesHandBuiltEncoding) {
  // Matrix(uint8[2][] rows,Cell[][] cells)Cell(int8 v): each array is keccak256 of its
  // elements' words, a struct element contributing its hashStruct.
  const json doc = Parse(R"({
    "types": {"Matrix": [{"name": "rows", "type": "uint8[2][]"}, {"name": "cells", "type": "Cell[][]"}],
              "Cell": [{"name": "v", "type": "int8"}]},
    "primaryType": "Matrix", "domain": {},
    "message": {"rows": [[1, 2], [3, 4], [5, 6]], "cells": [[{"v": -1}], [], [{"v": 2}, {"v": "-0x80"}]]}
  })");
  const Hash256 matrix_type = crypto::Keccak256(AsBytes("Matrix(uint8[2][] rows,Cell[][] cells)Cell(int8 v)"));
  const Hash256 cell_type = crypto::Keccak256(AsBytes("Cell(int8 v)"));
  auto cell = [&](const U256& two_complement) { return KeccakOf({cell_type, Word(two_complement)}); };
  const Hash256 rows = KeccakOf({KeccakOf({Word(1), Word(2)}), KeccakOf({Word(3), Word(4)}), KeccakOf({Word(5), Word(6)})});
  const Hash256 cells = KeccakOf({KeccakOf({cell(U256::Max())}), KeccakOf({}),
                                  KeccakOf({cell(2), cell(U256() - U256::PowerOfTwo(7))})});
  const Hash256 expected = KeccakOf({matrix_type, rows, cells});

  auto h = HashTypedData(doc);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->struct_hash, expected);
  // The empty domain: keccak256(keccak256("EIP712Domain()")).
  EXPECT_EQ(h->domain_separator, KeccakOf({crypto::Keccak256(AsBytes("EIP712Domain()"))}));
  EXPECT_EQ(Hex(h->domain_separator), "0x6192106f129ce05c9075d319c1fa6ea9b3ae37cbd0c1ef92e2be7137bb07baa1");
}

TEST(Eip712NestedArrays, MatchesEthers) {
  // Person[], Person[][], int16[3][], bool[2], Attachment[][2], bytes, bytes4, a full
  // uint256, multi-byte UTF-8, and all five domain fields. Expected values from ethers
  // v6.17.0: TypedDataEncoder.hash(domain, types, message) and Wallet.signTypedData with
  // keccak256("cow").
  const json doc = Parse(R"({"types":{"Attachment":[{"name":"kind","type":"bytes4"},{"name":"data","type":"bytes"}],
    "Mail":[{"name":"from","type":"Person"},{"name":"to","type":"Person[]"},{"name":"cc","type":"Person[][]"},
            {"name":"grid","type":"int16[3][]"},{"name":"flags","type":"bool[2]"},
            {"name":"attachments","type":"Attachment[][2]"},{"name":"nonce","type":"uint256"},
            {"name":"contents","type":"string"}],
    "Person":[{"name":"name","type":"string"},{"name":"wallets","type":"address[]"}]},
    "primaryType":"Mail",
    "domain":{"name":"Nested","version":"2","chainId":137,"verifyingContract":"0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC",
              "salt":"0x5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a"},
    "message":{"from":{"name":"Cow","wallets":["0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826"]},
      "to":[{"name":"Bob","wallets":["0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB","0xB0BdaBea57B0BDABeA57b0bdABEA57b0BDabEa57"]}],
      "cc":[[{"name":"Bob","wallets":["0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB","0xB0BdaBea57B0BDABeA57b0bdABEA57b0BDabEa57"]},
             {"name":"Alice","wallets":[]}],[]],
      "grid":[[1,-2,3],[-32768,32767,0]],"flags":[true,false],
      "attachments":[[{"kind":"0xdeadbeef","data":"0x"}],[{"kind":"0x00000001","data":"0x0102030405"},{"kind":"0xffffffff","data":"0x"}]],
      "nonce":"0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
      "contents":"Hello, \u4e16\u754c \ud83d\udc4b"}})");
  auto types = TypedDataTypes::Parse(doc["types"]);
  ASSERT_TRUE(types.ok()) << types.status().ToString();
  EXPECT_EQ(*types->EncodeType("Mail"),
            "Mail(Person from,Person[] to,Person[][] cc,int16[3][] grid,bool[2] flags,Attachment[][2] attachments,"
            "uint256 nonce,string contents)Attachment(bytes4 kind,bytes data)Person(string name,address[] wallets)");
  EXPECT_EQ(Hex(*types->TypeHash("Mail")), "0x250ac3a4bc925a3f920e3381e34b3b01ff4d5e49d435b3432e5f4cbe57d0042a");
  auto h = HashTypedData(doc);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(Hex(h->domain_separator), "0x244e07e76dcd7e19235e646c03966dc93e2f7cde969d8708d147d4c8517a15c7");
  EXPECT_EQ(Hex(h->struct_hash), "0xb6407f8fb3a85fa769891b785f07535fc399bd57cabc2c58e3143b5cc2af3a8a");
  EXPECT_EQ(Hex(h->digest), "0xc9fe398333f5c640ad6f90c8c606f351c3f17f72b176be791d5cffac88bbe17b");
  const Hash256 key = CowKey();
  auto sig = SignTypedData(doc, key);
  ASSERT_TRUE(sig.ok());
  EXPECT_EQ(Hex(sig->signature),
            "0xb5a62ea2aa788fd7f1859a71de4a09bf6bf742efc18912120a8554815a4150a6"
            "48e37ef96055ea35b94d51ec15ffa382a6c93372edf0ea6426696791cc2bef28"
            "1c");
}

TEST(Eip712NestedArrays, LengthsAndPaths) {
  const json types = {{"T", json::array({{{"name", "v"}, {"type", "uint8[2][]"}}})}};
  json doc = OneField("uint8[2][]", json::array({{1, 2}, {3}}));
  ExpectRefused(HashTypedData(doc), "message.v[1]: expected 2 elements for uint8[2], got 1");
  doc = OneField("uint8[][2]", json::array({{1, 2, 3}}));
  ExpectRefused(HashTypedData(doc), "message.v: expected 2 elements for uint8[][2], got 1");
  doc = OneField("uint8[][2]", json::array({json::array(), {1, 256}}));
  ExpectRefused(HashTypedData(doc), "message.v[1][1]: value 256 out of range for uint8");
  EXPECT_TRUE(Accepts("uint8[][2]", json::array({json::array(), json::array()})));
  EXPECT_TRUE(Accepts("bool[]", json::array()));
  ExpectRefused(HashTypedData(OneField("bool[1]", json::array())), "expected 1 elements for bool[1], got 0");
  ExpectRefused(HashTypedData(OneField("bool[]", json::object())), "message.v: expected an array for bool[], got object");
}

TEST(Eip712NestedArrays, StructFieldPaths) {
  json doc = Parse(kMailV4Doc);
  doc["message"]["to"][0]["wallets"][1] = "0xB0BdaBea57B0BDABeA57b0bdABEA57b0BDabEa58";
  ExpectRefused(HashTypedData(doc), "eip712: message.to[0].wallets[1]: address: bad EIP-55 checksum");
  doc = Parse(kMailV4Doc);
  doc["message"]["from"]["wallets"] = "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826";
  ExpectRefused(HashTypedData(doc), "message.from.wallets: expected an array for address[], got string");
}

// ---- Domain ----

TEST(Eip712Domain, DerivedInCanonicalOrderAsEthers) {
  // ethers v6.17.0 TypedDataEncoder.hashDomain(domain).
  const std::pair<std::string_view, std::string_view> cases[] = {
      {R"({})", "0x6192106f129ce05c9075d319c1fa6ea9b3ae37cbd0c1ef92e2be7137bb07baa1"},
      {R"({"chainId": 1})", "0x2d9145f2f941cb14d4c738374c6ebde69c75a737e93da5905ee040bab57e46a8"},
      {R"({"salt": "0x0000000000000000000000000000000000000000000000000000000000000001", "name": "X"})",
       "0x5b0bac7032ed1521fe8efab31eb120b189d63f43e7ca5b1c48606ef9a2a15069"},
      {R"({"verifyingContract": "0x0000000000000000000000000000000000000001", "version": "0"})",
       "0x79e5e7f08ebb2d0549de426c7661eb285418293f1af8ea52c13e59156036ad69"},
  };
  for (const auto& [domain, expected] : cases) {
    json doc = OneField("bool", true);
    doc["domain"] = Parse(domain);
    auto h = HashTypedData(doc);
    ASSERT_TRUE(h.ok()) << domain << ": " << h.status().ToString();
    EXPECT_EQ(Hex(h->domain_separator), expected) << domain;
  }
}

TEST(Eip712Domain, DeclaredDefinitionIsHashedAsGiven) {
  json doc = OneField("bool", true);
  doc["domain"] = {{"name", "X"}, {"chainId", 5}};
  doc["types"]["EIP712Domain"] = json::array({{{"name", "chainId"}, {"type", "uint256"}}, {{"name", "name"}, {"type", "string"}}});
  auto h = HashTypedData(doc);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  const Hash256 expected = KeccakOf({crypto::Keccak256(AsBytes("EIP712Domain(uint256 chainId,string name)")), Word(5),
                                     crypto::Keccak256(AsBytes("X"))});
  EXPECT_EQ(h->domain_separator, expected);
}

TEST(Eip712Domain, Refusals) {
  json doc = OneField("bool", true);
  doc["domain"] = {{"name", "X"}, {"owner", "0x0000000000000000000000000000000000000001"}};
  ExpectRefused(HashTypedData(doc), "domain: unknown domain field \"owner\"");
  doc["domain"] = {{"chainId", -1}};
  ExpectRefused(HashTypedData(doc), "domain.chainId: value -1 out of range for uint256");
  doc["domain"] = {{"salt", nullptr}};
  ExpectRefused(HashTypedData(doc), "domain.salt: expected a 0x-hex string for bytes32, got null");
  doc["domain"] = {{"verifyingContract", "0xcccccccccccccccccccccccccccccccccccccccC"}};
  ExpectRefused(HashTypedData(doc), "domain.verifyingContract: address: bad EIP-55 checksum");
  doc["domain"] = json::array();
  ExpectRefused(HashTypedData(doc), "domain: expected an object, got array");

  doc = OneField("bool", true);
  doc["types"]["EIP712Domain"] = json::array({{{"name", "name"}, {"type", "string"}}});
  doc["domain"] = {{"name", "X"}, {"version", "1"}};
  ExpectRefused(HashTypedData(doc), "domain: unexpected field \"version\" (not in EIP712Domain)");
  doc["domain"] = json::object();
  ExpectRefused(HashTypedData(doc), "domain: missing field \"name\" of EIP712Domain");
  doc["types"]["EIP712Domain"] = json::array({{{"name", "chainId"}, {"type", "uint64"}}});
  ExpectRefused(HashTypedData(doc), "types.EIP712Domain[0]: domain field chainId must have type uint256");
  doc["types"]["EIP712Domain"] = json::array({{{"name", "owner"}, {"type", "address"}}});
  ExpectRefused(HashTypedData(doc), "types.EIP712Domain[0]: unknown domain field \"owner\"");
}

// ---- Integers ----

TEST(Eip712Integers, RangeAtEveryBoundary) {
  const std::string int256_min = "-57896044618658097711785492504343953926634992332820282019728792003956564819968";
  const std::string int256_max = "57896044618658097711785492504343953926634992332820282019728792003956564819967";
  const std::string int256_min_minus1 = "-57896044618658097711785492504343953926634992332820282019728792003956564819969";
  const std::string int256_max_plus1 = "57896044618658097711785492504343953926634992332820282019728792003956564819968";
  const std::string uint256_max = "115792089237316195423570985008687907853269984665640564039457584007913129639935";
  const std::string uint256_over = "115792089237316195423570985008687907853269984665640564039457584007913129639936";
  struct Case {
    std::string type;
    json value;
    bool ok;
  };
  const Case cases[] = {
      {"uint8", 0, true},        {"uint8", 255, true},       {"uint8", 256, false},     {"uint8", -1, false},
      {"uint8", "0xff", true},   {"uint8", "0x100", false},  {"uint8", "255", true},    {"uint8", "256", false},
      {"int8", -128, true},      {"int8", -129, false},      {"int8", 127, true},       {"int8", 128, false},
      {"int8", "-0x80", true},   {"int8", "-0x81", false},   {"int8", "0x7f", true},    {"int8", "0x80", false},
      {"uint16", 65535, true},   {"uint16", 65536, false},   {"int16", -32768, true},   {"int16", 32768, false},
      {"uint248", "0x" + std::string(62, 'f'), true},         {"uint248", "0x1" + std::string(62, '0'), false},
      {"int256", int256_min, true},  {"int256", int256_max, true},
      {"int256", int256_min_minus1, false}, {"int256", int256_max_plus1, false},
      {"int256", "-0x8" + std::string(63, '0'), true}, {"int256", "0x8" + std::string(63, '0'), false},
      {"uint256", uint256_max, true}, {"uint256", uint256_over, false},
      {"uint256", "0x" + std::string(64, 'f'), true}, {"uint256", "0x1" + std::string(64, '0'), false},
      {"uint256", "0x000" + std::string(64, 'f'), true},  // leading zeros, as BigInt accepts them
      {"uint64", json(uint64_t{9007199254740991}), true}, {"uint64", json(uint64_t{9007199254740992}), false},
      {"uint64", "9007199254740992", true}, {"uint64", "18446744073709551615", true},
      {"int64", json(int64_t{-9007199254740991}), true}, {"int64", json(int64_t{-9007199254740992}), false},
  };
  for (const Case& c : cases) {
    auto r = HashTypedData(OneField(c.type, c.value));
    EXPECT_EQ(r.ok(), c.ok) << c.type << " " << c.value.dump() << ": " << (r.ok() ? "ok" : r.status().ToString());
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
      EXPECT_EQ(r.status().message().rfind("eip712: message.v: ", 0), 0u) << r.status().message();
    }
  }
  ExpectRefused(HashTypedData(OneField("uint8", 256)), "eip712: message.v: value 256 out of range for uint8 (0 to 2^8-1)");
  ExpectRefused(HashTypedData(OneField("int8", -129)), "message.v: value -129 out of range for int8 (-2^7 to 2^7-1)");
}

TEST(Eip712Integers, EncodingIsTwosComplementAndFormsAgree) {
  auto hash_of = [](std::string_view type, const json& v) {
    auto h = HashTypedData(OneField(type, v));
    EXPECT_TRUE(h.ok()) << h.status().ToString();
    return h.ok() ? h->struct_hash : Hash256{};
  };
  const Hash256 t_int8 = crypto::Keccak256(AsBytes("T(int8 v)"));
  EXPECT_EQ(hash_of("int8", -1), KeccakOf({t_int8, Word(U256::Max())}));
  EXPECT_EQ(hash_of("int8", "-1"), hash_of("int8", -1));
  EXPECT_EQ(hash_of("int8", "-0x01"), hash_of("int8", -1));
  EXPECT_EQ(hash_of("int8", "-0"), hash_of("int8", 0));
  EXPECT_EQ(hash_of("uint32", "0X1F"), hash_of("uint32", 31));
  EXPECT_EQ(hash_of("uint32", "0031"), hash_of("uint32", 31));
  // ethers v6.17.0: T(int8 a,int256 b,uint8 c) with a = "-0x10" (= -16), b = -2^255, c = "0x0".
  const json types = {{"T", json::array({{{"name", "a"}, {"type", "int8"}}, {{"name", "b"}, {"type", "int256"}},
                                        {{"name", "c"}, {"type", "uint8"}}})}};
  auto t = TypedDataTypes::Parse(types);
  ASSERT_TRUE(t.ok());
  const json v = {{"a", "-0x10"}, {"b", "-57896044618658097711785492504343953926634992332820282019728792003956564819968"}, {"c", "0x0"}};
  EXPECT_EQ(Hex(*t->HashStruct("T", v)), "0x94157f4b9430d8897b49db030c17811be6c2bbbb62ba488acb36bed480046a42");
}

TEST(Eip712Integers, RefusesOtherForms) {
  ExpectRefused(HashTypedData(OneField("uint8", -1)), "message.v: value -1 out of range for uint8");
  ExpectRefused(HashTypedData(OneField("uint8", "-0")), "value \"-0\" out of range for uint8");
  ExpectRefused(HashTypedData(OneField("uint8", 1.5)), "expected an integer for uint8, got a JSON number with a fraction");
  ExpectRefused(HashTypedData(OneField("uint8", 1.0)), "expected an integer for uint8");
  ExpectRefused(HashTypedData(OneField("uint64", json(uint64_t{1} << 60))), "is beyond 2^53-1");
  for (const char* bad : {"", " 1", "1 ", "+1", "--1", "-", "0b1", "0o7", "0x", "1.0", "1e3", "0x1g", "one"}) {
    ExpectRefused(HashTypedData(OneField("int256", bad)), "message.v: invalid int256 value");
  }
  ExpectRefused(HashTypedData(OneField("uint8", true)), "expected an integer (JSON number, decimal or 0x-hex string) for uint8, got boolean");
  ExpectRefused(HashTypedData(OneField("uint8", nullptr)), "got null");
  ExpectRefused(HashTypedData(OneField("uint8", json::array({1}))), "got array");
  ExpectRefused(HashTypedData(OneField("uint256", std::string(100000, '9'))), "invalid uint256 value");
}

// ---- Other atomic values ----

TEST(Eip712Values, Bool) {
  EXPECT_TRUE(Accepts("bool", true));
  EXPECT_TRUE(Accepts("bool", false));
  ExpectRefused(HashTypedData(OneField("bool", "true")), "message.v: expected true or false for bool, got string");
  ExpectRefused(HashTypedData(OneField("bool", 1)), "expected true or false for bool, got number");
  ExpectRefused(HashTypedData(OneField("bool", nullptr)), "got null");
}

TEST(Eip712Values, Bytes) {
  EXPECT_TRUE(Accepts("bytes", "0x"));
  EXPECT_TRUE(Accepts("bytes", "0xDEADbeef"));
  EXPECT_TRUE(Accepts("bytes1", "0x00"));
  EXPECT_TRUE(Accepts("bytes32", "0x" + std::string(64, 'a')));
  ExpectRefused(HashTypedData(OneField("bytes1", "0x")), "message.v: expected 1 bytes for bytes1, got 0");
  ExpectRefused(HashTypedData(OneField("bytes1", "0x0102")), "expected 1 bytes for bytes1, got 2");
  ExpectRefused(HashTypedData(OneField("bytes32", "0x" + std::string(62, 'a'))), "expected 32 bytes for bytes32, got 31");
  ExpectRefused(HashTypedData(OneField("bytes32", "0x" + std::string(66, 'a'))), "expected 32 bytes for bytes32, got 33");
  ExpectRefused(HashTypedData(OneField("bytes", "0x123")), "invalid bytes value: hex: odd number of digits");
  ExpectRefused(HashTypedData(OneField("bytes", "1234")), "invalid bytes value: hex: missing 0x prefix");
  ExpectRefused(HashTypedData(OneField("bytes", "0xzz")), "invalid bytes value: hex: invalid character");
  ExpectRefused(HashTypedData(OneField("bytes", json::array({1}))), "expected a 0x-hex string for bytes, got array");
  // bytesN is left-aligned in its word, bytes is hashed.
  auto h4 = HashTypedData(OneField("bytes4", "0xdeadbeef"));
  ASSERT_TRUE(h4.ok());
  Hash256 word{};
  word[0] = 0xde, word[1] = 0xad, word[2] = 0xbe, word[3] = 0xef;
  EXPECT_EQ(h4->struct_hash, KeccakOf({crypto::Keccak256(AsBytes("T(bytes4 v)")), word}));
  auto hb = HashTypedData(OneField("bytes", "0xdeadbeef"));
  ASSERT_TRUE(hb.ok());
  const uint8_t raw[] = {0xde, 0xad, 0xbe, 0xef};
  EXPECT_EQ(hb->struct_hash, KeccakOf({crypto::Keccak256(AsBytes("T(bytes v)")), crypto::Keccak256(raw)}));
}

TEST(Eip712Values, Address) {
  EXPECT_TRUE(Accepts("address", "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826"));
  EXPECT_TRUE(Accepts("address", "0xcd2a3d9f938e13cd947ec05abc7fe734df8dd826"));
  EXPECT_TRUE(Accepts("address", "0xCD2A3D9F938E13CD947EC05ABC7FE734DF8DD826"));
  ExpectRefused(HashTypedData(OneField("address", "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD827")),
                "message.v: address: bad EIP-55 checksum");
  ExpectRefused(HashTypedData(OneField("address", "CD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826")), "address must start with 0x");
  ExpectRefused(HashTypedData(OneField("address", "0XCD2A3D9F938E13CD947EC05ABC7FE734DF8DD826")), "address must start with 0x");
  ExpectRefused(HashTypedData(OneField("address", "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD8")), "address: expected 40 hex digits");
  ExpectRefused(HashTypedData(OneField("address", "vitalik.eth")), "address must start with 0x");
  ExpectRefused(HashTypedData(OneField("address", 1)), "expected an address string, got number");
  // Same word whatever the case.
  EXPECT_EQ(HashTypedData(OneField("address", "0xcd2a3d9f938e13cd947ec05abc7fe734df8dd826"))->struct_hash,
            HashTypedData(OneField("address", "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826"))->struct_hash);
}

TEST(Eip712Values, String) {
  EXPECT_TRUE(Accepts("string", ""));
  EXPECT_TRUE(Accepts("string", "\xe4\xb8\x96\xf0\x9f\x91\x8b"));
  ExpectRefused(HashTypedData(OneField("string", 5)), "message.v: expected a string, got number");
  // A document built in memory can hold bytes that are not UTF-8 (parsing refuses them).
  for (const char* bad : {"caf\xe9", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe4\xb8"}) {
    ExpectRefused(HashTypedData(OneField("string", bad)), "message.v: string is not valid UTF-8");
  }
}

TEST(Eip712Values, StructShape) {
  json doc = Parse(kMailDoc);
  doc["message"]["to"].erase("wallet");
  ExpectRefused(HashTypedData(doc), "message.to: missing field \"wallet\" of Person");
  doc = Parse(kMailDoc);
  doc["message"]["cc"] = "carol";
  ExpectRefused(HashTypedData(doc), "message: unexpected field \"cc\" (not in Mail)");
  doc = Parse(kMailDoc);
  doc["message"]["from"] = json::array({"Cow", "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826"});
  ExpectRefused(HashTypedData(doc), "message.from: expected an object for struct Person, got array");
  // ethers would hash a missing bool as false; it is refused here.
  doc = OneField("bool", true);
  doc["message"] = json::object();
  ExpectRefused(HashTypedData(doc), "message: missing field \"v\" of T");
}

TEST(Eip712Values, EmptyStructAndDepthLimit) {
  json doc = Parse(R"({"types": {"Empty": []}, "primaryType": "Empty", "domain": {}, "message": {}})");
  auto h = HashTypedData(doc);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->struct_hash, KeccakOf({crypto::Keccak256(AsBytes("Empty()"))}));

  // The message is level 1; 31 nested arrays reach level 32, 32 go past the limit.
  auto nested = [](size_t levels) {
    json v = json::array();
    for (size_t i = 1; i < levels; ++i) v = json::array({v});
    return v;
  };
  std::string type = "uint8";
  for (int i = 0; i < 32; ++i) type += "[]";
  EXPECT_TRUE(Accepts(type, nested(31)));
  ExpectRefused(HashTypedData(OneField(type, nested(32))), "nested deeper than 32 levels");
  EXPECT_TRUE(Accepts(type, json::array()));
  ExpectRefused(HashTypedData(OneField(type + "[]", json::array())), "more than 32 array dimensions");

  // A chain of structs is bounded the same way.
  json types = json::object();
  for (int i = 0; i < 40; ++i) {
    types["N" + std::to_string(100 + i)] = json::array({{{"name", "next"}, {"type", "N" + std::to_string(101 + i)}}});
  }
  types["N140"] = json::array();
  json value = json::object();
  for (int i = 0; i < 40; ++i) value = json{{"next", value}};
  doc = {{"types", types}, {"primaryType", "N100"}, {"domain", json::object()}, {"message", value}};
  ExpectRefused(HashTypedData(doc), "nested deeper than 32 levels");
}

// ---- Types ----

TEST(Eip712Types, RefusesMalformedDefinitions) {
  auto refused = [](const json& types, std::string_view needle) {
    json doc = {{"types", types}, {"primaryType", "T"}, {"domain", json::object()}, {"message", json::object()}};
    ExpectRefused(HashTypedData(doc), needle);
  };
  auto field = [](std::string_view name, std::string_view type) { return json{{"name", name}, {"type", type}}; };
  refused({{"T", json::array({field("a", "uint")})}}, "types.T[0].type: invalid type \"uint\": the bare int/uint alias");
  refused({{"T", json::array({field("a", "int")})}}, "invalid type \"int\"");
  refused({{"T", json::array({field("a", "uint7")})}}, "invalid type \"uint7\": integer width must be a multiple of 8");
  refused({{"T", json::array({field("a", "int264")})}}, "invalid type \"int264\"");
  refused({{"T", json::array({field("a", "uint08")})}}, "invalid type \"uint08\"");
  refused({{"T", json::array({field("a", "bytes0")})}}, "invalid type \"bytes0\": bytesN needs N from 1 to 32");
  refused({{"T", json::array({field("a", "bytes33")})}}, "invalid type \"bytes33\"");
  refused({{"T", json::array({field("a", "Missing")})}}, "types.T[0].type: unknown type \"Missing\"");
  refused({{"T", json::array({field("a", "bool[0]")})}}, "array length in \"bool[0]\" must be a decimal number from 1");
  refused({{"T", json::array({field("a", "bool[01]")})}}, "must be a decimal number");
  refused({{"T", json::array({field("a", "bool[4294967296]")})}}, "is too large");
  refused({{"T", json::array({field("a", "bool[")})}}, "unterminated array suffix");
  refused({{"T", json::array({field("a", "bool[]x")})}}, "invalid array suffix");
  refused({{"T", json::array({field("a", " bool")})}}, "invalid type \" bool\"");
  refused({{"T", json::array({field("a", "")})}}, "invalid type \"\"");
  refused({{"T", json::array({field("a b", "bool")})}}, "types.T[0].name: field name \"a b\" is not an identifier");
  refused({{"T", json::array({field("a", "bool"), field("a", "uint8")})}}, "types.T[1].name: duplicate field name \"a\" in T");
  refused({{"T", json::array({{{"name", "a"}}})}}, "types.T[0].type: expected a string");
  refused({{"T", json::array({{{"name", "a"}, {"type", "bool"}, {"indexed", true}}})}}, "types.T[0]: unexpected key \"indexed\"");
  refused({{"T", json::array({"bool a"})}}, "types.T[0]: expected an object {name, type}, got string");
  refused({{"T", json::object()}}, "types.T: expected an array of {name, type} fields, got object");
  refused({{"T", json::array()}, {"T(x)", json::array()}}, "types: struct name \"T(x)\" is not an identifier");
  refused({{"T", json::array()}, {"address", json::array()}}, "struct name \"address\" is reserved");
  refused({{"T", json::array()}, {"uint", json::array()}}, "struct name \"uint\" is reserved");
  refused({{"T", json::array()}, {"bytes99", json::array()}}, "struct name \"bytes99\" is reserved");
  refused(json::array(), "types: expected an object");
  refused({{"T", json::array({field("a", "T")})}}, "recursive type reference T -> T");
  refused({{"T", json::array({field("a", "T[]")})}}, "recursive type reference T -> T");
  refused({{"T", json::array({field("a", "A")})}, {"A", json::array({field("b", "B[2]")})}, {"B", json::array({field("a", "A[]")})}},
          "recursive type reference A -> B -> A");
  // Unreferenced structs are checked too.
  refused({{"T", json::array()}, {"U", json::array({field("u", "U")})}}, "recursive type reference U -> U");
  json wide = json::array();
  for (int i = 0; i < 257; ++i) wide.push_back(field("f" + std::to_string(i), "bool"));
  refused({{"T", wide}}, "types.T: more than 256 fields");
  json many = {{"T", json::array()}};
  for (int i = 0; i < 256; ++i) many["S" + std::to_string(i)] = json::array();
  refused(many, "types: more than 256 struct types");
}

TEST(Eip712Types, EncodedTypesBudget) {
  // 200 structs that each refer to all the later ones: their full encodeType strings
  // together grow quadratically and are refused before they are built.
  json types = json::object();
  for (int i = 0; i < 200; ++i) {
    json fields = json::array();
    for (int j = i + 1; j < 200 && j < i + 200; ++j) {
      fields.push_back({{"name", "a_rather_long_field_name_" + std::to_string(j)}, {"type", "S" + std::to_string(1000 + j)}});
    }
    types["S" + std::to_string(1000 + i)] = fields;
  }
  auto t = TypedDataTypes::Parse(types);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(t.status().message().find("type definitions too large"), std::string::npos) << t.status().message();
}

TEST(Eip712Types, EncodeTypeSortsDependenciesByName) {
  const json types = Parse(R"({
    "Z": [{"name": "b", "type": "B"}, {"name": "a", "type": "A[]"}],
    "B": [{"name": "c", "type": "C"}], "A": [{"name": "c", "type": "C[2]"}], "C": [{"name": "x", "type": "bytes"}]})");
  auto t = TypedDataTypes::Parse(types);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(*t->EncodeType("Z"), "Z(B b,A[] a)A(C[2] c)B(C c)C(bytes x)");
  EXPECT_EQ(*t->EncodeType("B"), "B(C c)C(bytes x)");
}

TEST(Eip712Document, Shape) {
  const json mail = Parse(kMailDoc);
  ExpectRefused(HashTypedData(json::array()), "eip712: document: expected an object");
  for (const char* key : {"types", "primaryType", "domain", "message"}) {
    json doc = mail;
    doc.erase(key);
    ExpectRefused(HashTypedData(doc), std::string("document: missing \"") + key + "\"");
  }
  json doc = mail;
  doc["account"] = "0x";
  ExpectRefused(HashTypedData(doc), "document: unexpected key \"account\"");
  doc = mail;
  doc["primaryType"] = "Letter";
  ExpectRefused(HashTypedData(doc), "primaryType: unknown struct type \"Letter\"");
  doc["primaryType"] = 1;
  ExpectRefused(HashTypedData(doc), "primaryType: expected a string");
  doc["primaryType"] = "EIP712Domain";
  ExpectRefused(HashTypedData(doc), "primaryType: must not be EIP712Domain");
  doc = mail;
  doc["types"]["Person"].push_back({{"name", "home"}, {"type", "EIP712Domain"}});
  ExpectRefused(HashTypedData(doc), "types.Person[2].type: message structs may not refer to EIP712Domain");
}

TEST(Eip712Json, StrictParsing) {
  EXPECT_TRUE(ParseTypedDataJson(kMailDoc).ok());
  auto refused = [](std::string_view text, std::string_view needle) {
    auto r = ParseTypedDataJson(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(needle), std::string::npos) << r.status().message();
  };
  refused(R"({"types": {"A": [], "A": []}})", "duplicate JSON key \"A\"");
  refused(R"({"a": {"b": 1, "c": {"b": 2, "b": 3}}})", "duplicate JSON key \"b\"");
  refused("{\"a\": \"caf\xe9\"}", "not valid JSON");
  refused(R"({"a": "\ud800"})", "not valid JSON");
  refused("{\"a\": 1} x", "not valid JSON");
  refused("", "not valid JSON");
  refused(std::string(65, '[') + std::string(65, ']'), "nested deeper than 64");
  EXPECT_TRUE(ParseTypedDataJson(std::string(64, '[') + std::string(64, ']')).ok());
  // The same key in different objects is fine.
  EXPECT_TRUE(ParseTypedDataJson(R"({"a": {"b": 1}, "c": {"b": 2}, "d": [{"b": 1}, {"b": 2}]})").ok());
}

// ---- tests/corpus/typed_data/: every file is refused ----

std::filesystem::path CorpusDir() {
  const char* root = std::getenv("VP_SOURCE_DIR");
  return std::filesystem::path(root != nullptr ? root : ".") / "tests" / "corpus" / "typed_data";
}

StatusOr<TypedDataHash> HashText(std::string_view text) {
  auto doc = ParseTypedDataJson(text);
  if (!doc.ok()) return doc.status();
  return HashTypedData(*doc);
}

// The valid document the corpus files are variations of.
constexpr std::string_view kCorpusBase = R"({"types": {"Person": [{"name": "name", "type": "string"},
  {"name": "wallets", "type": "address[]"}], "Values": [{"name": "u8", "type": "uint8"}, {"name": "i8", "type": "int8"},
  {"name": "u256", "type": "uint256"}, {"name": "i256", "type": "int256"}, {"name": "flag", "type": "bool"},
  {"name": "who", "type": "address"}, {"name": "blob", "type": "bytes"}, {"name": "b4", "type": "bytes4"},
  {"name": "b32", "type": "bytes32"}, {"name": "text", "type": "string"}, {"name": "pair", "type": "uint8[2]"},
  {"name": "people", "type": "Person[]"}, {"name": "grid", "type": "int16[2][]"}]}, "primaryType": "Values",
  "domain": {"name": "Corpus", "version": "1", "chainId": 1, "verifyingContract": "0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC"},
  "message": {"u8": 255, "i8": -128, "u256": "115792089237316195423570985008687907853269984665640564039457584007913129639935",
  "i256": "-0x8000000000000000000000000000000000000000000000000000000000000000", "flag": true,
  "who": "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826", "blob": "0x", "b4": "0xdeadbeef",
  "b32": "0x1111111111111111111111111111111111111111111111111111111111111111", "text": "caf\u00e9", "pair": [1, 2],
  "people": [{"name": "Bob", "wallets": ["0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB"]}], "grid": [[1, -1], [32767, -32768]]}})";

TEST(Eip712Corpus, BaseDocumentIsValid) {
  // ethers v6.17.0: TypedDataEncoder.hash(domain, types, message).
  auto h = HashText(kCorpusBase);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(Hex(h->digest), "0x41f217028c74a345fc786ffca8a56fc9f94d88b96a0c4afef46b1e1d7545a7f3");
}

TEST(Eip712Corpus, EveryFileIsRefusedForItsReason) {
  // What each file's message must contain; a file not listed here must still be refused.
  const std::map<std::string, std::string> reasons = {
      {"not_json.json", "not valid JSON"},
      {"trailing_garbage.json", "not valid JSON"},
      {"duplicate_type_definition.json", "duplicate JSON key \"Mail\""},
      {"duplicate_message_key.json", "duplicate JSON key \"a\""},
      {"string_invalid_utf8.json", "not valid JSON"},
      {"string_lone_surrogate.json", "not valid JSON"},
      {"json_too_deep.json", "JSON nested deeper than 64"},
      {"document_not_object.json", "document: expected an object"},
      {"missing_types.json", "document: missing \"types\""},
      {"missing_primary_type.json", "document: missing \"primaryType\""},
      {"missing_domain.json", "document: missing \"domain\""},
      {"missing_message.json", "document: missing \"message\""},
      {"unexpected_top_level_key.json", "document: unexpected key \"signer\""},
      {"primary_type_not_string.json", "primaryType: expected a string"},
      {"primary_type_undefined.json", "primaryType: unknown struct type \"Letter\""},
      {"primary_type_eip712domain.json", "primaryType: must not be EIP712Domain"},
      {"types_not_object.json", "types: expected an object"},
      {"struct_fields_not_array.json", "types.Person: expected an array"},
      {"field_entry_not_object.json", "types.Person[0]: expected an object {name, type}"},
      {"field_missing_type.json", "types.Person[0].type: expected a string"},
      {"field_type_not_string.json", "types.Person[0].type: expected a string"},
      {"field_extra_key.json", "types.Person[0]: unexpected key \"indexed\""},
      {"field_name_not_identifier.json", "types.Person[0].name: field name \"first name\" is not an identifier"},
      {"field_name_empty.json", "types.Person[0].name: field name \"\" is not an identifier"},
      {"struct_name_not_identifier.json", "struct name \"Per son\" is not an identifier"},
      {"struct_name_reserved.json", "struct name \"uint256\" is reserved"},
      {"struct_name_reserved_invalid_width.json", "struct name \"bytes33\" is reserved"},
      {"duplicate_field_name.json", "types.Person[2].name: duplicate field name \"name\""},
      {"unknown_field_type.json", "types.Person[0].type: unknown type \"Strng\""},
      {"bare_uint_alias.json", "types.Values[0].type: invalid type \"uint\""},
      {"bare_int_alias.json", "types.Values[1].type: invalid type \"int\""},
      {"uint7_invalid_width.json", "invalid type \"uint7\""},
      {"uint264_invalid_width.json", "invalid type \"uint264\""},
      {"int0_invalid_width.json", "invalid type \"int0\""},
      {"uint08_leading_zero_width.json", "invalid type \"uint08\""},
      {"bytes0_invalid_width.json", "invalid type \"bytes0\""},
      {"bytes33_invalid_width.json", "invalid type \"bytes33\""},
      {"fixed_array_zero_length.json", "array length in \"uint8[0]\""},
      {"array_length_leading_zero.json", "array length in \"uint8[02]\""},
      {"array_length_not_decimal.json", "array length in \"uint8[0x2]\""},
      {"array_length_too_large.json", "is too large"},
      {"array_suffix_unterminated.json", "unterminated array suffix"},
      {"array_suffix_garbage_after.json", "invalid array suffix"},
      {"type_with_space.json", "invalid type \"uint8 \""},
      {"too_many_array_dimensions.json", "more than 32 array dimensions"},
      {"self_reference_through_array.json", "recursive type reference Person -> Person"},
      {"mutual_recursion.json", "recursive type reference A -> B -> A"},
      {"message_references_eip712domain.json", "message structs may not refer to EIP712Domain"},
      {"too_many_fields.json", "types.Wide: more than 256 fields"},
      {"too_many_structs.json", "more than 256 struct types"},
      {"eip712domain_unknown_field.json", "types.EIP712Domain[4]: unknown domain field \"owner\""},
      {"eip712domain_wrong_field_type.json", "domain field chainId must have type uint256"},
      {"domain_missing_declared_field.json", "domain: missing field \"version\" of EIP712Domain"},
      {"domain_extra_field_with_declared_type.json", "domain: unexpected field \"verifyingContract\""},
      {"domain_not_object.json", "domain: expected an object, got string"},
      {"domain_unknown_key.json", "domain: unknown domain field \"owner\""},
      {"domain_null_value.json", "domain.salt: expected a 0x-hex string for bytes32, got null"},
      {"domain_chain_id_negative.json", "domain.chainId: value -1 out of range for uint256"},
      {"domain_chain_id_float.json", "domain.chainId: expected an integer"},
      {"domain_verifying_contract_bad_checksum.json", "domain.verifyingContract: address: bad EIP-55 checksum"},
      {"domain_salt_wrong_length.json", "domain.salt: expected 32 bytes for bytes32, got 31"},
      {"domain_name_not_string.json", "domain.name: expected a string, got number"},
      {"message_not_object.json", "message: expected an object for struct Values, got array"},
      {"message_missing_field.json", "message: missing field \"flag\" of Values"},
      {"message_extra_field.json", "message: unexpected field \"note\""},
      {"nested_struct_extra_field.json", "message.people[0]: unexpected field \"age\""},
      {"uint8_out_of_range.json", "message.u8: value 256 out of range for uint8"},
      {"uint8_negative.json", "message.u8: value -1 out of range for uint8"},
      {"uint8_negative_zero_string.json", "message.u8: value \"-0\" out of range for uint8"},
      {"int8_below_range.json", "message.i8: value -129 out of range for int8"},
      {"int8_above_range.json", "message.i8: value 128 out of range for int8"},
      {"int8_hex_below_range.json", "message.i8: value \"-0x81\" out of range for int8"},
      {"uint256_overflow.json", "message.u256: invalid uint256 value"},
      {"uint256_hex_overflow.json", "message.u256: invalid uint256 value"},
      {"int256_below_range.json",
       "message.i256: value \"-57896044618658097711785492504343953926634992332820282019728792003...\" out of range for int256"},
      {"int256_above_range.json",
       "message.i256: value \"578960446186580977117854925043439539266349923328202820197287920039...\" out of range for int256"},
      {"integer_json_fraction.json", "message.u8: expected an integer for uint8"},
      {"integer_json_integral_float.json", "message.u8: expected an integer for uint8"},
      {"integer_json_exponent.json", "message.u8: expected an integer for uint8"},
      {"integer_json_beyond_safe.json", "message.u256: JSON number 9007199254740992 is beyond 2^53-1"},
      {"integer_json_beyond_safe_negative.json", "message.i256: JSON number -9007199254740992 is beyond -(2^53-1)"},
      {"integer_empty_string.json", "message.u8: invalid uint8 value \"\""},
      {"integer_whitespace.json", "message.u8: invalid uint8 value \" 1\""},
      {"integer_plus_sign.json", "message.u8: invalid uint8 value \"+1\""},
      {"integer_double_minus.json", "message.i8: invalid int8 value \"--1\""},
      {"integer_lone_minus.json", "message.i8: invalid int8 value \"-\""},
      {"integer_binary_prefix.json", "message.u8: invalid uint8 value \"0b101\""},
      {"integer_hex_prefix_only.json", "message.u8: invalid uint8 value \"0x\""},
      {"integer_decimal_point_string.json", "message.u8: invalid uint8 value \"1.0\""},
      {"integer_bool.json", "message.u8: expected an integer (JSON number, decimal or 0x-hex string) for uint8, got boolean"},
      {"integer_null.json", "message.u8: expected an integer (JSON number, decimal or 0x-hex string) for uint8, got null"},
      {"bool_as_string.json", "message.flag: expected true or false for bool, got string"},
      {"bool_as_number.json", "message.flag: expected true or false for bool, got number"},
      {"address_bad_checksum.json", "message.who: address: bad EIP-55 checksum"},
      {"address_no_prefix.json", "message.who: address must start with 0x"},
      {"address_uppercase_prefix.json", "message.who: address must start with 0x"},
      {"address_too_short.json", "message.who: address: expected 40 hex digits"},
      {"address_not_hex.json", "message.who: address: hex: invalid character"},
      {"address_ens_name.json", "message.who: address must start with 0x"},
      {"address_number.json", "message.who: expected an address string, got number"},
      {"address_in_array_bad_checksum.json", "message.people[0].wallets[1]: address: bad EIP-55 checksum"},
      {"bytes_odd_length.json", "message.blob: invalid bytes value: hex: odd number of digits"},
      {"bytes_not_hex.json", "message.blob: invalid bytes value: hex: invalid character"},
      {"bytes_no_prefix.json", "message.blob: invalid bytes value: hex: missing 0x prefix"},
      {"bytes_as_array.json", "message.blob: expected a 0x-hex string for bytes, got array"},
      {"bytes4_too_short.json", "message.b4: expected 4 bytes for bytes4, got 3"},
      {"bytes4_too_long.json", "message.b4: expected 4 bytes for bytes4, got 5"},
      {"bytes32_too_short.json", "message.b32: expected 32 bytes for bytes32, got 31"},
      {"bytes32_empty.json", "message.b32: expected 32 bytes for bytes32, got 0"},
      {"string_as_number.json", "message.text: expected a string, got number"},
      {"string_null.json", "message.text: expected a string, got null"},
      {"fixed_array_too_short.json", "message.pair: expected 2 elements for uint8[2], got 1"},
      {"fixed_array_too_long.json", "message.pair: expected 2 elements for uint8[2], got 3"},
      {"array_not_array.json", "message.people: expected an array for Person[], got object"},
      {"struct_value_is_array.json", "message.people[0]: expected an object for struct Person, got array"},
      {"nested_fixed_array_inner_length.json", "message.grid[1]: expected 2 elements for int16[2], got 3"},
      {"nested_array_element_out_of_range.json", "message.grid[1][1]: value 32768 out of range for int16"},
      {"value_nested_too_deep.json", "nested deeper than 32 levels"},
      {"struct_chain_too_deep.json", "nested deeper than 32 levels"},
  };
  const auto dir = CorpusDir();
  ASSERT_TRUE(std::filesystem::is_directory(dir)) << dir << " (set VP_SOURCE_DIR to the repository root)";
  std::set<std::string> seen;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".json") continue;
    const std::string name = entry.path().filename().string();
    seen.insert(name);
    auto r = HashText(ReadFile(entry.path()));
    ASSERT_FALSE(r.ok()) << name << " was accepted";
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << name << ": " << r.status().ToString();
    auto reason = reasons.find(name);
    if (reason != reasons.end()) {
      EXPECT_NE(r.status().message().find(reason->second), std::string::npos)
          << name << "\n  message: " << r.status().message() << "\n  expected: " << reason->second;
    }
  }
  for (const auto& [name, reason] : reasons) EXPECT_TRUE(seen.count(name)) << "missing corpus file " << name;
  EXPECT_GE(seen.size(), reasons.size());
}

// ---- Seeded random documents ----

class RandomDocs {
 public:
  explicit RandomDocs(uint64_t seed) : rng_(seed) {}

  json Document() {
    const size_t n = 1 + Below(5);
    structs_.assign(n, {});
    json types = json::object();
    // Struct i refers only to structs after it, so the types are acyclic; the last ones
    // may be unused.
    for (size_t i = 0; i < n; ++i) {
      const size_t fields = Below(6);
      for (size_t f = 0; f < fields; ++f) {
        Field fd;
        fd.name = "f" + std::to_string(f);
        const size_t pick = Below(i + 1 < n ? 10 : 8);
        if (pick >= 8) {
          fd.base = "S" + std::to_string(i + 1 + Below(n - i - 1));
        } else {
          static const char* kBases[] = {"uint", "int", "bytesN", "bool", "address", "bytes", "string", "uint"};
          fd.base = kBases[pick];
          if (fd.base == "uint" || fd.base == "int") fd.base += std::to_string(8 * (1 + Below(32)));
          if (fd.base == "bytesN") fd.base = "bytes" + std::to_string(1 + Below(32));
        }
        const size_t dims = Below(4) == 0 ? 1 + Below(2) : 0;
        for (size_t d = 0; d < dims; ++d) fd.dims.push_back(Below(2) == 0 ? 0 : static_cast<uint32_t>(1 + Below(3)));
        structs_[i].push_back(fd);
      }
      json list = json::array();
      for (const Field& fd : structs_[i]) {
        std::string t = fd.base;
        for (uint32_t d : fd.dims) t += d == 0 ? "[]" : "[" + std::to_string(d) + "]";
        list.push_back({{"name", fd.name}, {"type", t}});
      }
      types["S" + std::to_string(i)] = list;
    }
    json domain = json::object();
    if (Below(2)) domain["name"] = RandomString();
    if (Below(2)) domain["version"] = std::to_string(Below(10));
    if (Below(2)) domain["chainId"] = Below(2) ? json(Below(100000)) : json(RandomUint(256));
    if (Below(2)) domain["verifyingContract"] = RandomAddress();
    if (Below(2)) domain["salt"] = RandomHex(32);
    return {{"types", types}, {"primaryType", "S0"}, {"domain", domain}, {"message", StructValue(0)}};
  }

  // Replaces one node anywhere in the document with something random.
  void Mutate(json* doc) {
    std::vector<json*> nodes;
    std::vector<json*> stack = {doc};
    while (!stack.empty()) {
      json* cur = stack.back();
      stack.pop_back();
      nodes.push_back(cur);
      if (cur->is_object() || cur->is_array()) {
        for (auto& child : *cur) stack.push_back(&child);
      }
    }
    json* target = nodes[Below(nodes.size())];
    static const json kReplacements[] = {
        nullptr, true, 0, -1, 256, 1.5, "", "0x", "-0x80", "0x" + std::string(64, 'f'), "uint7", "bytes33", "S0",
        "S0[]", "EIP712Domain", json::array(), json::object(), json::array({1, 2}), "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD827",
        uint64_t{1} << 60, "caf\xc3\xa9", "-", "name"};
    if (target->is_object() && !target->empty() && Below(2)) {
      auto it = target->begin();
      std::advance(it, static_cast<std::ptrdiff_t>(Below(target->size())));
      target->erase(it.key());
    } else {
      *target = kReplacements[Below(std::size(kReplacements))];
    }
  }

 private:
  struct Field {
    std::string name;
    std::string base;
    std::vector<uint32_t> dims;
  };

  size_t Below(size_t n) { return n == 0 ? 0 : static_cast<size_t>(rng_() % n); }

  std::string RandomHex(size_t bytes) {
    Bytes b(bytes);
    for (auto& x : b) x = static_cast<uint8_t>(rng_());
    return HexEncode(b, true);
  }

  std::string RandomAddress() {
    ByteArray<20> a;
    for (auto& x : a) x = static_cast<uint8_t>(rng_());
    return Below(2) ? Address(a).ToChecksumHex() : Address(a).ToLowerHex();
  }

  std::string RandomString() {
    static const char* kPieces[] = {"a", "Z", " ", "0", "\xc3\xa9", "\xe4\xb8\x96", "\xf0\x9f\x91\x8b", "\"", "\\", "\n"};
    std::string s;
    for (size_t i = Below(12); i > 0; --i) s += kPieces[Below(std::size(kPieces))];
    return s;
  }

  U256 RandomU256() { return *U256::FromBigEndian(*HexDecode(RandomHex(32))); }

  // A random value below 2^bits (sometimes far below, so small values appear too).
  json RandomUint(unsigned bits) {
    const unsigned keep = Below(3) == 0 ? static_cast<unsigned>(Below(bits + 1)) : bits;
    return Render(Reduce(RandomU256(), keep), false);
  }

  json RandomInt(unsigned bits) {
    const bool negative = Below(2) == 1;
    if (negative && Below(8) == 0) return Render(U256::PowerOfTwo(bits - 1), true);  // the minimum
    const unsigned keep = Below(3) == 0 ? static_cast<unsigned>(Below(bits)) : bits - 1;
    return Render(Reduce(RandomU256(), keep), negative);
  }

  static U256 Reduce(const U256& v, unsigned keep) {
    auto b = v.ToBigEndian32();
    for (size_t i = 0; i < 32; ++i) {
      const unsigned bit_lo = static_cast<unsigned>(8 * (31 - i));
      if (bit_lo >= keep) {
        b[i] = 0;
      } else if (bit_lo + 8 > keep) {
        b[i] = static_cast<uint8_t>(b[i] & ((1u << (keep - bit_lo)) - 1));
      }
    }
    return *U256::FromBigEndian(b);
  }

  json Render(const U256& magnitude, bool negative) {
    const size_t form = Below(3);
    if (form == 0 && magnitude.BitLength() <= 53) {
      const auto m = static_cast<int64_t>(magnitude.Low64());
      return negative ? json(-m) : json(static_cast<uint64_t>(m));
    }
    const std::string digits = form == 1 ? magnitude.ToHex() : magnitude.ToDecimal();
    return (negative ? "-" : "") + digits;
  }

  json AtomicValue(const std::string& base) {
    if (base == "bool") return Below(2) == 1;
    if (base == "address") return RandomAddress();
    if (base == "string") return RandomString();
    if (base == "bytes") return RandomHex(Below(70));
    if (base.starts_with("bytes")) return RandomHex(std::stoul(base.substr(5)));
    if (base.starts_with("uint")) return RandomUint(static_cast<unsigned>(std::stoul(base.substr(4))));
    return RandomInt(static_cast<unsigned>(std::stoul(base.substr(3))));
  }

  json Value(const Field& fd, size_t ndims) {
    if (ndims > 0) {
      const uint32_t fixed = fd.dims[ndims - 1];
      const size_t len = fixed != 0 ? fixed : Below(4);
      json arr = json::array();
      for (size_t i = 0; i < len; ++i) arr.push_back(Value(fd, ndims - 1));
      return arr;
    }
    if (fd.base.starts_with("S")) return StructValue(std::stoul(fd.base.substr(1)));
    return AtomicValue(fd.base);
  }

  json StructValue(size_t index) {
    json v = json::object();
    for (const Field& fd : structs_[index]) v[fd.name] = Value(fd, fd.dims.size());
    return v;
  }

  std::mt19937_64 rng_;
  std::vector<std::vector<Field>> structs_;
};

TEST(Eip712Random, ValidDocumentsHashDeterministically) {
  RandomDocs gen(TestSeed());
  for (int i = 0; i < 300; ++i) {
    const json doc = gen.Document();
    auto a = HashTypedData(doc);
    ASSERT_TRUE(a.ok()) << a.status().ToString() << "\n" << doc.dump();
    // Through text and back, and a second time: the same digest.
    auto reparsed = ParseTypedDataJson(doc.dump());
    ASSERT_TRUE(reparsed.ok()) << reparsed.status().ToString();
    auto b = HashTypedData(*reparsed);
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(a->digest, b->digest);
    EXPECT_EQ(a->struct_hash, HashTypedData(doc)->struct_hash);
  }
}

TEST(Eip712Random, MutatedDocumentsNeverCrash) {
  RandomDocs gen(TestSeed() + 1);
  size_t refused = 0;
  for (int i = 0; i < 2000; ++i) {
    json doc = gen.Document();
    for (size_t m = 1 + static_cast<size_t>(i % 3); m > 0; --m) gen.Mutate(&doc);
    auto a = HashTypedData(doc);
    auto b = HashTypedData(doc);
    ASSERT_EQ(a.ok(), b.ok());
    if (a.ok()) {
      EXPECT_EQ(a->digest, b->digest);
    } else {
      ++refused;
      EXPECT_EQ(a.status(), b.status());
      EXPECT_EQ(a.status().code(), StatusCode::kInvalidArgument) << a.status().ToString();
    }
  }
  std::printf("mutated documents refused: %zu of 2000\n", refused);
  EXPECT_GT(refused, 0u);
}

}  // namespace
}  // namespace vp::eth
