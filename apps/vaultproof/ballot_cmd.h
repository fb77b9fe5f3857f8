// The `vaultproof ballot ...` commands (docs/bundle_format.md):
//   ballot simulate [--bots N] [--scenario S0..S5] [--choice K] [--choices A,B,..]
//                   --out bundle.zip [--receipt-out receipt.json]
//       runs a whole election in this process (no server; all randomness from the OS CSPRNG)
//       and prints {"electionId","scenario","scenarioDetail","treeSize","proveMs",
//       "proofBytes","bundleBytes","tally","expectedFailingChecks"}; exit 0.
//   ballot verify bundle.zip [--receipt receipt.json]
//       prints the report {"valid","checks":[...],"tally"} and exits 0 when no check fails,
//       1 when one does or the bundle cannot be read (then {"valid":false,"error"}).
// Usage errors (bad flags, a missing or unreadable path) print {"error","message"} on stderr
// and exit 2.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "vp/base/status.h"

namespace vp::app {

// Adds the `ballot` subcommand tree; the chosen command's exit status goes to *exit_code.
void AddBallotCommands(CLI::App& app, int* exit_code);

struct BallotSimulateArgs {
  uint64_t bots = 63;
  std::string scenario = "S0";
  std::optional<uint32_t> choice;
  std::vector<std::string> choices;  // empty: A..E
  std::string out;
  std::string receipt_out;  // empty: no receipt file
};

// The operations behind the commands. BallotSimulate returns the JSON to print (bad
// arguments are kInvalidArgument). BallotVerify returns the report to print and sets *valid;
// it fails only for usage problems (a path that cannot be read).
StatusOr<nlohmann::json> BallotSimulate(const BallotSimulateArgs& args);
StatusOr<nlohmann::json> BallotVerify(const std::string& bundle_path,
                                      const std::optional<std::string>& receipt_path,
                                      bool* valid);

}  // namespace vp::app
