// The OS CSPRNG through OpenSSL's RAND_bytes (seeded from getrandom).
#pragma once

#include <span>
#include <string>

#include "vp/base/bytes.h"
#include "vp/base/secure.h"

namespace vp::crypto {

// kUnavailable if the generator cannot produce output.
Status RandomBytes(std::span<uint8_t> out);
StatusOr<Bytes> RandomBytes(size_t n);
StatusOr<SecureBuffer> RandomSecret(size_t n);
// A random (version 4, RFC 9562 variant) UUID in its lower-case 36-character text form.
StatusOr<std::string> RandomUuid();
// The version-4 UUID text of 16 random bytes (RandomUuid draws them itself).
std::string FormatUuidV4(std::span<const uint8_t, 16> random);

}  // namespace vp::crypto
