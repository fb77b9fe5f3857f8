// The `pkcs11` master-key backend: master keys are non-extractable AES-256 objects in a
// PKCS#11 token (an HSM; SoftHSM2 in tests), so the key bytes never enter this process.
// The module is dlopen'ed (no link-time dependency on any vendor library). Objects are
// labelled "<prefix>-<n>" and exposed as key ids "mk-<n>"; the highest n is active and the
// others are being retired. Details: docs/kms.md, "PKCS#11 backend".
//
//   Pkcs11Config cfg{"/usr/lib/softhsm/libsofthsm2.so", "vaultproof"};
//   ASSIGN_OR_RETURN(SecureBuffer pin, ReadPassphraseFile("/run/secrets/hsm-pin"));
//   ASSIGN_OR_RETURN(auto backend, OpenPkcs11Backend(cfg, std::move(pin)));
#pragma once

#include <memory>
#include <string>

#include "vp/kms/master_key.h"

namespace vp::kms {

struct Pkcs11Config {
  std::string module_path;
  std::string token_label;
  std::string key_label_prefix = "vaultproof-master";
};

// Loads the module, finds the token by label, opens one read-write session and logs in as
// the user. If no key object "<prefix>-<n>" exists, generates "<prefix>-1" on the token.
// Errors: kInvalidArgument for an empty PIN or bad labels; kFailedPrecondition if the module
// cannot be loaded, two tokens carry the label, the token is already logged in by another
// backend in this process (its PIN would go unchecked), or a key object with our label is
// extractable, not sensitive or not AES-256; kNotFound if no token has the label;
// kUnauthenticated for a wrong or locked PIN; kUnavailable for other token failures.
StatusOr<std::unique_ptr<MasterKeyBackend>> OpenPkcs11Backend(const Pkcs11Config& config, SecureBuffer pin);

}  // namespace vp::kms
