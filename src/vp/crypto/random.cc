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

StatusOr<std::string> RandomUuid() {
  uint8_t b[16];
  RETURN_IF_ERROR(RandomBytes(std::span<uint8_t>(b)));
  return FormatUuidV4(b);
}

std::string FormatUuidV4(std::span<const uint8_t, 16> random) {
  uint8_t b[16];
  std::copy(random.begin(), random.end(), b);
  b[6] = static_cast<uint8_t>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<uint8_t>((b[8] & 0x3f) | 0x80);
  const std::string hex = HexEncode(ByteSpan(b, sizeof(b)));
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" + hex.substr(16, 4) + "-" +
         hex.substr(20);
}

}  // namespace vp::crypto
