// Transactions: published vectors for each type, the strict decoder's refusals, seeded sign /
// decode round trips, a mutation test over raw transactions, and the JSON forms (tx_json.h).
#include "vp/eth/transaction.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <iostream>
#include <random>
#include <string>

#include "vp/eth/rlp.h"
#include "vp/eth/tx_json.h"

namespace vp::eth {
namespace {

using nlohmann::json;

Bytes H(std::string_view hex) {
  auto b = HexDecode(hex);
  EXPECT_TRUE(b.ok()) << hex;
  return b.ok() ? *b : Bytes{};
}
Address A(std::string_view text) { return *Address::Parse(text); }
crypto::Hash256 H32(std::string_view hex) { return *HexDecodeFixed<32>(hex); }

uint64_t TestSeed() {
  const char* env = std::getenv("VP_TEST_SEED");
  const uint64_t seed = env != nullptr ? std::strtoull(env, nullptr, 10) : 20261121;
  std::cout << "[ seed ] VP_TEST_SEED=" << seed << "\n";
  return seed;
}

// ---------------------------------------------------------------------------------------
// Published vectors
// ---------------------------------------------------------------------------------------

// EIP-155, section "Example" (https://eips.ethereum.org/EIPS/eip-155).
Transaction Eip155Example() {
  Transaction tx;
  tx.type = TxType::kLegacy;
  tx.chain_id = 1;
  tx.nonce = 9;
  tx.gas_price = 20000000000u;
  tx.gas_limit = 21000;
  tx.to = A("0x3535353535353535353535353535353535353535");
  tx.value = *U256::Parse("1000000000000000000");
  return tx;
}
const Bytes kKey46 = Bytes(32, 0x46);
constexpr std::string_view kEip155Raw =
    "0xf86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a76400008025a028ef61340bd939bc2"
    "195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83";

TEST(Eip155, SigningPayloadHashAndSignatureMatchTheEip) {
  const Transaction tx = Eip155Example();
  EXPECT_EQ(*EncodeUnsignedTransaction(tx),
            H("0xec098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a764000080018080"));
  EXPECT_EQ(HexEncode(*TransactionSigningHash(tx), true),
            "0xdaf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53");

  auto st = SignTransaction(tx, kKey46);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(HexEncode(st->raw, true), kEip155Raw);
  EXPECT_EQ(SignatureV(st->tx, st->signature.recovery_id), U256(37));
  EXPECT_EQ(U256::FromBigEndian(st->signature.r)->ToDecimal(),
            "18515461264373351373200002665853028612451056578545711640558177340181847433846");
  EXPECT_EQ(U256::FromBigEndian(st->signature.s)->ToDecimal(),
            "46948507304638947509940763649030358759909902576025900602547168820602576006531");
  EXPECT_EQ(st->hash, crypto::Keccak256(st->raw));
  // Sender of key 0x46..46 (ethereumjs-monorepo packages/tx/test/json/txs.json, sendersAddress).
  EXPECT_EQ(st->from.ToChecksumHex(), "0x9d8A62f656a8d1615C1294fd71e9CFb3E4855A4F");
}

TEST(Eip155, DecodesTheSignedExample) {
  auto st = DecodeSignedTransaction(H(kEip155Raw));
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(st->tx, Eip155Example());
  EXPECT_EQ(st->signature.recovery_id, 0);
  EXPECT_EQ(st->from.ToChecksumHex(), "0x9d8A62f656a8d1615C1294fd71e9CFb3E4855A4F");
  EXPECT_EQ(HexEncode(st->raw, true), kEip155Raw);
  EXPECT_EQ(st->hash, crypto::Keccak256(H(kEip155Raw)));
}

// Pre-EIP-155 legacy transactions (v = 27/28) from ethereumjs-monorepo
// packages/tx/test/json/txs.json; their signatures predate RFC 6979, so only recovery is
// checked. The raw form is assembled from the published fields.
TEST(LegacyPreEip155, RecoversPublishedSenders) {
  struct Vector {
    const char* nonce;
    const char* gas_price;
    const char* gas_limit;
    const char* to;
    const char* value;
    const char* data;
    const char* v;
    const char* r;
    const char* s;
    const char* sender;
  };
  const std::string big_data =
      "00000000000000000000000000000000000000000000000000000000000000ad000000000000000000000000000000000000000000000000"
      "000000000000fafa0000000000000000000000000000000000000000000000000000000000000dfa00000000000000000000000000000000"
      "00000000000000000000000000000dfa00000000000000000000000000000000000000000000000000000000000000ad0000000000000000"
      "00000000000000000000000000000000000000000000000f000000000000000000000000000000000000000000000000000000000000000a"
      "00000000000000000000000000000000000000000000000000000000000000df000000000000000000000000000000000000000000000000"
      "000000000000000a00000000000000000000000000000000000000000000000000000000000000df00000000000000000000000000000000"
      "0000000000000000000000000000000a000000000000000000000000000000000000000000000000000000000000000d";
  const Vector vectors[] = {
      {"06", "09184e72a000", "01f4", "be862ad9abfe6f22bcb087716c7d89a26051f74c", "016345785d8a0000", "", "1c",
       "24a484bfa7380860e9fa0a9f5e4b64b985e860ca31abd36e66583f9030c2e29d",
       "4d5ef07d9e73fa2fbfdad059591b4f13d0aa79e7634a2bb00174c9200cabb04d", "d13d825eb15c87b247c4c26331d66f225a5f632e"},
      {"06", "09184e72a000", "0974", "be862ad9abfe6f22bcb087716c7d89a26051f74c", "016345785d8a0000", big_data.c_str(),
       "1c", "5e9361ca27e14f3af0e6b28466406ad8be026d3b0f2ae56e3c064043fb73ec77",
       "29ae9893dac4f9afb1af743e25fbb6a63f7879a61437203cb48c997b0fcefc3a", "1f36f546477cda21bf2296c50976f2740247906f"},
  };
  for (const Vector& v : vectors) {
    std::vector<RlpItem> f;
    for (const char* hex : {v.nonce, v.gas_price, v.gas_limit, v.to, v.value, v.data, v.v, v.r, v.s}) {
      f.push_back(RlpItem::String(H(hex)));
    }
    const Bytes raw = RlpEncode(RlpItem::List(f));
    auto st = DecodeSignedTransaction(raw);
    ASSERT_TRUE(st.ok()) << st.status().ToString();
    EXPECT_EQ(st->tx.type, TxType::kLegacy);
    EXPECT_TRUE(st->tx.chain_id.IsZero());
    EXPECT_EQ(st->tx.nonce, 6u);
    EXPECT_EQ(HexEncode(st->tx.data), v.data);
    EXPECT_EQ(st->from.ToLowerHex(), std::string("0x") + v.sender);
    EXPECT_EQ(SignatureV(st->tx, st->signature.recovery_id), U256(28));
  }
}

// EIP-2930, unsigned payload: ethereumjs-monorepo packages/tx/test/typedTxsAndEIP2930.spec.ts,
// "unsigned tx -> getHashedMessageToSign()/getMessageToSign()".
TEST(Eip2930, SigningPayloadMatchesEthereumjs) {
  Transaction tx;
  tx.type = TxType::kAccessList;
  tx.chain_id = 1;
  tx.to = A("0x0101010101010101010101010101010101010101");
  tx.data = H("010200");
  tx.access_list = {{A("0x0101010101010101010101010101010101010101"), {H32("0101010101010101010101010101010101010101010101010101010101010101")}}};
  EXPECT_EQ(*EncodeUnsignedTransaction(tx),
            H("01f858018080809401010101010101010101010101010101010101018083010200f838f79401010101010101010101010101010101"
              "01010101e1a00101010101010101010101010101010101010101010101010101010101010101"));
  EXPECT_EQ(HexEncode(*TransactionSigningHash(tx)), "78528e2724aa359c58c13e43a7c467eb721ce8d410c2a12ee62943a3aaefb60b");
}

// EIP-2930, signed: INFURA/go-ethlibs eth/transaction_signing_test.go (as reproduced in
// ethereumjs typedTxsAndEIP2930.spec.ts "should sign transaction correctly and return
// expected JSON"). RFC 6979, so the signature must match byte for byte.
Transaction GoEthlibs2930() {
  Transaction tx;
  tx.type = TxType::kAccessList;
  tx.chain_id = *U256::Parse("0x796f6c6f763378");
  tx.nonce = 0;
  tx.gas_price = 0x3b9aca00;
  tx.gas_limit = 0x62d4;
  tx.to = A("0xdf0a88b2b68c673713a8ec826003676f272e3573");
  tx.value = 1;
  tx.access_list = {{A("0x0000000000000000000000000000000000001337"), {crypto::Hash256{}}}};
  return tx;
}
constexpr std::string_view kGoEthlibs2930Raw =
    "0x01f8a587796f6c6f76337880843b9aca008262d494df0a88b2b68c673713a8ec826003676f272e35730180f838f79400000000000000"
    "00000000000000000000001337e1a0000000000000000000000000000000000000000000000000000000000000000080a0294ac94077b3"
    "5057971e6b4b06dfdf55a6fbed819133a6c1d31e187f1bca938da00be950468ba1c25a5cb50e9f6d8aa13c8cd21f24ba909402775b262a"
    "c76d374d";

TEST(Eip2930, SignsTheGoEthlibsVector) {
  const Bytes key = H("fad9c8855b740a0b7ed4c221dbad0f33a83a49cad6b3fe8d5817ac83d38b6a19");
  auto st = SignTransaction(GoEthlibs2930(), key);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(HexEncode(st->raw, true), kGoEthlibs2930Raw);
  EXPECT_EQ(HexEncode(st->hash, true), "0xbbd570a3c6acc9bb7da0d5c0322fe4ea2a300db80226f7df4fef39b2d6649eec");
  EXPECT_EQ(st->signature.recovery_id, 0);
  EXPECT_EQ(HexEncode(st->signature.s), "0be950468ba1c25a5cb50e9f6d8aa13c8cd21f24ba909402775b262ac76d374d");

  auto back = DecodeSignedTransaction(H(kGoEthlibs2930Raw));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->tx, GoEthlibs2930());
  EXPECT_EQ(back->from, st->from);
  EXPECT_EQ(back->from, *Address::FromPrivateKey(key));
  EXPECT_EQ(back->hash, st->hash);
}

// EIP-1559: ethereumjs-monorepo packages/tx/test/json/eip1559.json (maxInclusionFeePerGas is
// maxPriorityFeePerGas; chainId 7822; signedTransactionRLP wraps the raw tx in an RLP string).
TEST(Eip1559, SignsTheEthereumjsVectors) {
  struct Vector {
    uint64_t nonce, value, gas_limit, priority, max_fee;
    const char* signed_rlp;
  };
  const Vector vectors[] = {
      {819, 43203529, 35552, 75853, 121212,
       "b87302f870821e8e8203338301284d8301d97c828ae094000000000000000000000000000000000000aaaa8402933bc980c080a0d067"
       "f2167008c59219652f91cbf8788dbca5f771f6e91e2b7657e85b78b472e0a01d305af9fe81fdba43f0dfcd400ed24dcace0a7e30d4e857"
       "01dcaaf484cd079e"},
      {353, 61901619, 32593, 38850, 136295,
       "b87202f86f821e8e8201618297c283021467827f5194000000000000000000000000000000000000aaaa8403b08b3380c001a004205678"
       "f13fc1d7b10feea6513dfa76e24418b6e08097d95c6f93a3b64e536da01d45ad61bfece43862de2cce7d2575a8c1d08c26c87f3cb5f26d"
       "7b0be54a91b2"},
      {985, 32531825, 68541, 66377, 136097,
       "b87402f871821e8e8203d983010349830213a183010bbd94000000000000000000000000000000000000aaaa8401f0657180c001a0e6d2"
       "3c5ecc0f388a4d41a9523c3ad171e98083a61288c340b968dfe0903a6741a07319e8d54a4fd8f0c081d3ce093d869f9df598481991c853"
       "4bfd8f2c163884b4"},
      {119, 65456115, 62341, 24721, 107729,
       "b87002f86d821e8e778260918301a4d182f38594000000000000000000000000000000000000aaaa8403e6c7f380c001a0e38e239770"
       "801eb995498c821e55ac9c19ae09184bb27b34be105e02fe3b7615a067c64ca6bd6d9107e85fd581ab2e70a14b637eb36505bb40861ef"
       "9d6e800cab6"},
  };
  const Bytes key = H("8f2a55949038a9610f50fb23b5883af3b4ecb3c3bb792cbcefbd1542c692be63");
  for (const Vector& v : vectors) {
    Transaction tx;
    tx.type = TxType::kDynamicFee;
    tx.chain_id = 7822;
    tx.nonce = v.nonce;
    tx.value = v.value;
    tx.gas_limit = v.gas_limit;
    tx.max_priority_fee_per_gas = v.priority;
    tx.max_fee_per_gas = v.max_fee;
    tx.to = A("0x000000000000000000000000000000000000aaaa");
    auto wrapped = RlpDecode(H(v.signed_rlp));
    ASSERT_TRUE(wrapped.ok() && wrapped->is_string());
    const Bytes expected = wrapped->str;

    auto st = SignTransaction(tx, key);
    ASSERT_TRUE(st.ok()) << st.status().ToString();
    EXPECT_EQ(HexEncode(st->raw), HexEncode(expected)) << "nonce " << v.nonce;
    // With the sender supplied (the signer's cached address) the output is the same.
    auto known = SignTransaction(tx, key, *Address::FromPrivateKey(key));
    ASSERT_TRUE(known.ok());
    EXPECT_EQ(known->raw, st->raw);
    EXPECT_EQ(known->hash, st->hash);
    EXPECT_EQ(known->from, st->from);

    auto back = DecodeSignedTransaction(expected);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(back->tx, tx);
    EXPECT_EQ(back->from, *Address::FromPrivateKey(key));
    EXPECT_EQ(back->hash, crypto::Keccak256(expected));
  }
  // The RLP-wrapped form (as inside a block body) is not itself a raw transaction.
  auto wrapped = DecodeSignedTransaction(H(vectors[0].signed_rlp));
  EXPECT_EQ(wrapped.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(wrapped.status().message().find("neither a transaction type nor the start of an RLP list"), std::string::npos);
}

// ---------------------------------------------------------------------------------------
// Construction rules
// ---------------------------------------------------------------------------------------

TEST(Transaction, ContractCreationAndPreEip155Legacy) {
  Transaction tx = Eip155Example();
  tx.to.reset();
  tx.chain_id = 0;
  tx.data = H("6001600055");
  auto unsigned_payload = EncodeUnsignedTransaction(tx);
  ASSERT_TRUE(unsigned_payload.ok());
  // Six fields only, `to` empty: [9, 20 gwei, 21000, "", 1 ether, data].
  EXPECT_EQ(HexEncode(*unsigned_payload), "da098504a817c80082520880880de0b6b3a7640000856001600055");
  auto st = SignTransaction(tx, kKey46);
  ASSERT_TRUE(st.ok());
  const U256 v = SignatureV(st->tx, st->signature.recovery_id);
  EXPECT_TRUE(v == U256(27) || v == U256(28));
  auto back = DecodeSignedTransaction(st->raw);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_FALSE(back->tx.to.has_value());
  EXPECT_EQ(back->tx, tx);
  EXPECT_EQ(back->from, st->from);
}

TEST(Transaction, ValidateRefusesFieldsOutsideTheType) {
  Transaction t2;
  t2.type = TxType::kDynamicFee;
  t2.gas_price = 1;
  EXPECT_EQ(ValidateTransaction(t2).message(), "tx: gasPrice is not a field of type 2 (EIP-1559) transactions");
  t2.gas_price = 0;
  t2.max_priority_fee_per_gas = 2;
  t2.max_fee_per_gas = 1;
  EXPECT_EQ(ValidateTransaction(t2).message(), "tx: maxPriorityFeePerGas exceeds maxFeePerGas");
  t2.max_fee_per_gas = 2;
  EXPECT_TRUE(ValidateTransaction(t2).ok());

  Transaction t1;
  t1.type = TxType::kAccessList;
  t1.max_fee_per_gas = 1;
  EXPECT_FALSE(ValidateTransaction(t1).ok());
  t1.max_fee_per_gas = 0;
  t1.max_priority_fee_per_gas = 1;
  EXPECT_FALSE(ValidateTransaction(t1).ok());

  Transaction t0 = Eip155Example();
  t0.access_list = {{Address(), {}}};
  EXPECT_EQ(ValidateTransaction(t0).message(), "tx: accessList is not a field of type 0 (legacy) transactions");
  t0.access_list.clear();
  t0.chain_id = U256::Max();
  EXPECT_EQ(ValidateTransaction(t0).message(), "tx: chainId too large for an EIP-155 v value");
  EXPECT_FALSE(SignTransaction(t0, kKey46).ok());
  // Typed transactions carry chainId as it is: any 256-bit value.
  t2.chain_id = U256::Max();
  EXPECT_TRUE(SignTransaction(t2, kKey46).ok());

  Transaction bad_type;
  bad_type.type = static_cast<TxType>(3);
  EXPECT_FALSE(ValidateTransaction(bad_type).ok());
}

TEST(Transaction, SignRefusesInvalidKeys) {
  EXPECT_EQ(SignTransaction(Eip155Example(), Bytes(32, 0)).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(SignTransaction(Eip155Example(), Bytes(31, 1)).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(SignTransaction(Eip155Example(), Bytes(32, 0xff)).status().code(), StatusCode::kInvalidArgument);
}

TEST(Transaction, LargeLegacyChainIdUsesWideV) {
  Transaction tx = Eip155Example();
  tx.chain_id = U256::PowerOfTwo(200);
  auto st = SignTransaction(tx, kKey46);
  ASSERT_TRUE(st.ok());
  auto back = DecodeSignedTransaction(st->raw);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->tx.chain_id, U256::PowerOfTwo(200));
  EXPECT_EQ(back->from, st->from);
}

// ---------------------------------------------------------------------------------------
// Strict decoding: every malformed form is kInvalidArgument with a reason
// ---------------------------------------------------------------------------------------

struct Split {
  int type;  // -1 for legacy
  RlpItem list;
};

Split SplitRaw(const Bytes& raw) {
  if (raw[0] >= 0xc0) return {-1, *RlpDecode(raw)};
  return {raw[0], *RlpDecode(ByteSpan(raw).subspan(1))};
}

Bytes JoinRaw(const Split& s) {
  Bytes out;
  if (s.type >= 0) out.push_back(static_cast<uint8_t>(s.type));
  RlpEncodeTo(s.list, out);
  return out;
}

void ExpectRefused(const Bytes& raw, std::string_view message_part) {
  auto r = DecodeSignedTransaction(raw);
  ASSERT_FALSE(r.ok()) << HexEncode(raw);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find(message_part), std::string::npos) << r.status().message();
}

// A type-2 transaction with an access list, for structural mutations.
Bytes SignedType2() {
  Transaction tx;
  tx.type = TxType::kDynamicFee;
  tx.chain_id = 1;
  tx.nonce = 5;
  tx.max_priority_fee_per_gas = 1000;
  tx.max_fee_per_gas = 2000;
  tx.gas_limit = 50000;
  tx.to = A("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed");
  tx.access_list = {{A("0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"), {crypto::Hash256{}}}};
  return SignTransaction(tx, kKey46)->raw;
}

template <typename F>
Bytes Edit(const Bytes& raw, F&& edit) {
  Split s = SplitRaw(raw);
  edit(s.list.list);
  return JoinRaw(s);
}

TEST(DecodeSignedTransaction, RefusesUnknownTypesAndGarbage) {
  ExpectRefused({}, "empty input");
  ExpectRefused(H("03c0"), "unsupported transaction type 0x03");
  ExpectRefused(H("00c0"), "unsupported transaction type 0x00");
  ExpectRefused(H("7fc0"), "unsupported transaction type 0x7f");
  ExpectRefused(H("80"), "neither a transaction type nor the start of an RLP list");
  ExpectRefused(H("02"), "rlp: empty input");
  ExpectRefused(H("0280"), "payload must be an RLP list");
  Bytes trailing = H(kEip155Raw);
  trailing.push_back(0);
  ExpectRefused(trailing, "trailing bytes");
  Bytes typed_trailing = SignedType2();
  typed_trailing.push_back(0xc0);
  ExpectRefused(typed_trailing, "trailing bytes");
  Bytes truncated = H(kEip155Raw);
  truncated.pop_back();
  ExpectRefused(truncated, "runs past the end");
}

TEST(DecodeSignedTransaction, RefusesWrongFieldCounts) {
  const Bytes legacy = H(kEip155Raw);
  ExpectRefused(Edit(legacy, [](auto& f) { f.pop_back(); }), "type 0 (legacy) must have 9 fields, got 8");
  ExpectRefused(Edit(legacy, [](auto& f) { f.push_back(RlpItem::Uint(0)); }), "must have 9 fields, got 10");
  const Bytes t2 = SignedType2();
  ExpectRefused(Edit(t2, [](auto& f) { f.pop_back(); }), "type 2 (EIP-1559) must have 12 fields, got 11");
  // A type-2 body under a type-1 byte has the wrong count too.
  Bytes as_type1 = t2;
  as_type1[0] = 0x01;
  ExpectRefused(as_type1, "type 1 (EIP-2930) must have 11 fields, got 12");
}

TEST(DecodeSignedTransaction, RefusesWrongFieldKinds) {
  const Bytes legacy = H(kEip155Raw);
  ExpectRefused(Edit(legacy, [](auto& f) { f[0] = RlpItem::List({}); }), "tx: nonce: rlp: expected an integer, got a list");
  ExpectRefused(Edit(legacy, [](auto& f) { f[3] = RlpItem::List({}); }), "tx: to: expected a byte string");
  ExpectRefused(Edit(legacy, [](auto& f) { f[5] = RlpItem::List({}); }), "tx: data: expected a byte string");
  ExpectRefused(Edit(legacy, [](auto& f) { f[7] = RlpItem::List({}); }), "tx: r: rlp: expected an integer");
  const Bytes t2 = SignedType2();
  ExpectRefused(Edit(t2, [](auto& f) { f[8] = RlpItem::Uint(0); }), "tx: accessList: expected a list");
  ExpectRefused(Edit(t2, [](auto& f) { f[8].list[0].list.push_back(RlpItem::List({})); }),
                "tx: accessList[0]: expected a list of [address, storageKeys]");
  ExpectRefused(Edit(t2, [](auto& f) { f[8].list[0].list[0].str.pop_back(); }),
                "tx: accessList[0]: address must be a 20-byte string");
  ExpectRefused(Edit(t2, [](auto& f) { f[8].list[0].list[1] = RlpItem::Uint(1); }),
                "tx: accessList[0]: storageKeys must be a list");
  ExpectRefused(Edit(t2, [](auto& f) { f[8].list[0].list[1].list[0].str.push_back(0); }),
                "tx: accessList[0]: storage key must be a 32-byte string");
}

TEST(DecodeSignedTransaction, RefusesNonCanonicalIntegersAndBadTo) {
  const Bytes legacy = H(kEip155Raw);
  ExpectRefused(Edit(legacy, [](auto& f) { f[0] = RlpItem::String(H("0009")); }), "tx: nonce: rlp: integer has a leading zero");
  ExpectRefused(Edit(legacy, [](auto& f) { f[4].str.insert(f[4].str.begin(), 0); }), "tx: value: rlp: integer has a leading zero");
  ExpectRefused(Edit(legacy, [](auto& f) { f[0] = RlpItem::String(Bytes(9, 1)); }), "tx: nonce: rlp: integer wider than 64 bits");
  ExpectRefused(Edit(legacy, [](auto& f) { f[2] = RlpItem::String(Bytes(33, 1)); }), "tx: gasLimit: rlp: integer wider than 256 bits");
  ExpectRefused(Edit(legacy, [](auto& f) { f[3] = RlpItem::String(Bytes(19, 0x35)); }),
                "tx: to: must be empty (contract creation) or 20 bytes, got 19");
  ExpectRefused(Edit(legacy, [](auto& f) { f[3] = RlpItem::String(Bytes(21, 0x35)); }), "got 21");
  const Bytes t2 = SignedType2();
  ExpectRefused(Edit(t2, [](auto& f) { f[0] = RlpItem::String(H("0001")); }), "tx: chainId: rlp: integer has a leading zero");
  ExpectRefused(Edit(t2, [](auto& f) { f[9] = RlpItem::String(H("00")); }), "tx: yParity: rlp: integer has a leading zero");
}

TEST(DecodeSignedTransaction, RefusesBadSignatureValues) {
  const Bytes legacy = H(kEip155Raw);
  const U256 n = *U256::Parse("0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141");
  ExpectRefused(Edit(legacy, [](auto& f) { f[7] = RlpItem::Uint(0); }), "tx: signature r is zero");
  ExpectRefused(Edit(legacy, [](auto& f) { f[8] = RlpItem::Uint(0); }), "tx: signature s is zero");
  ExpectRefused(Edit(legacy, [&](auto& f) { f[7] = RlpItem::Uint(n); }), "tx: signature r is not below the group order");
  ExpectRefused(Edit(legacy, [&](auto& f) { f[7] = RlpItem::Uint(U256::Max()); }), "not below the group order");
  // The malleable twin (n - s, other parity) of a valid signature is refused (EIP-2).
  ExpectRefused(Edit(legacy, [&](auto& f) {
                  f[8] = RlpItem::Uint(n - *RlpToU256(f[8]));
                  f[6] = RlpItem::Uint(38);
                }),
                "above n/2");
  // Legacy v must be 27/28 or chainId*2+35+{0,1} with chainId >= 1.
  for (uint64_t v : {0u, 1u, 26u, 29u, 30u, 35u, 36u}) {
    ExpectRefused(Edit(legacy, [&](auto& f) { f[6] = RlpItem::Uint(v); }), "tx: legacy v must be 27, 28");
  }
  const Bytes t2 = SignedType2();
  ExpectRefused(Edit(t2, [](auto& f) { f[9] = RlpItem::Uint(2); }), "tx: yParity must be 0 or 1, got 2");
  ExpectRefused(Edit(t2, [](auto& f) { f[9] = RlpItem::Uint(27); }), "tx: yParity must be 0 or 1, got 27");
  ExpectRefused(Edit(t2, [&](auto& f) { f[11] = RlpItem::Uint(n - *RlpToU256(f[11])); }), "above n/2");
}

TEST(DecodeSignedTransaction, RefusesFieldRulesOfTheType) {
  // maxPriorityFeePerGas above maxFeePerGas (ethers refuses to serialize it).
  ExpectRefused(Edit(SignedType2(), [](auto& f) { f[2] = RlpItem::Uint(5000); }),
                "maxPriorityFeePerGas exceeds maxFeePerGas");
}

TEST(DecodeSignedTransaction, AChangedFieldChangesTheSender) {
  // Structurally valid edits decode, but the recovered sender is no longer the signer.
  const Bytes legacy = H(kEip155Raw);
  auto edited = DecodeSignedTransaction(Edit(legacy, [](auto& f) { f[0] = RlpItem::Uint(10); }));
  ASSERT_TRUE(edited.ok());
  EXPECT_NE(edited->from.ToChecksumHex(), "0x9d8A62f656a8d1615C1294fd71e9CFb3E4855A4F");
}

// ---------------------------------------------------------------------------------------
// Seeded round trips and mutations
// ---------------------------------------------------------------------------------------

U256 RandomU256(std::mt19937_64& rng) {
  switch (rng() % 5) {
    case 0: return U256(0);
    case 1: return U256(rng() % 256);
    case 2: return U256(rng());
    default: {
      Bytes b(1 + rng() % 32);
      for (uint8_t& x : b) x = static_cast<uint8_t>(rng());
      return *U256::FromBigEndian(b);
    }
  }
}

Transaction RandomTransaction(std::mt19937_64& rng) {
  Transaction tx;
  tx.type = static_cast<TxType>(rng() % 3);
  tx.chain_id = RandomU256(rng);
  if (tx.type == TxType::kLegacy && tx.chain_id.BitLength() > 200) tx.chain_id = U256(rng() % 100000);
  tx.nonce = rng() % 2 == 0 ? rng() % 1000 : rng();
  if (tx.type == TxType::kDynamicFee) {
    tx.max_priority_fee_per_gas = RandomU256(rng);
    if (!tx.max_priority_fee_per_gas.AddChecked(RandomU256(rng), &tx.max_fee_per_gas)) tx.max_fee_per_gas = U256::Max();
  } else {
    tx.gas_price = RandomU256(rng);
  }
  tx.gas_limit = RandomU256(rng);
  if (rng() % 5 != 0) {
    ByteArray<20> a{};
    for (uint8_t& x : a) x = static_cast<uint8_t>(rng());
    tx.to = Address(a);
  }
  tx.value = RandomU256(rng);
  tx.data.resize(rng() % 3 == 0 ? 0 : rng() % 300);
  for (uint8_t& x : tx.data) x = static_cast<uint8_t>(rng());
  if (tx.type != TxType::kLegacy) {
    tx.access_list.resize(rng() % 4);
    for (AccessListEntry& e : tx.access_list) {
      ByteArray<20> a{};
      for (uint8_t& x : a) x = static_cast<uint8_t>(rng());
      e.address = Address(a);
      e.storage_keys.resize(rng() % 4);
      for (crypto::Hash256& k : e.storage_keys) {
        for (uint8_t& x : k) x = static_cast<uint8_t>(rng());
      }
    }
  }
  return tx;
}

Bytes RandomKey(std::mt19937_64& rng) {
  Bytes key(32);
  do {
    for (uint8_t& x : key) x = static_cast<uint8_t>(rng());
  } while (!crypto::Secp256k1ValidatePrivateKey(key).ok());
  return key;
}

TEST(TransactionRoundTrip, SignThenDecodeRecoversEverything) {
  std::mt19937_64 rng(TestSeed());
  for (int i = 0; i < 300; ++i) {
    const Transaction tx = RandomTransaction(rng);
    const Bytes key = RandomKey(rng);
    auto st = SignTransaction(tx, key);
    ASSERT_TRUE(st.ok()) << st.status().ToString();
    auto back = DecodeSignedTransaction(st->raw);
    ASSERT_TRUE(back.ok()) << back.status().ToString() << " " << HexEncode(st->raw);
    EXPECT_EQ(back->tx, tx);
    EXPECT_EQ(back->from, *Address::FromPrivateKey(key));
    EXPECT_EQ(back->from, st->from);
    EXPECT_EQ(back->hash, st->hash);
    EXPECT_EQ(back->raw, st->raw);
    EXPECT_EQ(back->signature.r, st->signature.r);
    EXPECT_EQ(back->signature.s, st->signature.s);
    EXPECT_EQ(back->signature.recovery_id, st->signature.recovery_id);
    // The JSON form carries the same fields back.
    const json j = SignedTransactionToJson(*back);
    EXPECT_EQ(j["raw"], HexEncode(st->raw, true));
    EXPECT_EQ(j["type"], static_cast<int>(tx.type));
  }
}

Bytes Mutate(const Bytes& in, std::mt19937_64& rng) {
  Bytes out = in;
  const size_t n = 1 + rng() % 3;
  for (size_t k = 0; k < n; ++k) {
    switch (rng() % 6) {
      case 0:
        if (!out.empty()) out[rng() % out.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
        break;
      case 1:
        if (!out.empty()) out[rng() % out.size()] = static_cast<uint8_t>(rng());
        break;
      case 2:
        if (!out.empty()) out.resize(rng() % out.size());
        break;
      case 3:
        for (size_t i = rng() % 4 + 1; i > 0; --i) out.push_back(static_cast<uint8_t>(rng()));
        break;
      case 4:
        out.insert(out.begin() + static_cast<std::ptrdiff_t>(out.empty() ? 0 : rng() % out.size()),
                   static_cast<uint8_t>(rng()));
        break;
      default:
        if (!out.empty()) out.erase(out.begin() + static_cast<std::ptrdiff_t>(rng() % out.size()));
        break;
    }
  }
  return out;
}

// Mutated raw transactions: refused with kInvalidArgument, or accepted as a transaction whose
// canonical encoding is exactly the input. Never a crash (CI runs this under ASan/UBSan).
TEST(TransactionRoundTrip, MutationsNeverCrash) {
  std::mt19937_64 rng(TestSeed() + 1);
  std::vector<Bytes> seeds = {H(kEip155Raw), H(kGoEthlibs2930Raw), SignedType2()};
  for (int i = 0; i < 9; ++i) seeds.push_back(SignTransaction(RandomTransaction(rng), RandomKey(rng))->raw);
  size_t accepted = 0, total = 0;
  for (const Bytes& seed : seeds) {
    for (int i = 0; i < 400; ++i, ++total) {
      const Bytes input = Mutate(seed, rng);
      auto r = DecodeSignedTransaction(input);
      if (r.ok()) {
        ++accepted;
        EXPECT_EQ(r->raw, input);
        EXPECT_EQ(r->hash, crypto::Keccak256(input));
      } else {
        EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().ToString();
      }
    }
  }
  std::cout << "[ info ] accepted " << accepted << " of " << total << " mutated transactions\n";
}

// ---------------------------------------------------------------------------------------
// JSON (tx_json.h)
// ---------------------------------------------------------------------------------------

json J(std::string_view text) { return json::parse(text, nullptr, /*allow_exceptions=*/false); }

StatusOr<Transaction> FromJson(std::string_view text) {
  const json j = J(text);
  EXPECT_FALSE(j.is_discarded()) << text;
  return TransactionFromJson(j);
}

void ExpectJsonRefused(std::string_view text, std::string_view message_part) {
  auto r = FromJson(text);
  ASSERT_FALSE(r.ok()) << text;
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find(message_part), std::string::npos) << text << " -> " << r.status().message();
}

TEST(TxJson, ParsesTheEip155ExampleInEveryNumberForm) {
  for (std::string_view text : {
           R"({"type":0,"chainId":1,"nonce":9,"gasPrice":20000000000,"gasLimit":21000,
               "to":"0x3535353535353535353535353535353535353535","value":"1000000000000000000","data":"0x"})",
           R"({"type":"0x0","chainId":"1","nonce":"0x09","gasPrice":"0x4a817c800","gasLimit":"21000",
               "to":"0x3535353535353535353535353535353535353535","value":"0xde0b6b3a7640000"})",
       }) {
    auto tx = FromJson(text);
    ASSERT_TRUE(tx.ok()) << tx.status().ToString();
    EXPECT_EQ(*tx, Eip155Example());
    EXPECT_EQ(HexEncode(SignTransaction(*tx, kKey46)->raw, true), kEip155Raw);
  }
}

TEST(TxJson, AccessListAndTypedFields) {
  auto tx = FromJson(R"({"type":1,"chainId":"0x796f6c6f763378","gasPrice":"0x3b9aca00","gasLimit":"0x62d4",
      "to":"0xdf0a88b2b68c673713a8ec826003676f272e3573","value":1,"data":"0x",
      "accessList":[{"address":"0x0000000000000000000000000000000000001337",
                     "storageKeys":["0x0000000000000000000000000000000000000000000000000000000000000000"]}]})");
  ASSERT_TRUE(tx.ok()) << tx.status().ToString();
  EXPECT_EQ(*tx, GoEthlibs2930());
}

TEST(TxJson, InfersTheTypeAsEthersV6Does) {
  auto type_of = [](std::string_view text) {
    auto tx = FromJson(text);
    EXPECT_TRUE(tx.ok()) << text << " " << tx.status().ToString();
    return tx.ok() ? static_cast<int>(tx->type) : -1;
  };
  EXPECT_EQ(type_of(R"({"maxFeePerGas":2})"), 2);
  EXPECT_EQ(type_of(R"({"maxPriorityFeePerGas":0})"), 2);
  EXPECT_EQ(type_of(R"({"maxFeePerGas":2,"accessList":[]})"), 2);
  EXPECT_EQ(type_of(R"({"gasPrice":1})"), 1);  // ethers 6.17: [0, 1] -> the highest, 1
  EXPECT_EQ(type_of(R"({"gasPrice":1,"accessList":[]})"), 1);
  EXPECT_EQ(type_of(R"({"accessList":[]})"), 2);  // ethers: [1, 2] -> 2
  EXPECT_EQ(type_of(R"({})"), 2);
  EXPECT_EQ(type_of(R"({"type":0,"gasPrice":1})"), 0);
  EXPECT_EQ(type_of(R"({"type":null,"gasPrice":1})"), 1);  // null counts as absent
  // Inferred type 2 then refuses a gasPrice beside a fee cap.
  ExpectJsonRefused(R"({"gasPrice":1,"maxFeePerGas":2})", "gasPrice: not a field of type 2 transactions");
}

TEST(TxJson, DefaultsAndNulls) {
  auto tx = FromJson(R"({"type":2,"to":null,"data":null,"value":null})");
  ASSERT_TRUE(tx.ok()) << tx.status().ToString();
  EXPECT_EQ(*tx, Transaction{});
  EXPECT_FALSE(tx->to.has_value());
  auto creation = FromJson(R"({"type":2,"data":"0x6001"})");
  ASSERT_TRUE(creation.ok());
  EXPECT_FALSE(creation->to.has_value());
  EXPECT_EQ(creation->data, H("6001"));
  // Lower- and upper-case addresses carry no checksum and are accepted as they are.
  EXPECT_TRUE(FromJson(R"({"to":"0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"})").ok());
  EXPECT_TRUE(FromJson(R"({"to":"0x5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED"})").ok());
  // Full-width values.
  auto big = FromJson(R"({"value":"115792089237316195423570985008687907853269984665640564039457584007913129639935",
                          "nonce":"18446744073709551615","gasLimit":18446744073709551615})");
  ASSERT_TRUE(big.ok()) << big.status().ToString();
  EXPECT_EQ(big->value, U256::Max());
  EXPECT_EQ(big->nonce, UINT64_MAX);
  EXPECT_EQ(big->gas_limit, U256(UINT64_MAX));
}

TEST(TxJson, RefusesMalformedInput) {
  ExpectJsonRefused(R"([])", "expected an object");
  ExpectJsonRefused(R"({"gasprice":1})", "unknown field 'gasprice'");
  ExpectJsonRefused(R"({"from":"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"})", "unknown field 'from'");
  ExpectJsonRefused(R"({"type":2,"gasPrice":1})", "gasPrice: not a field of type 2 transactions");
  ExpectJsonRefused(R"({"type":0,"maxFeePerGas":1})", "maxFeePerGas: not a field of type 0 transactions");
  ExpectJsonRefused(R"({"type":1,"maxPriorityFeePerGas":1})", "maxPriorityFeePerGas: not a field of type 1");
  ExpectJsonRefused(R"({"type":0,"accessList":[]})", "accessList: not a field of type 0 transactions");
  ExpectJsonRefused(R"({"type":3})", "unsupported transaction type 3");
  ExpectJsonRefused(R"({"type":"two"})", "type: integer: invalid decimal digit");
  ExpectJsonRefused(R"({"nonce":-1})", "nonce: must not be negative");
  ExpectJsonRefused(R"({"value":1.5})", "value: must be an integer");
  ExpectJsonRefused(R"({"value":1e21})", "value: must be an integer");
  ExpectJsonRefused(R"({"value":true})", "value: must be an integer, a decimal string or a 0x-hex string");
  ExpectJsonRefused(R"({"value":""})", "value: integer: empty string");
  ExpectJsonRefused(R"({"value":" 1"})", "value: integer: invalid decimal digit");
  ExpectJsonRefused(R"({"value":"0x"})", "value: integer: empty hex");
  ExpectJsonRefused(
      R"({"value":"115792089237316195423570985008687907853269984665640564039457584007913129639936"})",
      "exceeds 256 bits");
  ExpectJsonRefused(R"({"nonce":"18446744073709551616"})", "nonce: exceeds 2^64 - 1");
  ExpectJsonRefused(R"({"data":"6001"})", "data: hex: missing 0x prefix");
  ExpectJsonRefused(R"({"data":"0x600"})", "data: hex: odd number of digits");
  ExpectJsonRefused(R"({"data":[1]})", "data: must be a 0x-hex string");
  ExpectJsonRefused(R"({"to":"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"})", "to: address: bad EIP-55 checksum");
  ExpectJsonRefused(R"({"to":"0x1234"})", "to: address: expected 40 hex digits");
  ExpectJsonRefused(R"({"to":"vitalik.eth"})", "to: address");
  ExpectJsonRefused(R"({"to":5})", "to: must be an address string");
  ExpectJsonRefused(R"({"accessList":{}})", "accessList: must be an array");
  ExpectJsonRefused(R"({"accessList":[["0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",[]]]})",
                    "accessList[0]: must be an object");
  ExpectJsonRefused(R"({"accessList":[{"address":"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed","storageKeys":[],"x":1}]})",
                    "accessList[0]: unknown field 'x'");
  ExpectJsonRefused(R"({"accessList":[{"storageKeys":[]}]})", "accessList[0]: address is required");
  ExpectJsonRefused(R"({"accessList":[{"address":"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"}]})",
                    "accessList[0]: storageKeys must be an array");
  ExpectJsonRefused(R"({"accessList":[{"address":"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed","storageKeys":["0x01"]}]})",
                    "accessList[0].storageKeys[0]: expected 32 bytes, got 1");
  ExpectJsonRefused(R"({"maxPriorityFeePerGas":3,"maxFeePerGas":2})", "maxPriorityFeePerGas exceeds maxFeePerGas");
  ExpectJsonRefused(R"({"type":0,"chainId":"0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"})",
                    "chainId too large");
}

TEST(TxJson, SignedTransactionToJsonHasTheDecodeTxShape) {
  auto st = DecodeSignedTransaction(H(kEip155Raw));
  ASSERT_TRUE(st.ok());
  const json expected = J(R"({
    "type": 0, "chainId": "1", "nonce": "9", "to": "0x3535353535353535353535353535353535353535",
    "value": "1000000000000000000", "data": "0x", "gasLimit": "21000", "gasPrice": "20000000000",
    "signature": {"r": "0x28ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276",
                  "s": "0x67cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83",
                  "yParity": 0, "v": 37},
    "hash": "0x33469b22e9f636356c4160a87eb19df52b7412e8eac32a4a55ffe88ea8350788",
    "from": "0x9d8A62f656a8d1615C1294fd71e9CFb3E4855A4F",
    "raw": "0xf86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a76400008025a028ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83"
  })");
  EXPECT_EQ(SignedTransactionToJson(*st), expected) << SignedTransactionToJson(*st).dump(2);
  EXPECT_EQ(HexEncode(st->hash, true), "0x33469b22e9f636356c4160a87eb19df52b7412e8eac32a4a55ffe88ea8350788");

  const json summary = SignedTransactionSummaryJson(*st);
  EXPECT_EQ(summary, J(R"({"raw": "0xf86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a76400008025a028ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83",
      "hash": "0x33469b22e9f636356c4160a87eb19df52b7412e8eac32a4a55ffe88ea8350788",
      "from": "0x9d8A62f656a8d1615C1294fd71e9CFb3E4855A4F"})"));
}

TEST(TxJson, TypedShapesAndWideV) {
  auto t1 = DecodeSignedTransaction(H(kGoEthlibs2930Raw));
  ASSERT_TRUE(t1.ok());
  const json j1 = SignedTransactionToJson(*t1);
  EXPECT_EQ(j1["type"], 1);
  EXPECT_EQ(j1["chainId"], "34180983699157880");  // 0x796f6c6f763378
  EXPECT_EQ(j1["gasPrice"], "1000000000");
  EXPECT_FALSE(j1.contains("maxFeePerGas"));
  EXPECT_EQ(j1["accessList"], J(R"([{"address":"0x0000000000000000000000000000000000001337",
      "storageKeys":["0x0000000000000000000000000000000000000000000000000000000000000000"]}])"));
  EXPECT_EQ(j1["signature"]["v"], 0);
  EXPECT_EQ(j1["signature"]["yParity"], 0);
  EXPECT_EQ(j1["signature"]["s"], "0x0be950468ba1c25a5cb50e9f6d8aa13c8cd21f24ba909402775b262ac76d374d");

  auto t2 = DecodeSignedTransaction(SignedType2());
  ASSERT_TRUE(t2.ok());
  const json j2 = SignedTransactionToJson(*t2);
  EXPECT_EQ(j2["type"], 2);
  EXPECT_FALSE(j2.contains("gasPrice"));
  EXPECT_EQ(j2["maxPriorityFeePerGas"], "1000");
  EXPECT_EQ(j2["maxFeePerGas"], "2000");
  EXPECT_EQ(j2["to"], "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed");
  EXPECT_EQ(j2["accessList"][0]["address"], "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359");
  EXPECT_EQ(j2["signature"]["v"], j2["signature"]["yParity"]);

  // Contract creation: "to" is null.
  Transaction create;
  create.data = H("00");
  const json jc = SignedTransactionToJson(*SignTransaction(create, kKey46));
  ASSERT_TRUE(jc.contains("to"));
  EXPECT_TRUE(jc["to"].is_null());
  EXPECT_EQ(jc["data"], "0x00");

  // Legacy v beyond 2^53 - 1 is written as a decimal string; at or below, as a number.
  Transaction wide = Eip155Example();
  wide.chain_id = U256(uint64_t{1} << 60);
  const json jw = SignedTransactionToJson(*SignTransaction(wide, kKey46));
  ASSERT_TRUE(jw["signature"]["v"].is_string());
  const U256 v = *U256::Parse(jw["signature"]["v"].get<std::string>());
  EXPECT_TRUE(v == U256((uint64_t{1} << 61) + 35) || v == U256((uint64_t{1} << 61) + 36));
  Transaction edge = Eip155Example();
  edge.chain_id = U256(((uint64_t{1} << 53) - 1 - 36) / 2);  // v is at most 2^53 - 2
  EXPECT_TRUE(SignedTransactionToJson(*SignTransaction(edge, kKey46))["signature"]["v"].is_number_unsigned());
}

}  // namespace
}  // namespace vp::eth
