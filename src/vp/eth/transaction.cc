// Transaction encoding, signing and strict decoding (EIP-155, EIP-2718, EIP-2930, EIP-1559).
#include "vp/eth/transaction.h"

#include <algorithm>
#include <string>
#include <utility>

#include "vp/eth/rlp.h"

namespace vp::eth {
namespace {

// secp256k1 group order n and n/2 (EIP-2: s must not exceed n/2).
constexpr ByteArray<32> kOrder = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                  0xff, 0xff, 0xff, 0xff, 0xfe, 0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48,
                                  0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41};
constexpr ByteArray<32> kHalfOrder = {0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                      0xff, 0xff, 0xff, 0xff, 0xff, 0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4,
                                      0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0};

U256 FromBytes32(const ByteArray<32>& b) { return *U256::FromBigEndian(b); }

U256 ShiftRightOne(const U256& v) {
  const ByteArray<32> in = v.ToBigEndian32();
  ByteArray<32> out{};
  uint8_t carry = 0;
  for (size_t i = 0; i < 32; ++i) {
    out[i] = static_cast<uint8_t>((in[i] >> 1) | (carry << 7));
    carry = in[i] & 1;
  }
  return FromBytes32(out);
}

const char* TypeName(TxType type) {
  switch (type) {
    case TxType::kLegacy: return "type 0 (legacy)";
    case TxType::kAccessList: return "type 1 (EIP-2930)";
    case TxType::kDynamicFee: return "type 2 (EIP-1559)";
  }
  return "unknown type";
}

RlpItem ToItem(const std::optional<Address>& to) {
  if (!to.has_value()) return RlpItem::String({});
  return RlpItem::String(to->bytes());
}

RlpItem AccessListItem(const AccessList& list) {
  std::vector<RlpItem> entries;
  entries.reserve(list.size());
  for (const AccessListEntry& e : list) {
    std::vector<RlpItem> keys;
    keys.reserve(e.storage_keys.size());
    for (const crypto::Hash256& k : e.storage_keys) keys.push_back(RlpItem::String(k));
    entries.push_back(RlpItem::List({RlpItem::String(e.address.bytes()), RlpItem::List(std::move(keys))}));
  }
  return RlpItem::List(std::move(entries));
}

// The fields every form of the transaction starts with (signed and unsigned), in wire order.
std::vector<RlpItem> BaseFields(const Transaction& tx) {
  std::vector<RlpItem> f;
  switch (tx.type) {
    case TxType::kLegacy:
      f = {RlpItem::Uint(tx.nonce), RlpItem::Uint(tx.gas_price), RlpItem::Uint(tx.gas_limit), ToItem(tx.to),
           RlpItem::Uint(tx.value), RlpItem::String(tx.data)};
      break;
    case TxType::kAccessList:
      f = {RlpItem::Uint(tx.chain_id), RlpItem::Uint(tx.nonce), RlpItem::Uint(tx.gas_price),
           RlpItem::Uint(tx.gas_limit),  ToItem(tx.to),           RlpItem::Uint(tx.value),
           RlpItem::String(tx.data),     AccessListItem(tx.access_list)};
      break;
    case TxType::kDynamicFee:
      f = {RlpItem::Uint(tx.chain_id),        RlpItem::Uint(tx.nonce),      RlpItem::Uint(tx.max_priority_fee_per_gas),
           RlpItem::Uint(tx.max_fee_per_gas), RlpItem::Uint(tx.gas_limit), ToItem(tx.to),
           RlpItem::Uint(tx.value),           RlpItem::String(tx.data),    AccessListItem(tx.access_list)};
      break;
  }
  return f;
}

Bytes WithTypePrefix(const Transaction& tx, const RlpItem& list) {
  Bytes out;
  if (tx.type != TxType::kLegacy) out.push_back(static_cast<uint8_t>(tx.type));
  RlpEncodeTo(list, out);
  return out;
}

Bytes EncodeSigned(const Transaction& tx, const crypto::RecoverableSignature& sig) {
  std::vector<RlpItem> f = BaseFields(tx);
  f.push_back(RlpItem::Uint(SignatureV(tx, sig.recovery_id)));
  f.push_back(RlpItem::Uint(FromBytes32(sig.r)));
  f.push_back(RlpItem::Uint(FromBytes32(sig.s)));
  return WithTypePrefix(tx, RlpItem::List(std::move(f)));
}

// ---- decoding helpers: each names the field it failed on ----

Status FieldError(const char* field, const Status& s) { return s.Annotate(std::string("tx: ") + field); }

StatusOr<U256> ReadU256(const RlpItem& item, const char* field) {
  auto v = RlpToU256(item);
  if (!v.ok()) return FieldError(field, v.status());
  return *v;
}

StatusOr<Bytes> ReadBytes(const RlpItem& item, const char* field) {
  if (!item.is_string()) return InvalidArgumentError(std::string("tx: ") + field + ": expected a byte string, got a list");
  return item.str;
}

StatusOr<std::optional<Address>> ReadTo(const RlpItem& item) {
  if (!item.is_string()) return InvalidArgumentError("tx: to: expected a byte string, got a list");
  if (item.str.empty()) return std::optional<Address>();
  if (item.str.size() != 20) {
    return InvalidArgumentError("tx: to: must be empty (contract creation) or 20 bytes, got " +
                                std::to_string(item.str.size()));
  }
  ByteArray<20> a{};
  for (size_t i = 0; i < 20; ++i) a[i] = item.str[i];
  return std::optional<Address>(Address(a));
}

StatusOr<AccessList> ReadAccessList(const RlpItem& item) {
  if (!item.is_list()) return InvalidArgumentError("tx: accessList: expected a list");
  AccessList out;
  out.reserve(item.list.size());
  for (size_t i = 0; i < item.list.size(); ++i) {
    const RlpItem& e = item.list[i];
    const std::string where = "tx: accessList[" + std::to_string(i) + "]";
    if (!e.is_list() || e.list.size() != 2) {
      return InvalidArgumentError(where + ": expected a list of [address, storageKeys]");
    }
    if (!e.list[0].is_string() || e.list[0].str.size() != 20) {
      return InvalidArgumentError(where + ": address must be a 20-byte string");
    }
    if (!e.list[1].is_list()) return InvalidArgumentError(where + ": storageKeys must be a list");
    AccessListEntry entry;
    ByteArray<20> a{};
    for (size_t k = 0; k < 20; ++k) a[k] = e.list[0].str[k];
    entry.address = Address(a);
    entry.storage_keys.reserve(e.list[1].list.size());
    for (const RlpItem& key : e.list[1].list) {
      if (!key.is_string() || key.str.size() != 32) {
        return InvalidArgumentError(where + ": storage key must be a 32-byte string");
      }
      crypto::Hash256 h{};
      for (size_t k = 0; k < 32; ++k) h[k] = key.str[k];
      entry.storage_keys.push_back(h);
    }
    out.push_back(std::move(entry));
  }
  return out;
}

StatusOr<ByteArray<32>> ReadSignatureScalar(const RlpItem& item, const char* field, const U256& upper_bound,
                                            const char* bound_text) {
  ASSIGN_OR_RETURN(U256 v, ReadU256(item, field));
  if (v.IsZero()) return InvalidArgumentError(std::string("tx: signature ") + field + " is zero");
  if (v > upper_bound) {
    return InvalidArgumentError(std::string("tx: signature ") + field + " is " + bound_text);
  }
  return v.ToBigEndian32();
}

}  // namespace

U256 SignatureV(const Transaction& tx, uint8_t y_parity) {
  if (tx.type != TxType::kLegacy) return U256(y_parity);
  if (tx.chain_id.IsZero()) return U256(27u + y_parity);
  return tx.chain_id + tx.chain_id + U256(35u + y_parity);
}

Status ValidateTransaction(const Transaction& tx) {
  switch (tx.type) {
    case TxType::kLegacy:
    case TxType::kAccessList:
    case TxType::kDynamicFee:
      break;
    default:
      return InvalidArgumentError("tx: unsupported transaction type " + std::to_string(static_cast<int>(tx.type)));
  }
  const std::string name = TypeName(tx.type);
  if (tx.type == TxType::kDynamicFee) {
    if (!tx.gas_price.IsZero()) return InvalidArgumentError("tx: gasPrice is not a field of " + name + " transactions");
    if (tx.max_priority_fee_per_gas > tx.max_fee_per_gas) {
      return InvalidArgumentError("tx: maxPriorityFeePerGas exceeds maxFeePerGas");
    }
  } else {
    if (!tx.max_fee_per_gas.IsZero() || !tx.max_priority_fee_per_gas.IsZero()) {
      return InvalidArgumentError("tx: maxFeePerGas and maxPriorityFeePerGas are not fields of " + name +
                                  " transactions");
    }
  }
  if (tx.type == TxType::kLegacy) {
    if (!tx.access_list.empty()) return InvalidArgumentError("tx: accessList is not a field of " + name + " transactions");
    U256 doubled, v;
    if (!tx.chain_id.MulSmallChecked(2, &doubled) || !doubled.AddChecked(U256(36), &v)) {
      return InvalidArgumentError("tx: chainId too large for an EIP-155 v value");
    }
  }
  return OkStatus();
}

StatusOr<Bytes> EncodeUnsignedTransaction(const Transaction& tx) {
  RETURN_IF_ERROR(ValidateTransaction(tx));
  std::vector<RlpItem> f = BaseFields(tx);
  if (tx.type == TxType::kLegacy && !tx.chain_id.IsZero()) {
    f.push_back(RlpItem::Uint(tx.chain_id));
    f.push_back(RlpItem::Uint(0));
    f.push_back(RlpItem::Uint(0));
  }
  return WithTypePrefix(tx, RlpItem::List(std::move(f)));
}

StatusOr<crypto::Hash256> TransactionSigningHash(const Transaction& tx) {
  ASSIGN_OR_RETURN(Bytes payload, EncodeUnsignedTransaction(tx));
  return crypto::Keccak256(payload);
}

StatusOr<SignedTransaction> SignTransaction(const Transaction& tx, ByteSpan private_key) {
  auto from = Address::FromPrivateKey(private_key);
  if (!from.ok()) return from.status().Annotate("tx");
  return SignTransaction(tx, private_key, *from);
}

StatusOr<SignedTransaction> SignTransaction(const Transaction& tx, ByteSpan private_key, const Address& from) {
  ASSIGN_OR_RETURN(crypto::Hash256 digest, TransactionSigningHash(tx));
  auto sig = crypto::Secp256k1Sign(private_key, digest);
  if (!sig.ok()) return sig.status().Annotate("tx");
  SignedTransaction out;
  out.tx = tx;
  out.signature = *sig;
  out.raw = EncodeSigned(tx, *sig);
  out.hash = crypto::Keccak256(out.raw);
  out.from = from;
  return out;
}

StatusOr<SignedTransaction> DecodeSignedTransaction(ByteSpan raw) {
  if (raw.empty()) return InvalidArgumentError("tx: empty input");
  Transaction tx;
  ByteSpan payload = raw;
  const uint8_t first = raw[0];
  if (first >= 0xc0) {
    tx.type = TxType::kLegacy;
  } else if (first == 0x01 || first == 0x02) {
    tx.type = static_cast<TxType>(first);
    payload = raw.subspan(1);
  } else if (first <= 0x7f) {
    return InvalidArgumentError("tx: unsupported transaction type 0x" + HexEncode(ByteSpan(&raw[0], 1)));
  } else {
    return InvalidArgumentError("tx: first byte 0x" + HexEncode(ByteSpan(&raw[0], 1)) +
                                " is neither a transaction type nor the start of an RLP list");
  }

  auto decoded = RlpDecode(payload);
  if (!decoded.ok()) return decoded.status().Annotate("tx");
  const RlpItem& item = *decoded;
  const std::string name = TypeName(tx.type);
  if (!item.is_list()) return InvalidArgumentError("tx: " + name + " payload must be an RLP list");
  const size_t expected = tx.type == TxType::kLegacy ? 9 : (tx.type == TxType::kAccessList ? 11 : 12);
  if (item.list.size() != expected) {
    return InvalidArgumentError("tx: " + name + " must have " + std::to_string(expected) + " fields, got " +
                                std::to_string(item.list.size()));
  }
  const std::vector<RlpItem>& f = item.list;

  size_t i = 0;
  if (tx.type != TxType::kLegacy) {
    ASSIGN_OR_RETURN(tx.chain_id, ReadU256(f[i++], "chainId"));
  }
  {
    auto nonce = RlpToUint64(f[i++]);
    if (!nonce.ok()) return FieldError("nonce", nonce.status());
    tx.nonce = *nonce;
  }
  if (tx.type == TxType::kDynamicFee) {
    ASSIGN_OR_RETURN(tx.max_priority_fee_per_gas, ReadU256(f[i++], "maxPriorityFeePerGas"));
    ASSIGN_OR_RETURN(tx.max_fee_per_gas, ReadU256(f[i++], "maxFeePerGas"));
  } else {
    ASSIGN_OR_RETURN(tx.gas_price, ReadU256(f[i++], "gasPrice"));
  }
  ASSIGN_OR_RETURN(tx.gas_limit, ReadU256(f[i++], "gasLimit"));
  ASSIGN_OR_RETURN(tx.to, ReadTo(f[i++]));
  ASSIGN_OR_RETURN(tx.value, ReadU256(f[i++], "value"));
  ASSIGN_OR_RETURN(tx.data, ReadBytes(f[i++], "data"));
  if (tx.type != TxType::kLegacy) {
    ASSIGN_OR_RETURN(tx.access_list, ReadAccessList(f[i++]));
  }

  crypto::RecoverableSignature sig;
  if (tx.type == TxType::kLegacy) {
    ASSIGN_OR_RETURN(U256 v, ReadU256(f[i++], "v"));
    if (v == U256(27) || v == U256(28)) {
      sig.recovery_id = static_cast<uint8_t>(v.Low64() - 27);
    } else if (v >= U256(37)) {
      const U256 t = v - U256(35);
      sig.recovery_id = static_cast<uint8_t>(t.Low64() & 1);
      tx.chain_id = ShiftRightOne(t);
    } else {
      return InvalidArgumentError("tx: legacy v must be 27, 28 or chainId*2+35+yParity with chainId >= 1, got " +
                                  v.ToDecimal());
    }
  } else {
    auto y = RlpToUint64(f[i++]);
    if (!y.ok()) return FieldError("yParity", y.status());
    if (*y > 1) return InvalidArgumentError("tx: yParity must be 0 or 1, got " + std::to_string(*y));
    sig.recovery_id = static_cast<uint8_t>(*y);
  }
  const U256 order_minus_one = FromBytes32(kOrder) - U256(1);
  ASSIGN_OR_RETURN(sig.r, ReadSignatureScalar(f[i++], "r", order_minus_one, "not below the group order"));
  ASSIGN_OR_RETURN(sig.s, ReadSignatureScalar(f[i++], "s", FromBytes32(kHalfOrder),
                                              "above n/2 (EIP-2 allows only low s)"));

  RETURN_IF_ERROR(ValidateTransaction(tx));
  ASSIGN_OR_RETURN(crypto::Hash256 digest, TransactionSigningHash(tx));
  auto pub = crypto::Secp256k1Recover(digest, sig);
  if (!pub.ok()) return pub.status().Annotate("tx: sender recovery");

  SignedTransaction out;
  out.raw = EncodeSigned(tx, sig);
  // The decoder only accepts canonical forms, so this holds by construction; checking it keeps
  // "hash = keccak256(raw)" an identity of the input bytes even if that ever stopped being so.
  if (out.raw.size() != raw.size() || !std::equal(out.raw.begin(), out.raw.end(), raw.begin())) {
    return InvalidArgumentError("tx: encoding is not canonical");
  }
  out.tx = std::move(tx);
  out.signature = sig;
  out.hash = crypto::Keccak256(out.raw);
  out.from = Address::FromPublicKey(*pub);
  return out;
}

}  // namespace vp::eth
