// The bulletin log key derived in this process (dev); the signer-held one is http/custody.cc's.
#include "vp/election/log_key.h"

#include "vp/crypto/hash.h"

namespace vp::election {
namespace {

constexpr std::string_view kPepperInfo = "vaultproof ballot log key v1";

class LocalLogSigner final : public LogSigner {
 public:
  LocalLogSigner(SecureBuffer seed, const crypto::Ed25519Public& pub) : seed_(std::move(seed)), pub_(pub) {}
  const crypto::Ed25519Public& public_key() const override { return pub_; }
  StatusOr<crypto::Ed25519Signature> Sign(ByteSpan message) const override {
    return crypto::Ed25519Sign(seed_.view(), message);
  }

 private:
  SecureBuffer seed_;
  crypto::Ed25519Public pub_;
};

}  // namespace

StatusOr<std::shared_ptr<const LogSigner>> SeedLogKey(ByteSpan seed) {
  if (seed.size() != 32) return InvalidArgumentError("log key: the seed must be 32 bytes");
  ASSIGN_OR_RETURN(crypto::Ed25519Public pub, crypto::Ed25519PublicKey(seed));
  return std::shared_ptr<const LogSigner>(std::make_shared<LocalLogSigner>(SecureBuffer::CopyOf(seed), pub));
}

StatusOr<std::shared_ptr<const LogSigner>> PepperLogKey(ByteSpan pepper) {
  if (pepper.size() != 32) return InvalidArgumentError("log key: the pepper must be 32 bytes");
  ASSIGN_OR_RETURN(SecureBuffer seed, crypto::HkdfSha256(pepper, {}, AsBytes(kPepperInfo), 32));
  return SeedLogKey(seed.view());
}

}  // namespace vp::election
