// The bulletin log key: signer-held (custody) or derived in this process (dev).
#include "vp/election/log_key.h"

#include <chrono>

#include "vp/crypto/hash.h"
#include "vp/kms/master_key.h"
#include "vp/signer/protocol.h"
#include "vp/store/custody_keys.h"

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

class SignerLogSigner final : public LogSigner {
 public:
  SignerLogSigner(std::shared_ptr<signer::Launcher> launcher, Bytes blob, signer::KeyContext ctx,
                  const crypto::Ed25519Public& pub)
      : launcher_(std::move(launcher)), blob_(std::move(blob)), ctx_(std::move(ctx)), pub_(pub) {}
  const crypto::Ed25519Public& public_key() const override { return pub_; }
  StatusOr<crypto::Ed25519Signature> Sign(ByteSpan message) const override {
    ASSIGN_OR_RETURN(signer::Ed25519SignatureResult r, launcher_->client().SignEd25519(blob_, ctx_, message));
    // A head signed by another key would be one nobody can verify with the published key.
    if (r.public_key != pub_) return InternalError("signer signed the tree head with an unexpected key");
    return r.signature;
  }

 private:
  std::shared_ptr<signer::Launcher> launcher_;
  Bytes blob_;
  signer::KeyContext ctx_;
  crypto::Ed25519Public pub_;
};

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

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

StatusOr<std::shared_ptr<const LogSigner>> SignerLogKey(store::Db& db, std::shared_ptr<signer::Launcher> launcher) {
  store::CustodyKeyRepo repo(db);
  ASSIGN_OR_RETURN(std::optional<store::CustodyKeyRow> row, repo.Get(kBallotLogKeyId));
  Bytes blob;
  if (row) {
    blob = row->blob;
  } else {
    const signer::KeyContext ctx{.wallet_id = std::string(kBallotLogKeyId), .address = {}, .key_version = 1,
                                 .key_kind = signer::KeyKind::kEd25519};
    ASSIGN_OR_RETURN(signer::CreatedKey created, launcher->client().CreateKey(ctx));
    ASSIGN_OR_RETURN(signer::KeyBlob decoded, signer::DecodeKeyBlob(created.blob));
    ASSIGN_OR_RETURN(kms::WrappedKey wrapped, kms::DecodeWrappedKey(decoded.wrapped_dek));
    const Status inserted = repo.Insert({.key_id = std::string(kBallotLogKeyId), .wallet_id = std::string(kBallotLogKeyId),
                                         .blob = created.blob, .master_key_id = wrapped.master_key_id},
                                        NowMs());
    if (inserted.code() == StatusCode::kAlreadyExists) {
      // Another gateway on the same store made it first: every gateway signs with that one.
      ASSIGN_OR_RETURN(row, repo.Get(kBallotLogKeyId));
      if (!row) return InternalError("ballot log key vanished");
      blob = row->blob;
    } else {
      RETURN_IF_ERROR(inserted);
      blob = created.blob;
    }
  }
  ASSIGN_OR_RETURN(signer::KeyBlob decoded, signer::DecodeKeyBlob(blob));
  if (decoded.context.key_kind != signer::KeyKind::kEd25519 || decoded.context.wallet_id != kBallotLogKeyId) {
    return InternalError("custody key " + std::string(kBallotLogKeyId) + " is not the ballot log's Ed25519 key");
  }
  // The signer reports the public key it used: a probe learns it.
  ASSIGN_OR_RETURN(signer::Ed25519SignatureResult probe,
                   launcher->client().SignEd25519(blob, decoded.context, AsBytes("vp-ballot-log-key-probe")));
  return std::shared_ptr<const LogSigner>(
      std::make_shared<SignerLogSigner>(std::move(launcher), std::move(blob), decoded.context, probe.public_key));
}

}  // namespace vp::election
