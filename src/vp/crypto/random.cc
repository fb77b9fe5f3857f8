#include "vp/crypto/random.h"

#include <openssl/rand.h>

#include <algorithm>
#include <climits>

namespace vp::crypto {

Status RandomBytes(std::span<uint8_t> out) {
  size_t off = 0;
  while (off < out.size()) {
    const size_t chunk = std::min<size_t>(out.size() - off, INT_MAX);
    if (RAND_bytes(out.data() + off, static_cast<int>(chunk)) != 1) {
      return UnavailableError("random: the system generator produced no output");
    }
    off += chunk;
  }
  return OkStatus();
}

StatusOr<Bytes> RandomBytes(size_t n) {
  Bytes b(n);
  RETURN_IF_ERROR(RandomBytes(std::span<uint8_t>(b)));
  return b;
}

StatusOr<SecureBuffer> RandomSecret(size_t n) {
  SecureBuffer b(n);
  RETURN_IF_ERROR(RandomBytes(b.span()));
  return b;
}

}  // namespace vp::crypto
