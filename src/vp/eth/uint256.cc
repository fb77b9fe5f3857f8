#include "vp/eth/uint256.h"

#include <algorithm>

namespace vp::eth {

StatusOr<U256> U256::Parse(std::string_view text) {
  if (text.size() >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) return ParseHex(text);
  return ParseDecimal(text);
}

StatusOr<U256> U256::ParseDecimal(std::string_view text) {
  if (text.empty()) return InvalidArgumentError("integer: empty string");
  U256 v;
  for (char c : text) {
    if (c < '0' || c > '9') return InvalidArgumentError("integer: invalid decimal digit");
    U256 next;
    if (!v.MulSmallChecked(10, &next) || !next.AddChecked(U256(static_cast<uint64_t>(c - '0')), &v)) {
      return InvalidArgumentError("integer: exceeds 256 bits");
    }
  }
  return v;
}

StatusOr<U256> U256::ParseHex(std::string_view text) {
  if (text.size() >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) text.remove_prefix(2);
  if (text.empty()) return InvalidArgumentError("integer: empty hex");
  while (text.size() > 1 && text.front() == '0') text.remove_prefix(1);
  if (text.size() > 64) return InvalidArgumentError("integer: exceeds 256 bits");
  U256 v;
  for (char c : text) {
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else return InvalidArgumentError("integer: invalid hex digit");
    for (int i = 3; i > 0; --i) v.limbs_[static_cast<size_t>(i)] = (v.limbs_[static_cast<size_t>(i)] << 4) | (v.limbs_[static_cast<size_t>(i - 1)] >> 60);
    v.limbs_[0] = (v.limbs_[0] << 4) | static_cast<uint64_t>(d);
  }
  return v;
}

StatusOr<U256> U256::FromBigEndian(ByteSpan bytes) {
  if (bytes.size() > 32) return InvalidArgumentError("integer: more than 32 bytes");
  U256 v;
  for (size_t i = 0; i < bytes.size(); ++i) {
    const size_t bit = 8 * (bytes.size() - 1 - i);
    v.limbs_[bit / 64] |= static_cast<uint64_t>(bytes[i]) << (bit % 64);
  }
  return v;
}

U256 U256::PowerOfTwo(unsigned bits) {
  U256 v;
  if (bits < 256) v.limbs_[bits / 64] = uint64_t{1} << (bits % 64);
  return v;
}

U256 U256::Max() { return ~U256(); }

ByteArray<32> U256::ToBigEndian32() const {
  ByteArray<32> out{};
  for (size_t i = 0; i < 32; ++i) {
    const size_t bit = 8 * (31 - i);
    out[i] = static_cast<uint8_t>(limbs_[bit / 64] >> (bit % 64));
  }
  return out;
}

Bytes U256::ToBigEndianMinimal() const {
  const auto full = ToBigEndian32();
  auto it = std::find_if(full.begin(), full.end(), [](uint8_t b) { return b != 0; });
  return Bytes(it, full.end());
}

std::string U256::ToDecimal() const {
  if (IsZero()) return "0";
  std::string out;
  std::array<uint64_t, 4> n = limbs_;
  auto is_zero = [&] { return (n[0] | n[1] | n[2] | n[3]) == 0; };
  while (!is_zero()) {
    unsigned __int128 rem = 0;
    for (size_t i = 4; i-- > 0;) {
      const unsigned __int128 cur = (rem << 64) | n[i];
      n[i] = static_cast<uint64_t>(cur / 10);
      rem = cur % 10;
    }
    out.push_back(static_cast<char>('0' + static_cast<int>(rem)));
  }
  std::reverse(out.begin(), out.end());
  return out;
}

std::string U256::ToHex() const {
  if (IsZero()) return "0x0";
  std::string h = HexEncode(ToBigEndianMinimal());
  if (h[0] == '0') h.erase(0, 1);
  return "0x" + h;
}

unsigned U256::BitLength() const {
  for (size_t i = 4; i-- > 0;) {
    if (limbs_[i] != 0) return static_cast<unsigned>(64 * i) + (64u - static_cast<unsigned>(__builtin_clzll(limbs_[i])));
  }
  return 0;
}

U256 U256::operator+(const U256& o) const {
  U256 r;
  (void)AddChecked(o, &r);
  return r;
}

U256 U256::operator-(const U256& o) const {
  U256 r;
  uint64_t borrow = 0;
  for (size_t i = 0; i < 4; ++i) {
    const unsigned __int128 d = static_cast<unsigned __int128>(limbs_[i]) - o.limbs_[i] - borrow;
    r.limbs_[i] = static_cast<uint64_t>(d);
    borrow = static_cast<uint64_t>(d >> 64) & 1;
  }
  return r;
}

U256 U256::operator~() const {
  U256 r;
  for (size_t i = 0; i < 4; ++i) r.limbs_[i] = ~limbs_[i];
  return r;
}

bool U256::AddChecked(const U256& o, U256* out) const {
  unsigned __int128 carry = 0;
  U256 r;
  for (size_t i = 0; i < 4; ++i) {
    const unsigned __int128 s = static_cast<unsigned __int128>(limbs_[i]) + o.limbs_[i] + carry;
    r.limbs_[i] = static_cast<uint64_t>(s);
    carry = s >> 64;
  }
  *out = r;
  return carry == 0;
}

bool U256::MulSmallChecked(uint64_t m, U256* out) const {
  unsigned __int128 carry = 0;
  U256 r;
  for (size_t i = 0; i < 4; ++i) {
    const unsigned __int128 p = static_cast<unsigned __int128>(limbs_[i]) * m + carry;
    r.limbs_[i] = static_cast<uint64_t>(p);
    carry = p >> 64;
  }
  *out = r;
  return carry == 0;
}

std::strong_ordering operator<=>(const U256& a, const U256& b) {
  for (size_t i = 4; i-- > 0;) {
    if (a.limbs_[i] != b.limbs_[i]) return a.limbs_[i] <=> b.limbs_[i];
  }
  return std::strong_ordering::equal;
}

}  // namespace vp::eth
