#include "vp/base/secure.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace vp {

void SecureWipe(void* p, size_t n) {
  if (p != nullptr && n != 0) explicit_bzero(p, n);
}

bool ConstantTimeEqual(ByteSpan a, ByteSpan b) {
  if (a.size() != b.size()) return false;
  volatile uint8_t diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff = static_cast<uint8_t>(diff | (a[i] ^ b[i]));
  return diff == 0;
}

StatusOr<SecureBuffer> HexDecodeSecret(std::string_view text) {
  if (text.size() >= 2 && text[0] == '0' && text[1] == 'x') text.remove_prefix(2);
  if (text.size() % 2 != 0) return InvalidArgumentError("hex: odd number of digits");
  SecureBuffer out(text.size() / 2);
  // Branch-free nibble decoding: timing must not depend on the secret digits.
  uint32_t bad = 0;
  auto nibble = [&bad](char ch) -> uint8_t {
    const auto c = static_cast<uint32_t>(static_cast<unsigned char>(ch));
    const uint32_t is_digit = ((c - '0') < 10u) ? 0xffffffffu : 0u;
    const uint32_t lc = c | 0x20u;
    const uint32_t is_alpha = ((lc - 'a') < 6u) ? 0xffffffffu : 0u;
    bad |= ~(is_digit | is_alpha);
    return static_cast<uint8_t>(((c - '0') & is_digit) | ((lc - 'a' + 10u) & is_alpha));
  };
  for (size_t i = 0; i < out.size(); ++i) {
    out.data()[i] = static_cast<uint8_t>((nibble(text[2 * i]) << 4) | nibble(text[2 * i + 1]));
  }
  if (bad != 0) return InvalidArgumentError("hex: invalid character in secret");
  return out;
}

SecureBuffer::SecureBuffer(size_t size) : size_(size) {
  if (size == 0) return;
  const auto page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  mapped_ = (size + page - 1) / page * page;
  void* p = mmap(nullptr, mapped_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) std::abort();  // out of address space: nothing sensible to return
  data_ = static_cast<uint8_t*>(p);
  locked_ = mlock(p, mapped_) == 0;
  (void)madvise(p, mapped_, MADV_DONTDUMP);
}

SecureBuffer SecureBuffer::CopyOf(ByteSpan data) {
  SecureBuffer b(data.size());
  if (!data.empty()) std::memcpy(b.data(), data.data(), data.size());
  return b;
}

SecureBuffer::~SecureBuffer() { Release(); }

SecureBuffer::SecureBuffer(SecureBuffer&& o) noexcept
    : data_(o.data_), size_(o.size_), mapped_(o.mapped_), locked_(o.locked_) {
  o.data_ = nullptr;
  o.size_ = o.mapped_ = 0;
  o.locked_ = false;
}

SecureBuffer& SecureBuffer::operator=(SecureBuffer&& o) noexcept {
  if (this != &o) {
    Release();
    data_ = o.data_;
    size_ = o.size_;
    mapped_ = o.mapped_;
    locked_ = o.locked_;
    o.data_ = nullptr;
    o.size_ = o.mapped_ = 0;
    o.locked_ = false;
  }
  return *this;
}

void SecureBuffer::Release() {
  if (data_ == nullptr) return;
  SecureWipe(data_, mapped_);
  if (locked_) munlock(data_, mapped_);
  munmap(data_, mapped_);
  data_ = nullptr;
  size_ = mapped_ = 0;
  locked_ = false;
}

}  // namespace vp
