// RLP (Yellow Paper, appendix B): the byte format of Ethereum transactions. An RlpItem is a
// byte string or a list of items. The decoder is strict: it accepts exactly one canonical
// encoding per item, so a decoded item re-encodes to the same bytes, and anything else
// (non-minimal lengths, trailing bytes, truncation, excessive nesting) is kInvalidArgument.
//
//   Bytes raw = RlpEncode(RlpItem::List({RlpItem::Uint(9), RlpItem::String(to_bytes)}));
//   ASSIGN_OR_RETURN(RlpItem item, RlpDecode(raw));
//   ASSIGN_OR_RETURN(uint64_t nonce, RlpToUint64(item.list[0]));
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "vp/base/bytes.h"
#include "vp/eth/uint256.h"

namespace vp::eth {

// Lists nested deeper than this are refused: transactions need 3 levels, and the bound keeps
// the recursive decoder's stack small whatever the input.
inline constexpr size_t kRlpMaxDepth = 64;

struct RlpItem {
  enum class Kind : uint8_t { kString, kList };

  Kind kind = Kind::kString;
  Bytes str;                  // the bytes, when kind == kString
  std::vector<RlpItem> list;  // the items, when kind == kList

  static RlpItem String(ByteSpan bytes);
  static RlpItem Text(std::string_view text);
  static RlpItem List(std::vector<RlpItem> items);
  // An integer as RLP writes it: big-endian with no leading zero bytes (0 -> empty string).
  static RlpItem Uint(const U256& v);

  bool is_string() const { return kind == Kind::kString; }
  bool is_list() const { return kind == Kind::kList; }

  friend bool operator==(const RlpItem&, const RlpItem&) = default;
};

Bytes RlpEncode(const RlpItem& item);
void RlpEncodeTo(const RlpItem& item, Bytes& out);

// Decodes exactly one item spanning all of 'data'. kInvalidArgument, with the offset of the
// fault, for: empty input; a length running past the input or its enclosing list; a long
// length form for fewer than 56 bytes; a length with leading zero bytes; a single byte below
// 0x80 written as 0x81 xx; bytes after the item; lists nested deeper than kRlpMaxDepth.
StatusOr<RlpItem> RlpDecode(ByteSpan data);

// Canonical integers from string items: no leading zero bytes (zero is the empty string).
// kInvalidArgument for a list, a leading zero, or a value wider than the result type.
StatusOr<U256> RlpToU256(const RlpItem& item);
StatusOr<uint64_t> RlpToUint64(const RlpItem& item);

}  // namespace vp::eth
