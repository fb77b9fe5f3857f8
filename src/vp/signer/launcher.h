// The launcher, run inside the gateway: starts and supervises the kms and the signer.
// It measures the signer image (SHA-384 of the exact bytes it executes: the file is
// copied into a sealed memfd, hashed, and run with fexecve, so it cannot be swapped
// after hashing), hands the signer its listening socket and a bootstrap channel, signs
// the signer's attestation document with the launcher key the kms policy pins, refreshes
// it on request, and restarts either child with backoff when it dies.
//
//   ASSIGN_OR_RETURN(auto launcher, Launcher::Start(std::move(options)));
//   SignerClient& signer = launcher->client();     // kUnavailable while a child is down
#pragma once

#include <sys/types.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "vp/base/secure.h"
#include "vp/signer/client.h"

namespace vp::signer {

struct LauncherOptions {
  std::string signer_binary;
  std::string kms_binary;              // "" when the kms runs elsewhere (at kms_socket)
  std::vector<std::string> kms_args;   // arguments after the program name
  std::string kms_socket;
  std::string signer_socket;           // created here, mode 0600
  SecureBuffer launcher_seed;          // Ed25519 seed that signs attestations
  std::optional<uid_t> signer_uid;     // as root: default 65534 (nobody)
  std::optional<gid_t> signer_gid;
  bool debug_measurement = false;      // attest the all-zero (debug) measurement
  bool network_namespace = true;
  int64_t attestation_refresh_s = 300;
  int64_t cache_ttl_s = 300;
  size_t cache_entries = 1024;
  std::string signer_test_seed_hex;    // only honoured by the vaultproof-signer-testseed build
  std::string log_dir;                 // children's stderr: <log_dir>/{kms,signer}.log ("" = inherit)
  int start_timeout_ms = 15000;
};

// SHA-384 of a file's bytes as the launcher measures them.
StatusOr<ByteArray<48>> MeasureFile(const std::string& path);
// Copies the file into a sealed memfd (no more writes, growth or shrinking) and hashes that
// copy: returns the memfd (close-on-exec; the caller owns it) and the SHA-384 of its bytes,
// so what is hashed is exactly what fexecve(memfd) runs. Also used for the prover image.
StatusOr<std::pair<int, ByteArray<48>>> SealImage(const std::string& path);

class Launcher {
 public:
  // Starts the children and waits until the signer is serving (or start_timeout_ms).
  static StatusOr<std::unique_ptr<Launcher>> Start(LauncherOptions options);
  ~Launcher();
  Launcher(const Launcher&) = delete;
  Launcher& operator=(const Launcher&) = delete;

  void Stop();
  SignerClient& client() { return *client_; }
  StatusOr<SignerCredentials> Credentials() const;
  bool WaitUntilUp(int timeout_ms) const;

  bool signer_up() const;
  pid_t signer_pid() const;
  pid_t kms_pid() const;
  int signer_starts() const;
  int kms_starts() const;
  ByteArray<48> measurement() const;
  nlohmann::json StatusJson() const;

 private:
  explicit Launcher(LauncherOptions options);
  void Supervise();
  Status StartKms();
  Status StartSigner();
  Status ServeBootstrap();  // answers refresh requests
  void ReapChildren();
  void KillSigner();

  LauncherOptions options_;
  int listen_fd_ = -1;
  std::unique_ptr<SignerClient> client_;
  std::thread supervisor_;
  std::atomic<bool> stop_{false};

  mutable std::mutex mu_;
  pid_t signer_pid_ = 0;
  pid_t kms_pid_ = 0;
  bool signer_up_ = false;
  int signer_starts_ = 0;
  int kms_starts_ = 0;
  int signer_failures_ = 0;
  int kms_failures_ = 0;
  int64_t signer_next_start_ms_ = 0;
  int64_t kms_next_start_ms_ = 0;
  int64_t signer_up_since_ms_ = 0;
  int64_t kms_up_since_ms_ = 0;
  uint64_t generation_ = 0;
  std::shared_ptr<const SecureBuffer> auth_key_;
  ByteArray<48> measurement_{};
  ByteArray<32> signer_public_{};
  std::string last_error_;
  int boot_fd_ = -1;
};

}  // namespace vp::signer
