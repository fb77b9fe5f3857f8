// The `vaultproof stark ...` commands (the contract is in the README and docs/proof_format.md):
//   stark prove  --air poseidon2-chain --length N --seed S --out proof.bin
//       prints {"publicInputs","proofBytes","proveMs","traceRows",
//               "conjecturedSecurityBits","provenSecurityBits"}; exit 0.
//   stark verify --air poseidon2-chain --proof proof.bin
//       prints {"valid": true, ...} and exits 0, or {"valid": false, "reason"} and exits 1.
// Usage errors (bad flags, unknown AIR, unreadable files) print {"error","message"} on stderr
// and exit 2. --seed seeds only the witness; zero-knowledge masks come from the OS CSPRNG.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

#include "vp/base/status.h"

namespace vp::app {

// Adds the `stark` subcommand tree; the chosen command's exit status goes to *exit_code.
void AddStarkCommands(CLI::App& app, int* exit_code);

struct StarkProveArgs {
  std::string air = "poseidon2-chain";
  uint64_t length = 1024;
  uint64_t seed = 0;
  std::string out;
  // Proof options (defaults: 100 conjectured bits, zero knowledge on).
  unsigned blowup_log = 3, queries = 28, grinding = 16, folding_log = 3, remainder_log = 6;
  bool no_zk = false;
};

// The operations behind the commands. StarkProve returns the JSON to print (usage problems
// are kInvalidArgument). StarkVerify never fails: it returns {"valid": ...} and sets *valid.
StatusOr<nlohmann::json> StarkProve(const StarkProveArgs& args);
StatusOr<nlohmann::json> StarkVerify(const std::string& air, const std::string& proof_path,
                                     bool* valid);

}  // namespace vp::app
