// One whole election in one process, no server: the voter's vote and the bots', the bulletin
// log with its signed tree heads (an ephemeral Ed25519 log key), the tally proof, the bundle
// and the voter's receipt, with the operator playing one of the scenarios S0..S5
// (docs/bundle_format.md, section 9). All randomness is the OS CSPRNG.
//
//   SimulateOptions o;                       // 63 bots, choices A..E, honest (S0)
//   o.scenario = Scenario::kS1;               // the operator drops the voter's vote
//   ASSIGN_OR_RETURN(Simulation sim, SimulateElection(o));
//   VerificationReport r = VerifyBundleZip(sim.bundle_zip, sim.receipt_json);
//   // r.FailedChecks() == sim.expected_failures
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vp/ballot/election.h"
#include "vp/ballot/tally.h"
#include "vp/base/bytes.h"
#include "vp/base/status.h"
#include "vp/stark/options.h"

namespace vp::ballot {

enum class Scenario {
  kS0,  // honest
  kS1,  // the operator excludes the voter's leaf from the tally (the proof is valid)
  kS2,  // the journal publishes a tally other than the proven one
  kS3,  // one bot's vote is never appended to the bulletin
  kS4,  // one vote moved between choices in the statement after proving (journal to match)
  kS5,  // at random (CSPRNG): exclude a random leaf (as S1) or recount (as S4)
};
// "S0".."S5"; kInvalidArgument for anything else.
StatusOr<Scenario> ParseScenario(std::string_view text);
std::string_view ScenarioName(Scenario scenario);

struct SimulateOptions {
  uint64_t bot_count = 63;
  Scenario scenario = Scenario::kS0;
  std::optional<uint32_t> choice;  // the voter's choice index; random when absent
  std::vector<std::string> choices = DefaultChoices();
  // How many bots vote before the voter (the service's voter is first: 0).
  uint64_t bots_before_voter = 0;
  stark::ProofOptions proof_options = TallyProofOptions();
  uint64_t max_segment_leaves = kDefaultMaxSegmentLeaves;
  uint64_t block_leaves = kDefaultBlockLeaves;
  // S5's draw, fixed for tests (true: recount, false: exclusion); absent: the CSPRNG draws.
  std::optional<bool> s5_recount;
};

struct Simulation {
  ElectionConfig config;
  Scenario scenario = Scenario::kS0;
  std::string scenario_detail;         // what the operator did
  BundleFiles files;                   // the bundle's files
  Bytes bundle_zip;                    // and the archive
  Receipt receipt;
  std::string receipt_json;            // receipt.json as the voter keeps it
  Journal journal;                     // the published result
  // The check ids that must fail when the bundle is verified with the receipt, in report
  // order (empty for S0).
  std::vector<std::string> expected_failures;
  double prove_ms = 0;
  size_t proof_bytes = 0;              // proof.bin
};

// The operator's part of a scenario, shared by the simulator and the ballot service's
// finalization. S3 happens on the bulletin (the caller leaves one bot's vote out of the tree
// it proves and closes); the others happen to the tally: an exclusion before proving, a
// recount of the statement or a false journal after.
struct OperatorPlan {
  Scenario scenario = Scenario::kS0;
  std::string detail;                          // what the operator did
  std::vector<std::string> expected_failures;  // check ids, in report order
  std::optional<uint64_t> excluded_leaf;       // S1, S5 (drop): mark it excluded before proving
  bool recount = false;                        // S4, S5 (recount): move a vote after proving
  bool false_journal = false;                  // S2: publish a tally other than the proven one
};
// n: leaves the tally covers; voter_index: the voter's leaf; s5_recount as in SimulateOptions.
// For S3, dropped_detail names the vote the caller left out. The CSPRNG draws S5's choices.
StatusOr<OperatorPlan> PlanScenario(Scenario scenario, uint64_t n, uint64_t voter_index,
                                    std::optional<bool> s5_recount = std::nullopt,
                                    std::string dropped_detail = "");

// What a bundle needs besides the proof.
struct BundleContext {
  ElectionConfig config;
  Ed25519PublicKey log_public_key{};
  stark::ProofOptions proof_options = TallyProofOptions();
  SignedSth close;  // the signed tree head at close
};
// Applies the plan's after-proving fraud (recount, false journal) and writes the five files.
// journal_out (optional) receives the published journal.
StatusOr<BundleFiles> MakeBundleFiles(const BundleContext& context, TallyProof proof,
                                      const OperatorPlan& plan, Journal* journal_out = nullptr);

// kInvalidArgument for bad options (a config ValidateElectionConfig refuses, a choice out of
// range, bots_before_voter > bot_count, S3 without bots); the prover's error otherwise.
StatusOr<Simulation> SimulateElection(const SimulateOptions& options);

}  // namespace vp::ballot
