// RLP encoding and the strict decoder. The decoder accepts only the encoding RlpEncode would
// produce, which is what makes "hash of the raw bytes" a well-defined transaction identity.
#include "vp/eth/rlp.h"

#include <string>
#include <utility>

namespace vp::eth {
namespace {

void AppendLength(Bytes& out, size_t length, uint8_t short_base) {
  if (length < 56) {
    out.push_back(static_cast<uint8_t>(short_base + length));
    return;
  }
  const Bytes len_bytes = BigEndianMinimal(static_cast<uint64_t>(length));
  out.push_back(static_cast<uint8_t>(short_base + 55 + len_bytes.size()));
  Append(out, len_bytes);
}

std::string At(size_t offset) { return " at offset " + std::to_string(offset); }

// Decodes the item starting at 'pos' that must end by 'end' (the end of the input or of the
// enclosing list). 'depth' is the number of lists already entered. On success stores the
// item and returns the offset just past it.
StatusOr<size_t> DecodeItem(ByteSpan in, size_t pos, size_t end, size_t depth, RlpItem& out) {
  if (pos >= end) return InvalidArgumentError("rlp: item expected" + At(pos) + " but the input ends");
  const uint8_t prefix = in[pos];
  if (prefix < 0x80) {
    out = RlpItem{};
    out.str.push_back(prefix);
    return pos + 1;
  }

  const bool is_list = prefix >= 0xc0;
  const uint8_t base = is_list ? 0xc0 : 0x80;
  const char* what = is_list ? "list" : "string";
  size_t header = 1;
  uint64_t length = 0;
  if (prefix - base < 56) {
    length = static_cast<uint64_t>(prefix - base);
  } else {
    const size_t len_of_len = static_cast<size_t>(prefix - base - 55);  // 1..8
    if (len_of_len > end - pos - 1) {
      return InvalidArgumentError(std::string("rlp: ") + what + " length" + At(pos) + " runs past the end");
    }
    if (in[pos + 1] == 0) {
      return InvalidArgumentError(std::string("rlp: ") + what + " length" + At(pos) + " has a leading zero byte");
    }
    for (size_t i = 0; i < len_of_len; ++i) length = (length << 8) | in[pos + 1 + i];
    if (length < 56) {
      return InvalidArgumentError(std::string("rlp: long length form used for a ") + what + " of " +
                                  std::to_string(length) + " bytes" + At(pos));
    }
    header += len_of_len;
  }
  const size_t start = pos + header;
  if (length > end - start) {
    return InvalidArgumentError(std::string("rlp: ") + what + " of " + std::to_string(length) + " bytes" + At(pos) +
                                " runs past the end of " + (end == in.size() ? "the input" : "its enclosing list"));
  }
  const size_t stop = start + static_cast<size_t>(length);

  if (!is_list) {
    if (length == 1 && in[start] < 0x80) {
      return InvalidArgumentError("rlp: single byte below 0x80 must be encoded as itself" + At(pos));
    }
    out = RlpItem{};
    out.str.assign(in.begin() + static_cast<std::ptrdiff_t>(start), in.begin() + static_cast<std::ptrdiff_t>(stop));
    return stop;
  }

  if (depth + 1 > kRlpMaxDepth) {
    return InvalidArgumentError("rlp: lists nested deeper than " + std::to_string(kRlpMaxDepth) + At(pos));
  }
  RlpItem list;
  list.kind = RlpItem::Kind::kList;
  size_t cur = start;
  while (cur < stop) {
    RlpItem child;
    ASSIGN_OR_RETURN(cur, DecodeItem(in, cur, stop, depth + 1, child));
    list.list.push_back(std::move(child));
  }
  out = std::move(list);
  return stop;
}

}  // namespace

RlpItem RlpItem::String(ByteSpan bytes) {
  RlpItem item;
  item.str.assign(bytes.begin(), bytes.end());
  return item;
}

RlpItem RlpItem::Text(std::string_view text) { return String(AsBytes(text)); }

RlpItem RlpItem::List(std::vector<RlpItem> items) {
  RlpItem item;
  item.kind = Kind::kList;
  item.list = std::move(items);
  return item;
}

RlpItem RlpItem::Uint(const U256& v) {
  RlpItem item;
  item.str = v.ToBigEndianMinimal();
  return item;
}

void RlpEncodeTo(const RlpItem& item, Bytes& out) {
  if (item.is_string()) {
    if (item.str.size() == 1 && item.str[0] < 0x80) {
      out.push_back(item.str[0]);
      return;
    }
    AppendLength(out, item.str.size(), 0x80);
    Append(out, item.str);
    return;
  }
  Bytes payload;
  for (const RlpItem& child : item.list) RlpEncodeTo(child, payload);
  AppendLength(out, payload.size(), 0xc0);
  Append(out, payload);
}

Bytes RlpEncode(const RlpItem& item) {
  Bytes out;
  RlpEncodeTo(item, out);
  return out;
}

StatusOr<RlpItem> RlpDecode(ByteSpan data) {
  if (data.empty()) return InvalidArgumentError("rlp: empty input");
  RlpItem item;
  ASSIGN_OR_RETURN(size_t next, DecodeItem(data, 0, data.size(), 0, item));
  if (next != data.size()) {
    return InvalidArgumentError("rlp: " + std::to_string(data.size() - next) + " trailing bytes after the item" +
                                At(next));
  }
  return item;
}

StatusOr<U256> RlpToU256(const RlpItem& item) {
  if (!item.is_string()) return InvalidArgumentError("rlp: expected an integer, got a list");
  if (item.str.size() > 32) return InvalidArgumentError("rlp: integer wider than 256 bits");
  if (!item.str.empty() && item.str[0] == 0) return InvalidArgumentError("rlp: integer has a leading zero byte");
  return U256::FromBigEndian(item.str);
}

StatusOr<uint64_t> RlpToUint64(const RlpItem& item) {
  if (!item.is_string()) return InvalidArgumentError("rlp: expected an integer, got a list");
  if (item.str.size() > 8) return InvalidArgumentError("rlp: integer wider than 64 bits");
  if (!item.str.empty() && item.str[0] == 0) return InvalidArgumentError("rlp: integer has a leading zero byte");
  uint64_t v = 0;
  for (uint8_t b : item.str) v = (v << 8) | b;
  return v;
}

}  // namespace vp::eth
