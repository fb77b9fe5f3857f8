// A whole custody stack for tests and benchmarks: a temp folder with a sealed master key
// (or a SoftHSM2 token), a key policy pinning this launcher's key and the signer's
// measurement, and a Launcher running the real vaultproof-kms and vaultproof-signer
// binaries from VP_BIN_DIR (set by ctest; bench passes it explicitly).
//
//   CustodyStack stack;                           // defaults: file backend, real signer
//   ASSERT_TRUE(stack.Start().ok());
//   auto key = stack.launcher().client().CreateKey(ctx);
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "vp/kms/policy.h"
#include "vp/signer/launcher.h"

namespace vp::signer {

struct CustodyStackOptions {
  std::string backend = "file";          // "file" | "pkcs11" (SoftHSM2)
  std::string signer_binary;             // default: $VP_BIN_DIR/vaultproof-signer
  bool debug_measurement = false;
  std::string test_seed_hex;             // uses vaultproof-signer-testseed when set
  // Last chance to edit the policy before it is written (e.g. drop the measurement).
  std::function<void(kms::KeyPolicy&)> edit_policy;
  int64_t attestation_refresh_s = 300;
  int64_t cache_ttl_s = 300;
};

class CustodyStack {
 public:
  explicit CustodyStack(CustodyStackOptions options = {});
  ~CustodyStack();

  Status Start();
  void Stop();
  Launcher& launcher() { return *launcher_; }
  const std::string& dir() const { return dir_; }
  std::string kms_socket() const { return dir_ + "/kms.sock"; }
  std::string kms_audit_log() const { return dir_ + "/kms-audit.log"; }
  const std::string& bin_dir() const { return bin_dir_; }
  // The launcher key, kept for tests that play an attacker who stole it.
  ByteSpan launcher_seed() const { return launcher_seed_.view(); }
  const ByteArray<48>& measurement() const { return measurement_; }

 private:
  Status PrepareBackend(std::vector<std::string>& kms_args);

  CustodyStackOptions options_;
  std::string dir_;
  std::string bin_dir_;
  std::unique_ptr<Launcher> launcher_;
  SecureBuffer launcher_seed_;
  ByteArray<48> measurement_{};
};

}  // namespace vp::signer
