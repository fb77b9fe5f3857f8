// U256: an unsigned 256-bit integer for Ethereum quantities (value, gas, fees, nonces,
// EIP-712 integers). Parsing is strict: decimal digits, or 0x-hex; no sign, no spaces,
// no overflow; every failure is kInvalidArgument.
//
//   ASSIGN_OR_RETURN(U256 v, U256::Parse("0x2386f26fc10000"));   // or "10000000000000000"
//   Bytes rlp_form = v.ToBigEndianMinimal();
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "vp/base/bytes.h"

namespace vp::eth {

class U256 {
 public:
  constexpr U256() = default;
  constexpr U256(uint64_t v) : limbs_{v, 0, 0, 0} {}  // NOLINT: implicit by design

  // Decimal ("123") or 0x-hex ("0x7b"). Leading zeros are accepted ("007", "0x0007").
  static StatusOr<U256> Parse(std::string_view text);
  static StatusOr<U256> ParseDecimal(std::string_view text);
  static StatusOr<U256> ParseHex(std::string_view text);  // with or without 0x
  // Big-endian bytes, at most 32 (leading zeros allowed).
  static StatusOr<U256> FromBigEndian(ByteSpan bytes);
  // 2^bits (bits < 256).
  static U256 PowerOfTwo(unsigned bits);
  static U256 Max();

  ByteArray<32> ToBigEndian32() const;
  Bytes ToBigEndianMinimal() const;  // zero -> empty
  std::string ToDecimal() const;
  std::string ToHex() const;  // "0x" + minimal lower-case hex; zero -> "0x0"

  bool IsZero() const { return (limbs_[0] | limbs_[1] | limbs_[2] | limbs_[3]) == 0; }
  bool FitsUint64() const { return (limbs_[1] | limbs_[2] | limbs_[3]) == 0; }
  uint64_t Low64() const { return limbs_[0]; }
  unsigned BitLength() const;  // 0 for zero

  // Wrapping (mod 2^256) arithmetic; the *Checked forms report overflow.
  U256 operator+(const U256& o) const;
  U256 operator-(const U256& o) const;
  U256 operator~() const;
  bool AddChecked(const U256& o, U256* out) const;  // false on overflow
  bool MulSmallChecked(uint64_t m, U256* out) const;  // false on overflow

  friend std::strong_ordering operator<=>(const U256& a, const U256& b);
  friend bool operator==(const U256& a, const U256& b) = default;

 private:
  std::array<uint64_t, 4> limbs_{};  // little-endian limbs
};

}  // namespace vp::eth
