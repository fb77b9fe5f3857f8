// JSON <-> Transaction in ethers v6 field names (see tx_json.h for the shapes and the type
// inference rule). Every nlohmann accessor here is guarded by a type check, so nothing throws.
#include "vp/eth/tx_json.h"

#include <array>
#include <exception>
#include <string>
#include <string_view>

namespace vp::eth {
namespace {

using nlohmann::json;

constexpr std::array<std::string_view, 11> kKnownFields = {
    "type",  "chainId",  "nonce",        "to",           "value",                "data",
    "gasLimit", "gasPrice", "maxFeePerGas", "maxPriorityFeePerGas", "accessList"};

Status FieldError(std::string_view field, std::string_view what) {
  return InvalidArgumentError("tx json: " + std::string(field) + ": " + std::string(what));
}

// A present field is one whose key exists with a non-null value (ethers tests `!= null`).
const json* Find(const json& obj, std::string_view key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

StatusOr<U256> ReadInteger(const json& v, std::string_view field) {
  if (v.is_number_unsigned()) return U256(v.get<uint64_t>());
  if (v.is_number_integer()) {
    const int64_t x = v.get<int64_t>();
    if (x < 0) return FieldError(field, "must not be negative");
    return U256(static_cast<uint64_t>(x));
  }
  if (v.is_number_float()) {
    return FieldError(field, "must be an integer (write large values as a decimal or 0x-hex string)");
  }
  if (v.is_string()) {
    auto parsed = U256::Parse(v.get_ref<const std::string&>());
    if (!parsed.ok()) return FieldError(field, parsed.status().message());
    return *parsed;
  }
  return FieldError(field, "must be an integer, a decimal string or a 0x-hex string");
}

StatusOr<U256> ReadOptionalInteger(const json& obj, std::string_view field) {
  const json* v = Find(obj, field);
  if (v == nullptr) return U256();
  return ReadInteger(*v, field);
}

StatusOr<Address> ReadAddress(const json& v, std::string_view field) {
  if (!v.is_string()) return FieldError(field, "must be an address string");
  auto a = Address::Parse(v.get_ref<const std::string&>());
  if (!a.ok()) return FieldError(field, a.status().message());
  return *a;
}

StatusOr<AccessList> ReadAccessList(const json& v) {
  if (!v.is_array()) return FieldError("accessList", "must be an array of {address, storageKeys}");
  AccessList out;
  for (size_t i = 0; i < v.size(); ++i) {
    const json& e = v[i];
    const std::string where = "accessList[" + std::to_string(i) + "]";
    if (!e.is_object()) return FieldError(where, "must be an object {address, storageKeys}");
    for (auto it = e.begin(); it != e.end(); ++it) {
      if (it.key() != "address" && it.key() != "storageKeys") return FieldError(where, "unknown field '" + it.key() + "'");
    }
    const json* addr = Find(e, "address");
    const json* keys = Find(e, "storageKeys");
    if (addr == nullptr) return FieldError(where, "address is required");
    if (keys == nullptr || !keys->is_array()) return FieldError(where, "storageKeys must be an array");
    AccessListEntry entry;
    ASSIGN_OR_RETURN(entry.address, ReadAddress(*addr, where + ".address"));
    for (size_t k = 0; k < keys->size(); ++k) {
      const json& key = (*keys)[k];
      const std::string kwhere = where + ".storageKeys[" + std::to_string(k) + "]";
      if (!key.is_string()) return FieldError(kwhere, "must be a 0x-hex string of 32 bytes");
      auto h = HexDecodeFixed<32>(key.get_ref<const std::string&>(), HexPrefix::kRequired);
      if (!h.ok()) return FieldError(kwhere, h.status().message());
      entry.storage_keys.push_back(*h);
    }
    out.push_back(std::move(entry));
  }
  return out;
}

StatusOr<TxType> InferType(const json& j) {
  if (const json* t = Find(j, "type")) {
    ASSIGN_OR_RETURN(U256 type, ReadInteger(*t, "type"));
    if (type > U256(2)) return FieldError("type", "unsupported transaction type " + type.ToDecimal());
    return static_cast<TxType>(type.Low64());
  }
  // ethers v6 Transaction.inferType: fee caps -> 2; gasPrice -> 1; anything else -> 2.
  if (Find(j, "maxFeePerGas") != nullptr || Find(j, "maxPriorityFeePerGas") != nullptr) return TxType::kDynamicFee;
  if (Find(j, "gasPrice") != nullptr) return TxType::kAccessList;
  return TxType::kDynamicFee;
}

StatusOr<Transaction> ParseTransaction(const json& j) {
  if (!j.is_object()) return InvalidArgumentError("tx json: expected an object");
  for (auto it = j.begin(); it != j.end(); ++it) {
    bool known = false;
    for (std::string_view f : kKnownFields) known = known || it.key() == f;
    if (!known) return InvalidArgumentError("tx json: unknown field '" + it.key() + "'");
  }

  Transaction tx;
  ASSIGN_OR_RETURN(tx.type, InferType(j));
  const int type_number = static_cast<int>(tx.type);
  auto not_in_type = [&](std::string_view field) {
    return FieldError(field, "not a field of type " + std::to_string(type_number) + " transactions");
  };
  if (tx.type == TxType::kDynamicFee) {
    if (Find(j, "gasPrice") != nullptr) return not_in_type("gasPrice");
  } else {
    if (Find(j, "maxFeePerGas") != nullptr) return not_in_type("maxFeePerGas");
    if (Find(j, "maxPriorityFeePerGas") != nullptr) return not_in_type("maxPriorityFeePerGas");
  }
  if (tx.type == TxType::kLegacy && Find(j, "accessList") != nullptr) return not_in_type("accessList");

  ASSIGN_OR_RETURN(tx.chain_id, ReadOptionalInteger(j, "chainId"));
  ASSIGN_OR_RETURN(U256 nonce, ReadOptionalInteger(j, "nonce"));
  if (!nonce.FitsUint64()) return FieldError("nonce", "exceeds 2^64 - 1");
  tx.nonce = nonce.Low64();
  ASSIGN_OR_RETURN(tx.gas_price, ReadOptionalInteger(j, "gasPrice"));
  ASSIGN_OR_RETURN(tx.max_priority_fee_per_gas, ReadOptionalInteger(j, "maxPriorityFeePerGas"));
  ASSIGN_OR_RETURN(tx.max_fee_per_gas, ReadOptionalInteger(j, "maxFeePerGas"));
  ASSIGN_OR_RETURN(tx.gas_limit, ReadOptionalInteger(j, "gasLimit"));
  ASSIGN_OR_RETURN(tx.value, ReadOptionalInteger(j, "value"));
  if (const json* to = Find(j, "to")) {
    ASSIGN_OR_RETURN(Address a, ReadAddress(*to, "to"));
    tx.to = a;
  }
  if (const json* data = Find(j, "data")) {
    if (!data->is_string()) return FieldError("data", "must be a 0x-hex string");
    auto bytes = HexDecode(data->get_ref<const std::string&>(), HexPrefix::kRequired);
    if (!bytes.ok()) return FieldError("data", bytes.status().message());
    tx.data = std::move(*bytes);
  }
  if (const json* al = Find(j, "accessList")) {
    ASSIGN_OR_RETURN(tx.access_list, ReadAccessList(*al));
  }
  RETURN_IF_ERROR(ValidateTransaction(tx));
  return tx;
}

std::string Hex32(const ByteArray<32>& b) { return HexEncode(b, true); }

}  // namespace

StatusOr<Transaction> TransactionFromJson(const json& j) {
  try {
    return ParseTransaction(j);
  } catch (const std::exception& e) {  // only allocation failure can get here
    return InternalError(std::string("tx json: ") + e.what());
  }
}

json SignedTransactionToJson(const SignedTransaction& st) {
  const Transaction& tx = st.tx;
  json j = json::object();
  j["type"] = static_cast<int>(tx.type);
  j["chainId"] = tx.chain_id.ToDecimal();
  j["nonce"] = std::to_string(tx.nonce);
  j["to"] = tx.to.has_value() ? json(tx.to->ToChecksumHex()) : json(nullptr);
  j["value"] = tx.value.ToDecimal();
  j["data"] = HexEncode(tx.data, true);
  j["gasLimit"] = tx.gas_limit.ToDecimal();
  if (tx.type == TxType::kDynamicFee) {
    j["maxPriorityFeePerGas"] = tx.max_priority_fee_per_gas.ToDecimal();
    j["maxFeePerGas"] = tx.max_fee_per_gas.ToDecimal();
  } else {
    j["gasPrice"] = tx.gas_price.ToDecimal();
  }
  if (tx.type != TxType::kLegacy) {
    json list = json::array();
    for (const AccessListEntry& e : tx.access_list) {
      json keys = json::array();
      for (const crypto::Hash256& k : e.storage_keys) keys.push_back(Hex32(k));
      list.push_back(json{{"address", e.address.ToChecksumHex()}, {"storageKeys", std::move(keys)}});
    }
    j["accessList"] = std::move(list);
  }
  const U256 v = SignatureV(tx, st.signature.recovery_id);
  constexpr uint64_t kMaxSafeInteger = (uint64_t{1} << 53) - 1;
  json sig = json::object();
  sig["r"] = Hex32(st.signature.r);
  sig["s"] = Hex32(st.signature.s);
  sig["yParity"] = static_cast<int>(st.signature.recovery_id);
  sig["v"] = v <= U256(kMaxSafeInteger) ? json(v.Low64()) : json(v.ToDecimal());
  j["signature"] = std::move(sig);
  j["hash"] = Hex32(st.hash);
  j["from"] = st.from.ToChecksumHex();
  j["raw"] = HexEncode(st.raw, true);
  return j;
}

json SignedTransactionSummaryJson(const SignedTransaction& st) {
  return json{{"raw", HexEncode(st.raw, true)}, {"hash", Hex32(st.hash)}, {"from", st.from.ToChecksumHex()}};
}

}  // namespace vp::eth
