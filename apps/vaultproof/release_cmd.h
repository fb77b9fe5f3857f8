// The `vaultproof release ...` commands: the release key that signs prover images
// (src/vp/prover/prover_image.h).
//   release keygen --out release.key             writes a new Ed25519 seed (hex, mode 0600),
//                                                 prints {"publicKey"}; never overwrites
//   release sign-prover --key release.key --image PATH
//                                                 writes PATH.sig, prints {"image","sha384","publicKey"}
//   release check-prover --public-key HEX --image PATH
//                                                 prints {"valid": true} (exit 0) or
//                                                 {"valid": false, "reason"} (exit 1)
// Usage errors print the error envelope on stderr and exit 2.
#pragma once

#include <CLI/CLI.hpp>

namespace vp::app {

void AddReleaseCommands(CLI::App& app, int* exit_code);

}  // namespace vp::app
