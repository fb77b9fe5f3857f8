// `vaultproof ballot simulate|verify`: one simulated election into a bundle and a receipt,
// and every verification check on a bundle; prints one JSON object.
#include "ballot_cmd.h"

#include "cli_io.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>

#include "vp/ballot/bundle.h"
#include "vp/ballot/simulate.h"
#include "vp/stark/prover.h"
#include "vp/ballot/verify_bundle.h"

namespace vp::app {
namespace {

constexpr size_t kMaxReceiptBytes = size_t{1} << 20;

// Reads at most max_bytes + 1 bytes: *too_large says whether the file is longer. kNotFound
// when the path cannot be opened (a usage error).
StatusOr<Bytes> ReadFileBounded(const std::string& path, size_t max_bytes, bool* too_large) {
  *too_large = false;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NotFoundError("cannot open " + path + ": " + std::strerror(errno));
  Bytes out;
  uint8_t chunk[1 << 16];
  for (;;) {
    const ssize_t r = ::read(fd, chunk, sizeof(chunk));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      const int err = errno;
      ::close(fd);
      return UnavailableError("cannot read " + path + ": " + std::strerror(err));
    }
    if (r == 0) break;
    out.insert(out.end(), chunk, chunk + r);
    if (out.size() > max_bytes) {
      *too_large = true;
      break;
    }
  }
  ::close(fd);
  return out;
}

Status WriteFile(const std::string& path, ByteSpan data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return InvalidArgumentError("cannot write " + path);
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  out.close();
  if (!out) return InvalidArgumentError("cannot write " + path);
  return OkStatus();
}

}  // namespace

StatusOr<nlohmann::json> BallotSimulate(const BallotSimulateArgs& a) {
  if (a.out.empty()) return InvalidArgumentError("--out is required");
  stark::KeepFreedMemoryForProving();
  ballot::SimulateOptions o;
  ASSIGN_OR_RETURN(o.scenario, ballot::ParseScenario(a.scenario));
  if (a.bots > ballot::kMaxBotCount) {
    return InvalidArgumentError("--bots must be at most 2^24 (16777216)");
  }
  o.bot_count = a.bots;
  o.choice = a.choice;
  if (!a.choices.empty()) o.choices = a.choices;
  ASSIGN_OR_RETURN(ballot::Simulation sim, ballot::SimulateElection(o));
  RETURN_IF_ERROR(WriteFile(a.out, sim.bundle_zip));
  if (!a.receipt_out.empty()) RETURN_IF_ERROR(WriteFile(a.receipt_out, AsBytes(sim.receipt_json)));
  nlohmann::json tally = nlohmann::json::object();
  for (const auto& [name, count] : sim.journal.tally) tally[name] = count;
  return nlohmann::json{{"electionId", ballot::FormatElectionId(sim.config.election_id)},
                        {"scenario", std::string(ballot::ScenarioName(sim.scenario))},
                        {"scenarioDetail", sim.scenario_detail},
                        {"treeSize", sim.journal.tree_size},
                        {"proveMs", sim.prove_ms},
                        {"proofBytes", sim.proof_bytes},
                        {"bundleBytes", sim.bundle_zip.size()},
                        {"tally", std::move(tally)},
                        {"expectedFailingChecks", sim.expected_failures}};
}

StatusOr<nlohmann::json> BallotVerify(const std::string& bundle_path,
                                      const std::optional<std::string>& receipt_path,
                                      bool* valid) {
  *valid = false;
  bool too_large = false;
  ASSIGN_OR_RETURN(Bytes zip, ReadFileBounded(bundle_path, ballot::kMaxBundleBytes, &too_large));
  std::optional<std::string> receipt;
  if (receipt_path) {
    bool receipt_too_large = false;
    ASSIGN_OR_RETURN(Bytes r, ReadFileBounded(*receipt_path, kMaxReceiptBytes, &receipt_too_large));
    if (receipt_too_large) {
      return InvalidArgumentError(*receipt_path + " is larger than 1 MiB: not a receipt");
    }
    receipt = std::string(r.begin(), r.end());
  }
  if (too_large) {
    return ballot::ReportToJson(ballot::UnreadableBundleReport(
        "bundle: " + bundle_path + " is larger than " + std::to_string(ballot::kMaxBundleBytes) +
        " bytes"));
  }
  const ballot::VerificationReport report = ballot::VerifyBundleZip(zip, receipt);
  *valid = report.valid;
  return ballot::ReportToJson(report);
}

void AddBallotCommands(CLI::App& app, int* exit_code) {
  CLI::App* ballot = app.add_subcommand("ballot", "Simulate and verify ballot elections");
  ballot->require_subcommand(1);

  auto args = std::make_shared<BallotSimulateArgs>();
  auto choice = std::make_shared<uint32_t>(0);
  CLI::App* simulate = ballot->add_subcommand(
      "simulate", "Run one election in this process; writes bundle.zip and the voter's receipt");
  simulate->add_option("--bots", args->bots, "bot votes besides the voter's (default 63)");
  simulate->add_option("--scenario", args->scenario, "S0 (honest) .. S5 (default S0)");
  CLI::Option* choice_opt =
      simulate->add_option("--choice", *choice, "the voter's choice index (default: random)");
  simulate->add_option("--choices", args->choices, "choice names (default A,B,C,D,E)")
      ->delimiter(',');
  simulate->add_option("--out", args->out, "bundle.zip to write")->required();
  simulate->add_option("--receipt-out", args->receipt_out, "receipt.json to write");
  simulate->callback([args, choice, choice_opt, exit_code] {
    if (choice_opt->count() > 0) args->choice = *choice;
    EmitJson(exit_code, [&] { return BallotSimulate(*args); });
  });

  auto bundle = std::make_shared<std::string>();
  auto receipt = std::make_shared<std::string>();
  CLI::App* verify = ballot->add_subcommand("verify", "Run every verification check on a bundle");
  verify->add_option("bundle", *bundle, "bundle.zip")->required();
  CLI::Option* receipt_opt =
      verify->add_option("--receipt", *receipt, "the voter's receipt.json");
  verify->callback([bundle, receipt, receipt_opt, exit_code] {
    bool valid = false;
    const std::optional<std::string> receipt_path =
        receipt_opt->count() > 0 ? std::optional<std::string>(*receipt) : std::nullopt;
    auto r = BallotVerify(*bundle, receipt_path, &valid);
    if (!r.ok()) {
      PrintError(r.status());
      *exit_code = 2;
      return;
    }
    PrintJson(*r);
    *exit_code = valid ? 0 : 1;
  });
}

}  // namespace vp::app
