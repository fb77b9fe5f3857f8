// SecureBuffer holds secrets: page-aligned memory that is mlock'd (never swapped),
// excluded from core dumps (MADV_DONTDUMP), and wiped with a clear the compiler cannot
// remove when destroyed. Not copyable; movable. ConstantTimeEqual compares secrets.
//
//   vp::SecureBuffer key(32);
//   FillRandom(key.span());            // secret stays in locked memory
//   if (!vp::ConstantTimeEqual(a, b)) return vp::UnauthenticatedError("bad mac");
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "vp/base/bytes.h"

namespace vp {

class SecureBuffer {
 public:
  SecureBuffer() = default;
  // Zero-filled buffer of 'size' bytes. Aborts only if the OS cannot map memory at all;
  // if mlock is refused (RLIMIT_MEMLOCK) the buffer still works and locked() is false.
  explicit SecureBuffer(size_t size);
  // Copies 'data' in. The caller is responsible for wiping its own copy.
  static SecureBuffer CopyOf(ByteSpan data);
  ~SecureBuffer();

  SecureBuffer(const SecureBuffer&) = delete;
  SecureBuffer& operator=(const SecureBuffer&) = delete;
  SecureBuffer(SecureBuffer&& o) noexcept;
  SecureBuffer& operator=(SecureBuffer&& o) noexcept;

  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  bool locked() const { return locked_; }
  std::span<uint8_t> span() { return {data_, size_}; }
  ByteSpan view() const { return {data_, size_}; }

 private:
  void Release();

  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  size_t mapped_ = 0;
  bool locked_ = false;
};

// Decodes hex (optional 0x) straight into locked memory, so a secret never sits in an
// ordinary heap buffer. Errors as HexDecode, with no part of the input in the message.
StatusOr<SecureBuffer> HexDecodeSecret(std::string_view text);

// Wipes memory in a way the optimizer cannot elide.
void SecureWipe(void* p, size_t n);

// Constant-time equality: time depends only on the lengths, never on the contents.
bool ConstantTimeEqual(ByteSpan a, ByteSpan b);

}  // namespace vp
