// CustodyStack: the real kms and signer processes in a temp folder.
#include "vp/signer/testing.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "vp/crypto/ed25519.h"
#include "vp/crypto/random.h"
#include "vp/kms/file_backend.h"

namespace vp::signer {
namespace {

Status WriteFile(const std::string& path, std::string_view text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
  f.close();
  if (!f) return UnavailableError("cannot write " + path);
  ::chmod(path.c_str(), 0600);
  return OkStatus();
}

}  // namespace

CustodyStack::CustodyStack(CustodyStackOptions options) : options_(std::move(options)) {
  const char* bin = std::getenv("VP_BIN_DIR");
  bin_dir_ = bin != nullptr ? bin : "build/bin";
  char tmpl[] = "/tmp/vp-custody-XXXXXX";
  const char* d = ::mkdtemp(tmpl);
  dir_ = d != nullptr ? d : "/tmp/vp-custody";
  // The signer runs as nobody when we are root: it must reach the kms socket here.
  ::chmod(dir_.c_str(), 0755);
}

CustodyStack::~CustodyStack() {
  Stop();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

void CustodyStack::Stop() {
  if (launcher_) launcher_->Stop();
  launcher_.reset();
}

Status CustodyStack::PrepareBackend(std::vector<std::string>& kms_args) {
  if (options_.backend == "file") {
    const std::string sealed = dir_ + "/master.sealed";
    RETURN_IF_ERROR(WriteFile(dir_ + "/passphrase", "correct horse battery staple\n"));
    if (::access(sealed.c_str(), F_OK) != 0) {
      // The smallest scrypt cost the backend accepts keeps tests fast; production uses the default.
      RETURN_IF_ERROR(kms::CreateSealedMasterKeyFile(sealed, AsBytes("correct horse battery staple"),
                                                     crypto::ScryptParams{.n = 1u << 10, .r = 8, .p = 1}));
    }
    kms_args.insert(kms_args.end(), {"--backend", "file", "--master-key-file", sealed, "--passphrase-file",
                                     dir_ + "/passphrase"});
    return OkStatus();
  }
  if (options_.backend == "pkcs11") {
    const std::string tokens = dir_ + "/tokens";
    ::mkdir(tokens.c_str(), 0700);
    const std::string conf = dir_ + "/softhsm2.conf";
    RETURN_IF_ERROR(WriteFile(conf, "directories.tokendir = " + tokens + "\nobjectstore.backend = file\nlog.level = ERROR\n"));
    ::chmod(conf.c_str(), 0644);
    ::setenv("SOFTHSM2_CONF", conf.c_str(), 1);
    const std::string cmd = "softhsm2-util --init-token --free --label vp-test --pin 1234 --so-pin 5678 >/dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0) return UnavailableError("softhsm2-util --init-token failed");
    RETURN_IF_ERROR(WriteFile(dir_ + "/pin", "1234\n"));
    kms_args.insert(kms_args.end(), {"--backend", "pkcs11", "--pkcs11-module", "/usr/lib/softhsm/libsofthsm2.so",
                                     "--pkcs11-token", "vp-test", "--pkcs11-pin-file", dir_ + "/pin"});
    return OkStatus();
  }
  return InvalidArgumentError("unknown backend " + options_.backend);
}

Status CustodyStack::Start() {
  Stop();
  LauncherOptions lo;
  lo.signer_binary = !options_.signer_binary.empty() ? options_.signer_binary
                     : options_.test_seed_hex.empty() ? bin_dir_ + "/vaultproof-signer"
                                                      : bin_dir_ + "/vaultproof-signer-testseed";
  lo.kms_binary = bin_dir_ + "/vaultproof-kms";
  lo.kms_socket = kms_socket();
  lo.signer_socket = dir_ + "/signer.sock";
  lo.debug_measurement = options_.debug_measurement;
  lo.signer_test_seed_hex = options_.test_seed_hex;
  lo.attestation_refresh_s = options_.attestation_refresh_s;
  lo.cache_ttl_s = options_.cache_ttl_s;
  lo.log_dir = dir_;
  ASSIGN_OR_RETURN(lo.launcher_seed, crypto::Ed25519GenerateSeed());

  kms::KeyPolicy policy;
  ASSIGN_OR_RETURN(auto launcher_pub, crypto::Ed25519PublicKey(lo.launcher_seed.view()));
  policy.launcher_keys.push_back(launcher_pub);
  ASSIGN_OR_RETURN(auto measurement, MeasureFile(lo.signer_binary));
  launcher_seed_ = SecureBuffer::CopyOf(lo.launcher_seed.view());
  measurement_ = measurement;
  policy.signer_measurements.push_back(measurement);
  const uint32_t signer_uid = ::geteuid() == 0 ? 65534u : static_cast<uint32_t>(::geteuid());
  policy.generate_data_key_uids = {signer_uid};
  policy.decrypt_uids = {signer_uid};
  policy.admin_uids = {static_cast<uint32_t>(::geteuid())};
  if (options_.edit_policy) options_.edit_policy(policy);
  RETURN_IF_ERROR(WriteFile(dir_ + "/policy.json", kms::SerializeKeyPolicy(policy)));
  ::chmod((dir_ + "/policy.json").c_str(), 0644);

  std::vector<std::string> kms_args{"--socket", kms_socket(), "--policy", dir_ + "/policy.json", "--audit-log",
                                    kms_audit_log()};
  RETURN_IF_ERROR(PrepareBackend(kms_args));
  lo.kms_args = kms_args;
  ASSIGN_OR_RETURN(launcher_, Launcher::Start(std::move(lo)));
  return OkStatus();
}

}  // namespace vp::signer
