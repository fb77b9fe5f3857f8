// Custody wiring: paths, dev secrets and the dev key policy.
#include "vp/http/custody.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "vp/crypto/ed25519.h"
#include "vp/crypto/random.h"
#include "vp/kms/file_backend.h"
#include "vp/kms/policy.h"
#include "vp/kms/master_key.h"
#include "vp/signer/protocol.h"
#include "vp/store/custody_keys.h"

namespace vp::http {
namespace {

StatusOr<std::string> OwnBinDir() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return UnavailableError("cannot find the running binary's folder; set custody.bin_dir");
  return exe.parent_path().string();
}

// Created 0600 from the first byte (O_EXCL on a fresh temp name), so no other uid can
// open it in between; then renamed over the target.
Status WriteSecretFile(const std::string& path, ByteSpan data) {
  const std::string tmp = path + ".tmp";
  ::unlink(tmp.c_str());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return UnavailableError("cannot write " + path);
  size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n <= 0) {
      ::close(fd);
      return UnavailableError("cannot write " + path);
    }
    off += static_cast<size_t>(n);
  }
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!synced || ::rename(tmp.c_str(), path.c_str()) != 0) return UnavailableError("cannot write " + path);
  return OkStatus();
}

StatusOr<SecureBuffer> LoadOrCreateSecret(const std::string& path, size_t n) {
  if (::access(path.c_str(), F_OK) != 0) {
    ASSIGN_OR_RETURN(SecureBuffer fresh, crypto::RandomSecret(n));
    RETURN_IF_ERROR(WriteSecretFile(path, fresh.view()));
  }
  std::ifstream f(path, std::ios::binary);
  SecureBuffer out(n);
  f.read(reinterpret_cast<char*>(out.data()), static_cast<std::streamsize>(n));
  if (f.gcount() != static_cast<std::streamsize>(n)) return FailedPreconditionError(path + " is not a " + std::to_string(n) + "-byte key file");
  return out;
}

}  // namespace

StatusOr<signer::LauncherOptions> CustodyLauncherOptions(const GatewayConfig& config,
                                                         std::vector<std::string>& warnings) {
  const std::string dir = config.data_dir + "/custody";
  const std::string run = dir + "/run";
  ::mkdir(dir.c_str(), 0700);
  // The signer runs under its own uid and must reach the kms socket in here.
  ::mkdir(run.c_str(), 0755);
  ::chmod(dir.c_str(), 0711);
  ::chmod(run.c_str(), 0755);
  // The signer runs under its own uid and must reach run/kms.sock: the data dir needs
  // o+x (search, not listing); every secret inside is 0600 anyway.
  struct stat st {};
  if (::stat(config.data_dir.c_str(), &st) == 0 && (st.st_mode & S_IXOTH) == 0 && ::geteuid() == 0) {
    ::chmod(config.data_dir.c_str(), (st.st_mode & 07777) | S_IXOTH);
    warnings.push_back("custody: made the data dir searchable by others (o+x) so the signer's uid can reach the kms socket");
  }
  signer::LauncherOptions lo;
  std::string bin = config.custody_bin_dir;
  if (bin.empty()) {
    ASSIGN_OR_RETURN(bin, OwnBinDir());
  }
  lo.signer_binary = bin + "/vaultproof-signer";
  lo.kms_socket = config.custody_kms_socket.empty() ? run + "/kms.sock" : config.custody_kms_socket;
  lo.signer_socket = run + "/signer.sock";
  lo.debug_measurement = config.custody_debug;
  lo.cache_ttl_s = config.custody_cache_ttl_s;
  lo.attestation_refresh_s = config.custody_attestation_refresh_s;
  lo.log_dir = dir;
  if (config.custody_signer_uid > 0) {
    lo.signer_uid = static_cast<uid_t>(config.custody_signer_uid);
    lo.signer_gid = static_cast<gid_t>(config.custody_signer_uid);
  }
  ASSIGN_OR_RETURN(lo.launcher_seed, LoadOrCreateSecret(dir + "/launcher.key", 32));

  std::string policy_file = config.custody_policy_file;
  if (policy_file.empty()) {
    // Dev policy: pins this launcher's key and the signer binary as measured now.
    policy_file = dir + "/policy.dev.json";
    kms::KeyPolicy policy;
    ASSIGN_OR_RETURN(auto pub, crypto::Ed25519PublicKey(lo.launcher_seed.view()));
    policy.launcher_keys.push_back(pub);
    ASSIGN_OR_RETURN(auto measurement, signer::MeasureFile(lo.signer_binary));
    policy.signer_measurements.push_back(measurement);
    policy.allow_debug = config.custody_debug;
    const uint32_t signer_uid = lo.signer_uid ? static_cast<uint32_t>(*lo.signer_uid)
                                : ::geteuid() == 0 ? 65534u
                                                   : static_cast<uint32_t>(::geteuid());
    policy.generate_data_key_uids = {signer_uid};
    policy.decrypt_uids = {signer_uid};
    policy.admin_uids = {static_cast<uint32_t>(::geteuid())};
    const std::string text = kms::SerializeKeyPolicy(policy);
    RETURN_IF_ERROR(WriteSecretFile(policy_file, AsBytes(text)));
    ::chmod(policy_file.c_str(), 0644);
    warnings.push_back("custody: using a dev key policy that pins the signer measured now (" + HexEncode(measurement) +
                       "); set custody.policy_file in production");
  }

  if (config.custody_kms_backend == "external") return lo;
  lo.kms_binary = bin + "/vaultproof-kms";
  lo.kms_args = {"--socket", lo.kms_socket, "--policy", policy_file, "--audit-log", dir + "/kms-audit.log"};
  if (config.custody_kms_backend == "pkcs11") {
    if (config.custody_pkcs11_module.empty() || config.custody_pkcs11_token.empty() ||
        config.custody_pkcs11_pin_file.empty())
      return InvalidArgumentError("config: custody.pkcs11_module, pkcs11_token and pkcs11_pin_file are required");
    lo.kms_args.insert(lo.kms_args.end(), {"--backend", "pkcs11", "--pkcs11-module", config.custody_pkcs11_module,
                                           "--pkcs11-token", config.custody_pkcs11_token, "--pkcs11-pin-file",
                                           config.custody_pkcs11_pin_file});
    return lo;
  }
  const std::string master = config.custody_master_key_file.empty() ? dir + "/master.sealed" : config.custody_master_key_file;
  std::string passphrase_file = config.custody_passphrase_file;
  if (passphrase_file.empty()) {
    passphrase_file = dir + "/kms-passphrase.dev";
    if (::access(passphrase_file.c_str(), F_OK) != 0) {
      ASSIGN_OR_RETURN(Bytes raw, crypto::RandomBytes(24));
      const std::string text = HexEncode(raw) + "\n";
      RETURN_IF_ERROR(WriteSecretFile(passphrase_file, AsBytes(text)));
    }
    warnings.push_back("custody: the master key passphrase is a generated dev file; set custody.passphrase_file in production");
  }
  if (::access(master.c_str(), F_OK) != 0) {
    ASSIGN_OR_RETURN(SecureBuffer pass, kms::ReadPassphraseFile(passphrase_file));
    RETURN_IF_ERROR(kms::CreateSealedMasterKeyFile(master, pass.view()));
  }
  lo.kms_args.insert(lo.kms_args.end(),
                     {"--backend", "file", "--master-key-file", master, "--passphrase-file", passphrase_file});
  return lo;
}

namespace {

// A signer-held Ed25519 service key: its blob (custody_keys), context and public key. Every
// signature is checked to come from the key that was published.
class ServiceKey {
 public:
  ServiceKey(std::shared_ptr<signer::Launcher> launcher, Bytes blob, signer::KeyContext ctx,
             const crypto::Ed25519Public& pub)
      : launcher_(std::move(launcher)), blob_(std::move(blob)), ctx_(std::move(ctx)), pub_(pub) {}
  const crypto::Ed25519Public& public_key() const { return pub_; }
  // what: the signed thing, for the error message.
  StatusOr<crypto::Ed25519Signature> Sign(ByteSpan message, std::string_view what) const {
    ASSIGN_OR_RETURN(signer::Ed25519SignatureResult r, launcher_->client().SignEd25519(blob_, ctx_, message));
    // A signer answering with another key would make signatures nobody can verify: refuse early.
    if (r.public_key != pub_) return InternalError("signer signed the " + std::string(what) + " with an unexpected key");
    return r.signature;
  }

 private:
  std::shared_ptr<signer::Launcher> launcher_;
  Bytes blob_;
  signer::KeyContext ctx_;
  crypto::Ed25519Public pub_;
};

// The service key `key_id`, created in the signer on first use and kept in custody_keys, so
// every gateway on the store signs with the one stored first. The public key is learned by
// signing `probe` (the signer reports the key it used).
StatusOr<std::shared_ptr<const ServiceKey>> LoadOrCreateServiceKey(store::Db& db,
                                                                   std::shared_ptr<signer::Launcher> launcher,
                                                                   std::string_view key_id, std::string_view probe) {
  store::CustodyKeyRepo repo(db);
  ASSIGN_OR_RETURN(std::optional<store::CustodyKeyRow> row, repo.Get(key_id));
  Bytes blob;
  if (row) {
    blob = row->blob;
  } else {
    const signer::KeyContext ctx{.wallet_id = std::string(key_id), .address = {}, .key_version = 1,
                                 .key_kind = signer::KeyKind::kEd25519};
    ASSIGN_OR_RETURN(signer::CreatedKey created, launcher->client().CreateKey(ctx));
    ASSIGN_OR_RETURN(signer::KeyBlob decoded, signer::DecodeKeyBlob(created.blob));
    ASSIGN_OR_RETURN(kms::WrappedKey wrapped, kms::DecodeWrappedKey(decoded.wrapped_dek));
    const Status inserted = repo.Insert({.key_id = std::string(key_id), .wallet_id = std::string(key_id),
                                         .blob = created.blob, .master_key_id = wrapped.master_key_id},
                                        std::chrono::duration_cast<std::chrono::milliseconds>(
                                            std::chrono::system_clock::now().time_since_epoch())
                                            .count());
    if (inserted.code() == StatusCode::kAlreadyExists) {
      // Another gateway on the same store made it first: use theirs.
      ASSIGN_OR_RETURN(row, repo.Get(key_id));
      if (!row) return InternalError("custody key " + std::string(key_id) + " vanished");
      blob = row->blob;
    } else {
      RETURN_IF_ERROR(inserted);
      blob = created.blob;
    }
  }
  ASSIGN_OR_RETURN(signer::KeyBlob decoded, signer::DecodeKeyBlob(blob));
  if (decoded.context.key_kind != signer::KeyKind::kEd25519 || decoded.context.wallet_id != key_id) {
    return InternalError("custody key " + std::string(key_id) + " is not an Ed25519 service key");
  }
  ASSIGN_OR_RETURN(signer::Ed25519SignatureResult r, launcher->client().SignEd25519(blob, decoded.context, AsBytes(probe)));
  return std::make_shared<const ServiceKey>(std::move(launcher), std::move(blob), decoded.context, r.public_key);
}

class SignerDigestSigner final : public audit::DigestSigner {
 public:
  explicit SignerDigestSigner(std::shared_ptr<const ServiceKey> key) : key_(std::move(key)) {}
  const crypto::Ed25519Public& public_key() const override { return key_->public_key(); }
  StatusOr<crypto::Ed25519Signature> Sign(ByteSpan message) const override { return key_->Sign(message, "audit digest"); }

 private:
  std::shared_ptr<const ServiceKey> key_;
};

class SignerLogSigner final : public election::LogSigner {
 public:
  explicit SignerLogSigner(std::shared_ptr<const ServiceKey> key) : key_(std::move(key)) {}
  const crypto::Ed25519Public& public_key() const override { return key_->public_key(); }
  StatusOr<crypto::Ed25519Signature> Sign(ByteSpan message) const override { return key_->Sign(message, "tree head"); }

 private:
  std::shared_ptr<const ServiceKey> key_;
};

}  // namespace

StatusOr<std::shared_ptr<const audit::DigestSigner>> CustodyDigestSigner(store::Db& db,
                                                                         std::shared_ptr<signer::Launcher> launcher,
                                                                         const std::string& data_dir) {
  ASSIGN_OR_RETURN(std::shared_ptr<const ServiceKey> key,
                   LoadOrCreateServiceKey(db, std::move(launcher), kAuditDigestKeyId, "vp-audit-key-probe"));
  const std::string pub_hex = HexEncode(key->public_key()) + "\n";
  RETURN_IF_ERROR(WriteSecretFile(data_dir + "/" + std::string(kAuditPublicKeyFile), AsBytes(pub_hex)));
  ::chmod((data_dir + "/" + std::string(kAuditPublicKeyFile)).c_str(), 0644);
  return std::shared_ptr<const audit::DigestSigner>(std::make_shared<SignerDigestSigner>(std::move(key)));
}

StatusOr<std::shared_ptr<const election::LogSigner>> CustodyBallotLogKey(store::Db& db,
                                                                        std::shared_ptr<signer::Launcher> launcher) {
  ASSIGN_OR_RETURN(std::shared_ptr<const ServiceKey> key,
                   LoadOrCreateServiceKey(db, std::move(launcher), election::kBallotLogKeyId, "vp-ballot-log-key-probe"));
  return std::shared_ptr<const election::LogSigner>(std::make_shared<SignerLogSigner>(std::move(key)));
}

StatusOr<prover::ProverImage> BallotProverImage(const GatewayConfig& config, std::vector<std::string>& warnings) {
  prover::ProverImage image;
  image.binary_path = config.ballot_prover_binary;
  if (image.binary_path.empty()) {
    ASSIGN_OR_RETURN(std::string bin, OwnBinDir());
    image.binary_path = bin + "/vaultproof-prover";
  }
  if (!config.ballot_prover_release_public_key.empty()) {
    ASSIGN_OR_RETURN(image.release_public_key,
                     HexDecodeFixed<32>(config.ballot_prover_release_public_key, HexPrefix::kForbidden));
    return image;
  }
  ASSIGN_OR_RETURN(SecureBuffer seed, LoadOrCreateSecret(config.data_dir + "/prover-release.key", 32));
  ASSIGN_OR_RETURN(auto pub, crypto::Ed25519PublicKey(seed.view()));
  std::copy(pub.begin(), pub.end(), image.release_public_key.begin());
  // The dev signature lives in this gateway's data dir: several dev gateways may share one
  // binary, each with its own dev key.
  image.signature_path = config.data_dir + "/vaultproof-prover.sig";
  const auto signed_digest = prover::SignProverImage(seed.view(), image.binary_path, image.signature_path);
  if (!signed_digest.ok()) {
    warnings.push_back("ballot: cannot sign the dev prover image " + image.binary_path + ": " +
                       signed_digest.status().message() + " (finalization will fail until it is signed)");
  } else {
    warnings.push_back("ballot: dev release key " + config.data_dir +
                       "/prover-release.key signed the local prover image; production pins "
                       "ballot.prover_release_public_key and ships a signature made offline");
  }
  return image;
}

}  // namespace vp::http
