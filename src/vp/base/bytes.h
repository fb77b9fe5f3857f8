// Byte strings and strict hex. Every decoder here rejects malformed input with
// kInvalidArgument and a message naming what was wrong; nothing here throws.
//
//   ASSIGN_OR_RETURN(vp::Bytes raw, vp::HexDecode("0xdeadbeef"));
//   std::string s = vp::HexEncode(raw, /*prefix=*/true);   // "0xdeadbeef"
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vp/base/status.h"

namespace vp {

using Bytes = std::vector<uint8_t>;
using ByteSpan = std::span<const uint8_t>;
template <size_t N>
using ByteArray = std::array<uint8_t, N>;

enum class HexPrefix {
  kOptional,  // "0x" may or may not be present
  kRequired,  // "0x" must be present
  kForbidden, // no "0x"
};

// Lower-case hex; with prefix=true prepends "0x".
std::string HexEncode(ByteSpan data, bool prefix = false);

// Decodes hex digits (either case) after an optional lower-case "0x" ("0X" is not a
// prefix, as in ethers). Odd length, a non-hex character or a missing/forbidden
// prefix is kInvalidArgument. "0x" alone decodes to empty bytes.
StatusOr<Bytes> HexDecode(std::string_view text, HexPrefix prefix = HexPrefix::kOptional);

// As HexDecode, and the result must be exactly N bytes.
template <size_t N>
StatusOr<ByteArray<N>> HexDecodeFixed(std::string_view text, HexPrefix prefix = HexPrefix::kOptional) {
  auto b = HexDecode(text, prefix);
  if (!b.ok()) return b.status();
  if (b->size() != N) {
    return InvalidArgumentError("expected " + std::to_string(N) + " bytes, got " +
                                std::to_string(b->size()));
  }
  ByteArray<N> out;
  for (size_t i = 0; i < N; ++i) out[i] = (*b)[i];
  return out;
}

inline ByteSpan AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
inline std::string_view AsString(ByteSpan b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

inline void Append(Bytes& out, ByteSpan b) { out.insert(out.end(), b.begin(), b.end()); }

// Big-endian encoding of v with no leading zero bytes (0 -> empty).
Bytes BigEndianMinimal(uint64_t v);
// Appends v as exactly 'width' big-endian bytes (width <= 8).
void AppendBigEndian(Bytes& out, uint64_t v, size_t width);

}  // namespace vp
