#include "vp/base/bytes.h"

namespace vp {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string HexEncode(ByteSpan data, bool prefix) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(data.size() * 2 + (prefix ? 2 : 0));
  if (prefix) out += "0x";
  for (uint8_t b : data) {
    out += kDigits[b >> 4];
    out += kDigits[b & 0x0f];
  }
  return out;
}

StatusOr<Bytes> HexDecode(std::string_view text, HexPrefix prefix) {
  const bool has_prefix = text.size() >= 2 && text[0] == '0' && text[1] == 'x';
  if (prefix == HexPrefix::kRequired && !has_prefix) return InvalidArgumentError("hex: missing 0x prefix");
  if (prefix == HexPrefix::kForbidden && has_prefix) return InvalidArgumentError("hex: unexpected 0x prefix");
  if (has_prefix) text.remove_prefix(2);
  if (text.size() % 2 != 0) return InvalidArgumentError("hex: odd number of digits");
  Bytes out;
  out.reserve(text.size() / 2);
  for (size_t i = 0; i < text.size(); i += 2) {
    const int hi = HexValue(text[i]);
    const int lo = HexValue(text[i + 1]);
    if (hi < 0 || lo < 0) {
      return InvalidArgumentError("hex: invalid character at offset " +
                                  std::to_string(i + (hi < 0 ? 0 : 1) + (has_prefix ? 2 : 0)));
    }
    out.push_back(static_cast<uint8_t>((hi << 4) | lo));
  }
  return out;
}

Bytes BigEndianMinimal(uint64_t v) {
  Bytes out;
  for (int shift = 56; shift >= 0; shift -= 8) {
    const auto b = static_cast<uint8_t>(v >> shift);
    if (out.empty() && b == 0) continue;
    out.push_back(b);
  }
  return out;
}

void AppendBigEndian(Bytes& out, uint64_t v, size_t width) {
  for (size_t i = width; i-- > 0;) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

}  // namespace vp
