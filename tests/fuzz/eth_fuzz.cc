// libFuzzer target: every Ethereum decoder of untrusted input, and the strict JSON parser
// under them, must refuse any input with a Status (never crash, throw, hang or leak), and
// what they accept must be canonical: encode(decode(x)) gives x back (or its canonical
// form) and decoding that again gives the same value.
//
// The input goes whole to each decoder: as bytes to RlpDecode, DecodeSignedTransaction and
// RecoverPersonalMessageSigner (message || 65-byte signature); as text to HexDecode (whose
// bytes then go to the byte decoders, so the hex files of tests/corpus/ reach them),
// Address::Parse, U256::Parse, DerivationPath::Parse, ExtendedKey::Parse,
// MnemonicToEntropy, ParseJsonStrict, then for JSON objects TransactionFromJson and
// ParseTypedDataJson + HashTypedData. One-line decoders also see the text less its
// trailing newline, as the CLI strips it. Accepted values are carried further: a decoded transaction's
// decode-tx JSON parses back to the same fields, a transaction from JSON signs and
// decodes back to itself, a typed-data document hashes the same after a dump and re-parse,
// and its signature recovers the signing key's address.
//
// Seeds: with VP_FUZZ_WRITE_SEEDS=DIR the binary writes one valid input per format into
// DIR (made by the real encoders) and exits. Run: tests/fuzz/smoke.sh BUILD_DIR --target eth_fuzz
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "seed_file.h"
#include "vp/base/bytes.h"
#include "vp/base/json.h"
#include "vp/crypto/keccak.h"
#include "vp/crypto/secp256k1.h"
#include "vp/eth/address.h"
#include "vp/eth/bip32.h"
#include "vp/eth/bip39.h"
#include "vp/eth/eip191.h"
#include "vp/eth/eip712.h"
#include "vp/eth/rlp.h"
#include "vp/eth/transaction.h"
#include "vp/eth/tx_json.h"
#include "vp/eth/uint256.h"

namespace {

using nlohmann::json;
using vp::ByteSpan;
using vp::Bytes;
namespace eth = vp::eth;

// A broken invariant is a finding: say which, and abort so libFuzzer keeps the input.
void Require(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "eth_fuzz: invariant broken: %s\n", what);
  std::abort();
}

bool Same(ByteSpan a, ByteSpan b) { return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin()); }

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string_view StripPrefix(std::string_view s) {
  if (s.size() >= 2 && s[0] == '0' && s[1] == 'x') s.remove_prefix(2);
  return s;
}

// A fixed signing key (the EIP-155 example key, 0x46 repeated) and its address.
const Bytes& Key() {
  static const Bytes k(32, 0x46);
  return k;
}
const eth::Address& KeyAddress() {
  static const eth::Address a = [] {
    auto r = eth::Address::FromPrivateKey(Key());
    if (!r.ok()) std::abort();
    return *r;
  }();
  return a;
}

// nlohmann's dump throws on invalid UTF-8; a parsed document never holds any, so a throw
// here is a finding too.
std::string Dump(const json& j) {
  try {
    return j.dump();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "eth_fuzz: dump threw: %s\n", e.what());
    std::abort();
  }
}

// ---- byte decoders ------------------------------------------------------------------------

void CheckRlpIntegers(const eth::RlpItem& item) {
  if (item.is_list()) {
    for (const eth::RlpItem& child : item.list) CheckRlpIntegers(child);
    return;
  }
  auto u = eth::RlpToU256(item);
  if (u.ok()) Require(eth::RlpItem::Uint(*u) == item, "RlpToU256 accepted a non-canonical integer");
  auto u64 = eth::RlpToUint64(item);
  if (u64.ok()) Require(u.ok() && *u == eth::U256(*u64), "RlpToUint64 disagrees with RlpToU256");
}

void CheckRlp(ByteSpan data) {
  auto item = eth::RlpDecode(data);
  if (!item.ok()) return;
  const Bytes encoded = eth::RlpEncode(*item);
  Require(Same(encoded, data), "RlpDecode accepted a non-canonical encoding");
  auto again = eth::RlpDecode(encoded);
  Require(again.ok() && *again == *item, "RLP decode -> encode -> decode changed the item");
  CheckRlpIntegers(*item);
}

void CheckRawTransaction(ByteSpan data) {
  auto st = eth::DecodeSignedTransaction(data);
  if (!st.ok()) return;
  Require(Same(st->raw, data), "decoded raw is not the input");
  Require(st->hash == vp::crypto::Keccak256(data), "hash is not keccak256(raw)");
  Require(eth::ValidateTransaction(st->tx).ok(), "a decoded transaction fails ValidateTransaction");
  auto digest = eth::TransactionSigningHash(st->tx);
  Require(digest.ok(), "a decoded transaction has no signing hash");
  auto pub = vp::crypto::Secp256k1Recover(*digest, st->signature);
  Require(pub.ok() && eth::Address::FromPublicKey(*pub) == st->from, "sender does not recover");
  // decode-tx JSON less the signature parts is a sign-tx input naming the same fields.
  json j = eth::SignedTransactionToJson(*st);
  for (const char* k : {"signature", "hash", "from", "raw"}) j.erase(k);
  auto doc = vp::ParseJsonStrict(Dump(j), "decode-tx");
  Require(doc.ok(), "decode-tx JSON does not parse");
  auto tx = eth::TransactionFromJson(*doc);
  Require(tx.ok() && *tx == st->tx, "decode-tx JSON does not parse back to the same transaction");
}

void CheckPersonalSignature(ByteSpan data) {
  if (data.size() < 65) return;
  const ByteSpan message = data.first(data.size() - 65);
  const ByteSpan signature = data.last(65);
  auto who = eth::RecoverPersonalMessageSigner(message, signature);
  if (!who.ok()) return;
  Require(signature[64] == 27 || signature[64] == 28 || signature[64] <= 1, "v outside {0, 1, 27, 28} accepted");
  auto again = eth::RecoverPersonalMessageSignerHex(message, vp::HexEncode(signature, true));
  Require(again.ok() && *again == *who, "hex and byte signatures recover different signers");
}

void CheckBytes(ByteSpan data) {
  CheckRlp(data);
  CheckRawTransaction(data);
  CheckPersonalSignature(data);
}

// ---- text decoders ------------------------------------------------------------------------

void CheckHex(std::string_view text) {
  auto b = vp::HexDecode(text);
  auto fixed = vp::HexDecodeFixed<32>(text);
  Require(fixed.ok() == (b.ok() && b->size() == 32), "HexDecodeFixed<32> disagrees with HexDecode");
  if (!b.ok()) return;
  Require(vp::HexEncode(*b) == Lower(StripPrefix(text)), "HexDecode accepted something HexEncode does not give");
  CheckBytes(*b);
}

void CheckAddress(std::string_view text) {
  auto a = eth::Address::Parse(text);
  if (!a.ok()) return;
  Require(a->ToLowerHex().substr(2) == Lower(StripPrefix(text)), "address bytes differ from its hex");
  auto checksummed = eth::Address::Parse(a->ToChecksumHex());
  auto lower = eth::Address::Parse(a->ToLowerHex());
  Require(checksummed.ok() && *checksummed == *a && lower.ok() && *lower == *a, "address does not round-trip");
}

void CheckU256(std::string_view text) {
  auto v = eth::U256::Parse(text);
  if (!v.ok()) return;
  auto dec = eth::U256::Parse(v->ToDecimal());
  auto hex = eth::U256::Parse(v->ToHex());
  auto be = eth::U256::FromBigEndian(v->ToBigEndianMinimal());
  Require(dec.ok() && *dec == *v && hex.ok() && *hex == *v && be.ok() && *be == *v, "U256 does not round-trip");
}

void CheckPath(std::string_view text) {
  auto p = eth::DerivationPath::Parse(text);
  if (!p.ok()) return;
  Require(p->indices().size() <= eth::kMaxDerivationDepth, "path deeper than 255 accepted");
  const std::string canonical = p->ToString();
  auto again = eth::DerivationPath::Parse(canonical);
  Require(again.ok() && *again == *p, "path does not round-trip");
  // Only the hardened marker may differ between an accepted text and the canonical one.
  if (text.find_first_of("hH") == std::string_view::npos) Require(canonical == text, "path text is not canonical");
}

void CheckExtendedKey(std::string_view text) {
  auto k = eth::ExtendedKey::Parse(text);
  if (!k.ok()) return;
  if (k->is_private()) {
    auto xprv = k->ToXprv();
    Require(xprv.ok() && vp::AsString(xprv->view()) == text, "xprv does not round-trip");
  } else {
    Require(k->ToXpub() == text, "xpub does not round-trip");
  }
  auto pub = eth::ExtendedKey::Parse(k->ToXpub());
  Require(pub.ok() && !pub->is_private() && pub->public_key() == k->public_key(), "neutered key does not parse");
}

void CheckMnemonic(std::string_view text) {
  auto entropy = eth::MnemonicToEntropy(text);
  Require(eth::ValidateMnemonic(text).ok() == entropy.ok(), "ValidateMnemonic disagrees with MnemonicToEntropy");
  if (!entropy.ok()) return;
  const size_t n = entropy->size();
  Require(n == 16 || n == 20 || n == 24 || n == 28 || n == 32, "entropy of an impossible size");
  auto words = eth::EntropyToMnemonic(entropy->view());
  Require(words.ok() && vp::AsString(words->view()) == text, "mnemonic does not round-trip");
}

// A transaction from JSON signs, and the raw bytes decode back to the same fields.
void CheckTxJson(const json& doc) {
  auto tx = eth::TransactionFromJson(doc);
  if (!tx.ok()) return;
  auto st = eth::SignTransaction(*tx, Key(), KeyAddress());
  if (!st.ok()) {
    Require(st.status().code() == vp::StatusCode::kInvalidArgument, "signing failed other than kInvalidArgument");
    Require(!eth::ValidateTransaction(*tx).ok(), "a valid transaction did not sign");
    return;
  }
  auto back = eth::DecodeSignedTransaction(st->raw);
  Require(back.ok(), "a signed transaction does not decode");
  Require(back->tx == *tx && back->from == KeyAddress() && back->hash == st->hash,
          "a signed transaction decodes to other fields");
}

void CheckTypedData(std::string_view text);

// Typed-data documents are parsed by ParseJsonStrict too (eip712.cc), so only text that
// passed it goes on to ParseTypedDataJson: JSON parsing is most of this target's time.
void CheckJson(std::string_view text) {
  auto doc = vp::ParseJsonStrict(text, "fuzz");
  if (!doc.ok()) return;
  const json loose = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  Require(!loose.is_discarded() && loose == *doc, "strict JSON accepted what nlohmann refuses, or read it differently");
  const std::string dumped = Dump(*doc);
  auto again = vp::ParseJsonStrict(dumped, "fuzz");
  Require(again.ok() && Dump(*again) == dumped, "JSON dump does not parse back to itself");
  if (!doc->is_object()) return;
  CheckTxJson(*doc);
  CheckTypedData(text);
}

void CheckTypedData(std::string_view text) {
  auto doc = eth::ParseTypedDataJson(text);
  if (!doc.ok()) return;
  auto h = eth::HashTypedData(*doc);
  if (!h.ok()) return;
  Bytes pre = {0x19, 0x01};
  vp::Append(pre, h->domain_separator);
  vp::Append(pre, h->struct_hash);
  Require(h->digest == vp::crypto::Keccak256(pre), "digest is not keccak256(0x1901 || domain || struct)");
  // The digest belongs to the document, not to its spelling.
  auto reparsed = eth::ParseTypedDataJson(Dump(*doc));
  Require(reparsed.ok(), "a dumped typed-data document does not parse");
  auto h2 = eth::HashTypedData(*reparsed);
  Require(h2.ok() && h2->digest == h->digest, "typed-data digest changed after dump and re-parse");
  auto types = eth::TypedDataTypes::Parse(doc->at("types"));
  Require(types.ok(), "types of a hashed document do not parse alone");
  const std::string primary = doc->at("primaryType").get<std::string>();
  auto encoded = types->EncodeType(primary);
  auto type_hash = types->TypeHash(primary);
  Require(encoded.ok() && type_hash.ok() && *type_hash == vp::crypto::Keccak256(vp::AsBytes(*encoded)),
          "typeHash is not keccak256(encodeType)");
  auto sig = eth::SignTypedData(*doc, Key());
  Require(sig.ok() && sig->digest == h->digest, "a hashed document does not sign");
  vp::crypto::RecoverableSignature rs;
  std::copy(sig->signature.begin(), sig->signature.begin() + 32, rs.r.begin());
  std::copy(sig->signature.begin() + 32, sig->signature.begin() + 64, rs.s.begin());
  rs.recovery_id = static_cast<uint8_t>(sig->signature[64] - 27);
  auto pub = vp::crypto::Secp256k1Recover(sig->digest, rs);
  Require(pub.ok() && eth::Address::FromPublicKey(*pub) == KeyAddress(), "typed-data signature does not recover");
}

// The decoders of one-line values.
void CheckLine(std::string_view text) {
  CheckHex(text);
  CheckAddress(text);
  CheckU256(text);
  CheckPath(text);
  CheckExtendedKey(text);
  CheckMnemonic(text);
}

// ---- seeds --------------------------------------------------------------------------------

std::vector<std::pair<std::string, Bytes>> Seeds() {
  std::vector<std::pair<std::string, Bytes>> out;
  auto text = [&](const std::string& name, std::string_view s) { out.emplace_back(name, Bytes(s.begin(), s.end())); };
  auto must = [](bool ok) {
    if (!ok) std::abort();
  };

  using eth::RlpItem;
  out.emplace_back("rlp", eth::RlpEncode(RlpItem::List(
                              {RlpItem::Uint(0), RlpItem::Uint(0x7f), RlpItem::Uint(1024), RlpItem::Text("dog"),
                               RlpItem::List({RlpItem::String(Bytes(60, 0xab)), RlpItem::List({})})})));

  auto to = eth::Address::Parse("0x3535353535353535353535353535353535353535");
  must(to.ok());
  eth::AccessList access = {{*to, {vp::crypto::Hash256{}, vp::crypto::Keccak256(vp::AsBytes("slot"))}}};
  std::vector<std::pair<std::string, eth::Transaction>> txs;
  {
    eth::Transaction t;
    t.type = eth::TxType::kLegacy;
    t.chain_id = 1;
    t.nonce = 9;
    t.gas_price = 20'000'000'000;
    t.gas_limit = 21000;
    t.to = *to;
    t.value = 1'000'000'000'000'000'000;
    txs.emplace_back("tx_legacy_eip155", t);
    t.chain_id = 0;
    t.to.reset();
    t.data = Bytes{0x60, 0x80, 0x60, 0x40};
    txs.emplace_back("tx_legacy_create", t);
  }
  {
    eth::Transaction t;
    t.type = eth::TxType::kAccessList;
    t.chain_id = 5;
    t.nonce = 1;
    t.gas_price = 1;
    t.gas_limit = 50000;
    t.to = *to;
    t.access_list = access;
    txs.emplace_back("tx_type1", t);
  }
  {
    eth::Transaction t;
    t.chain_id = 1;
    t.nonce = 0;
    t.max_priority_fee_per_gas = 2'000'000'000;
    t.max_fee_per_gas = 30'000'000'000;
    t.gas_limit = 100000;
    t.to = *to;
    t.value = 7;
    t.data = Bytes{0xa9, 0x05, 0x9c, 0xbb, 0x00, 0x01};
    t.access_list = access;
    txs.emplace_back("tx_type2", t);
  }
  for (const auto& [name, t] : txs) {
    auto st = eth::SignTransaction(t, Key());
    must(st.ok());
    out.emplace_back(name + "_raw", st->raw);
    text(name + "_hex", vp::HexEncode(st->raw, true));
    json j = eth::SignedTransactionToJson(*st);
    for (const char* k : {"signature", "hash", "from", "raw"}) j.erase(k);
    text(name + "_json", j.dump());
  }
  text("tx_json_inferred", R"({"chainId":1,"nonce":"0x1","to":null,"maxFeePerGas":"100","data":"0x00"})");

  const Bytes message = {'h', 'e', 'l', 'l', 'o'};
  auto sig = eth::SignPersonalMessage(Key(), message);
  must(sig.ok());
  Bytes personal = message;
  vp::Append(personal, *sig);
  out.emplace_back("personal_sign", personal);

  text("address_checksum", KeyAddress().ToChecksumHex());
  text("address_lower", KeyAddress().ToLowerHex());
  text("u256_0x", "0x2386f26fc10000");
  text("u256_dec", eth::U256::Max().ToDecimal());
  text("path_eth", eth::kEthereumDefaultPath);
  text("path_h", "m/0h/1/2H/2147483647'");

  Bytes entropy(16);
  for (size_t i = 0; i < entropy.size(); ++i) entropy[i] = static_cast<uint8_t>(i * 17);
  auto words = eth::EntropyToMnemonic(entropy);
  must(words.ok());
  text("mnemonic_12", vp::AsString(words->view()));
  auto words24 = eth::EntropyToMnemonic(Bytes(32, 0xff));
  must(words24.ok());
  text("mnemonic_24", vp::AsString(words24->view()));

  auto master = eth::ExtendedKey::FromSeed(entropy);
  must(master.ok());
  auto child = master->Derive(eth::DerivationPath({eth::kHardenedBit | 44, 7}));
  must(child.ok());
  auto xprv = child->ToXprv();
  must(xprv.ok());
  text("xprv", vp::AsString(xprv->view()));
  text("xpub", master->ToXpub());

  // EIP-712's own example (eips.ethereum.org/EIPS/eip-712, "Mail"), plus a field of each kind.
  text("typed_data", R"({
  "types": {
    "EIP712Domain": [{"name": "name", "type": "string"}, {"name": "version", "type": "string"},
                     {"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"}],
    "Person": [{"name": "name", "type": "string"}, {"name": "wallet", "type": "address"}],
    "Mail": [{"name": "from", "type": "Person"}, {"name": "to", "type": "Person[]"},
             {"name": "contents", "type": "string"}, {"name": "tag", "type": "bytes4"},
             {"name": "blob", "type": "bytes"}, {"name": "n", "type": "int8[2]"}, {"name": "ok", "type": "bool"}]
  },
  "primaryType": "Mail",
  "domain": {"name": "Ether Mail", "version": "1", "chainId": 1,
             "verifyingContract": "0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC"},
  "message": {
    "from": {"name": "Cow", "wallet": "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826"},
    "to": [{"name": "Bob", "wallet": "0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB"}],
    "contents": "Hello, Bob!", "tag": "0x01020304", "blob": "0x", "n": [-128, "0x7f"], "ok": true
  }
})");
  return out;
}

// Each seed must be accepted by the decoder it was made for, or it leads the fuzzer nowhere.
bool SeedDecodes(const std::string& name, ByteSpan b) {
  const std::string_view t = vp::AsString(b);
  auto has = [&](std::string_view suffix) {
    return name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (name == "rlp") return eth::RlpDecode(b).ok();
  if (has("_raw")) return eth::DecodeSignedTransaction(b).ok();
  if (has("_hex")) {
    auto d = vp::HexDecode(t);
    return d.ok() && eth::DecodeSignedTransaction(*d).ok();
  }
  if (has("_json") || name == "tx_json_inferred") {
    auto j = vp::ParseJsonStrict(t, "seed");
    return j.ok() && eth::TransactionFromJson(*j).ok();
  }
  if (name == "personal_sign") return eth::RecoverPersonalMessageSigner(b.first(5), b.last(65)).ok();
  if (name.starts_with("address")) return eth::Address::Parse(t).ok();
  if (name.starts_with("u256")) return eth::U256::Parse(t).ok();
  if (name.starts_with("path")) return eth::DerivationPath::Parse(t).ok();
  if (name.starts_with("mnemonic")) return eth::ValidateMnemonic(t).ok();
  if (name == "xprv" || name == "xpub") return eth::ExtendedKey::Parse(t).ok();
  if (name == "typed_data") {
    auto d = eth::ParseTypedDataJson(t);
    return d.ok() && eth::HashTypedData(*d).ok();
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  const char* dir = std::getenv("VP_FUZZ_WRITE_SEEDS");
  if (dir == nullptr) return 0;
  for (const auto& [name, bytes] : Seeds()) {
    vp::fuzz::RequireSeed(SeedDecodes(name, bytes), name);
    vp::fuzz::WriteSeed(dir, name, bytes.data(), bytes.size());
  }
  std::exit(0);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const ByteSpan in(data, size);
  CheckBytes(in);
  const std::string_view text = vp::AsString(in);
  CheckLine(text);
  CheckJson(text);
  // Files end with a newline the CLI strips; strip it here too so the corpus gets through.
  // (JSON needs no second look: a trailing newline is whitespace to it.)
  std::string_view trimmed = text;
  while (!trimmed.empty() && (trimmed.back() == '\n' || trimmed.back() == '\r')) trimmed.remove_suffix(1);
  if (trimmed.size() != text.size()) CheckLine(trimmed);
  return 0;
}
