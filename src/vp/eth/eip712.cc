// EIP-712 hashing and signing. The rules, and where they differ from ethers v6, are in
// eip712.h. Types are validated once into a TypeSet (parsed field types, full encodeType
// strings, type hashes); values are then hashed in one streaming pass whose recursion is
// bounded by the nesting limit, and whose errors carry the path of the offending value.
#include "vp/eth/eip712.h"

#include "vp/base/json.h"

#include <algorithm>
#include <cstdint>
#include <exception>
#include <map>
#include <set>
#include <vector>

#include <nlohmann/json.hpp>

#include "vp/crypto/secp256k1.h"
#include "vp/eth/address.h"
#include "vp/eth/uint256.h"

namespace vp::eth {

using crypto::Hash256;
using nlohmann::json;

namespace eip712_internal {

constexpr size_t kMaxStructs = 256;
constexpr size_t kMaxFields = 256;
constexpr size_t kMaxNameLength = 256;
constexpr size_t kMaxArrayDims = 32;
constexpr size_t kMaxEncodedTypesBytes = size_t{1} << 20;
constexpr unsigned kMaxValueDepth = 32;
constexpr int kMaxJsonDepth = 64;
// Number.MAX_SAFE_INTEGER: a JSON integer beyond it reached a JavaScript client rounded.
constexpr uint64_t kMaxSafeJsonInteger = (uint64_t{1} << 53) - 1;
constexpr std::string_view kDomainType = "EIP712Domain";

struct DomainField {
  std::string_view name;
  std::string_view type;
};
// The canonical order ethers' hashDomain sorts the derived domain fields into.
constexpr DomainField kDomainFields[] = {
    {"name", "string"},
    {"version", "string"},
    {"chainId", "uint256"},
    {"verifyingContract", "address"},
    {"salt", "bytes32"},
};

Status Invalid(std::string_view where, std::string_view what) {
  std::string m = "eip712: ";
  m += where;
  m += ": ";
  m += what;
  return InvalidArgumentError(std::move(m));
}

// Names and values from the input are quoted into messages; they may be hostile (huge,
// control characters), so they are cut short and escaped.
std::string Quote(std::string_view s) {
  constexpr size_t kMaxShown = 66;
  std::string out = "\"";
  for (size_t i = 0; i < s.size() && i < kMaxShown; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
      static constexpr char kDigits[] = "0123456789abcdef";
      out += "\\x";
      out += kDigits[c >> 4];
      out += kDigits[c & 0x0f];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > kMaxShown) out += "...";
  out += '"';
  return out;
}

std::string JsonKind(const json& v) { return v.type_name(); }

bool IsIdentifier(std::string_view s) {
  if (s.empty() || s.size() > kMaxNameLength) return false;
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$'; };
  if (!alpha(s[0])) return false;
  return std::all_of(s.begin() + 1, s.end(), [&](char c) { return alpha(c) || (c >= '0' && c <= '9'); });
}

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Decimal digits without a leading zero, as a number (0 when absent or too long).
unsigned SmallCanonical(std::string_view digits) {
  if (!AllDigits(digits) || digits[0] == '0' || digits.size() > 3) return 0;
  unsigned v = 0;
  for (char c : digits) v = v * 10 + static_cast<unsigned>(c - '0');
  return v;
}

enum class Kind : uint8_t { kUint, kInt, kBytesN, kBool, kAddress, kBytes, kString, kStruct };

enum class BaseClass : uint8_t { kStructName, kAtomic, kInvalidAtomic };

struct BaseInfo {
  BaseClass cls = BaseClass::kStructName;
  Kind kind = Kind::kStruct;
  unsigned width = 0;
  std::string_view why;  // for kInvalidAtomic
};

// Sorts a base type name into atomic, atomic-looking but invalid ("uint7", "bytes33", the
// bare "uint"), or a candidate struct name.
BaseInfo ClassifyBase(std::string_view b) {
  if (b == "bool") return {BaseClass::kAtomic, Kind::kBool, 0, {}};
  if (b == "address") return {BaseClass::kAtomic, Kind::kAddress, 0, {}};
  if (b == "string") return {BaseClass::kAtomic, Kind::kString, 0, {}};
  if (b == "bytes") return {BaseClass::kAtomic, Kind::kBytes, 0, {}};
  if (b.starts_with("bytes") && AllDigits(b.substr(5))) {
    const unsigned n = SmallCanonical(b.substr(5));
    if (n >= 1 && n <= 32) return {BaseClass::kAtomic, Kind::kBytesN, n, {}};
    return {BaseClass::kInvalidAtomic, Kind::kBytesN, 0, "bytesN needs N from 1 to 32, written without leading zeros"};
  }
  for (const auto& [prefix, kind] : {std::pair<std::string_view, Kind>{"uint", Kind::kUint}, {"int", Kind::kInt}}) {
    if (!b.starts_with(prefix)) continue;
    const std::string_view rest = b.substr(prefix.size());
    if (rest.empty()) {
      return {BaseClass::kInvalidAtomic, kind, 0,
              "the bare int/uint alias is not allowed (ethers and eth-sig-util hash it differently); "
              "write int256/uint256"};
    }
    if (!AllDigits(rest)) continue;
    const unsigned n = SmallCanonical(rest);
    if (n >= 8 && n <= 256 && n % 8 == 0) return {BaseClass::kAtomic, kind, n, {}};
    return {BaseClass::kInvalidAtomic, kind, 0,
            "integer width must be a multiple of 8 from 8 to 256, written without leading zeros"};
  }
  return {};
}

struct FieldType {
  Kind kind = Kind::kStruct;
  unsigned width = 0;        // bits of uintN/intN, bytes of bytesN
  size_t struct_index = 0;   // kStruct
  std::string base;          // as written
  std::vector<uint32_t> dims;  // array suffixes left to right; 0 is "[]"
};

struct Field {
  std::string name;
  std::string type_text;  // as written; canonical once validated
  FieldType type;
};

struct StructDef {
  std::string name;
  std::vector<Field> fields;
  std::vector<size_t> refs;  // distinct structs referenced by the fields
  std::string encode_type;   // full: own definition, then dependencies sorted by name
  Hash256 type_hash{};
};

struct TypeSet {
  // In name order (nlohmann objects iterate their keys sorted), so sorting dependencies by
  // index sorts them by name; for identifiers (ASCII) that is also the order of the
  // JavaScript sort ethers uses.
  std::vector<StructDef> structs;
  std::map<std::string, size_t, std::less<>> index;

  const StructDef* Find(std::string_view name) const {
    auto it = index.find(name);
    return it == index.end() ? nullptr : &structs[it->second];
  }
};

// "uint8[2][]" -> base "uint8", dims {2, 0}.
Status ParseTypeText(std::string_view text, std::string_view where, std::string_view* base,
                     std::vector<uint32_t>* dims) {
  const size_t open = text.find('[');
  *base = text.substr(0, open);
  if (!IsIdentifier(*base)) return Invalid(where, "invalid type " + Quote(text));
  dims->clear();
  size_t pos = open;
  while (pos != std::string_view::npos && pos < text.size()) {
    if (text[pos] != '[') return Invalid(where, "invalid array suffix in type " + Quote(text));
    const size_t close = text.find(']', pos);
    if (close == std::string_view::npos) return Invalid(where, "unterminated array suffix in type " + Quote(text));
    const std::string_view digits = text.substr(pos + 1, close - pos - 1);
    uint32_t n = 0;
    if (!digits.empty()) {
      if (!AllDigits(digits) || digits[0] == '0' || digits.size() > 10) {
        return Invalid(where, "array length in " + Quote(text) + " must be a decimal number from 1 to 2^32-1 "
                              "without leading zeros");
      }
      uint64_t v = 0;
      for (char c : digits) v = v * 10 + static_cast<uint64_t>(c - '0');
      if (v > UINT32_MAX) return Invalid(where, "array length in " + Quote(text) + " is too large");
      n = static_cast<uint32_t>(v);
    }
    dims->push_back(n);
    if (dims->size() > kMaxArrayDims) return Invalid(where, "more than 32 array dimensions in type " + Quote(text));
    pos = close + 1;
  }
  return OkStatus();
}

std::string TypeName(const FieldType& t, size_t ndims) {
  std::string s = t.base;
  for (size_t i = 0; i < ndims; ++i) s += t.dims[i] == 0 ? "[]" : "[" + std::to_string(t.dims[i]) + "]";
  return s;
}

Status ParseFields(const json& list, const std::string& where, TypeSet* ts, StructDef* def) {
  if (!list.is_array()) return Invalid(where, "expected an array of {name, type} fields, got " + JsonKind(list));
  if (list.size() > kMaxFields) return Invalid(where, "more than 256 fields");
  std::set<std::string, std::less<>> seen;
  for (size_t j = 0; j < list.size(); ++j) {
    const json& entry = list[j];
    const std::string at = where + "[" + std::to_string(j) + "]";
    if (!entry.is_object()) return Invalid(at, "expected an object {name, type}, got " + JsonKind(entry));
    for (auto it = entry.begin(); it != entry.end(); ++it) {
      if (it.key() != "name" && it.key() != "type") return Invalid(at, "unexpected key " + Quote(it.key()));
    }
    auto name_it = entry.find("name");
    auto type_it = entry.find("type");
    if (name_it == entry.end() || !name_it->is_string()) return Invalid(at + ".name", "expected a string");
    if (type_it == entry.end() || !type_it->is_string()) return Invalid(at + ".type", "expected a string");
    Field f;
    f.name = name_it->get<std::string>();
    f.type_text = type_it->get<std::string>();
    if (!IsIdentifier(f.name)) return Invalid(at + ".name", "field name " + Quote(f.name) + " is not an identifier");
    if (!seen.insert(f.name).second) {
      return Invalid(at + ".name", "duplicate field name " + Quote(f.name) + " in " + def->name);
    }
    std::string_view base;
    RETURN_IF_ERROR(ParseTypeText(f.type_text, at + ".type", &base, &f.type.dims));
    f.type.base = std::string(base);
    const BaseInfo info = ClassifyBase(base);
    if (info.cls == BaseClass::kInvalidAtomic) return Invalid(at + ".type", "invalid type " + Quote(base) + ": " + std::string(info.why));
    if (info.cls == BaseClass::kAtomic) {
      f.type.kind = info.kind;
      f.type.width = info.width;
    } else {
      auto ref = ts->index.find(base);
      if (ref == ts->index.end()) return Invalid(at + ".type", "unknown type " + Quote(base));
      f.type.kind = Kind::kStruct;
      f.type.struct_index = ref->second;
      def->refs.push_back(ref->second);
    }
    def->fields.push_back(std::move(f));
  }
  std::sort(def->refs.begin(), def->refs.end());
  def->refs.erase(std::unique(def->refs.begin(), def->refs.end()), def->refs.end());
  return OkStatus();
}

// Refuses any cycle. Leaves are peeled off first (Kahn's algorithm, iterative so a long
// chain of types cannot exhaust the stack); whatever remains contains a cycle.
Status CheckAcyclic(const TypeSet& ts) {
  const size_t n = ts.structs.size();
  std::vector<size_t> pending(n);
  std::vector<std::vector<size_t>> parents(n);
  std::vector<size_t> ready;
  for (size_t i = 0; i < n; ++i) {
    pending[i] = ts.structs[i].refs.size();
    for (size_t r : ts.structs[i].refs) parents[r].push_back(i);
    if (pending[i] == 0) ready.push_back(i);
  }
  while (!ready.empty()) {
    const size_t j = ready.back();
    ready.pop_back();
    for (size_t p : parents[j]) {
      if (--pending[p] == 0) ready.push_back(p);
    }
  }
  for (size_t start = 0; start < n; ++start) {
    if (pending[start] == 0) continue;
    // Every remaining struct refers to another remaining one: walk until a repeat.
    std::vector<size_t> walk;
    std::vector<bool> on_walk(n, false);
    size_t cur = start;
    while (!on_walk[cur]) {
      on_walk[cur] = true;
      walk.push_back(cur);
      for (size_t r : ts.structs[cur].refs) {
        if (pending[r] != 0) {
          cur = r;
          break;
        }
      }
    }
    std::string cycle;
    const auto from = std::find(walk.begin(), walk.end(), cur);
    for (auto it = from; it != walk.end(); ++it) cycle += ts.structs[*it].name + " -> ";
    cycle += ts.structs[cur].name;
    return Invalid("types." + ts.structs[cur].name,
                   "recursive type reference " + cycle + " (refused, as ethers v6 does)");
  }
  return OkStatus();
}

Status BuildEncodings(TypeSet* ts) {
  const size_t n = ts->structs.size();
  std::vector<std::string> own(n);
  for (size_t i = 0; i < n; ++i) {
    const StructDef& s = ts->structs[i];
    own[i] = s.name + "(";
    for (size_t j = 0; j < s.fields.size(); ++j) {
      if (j > 0) own[i] += ',';
      own[i] += s.fields[j].type_text + " " + s.fields[j].name;
    }
    own[i] += ')';
  }
  std::vector<std::vector<size_t>> deps(n);
  size_t total = 0;
  for (size_t i = 0; i < n; ++i) {
    std::vector<bool> seen(n, false);
    std::vector<size_t> stack = {i};
    seen[i] = true;
    while (!stack.empty()) {
      const size_t cur = stack.back();
      stack.pop_back();
      for (size_t r : ts->structs[cur].refs) {
        if (seen[r]) continue;
        seen[r] = true;
        deps[i].push_back(r);
        stack.push_back(r);
      }
    }
    std::sort(deps[i].begin(), deps[i].end());
    total += own[i].size();
    for (size_t d : deps[i]) total += own[d].size();
    if (total > kMaxEncodedTypesBytes) return Invalid("types", "type definitions too large (encodeType strings over 1 MiB)");
  }
  for (size_t i = 0; i < n; ++i) {
    StructDef& s = ts->structs[i];
    s.encode_type = own[i];
    for (size_t d : deps[i]) s.encode_type += own[d];
    s.type_hash = crypto::Keccak256(AsBytes(s.encode_type));
  }
  return OkStatus();
}

Status BuildTypeSet(const json& types, TypeSet* ts) {
  if (!types.is_object()) return Invalid("types", "expected an object mapping struct names to field lists, got " + JsonKind(types));
  if (types.size() > kMaxStructs) return Invalid("types", "more than 256 struct types");
  for (auto it = types.begin(); it != types.end(); ++it) {
    const std::string& name = it.key();
    if (!IsIdentifier(name)) return Invalid("types", "struct name " + Quote(name) + " is not an identifier");
    if (ClassifyBase(name).cls != BaseClass::kStructName) {
      return Invalid("types", "struct name " + Quote(name) + " is reserved for an atomic type");
    }
    ts->index.emplace(name, ts->structs.size());
    ts->structs.push_back(StructDef{name, {}, {}, {}, {}});
  }
  size_t i = 0;
  for (auto it = types.begin(); it != types.end(); ++it, ++i) {
    RETURN_IF_ERROR(ParseFields(it.value(), "types." + it.key(), ts, &ts->structs[i]));
  }
  RETURN_IF_ERROR(CheckAcyclic(*ts));
  return BuildEncodings(ts);
}

// ---- values ----

// The path to a value, built on the stack as the encoder descends and rendered only when
// an error is reported ("message.to.wallets[1]").
struct PathNode {
  const PathNode* parent = nullptr;
  std::string_view key;
  size_t index = 0;
  bool is_index = false;
};

std::string RenderPath(const PathNode* node) {
  std::vector<const PathNode*> chain;
  for (; node != nullptr; node = node->parent) chain.push_back(node);
  std::string out;
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    if ((*it)->is_index) {
      out += "[" + std::to_string((*it)->index) + "]";
    } else {
      if (!out.empty()) out += '.';
      out += (*it)->key;
    }
  }
  return out;
}

Status ValueError(const PathNode* at, std::string_view what) { return Invalid(RenderPath(at), what); }

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t len;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xc2 && c <= 0xdf) {
      len = 2;
      cp = c & 0x1fu;
    } else if (c >= 0xe0 && c <= 0xef) {
      len = 3;
      cp = c & 0x0fu;
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4;
      cp = c & 0x07u;
    } else {
      return false;
    }
    if (s.size() - i < len) return false;
    for (size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3fu);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff))) return false;  // overlong
    if (cp >= 0xd800 && cp <= 0xdfff) return false;  // surrogates are not characters
    i += len;
  }
  return true;
}

std::string IntegerText(const json& v) {
  if (v.is_string()) return Quote(v.get_ref<const std::string&>());
  if (v.is_number_unsigned()) return std::to_string(v.get<uint64_t>());
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  return JsonKind(v);
}

// uintN / intN, as the 32-byte word EIP-712 encodes (two's complement for negatives).
Status EncodeInteger(const FieldType& t, const json& v, const PathNode* at, Hash256* word) {
  const bool is_signed = t.kind == Kind::kInt;
  const std::string& type = t.base;
  bool negative = false;
  U256 magnitude;
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (u > kMaxSafeJsonInteger) {
      return ValueError(at, "JSON number " + std::to_string(u) +
                                " is beyond 2^53-1, where JavaScript rounds; send it as a decimal string");
    }
    magnitude = U256(u);
  } else if (v.is_number_integer()) {
    const int64_t s = v.get<int64_t>();
    if (s < -static_cast<int64_t>(kMaxSafeJsonInteger)) {
      return ValueError(at, "JSON number " + std::to_string(s) +
                                " is beyond -(2^53-1), where JavaScript rounds; send it as a decimal string");
    }
    negative = s < 0;
    magnitude = U256(negative ? static_cast<uint64_t>(-s) : static_cast<uint64_t>(s));
  } else if (v.is_number_float()) {
    return ValueError(at, "expected an integer for " + type + ", got a JSON number with a fraction or exponent");
  } else if (v.is_string()) {
    std::string_view text = v.get_ref<const std::string&>();
    if (!text.empty() && text[0] == '-') {
      negative = true;
      text.remove_prefix(1);
    }
    auto parsed = U256::Parse(text);
    if (!parsed.ok()) {
      return ValueError(at, "invalid " + type + " value " + IntegerText(v) + " (" + parsed.status().message() + ")");
    }
    magnitude = *parsed;
  } else {
    return ValueError(at, "expected an integer (JSON number, decimal or 0x-hex string) for " + type + ", got " + JsonKind(v));
  }
  bool in_range;
  std::string range;
  if (!is_signed) {
    in_range = !negative && magnitude.BitLength() <= t.width;
    range = "0 to 2^" + std::to_string(t.width) + "-1";
  } else {
    const unsigned limit_bits = t.width - 1;  // |v| < 2^(N-1), or v == -2^(N-1)
    in_range = magnitude.BitLength() <= limit_bits || (negative && magnitude == U256::PowerOfTwo(limit_bits));
    range = "-2^" + std::to_string(limit_bits) + " to 2^" + std::to_string(limit_bits) + "-1";
  }
  if (!in_range) return ValueError(at, "value " + IntegerText(v) + " out of range for " + type + " (" + range + ")");
  *word = (negative ? U256() - magnitude : magnitude).ToBigEndian32();
  return OkStatus();
}

class ValueEncoder {
 public:
  explicit ValueEncoder(const TypeSet& ts) : ts_(ts) {}

  // hashStruct of a struct value at nesting 'level' (the message is level 1).
  Status Struct(size_t index, const json& v, const PathNode* at, unsigned level, Hash256* out) const {
    const StructDef& def = ts_.structs[index];
    if (level > kMaxValueDepth) return ValueError(at, "nested deeper than 32 levels");
    if (!v.is_object()) return ValueError(at, "expected an object for struct " + def.name + ", got " + JsonKind(v));
    for (const Field& f : def.fields) {
      if (!v.contains(f.name)) return ValueError(at, "missing field " + Quote(f.name) + " of " + def.name);
    }
    if (v.size() != def.fields.size()) {
      for (auto it = v.begin(); it != v.end(); ++it) {
        const bool known = std::any_of(def.fields.begin(), def.fields.end(),
                                       [&](const Field& f) { return f.name == it.key(); });
        if (!known) return ValueError(at, "unexpected field " + Quote(it.key()) + " (not in " + def.name + ")");
      }
    }
    crypto::Keccak256Hasher h;
    h.Update(def.type_hash);
    for (const Field& f : def.fields) {
      const PathNode child{at, f.name, 0, false};
      Hash256 word;
      RETURN_IF_ERROR(Value(f.type, f.type.dims.size(), *v.find(f.name), &child, level + 1, &word));
      h.Update(word);
    }
    *out = h.Final();
    return OkStatus();
  }

  // The 32-byte encodeData word of a value of type t with its first 'ndims' array suffixes.
  Status Value(const FieldType& t, size_t ndims, const json& v, const PathNode* at, unsigned level,
               Hash256* word) const {
    if (ndims > 0) {
      if (level > kMaxValueDepth) return ValueError(at, "nested deeper than 32 levels");
      if (!v.is_array()) return ValueError(at, "expected an array for " + TypeName(t, ndims) + ", got " + JsonKind(v));
      const uint32_t fixed = t.dims[ndims - 1];
      if (fixed != 0 && v.size() != fixed) {
        return ValueError(at, "expected " + std::to_string(fixed) + " elements for " + TypeName(t, ndims) + ", got " +
                                  std::to_string(v.size()));
      }
      crypto::Keccak256Hasher h;
      for (size_t i = 0; i < v.size(); ++i) {
        const PathNode child{at, {}, i, true};
        Hash256 w;
        RETURN_IF_ERROR(Value(t, ndims - 1, v[i], &child, level + 1, &w));
        h.Update(w);
      }
      *word = h.Final();
      return OkStatus();
    }
    *word = Hash256{};
    switch (t.kind) {
      case Kind::kStruct:
        return Struct(t.struct_index, v, at, level, word);
      case Kind::kUint:
      case Kind::kInt:
        return EncodeInteger(t, v, at, word);
      case Kind::kBool:
        if (!v.is_boolean()) return ValueError(at, "expected true or false for bool, got " + JsonKind(v));
        (*word)[31] = v.get<bool>() ? 1 : 0;
        return OkStatus();
      case Kind::kAddress: {
        if (!v.is_string()) return ValueError(at, "expected an address string, got " + JsonKind(v));
        const std::string& s = v.get_ref<const std::string&>();
        if (!s.starts_with("0x")) return ValueError(at, "address must start with 0x, got " + Quote(s));
        auto a = Address::Parse(s);
        if (!a.ok()) return ValueError(at, a.status().message() + " (" + Quote(s) + ")");
        std::copy(a->bytes().begin(), a->bytes().end(), word->begin() + 12);
        return OkStatus();
      }
      case Kind::kBytes:
      case Kind::kBytesN: {
        if (!v.is_string()) return ValueError(at, "expected a 0x-hex string for " + t.base + ", got " + JsonKind(v));
        auto b = HexDecode(v.get_ref<const std::string&>(), HexPrefix::kRequired);
        if (!b.ok()) return ValueError(at, "invalid " + t.base + " value: " + b.status().message());
        if (t.kind == Kind::kBytes) {
          *word = crypto::Keccak256(*b);
          return OkStatus();
        }
        if (b->size() != t.width) {
          return ValueError(at, "expected " + std::to_string(t.width) + " bytes for " + t.base + ", got " +
                                    std::to_string(b->size()));
        }
        std::copy(b->begin(), b->end(), word->begin());
        return OkStatus();
      }
      case Kind::kString: {
        if (!v.is_string()) return ValueError(at, "expected a string, got " + JsonKind(v));
        const std::string& s = v.get_ref<const std::string&>();
        if (!IsValidUtf8(s)) return ValueError(at, "string is not valid UTF-8");
        *word = crypto::Keccak256(AsBytes(s));
        return OkStatus();
      }
    }
    return InternalError("eip712: unhandled kind");
  }

 private:
  const TypeSet& ts_;
};

Status HashStructIn(const TypeSet& ts, std::string_view name, const json& value, std::string_view path, Hash256* out) {
  auto it = ts.index.find(name);
  if (it == ts.index.end()) return Invalid("types", "unknown struct type " + Quote(name));
  const PathNode root{nullptr, path, 0, false};
  return ValueEncoder(ts).Struct(it->second, value, &root, 1, out);
}

Status Unexpected(const std::exception& e) {
  return InternalError(std::string("eip712: unexpected exception: ") + e.what());
}

}  // namespace eip712_internal

using namespace eip712_internal;  // NOLINT: this file's own internals

struct TypedDataTypes::Impl : TypeSet {};

StatusOr<TypedDataTypes> TypedDataTypes::Parse(const json& types) {
  try {
    auto impl = std::make_shared<Impl>();
    RETURN_IF_ERROR(BuildTypeSet(types, impl.get()));
    return TypedDataTypes(std::move(impl));
  } catch (const std::exception& e) {
    return Unexpected(e);
  }
}

bool TypedDataTypes::Has(std::string_view struct_name) const { return impl_->Find(struct_name) != nullptr; }

StatusOr<std::string> TypedDataTypes::EncodeType(std::string_view struct_name) const {
  const StructDef* s = impl_->Find(struct_name);
  if (s == nullptr) return Invalid("types", "unknown struct type " + Quote(struct_name));
  return s->encode_type;
}

StatusOr<Hash256> TypedDataTypes::TypeHash(std::string_view struct_name) const {
  const StructDef* s = impl_->Find(struct_name);
  if (s == nullptr) return Invalid("types", "unknown struct type " + Quote(struct_name));
  return s->type_hash;
}

StatusOr<Hash256> TypedDataTypes::HashStruct(std::string_view struct_name, const json& value,
                                             std::string_view path) const {
  try {
    Hash256 out;
    RETURN_IF_ERROR(HashStructIn(*impl_, struct_name, value, path, &out));
    return out;
  } catch (const std::exception& e) {
    return Unexpected(e);
  }
}

StatusOr<json> ParseTypedDataJson(std::string_view text) {
  return ParseJsonStrict(text, "eip712", kMaxJsonDepth);
}

StatusOr<TypedDataHash> HashTypedData(const json& doc) {
  try {
    if (!doc.is_object()) {
      return Invalid("document", "expected an object with types, primaryType, domain and message, got " + JsonKind(doc));
    }
    for (auto it = doc.begin(); it != doc.end(); ++it) {
      const std::string& k = it.key();
      if (k != "types" && k != "primaryType" && k != "domain" && k != "message") {
        return Invalid("document", "unexpected key " + Quote(k));
      }
    }
    for (const char* k : {"types", "primaryType", "domain", "message"}) {
      if (!doc.contains(k)) return Invalid("document", std::string("missing \"") + k + "\"");
    }
    ASSIGN_OR_RETURN(TypedDataTypes types, TypedDataTypes::Parse(doc.at("types")));
    const TypeSet& ts = *types.impl_;

    const json& primary = doc.at("primaryType");
    if (!primary.is_string()) return Invalid("primaryType", "expected a string, got " + JsonKind(primary));
    const std::string& primary_name = primary.get_ref<const std::string&>();
    if (primary_name == kDomainType) return Invalid("primaryType", "must not be EIP712Domain");
    if (ts.Find(primary_name) == nullptr) return Invalid("primaryType", "unknown struct type " + Quote(primary_name));

    const StructDef* declared_domain = ts.Find(kDomainType);
    for (const StructDef& s : ts.structs) {
      if (&s == declared_domain) continue;
      for (size_t j = 0; j < s.fields.size(); ++j) {
        if (s.fields[j].type.kind == Kind::kStruct && s.fields[j].type.base == kDomainType) {
          return Invalid("types." + s.name + "[" + std::to_string(j) + "].type", "message structs may not refer to EIP712Domain");
        }
      }
    }

    TypedDataHash out;
    const json& domain = doc.at("domain");
    if (declared_domain != nullptr) {
      for (size_t j = 0; j < declared_domain->fields.size(); ++j) {
        const Field& f = declared_domain->fields[j];
        const auto known = std::find_if(std::begin(kDomainFields), std::end(kDomainFields),
                                        [&](const DomainField& d) { return d.name == f.name; });
        const std::string at = "types.EIP712Domain[" + std::to_string(j) + "]";
        if (known == std::end(kDomainFields)) {
          return Invalid(at, "unknown domain field " + Quote(f.name) + " (allowed: name, version, chainId, verifyingContract, salt)");
        }
        if (f.type_text != known->type) {
          return Invalid(at, "domain field " + f.name + " must have type " + std::string(known->type));
        }
      }
      RETURN_IF_ERROR(HashStructIn(ts, kDomainType, domain, "domain", &out.domain_separator));
    } else {
      if (!domain.is_object()) return Invalid("domain", "expected an object, got " + JsonKind(domain));
      for (auto it = domain.begin(); it != domain.end(); ++it) {
        const bool known = std::any_of(std::begin(kDomainFields), std::end(kDomainFields),
                                       [&](const DomainField& d) { return d.name == it.key(); });
        if (!known) {
          return Invalid("domain", "unknown domain field " + Quote(it.key()) +
                                       " (allowed: name, version, chainId, verifyingContract, salt)");
        }
      }
      json fields = json::array();
      for (const DomainField& d : kDomainFields) {
        if (domain.contains(d.name)) fields.push_back({{"name", d.name}, {"type", d.type}});
      }
      json domain_types = json::object();
      domain_types[std::string(kDomainType)] = std::move(fields);
      ASSIGN_OR_RETURN(TypedDataTypes derived, TypedDataTypes::Parse(domain_types));
      RETURN_IF_ERROR(HashStructIn(*derived.impl_, kDomainType, domain, "domain", &out.domain_separator));
    }

    RETURN_IF_ERROR(HashStructIn(ts, primary_name, doc.at("message"), "message", &out.struct_hash));

    crypto::Keccak256Hasher h;
    const uint8_t prefix[2] = {0x19, 0x01};
    h.Update(prefix);
    h.Update(out.domain_separator);
    h.Update(out.struct_hash);
    out.digest = h.Final();
    return out;
  } catch (const std::exception& e) {
    return Unexpected(e);
  }
}

StatusOr<TypedDataSignature> SignTypedData(const json& doc, ByteSpan private_key) {
  ASSIGN_OR_RETURN(TypedDataHash h, HashTypedData(doc));
  ASSIGN_OR_RETURN(crypto::RecoverableSignature sig, crypto::Secp256k1Sign(private_key, h.digest));
  TypedDataSignature out;
  out.signature = sig.ToRsv27();
  out.digest = h.digest;
  return out;
}

}  // namespace vp::eth
