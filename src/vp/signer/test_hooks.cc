// Test-seed keys (test_hooks.h). InstallTestHooks lives in the signer's main, which is
// compiled once per variant.
#include "vp/signer/test_hooks.h"

#include "vp/crypto/hash.h"

namespace vp::signer {

SecureBuffer TestSeedKey(ByteSpan seed, uint64_t index) {
  Bytes msg{'v', 'p', '-', 't', 'e', 's', 't', '-', 'k', 'e', 'y'};
  AppendBigEndian(msg, index, 8);
  auto mac = crypto::HmacSha256(seed, msg);
  SecureBuffer out = SecureBuffer::CopyOf(mac);
  SecureWipe(mac.data(), mac.size());
  return out;
}

}  // namespace vp::signer
