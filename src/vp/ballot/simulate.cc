// A whole election in one process (simulate.h): votes, bulletin, signed heads, the scenario's
// fraud, the tally proof, the bundle and the receipt.
#include "vp/ballot/simulate.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "vp/ballot/bulletin.h"
#include "vp/ballot/bundle.h"
#include "vp/ballot/sth.h"
#include "vp/ballot/verify_bundle.h"
#include "vp/crypto/ed25519.h"
#include "vp/crypto/random.h"
#include "vp/stark/random.h"

namespace vp::ballot {
namespace {

constexpr std::array<std::string_view, 6> kScenarioNames = {"S0", "S1", "S2", "S3", "S4", "S5"};

// Uniform in [0, n) from the CSPRNG, by rejection (no modulo bias). n >= 1.
StatusOr<uint64_t> RandomBelow(uint64_t n) {
  const uint64_t limit = UINT64_MAX - UINT64_MAX % n;  // a multiple of n
  for (;;) {
    ByteArray<8> b{};
    RETURN_IF_ERROR(crypto::RandomBytes(b));
    uint64_t x = 0;
    for (uint8_t byte : b) x = (x << 8) | byte;
    if (x < limit) return x % n;
  }
}

template <size_t N>
StatusOr<ByteArray<N>> RandomArray() {
  ByteArray<N> out{};
  RETURN_IF_ERROR(crypto::RandomBytes(out));
  return out;
}

// A random (version 4, RFC 9562 variant) UUID.
StatusOr<ElectionId> RandomUuid() {
  ASSIGN_OR_RETURN(ElectionId id, RandomArray<16>());
  id[6] = static_cast<uint8_t>((id[6] & 0x0f) | 0x40);
  id[8] = static_cast<uint8_t>((id[8] & 0x3f) | 0x80);
  return id;
}

uint64_t NowMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

StatusOr<LeafWitness> RandomVote(const ElectionId& election_id, uint32_t num_choices,
                                 std::optional<uint32_t> choice) {
  LeafWitness leaf;
  if (choice) {
    leaf.choice = *choice;
  } else {
    ASSIGN_OR_RETURN(uint64_t c, RandomBelow(num_choices));
    leaf.choice = static_cast<uint32_t>(c);
  }
  ASSIGN_OR_RETURN(leaf.random, RandomArray<32>());
  leaf.commitment = ComputeCommitment(election_id, leaf.choice, leaf.random);
  return leaf;
}

StatusOr<SignedSth> SignHead(ByteSpan log_seed, const LogId& log_id, const BulletinTree& tree,
                             uint64_t tree_size) {
  SignedSth s;
  s.sth.log_id = log_id;
  s.sth.tree_size = tree_size;
  s.sth.timestamp_ms = NowMs();
  ASSIGN_OR_RETURN(s.sth.root, tree.Root(tree_size));
  ASSIGN_OR_RETURN(s.signature, crypto::Ed25519Sign(log_seed, SthMessage(s.sth)));
  return s;
}

// Moves one vote from a choice with votes to the next choice, in one segment and in the
// totals, so the statement stays internally consistent and only the proof can tell.
Status MoveOneVote(TallyStatement& s) {
  for (SegmentStatement& seg : s.segments) {
    for (size_t from = 0; from < seg.counts.size(); ++from) {
      if (seg.counts[from] == 0) continue;
      const size_t to = (from + 1) % seg.counts.size();
      --seg.counts[from];
      ++seg.counts[to];
      --s.counts[from];
      ++s.counts[to];
      return OkStatus();
    }
  }
  return FailedPreconditionError("simulate: no counted vote to move");
}

std::vector<std::string> InReportOrder(std::vector<std::string_view> ids) {
  // The order VerifyBundleFiles reports its checks in.
  static constexpr std::array<std::string_view, 15> kOrder = {
      check_ids::kReceiptPresent,    check_ids::kChoiceValid,
      check_ids::kRandomWellFormed,  check_ids::kCommitmentRecomputes,
      check_ids::kCommitmentOnBoard, check_ids::kRootAtCastConsistent,
      check_ids::kSthSignature,      check_ids::kClaimedEqualsProven,
      check_ids::kNoExcludedSlots,   check_ids::kTreeSizeMatches,
      check_ids::kRootMatches,       check_ids::kMyVoteCounted,
      check_ids::kProofVerifies,     check_ids::kVerifierVersion,
      check_ids::kConfigHashMatches};
  std::vector<std::string> out;
  for (std::string_view id : kOrder) {
    if (std::find(ids.begin(), ids.end(), id) != ids.end()) out.emplace_back(id);
  }
  return out;
}

}  // namespace

StatusOr<Scenario> ParseScenario(std::string_view text) {
  for (size_t i = 0; i < kScenarioNames.size(); ++i) {
    if (text == kScenarioNames[i]) return static_cast<Scenario>(i);
  }
  return InvalidArgumentError("unknown scenario \"" + std::string(text.substr(0, 16)) +
                              "\" (S0, S1, S2, S3, S4 or S5)");
}

std::string_view ScenarioName(Scenario scenario) {
  return kScenarioNames[static_cast<size_t>(scenario)];
}

StatusOr<OperatorPlan> PlanScenario(Scenario scenario, uint64_t n, uint64_t voter_index,
                                    std::optional<bool> s5_recount, std::string dropped_detail) {
  if (n == 0 || voter_index >= n) return InvalidArgumentError("scenario: the voter's leaf is not in the tally");
  OperatorPlan plan;
  plan.scenario = scenario;
  std::vector<std::string_view> expected;
  switch (scenario) {
    case Scenario::kS0:
      plan.detail = "honest";
      break;
    case Scenario::kS1:
      plan.excluded_leaf = voter_index;
      plan.detail = "the voter's vote (bulletin index " + std::to_string(voter_index) +
                    ") is excluded from the tally";
      expected = {check_ids::kNoExcludedSlots, check_ids::kMyVoteCounted};
      break;
    case Scenario::kS2:
      plan.false_journal = true;
      plan.detail = "the published tally differs from the proven one by one vote";
      expected = {check_ids::kClaimedEqualsProven};
      break;
    case Scenario::kS3:
      plan.detail = (dropped_detail.empty() ? std::string("a bot") : dropped_detail) +
                    "'s vote was never appended to the bulletin";
      expected = {check_ids::kTreeSizeMatches};
      break;
    case Scenario::kS4:
      plan.recount = true;
      plan.detail = "one vote moved between choices in the statement after proving";
      expected = {check_ids::kProofVerifies};
      break;
    case Scenario::kS5: {
      bool recount = false;
      if (s5_recount) {
        recount = *s5_recount;
      } else {
        ASSIGN_OR_RETURN(uint64_t coin, RandomBelow(2));
        recount = coin == 1;
      }
      if (recount) {
        plan.recount = true;
        plan.detail = "recount: one vote moved between choices after proving";
        expected = {check_ids::kProofVerifies};
      } else {
        ASSIGN_OR_RETURN(uint64_t victim, RandomBelow(n));
        plan.excluded_leaf = victim;
        plan.detail = "drop: the vote at bulletin index " + std::to_string(victim) +
                      (victim == voter_index ? " (the voter's)" : "") + " is excluded from the tally";
        expected = {check_ids::kNoExcludedSlots};
        if (victim == voter_index) expected.push_back(check_ids::kMyVoteCounted);
      }
      break;
    }
  }
  plan.expected_failures = InReportOrder(std::move(expected));
  return plan;
}

StatusOr<BundleFiles> MakeBundleFiles(const BundleContext& context, TallyProof proof,
                                      const OperatorPlan& plan, Journal* journal_out) {
  TallyStatement statement = std::move(proof.statement);
  if (plan.recount) RETURN_IF_ERROR(MoveOneVote(statement));
  Journal journal = JournalFromStatement(statement, context.config);
  if (plan.false_journal) {
    // One vote moves between two choices; with nothing counted, one appears from nowhere.
    auto& tally = journal.tally;
    const auto from = std::find_if(tally.begin(), tally.end(),
                                   [](const auto& kv) { return kv.second > 0; });
    if (from == tally.end()) {
      ++tally[context.config.choices[0]];
    } else {
      --from->second;
      auto to = std::next(from);
      if (to == tally.end()) to = tally.begin();
      ++to->second;
    }
  }
  ElectionManifest manifest;
  manifest.config = context.config;
  manifest.config_hash = ElectionConfigHash(context.config);
  manifest.log_public_key = context.log_public_key;
  manifest.proof_options = context.proof_options;
  manifest.verifier_version = std::string(TallyAirName(statement.version));
  manifest.min_security_bits = kMinSecurityBitsFloor;

  BundleFiles files;
  files.proof = SerializeSegmentProofs(proof.segments);
  files.public_input = CanonicalJson(StatementToJson(statement));
  files.manifest = CanonicalJson(ManifestToJson(manifest));
  files.close_statement = CanonicalJson(SignedSthToJson(context.close));
  files.journal = CanonicalJson(JournalToJson(journal));
  if (journal_out != nullptr) *journal_out = std::move(journal);
  return files;
}

StatusOr<Simulation> SimulateElection(const SimulateOptions& o) {
  Simulation sim;
  sim.scenario = o.scenario;
  ElectionConfig& config = sim.config;
  config.choices = o.choices;
  config.bot_count = o.bot_count;
  ASSIGN_OR_RETURN(config.election_id, RandomUuid());
  ASSIGN_OR_RETURN(config.log_id, RandomArray<32>());
  RETURN_IF_ERROR(ValidateElectionConfig(config));
  const auto k = static_cast<uint32_t>(config.choices.size());
  if (o.choice && *o.choice >= k) {
    return InvalidArgumentError("simulate: choice " + std::to_string(*o.choice) +
                                " is not below the " + std::to_string(k) + " choices");
  }
  if (o.bots_before_voter > o.bot_count) {
    return InvalidArgumentError("simulate: more bots before the voter than bots");
  }
  if (o.scenario == Scenario::kS3 && o.bot_count == 0) {
    return InvalidArgumentError("simulate: S3 drops a bot's vote and needs at least one bot");
  }
  const HashOut config_hash = ElectionConfigHash(config);
  ASSIGN_OR_RETURN(SecureBuffer log_seed, crypto::Ed25519GenerateSeed());
  ASSIGN_OR_RETURN(crypto::Ed25519Public log_public, crypto::Ed25519PublicKey(log_seed.view()));

  // S3: one bot (by its position among the bots) never reaches the bulletin.
  std::optional<uint64_t> dropped_bot;
  if (o.scenario == Scenario::kS3) {
    ASSIGN_OR_RETURN(uint64_t b, RandomBelow(o.bot_count));
    dropped_bot = b;
  }

  BulletinTree tree;
  tree.Reserve(config.ExpectedVotes());
  std::vector<LeafWitness> leaves;
  leaves.reserve(static_cast<size_t>(config.ExpectedVotes()));
  auto cast_bot = [&](uint64_t bot) -> Status {
    ASSIGN_OR_RETURN(LeafWitness leaf, RandomVote(config.election_id, k, std::nullopt));
    if (dropped_bot && *dropped_bot == bot) return OkStatus();
    tree.Append(leaf.commitment);
    leaves.push_back(leaf);
    return OkStatus();
  };
  for (uint64_t b = 0; b < o.bots_before_voter; ++b) RETURN_IF_ERROR(cast_bot(b));

  // The voter's vote and receipt at cast.
  ASSIGN_OR_RETURN(LeafWitness mine, RandomVote(config.election_id, k, o.choice));
  const uint64_t my_index = tree.Append(mine.commitment);
  leaves.push_back(mine);
  Receipt& receipt = sim.receipt;
  ASSIGN_OR_RETURN(ElectionId vote_id, RandomUuid());
  receipt.vote_id = FormatElectionId(vote_id);
  receipt.commitment = mine.commitment;
  receipt.bulletin_index = my_index;
  receipt.tree_size_at_cast = tree.size();
  receipt.bulletin_root_at_cast = tree.Root();
  ASSIGN_OR_RETURN(receipt.sth, SignHead(log_seed.view(), config.log_id, tree, tree.size()));
  receipt.timestamp_ms = receipt.sth.sth.timestamp_ms;
  receipt.vote = mine.choice;
  receipt.rand = FormatVoteRandom(mine.random);

  for (uint64_t b = o.bots_before_voter; b < o.bot_count; ++b) RETURN_IF_ERROR(cast_bot(b));
  const uint64_t n = tree.size();
  ASSIGN_OR_RETURN(SignedSth close, SignHead(log_seed.view(), config.log_id, tree, n));

  // The evidence the voter fetches after close.
  ASSIGN_OR_RETURN(std::vector<HashOut> path, tree.InclusionProof(my_index, n));
  receipt.inclusion = InclusionEvidence{my_index, n, std::move(path)};
  ASSIGN_OR_RETURN(std::vector<HashOut> consistency,
                   tree.ConsistencyProof(receipt.tree_size_at_cast, n));
  receipt.consistency = ConsistencyEvidence{receipt.tree_size_at_cast, n, std::move(consistency)};

  // The operator's choices before proving.
  ASSIGN_OR_RETURN(OperatorPlan plan,
                   PlanScenario(o.scenario, n, my_index, o.s5_recount,
                                dropped_bot ? "bot " + std::to_string(*dropped_bot) : ""));
  if (plan.excluded_leaf) leaves[static_cast<size_t>(*plan.excluded_leaf)].excluded = true;
  sim.scenario_detail = plan.detail;

  TallyInput input;
  input.election_id = config.election_id;
  input.config_hash = config_hash;
  input.num_choices = k;
  input.leaves = std::move(leaves);
  input.max_segment_leaves = o.max_segment_leaves;
  input.block_leaves = o.block_leaves;
  stark::SystemRandom masks;
  const auto t0 = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(TallyProof proof, ProveTally(input, o.proof_options, masks));
  sim.prove_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();

  BundleContext context;
  context.config = config;
  context.log_public_key = log_public;
  context.proof_options = o.proof_options;
  context.close = close;
  ASSIGN_OR_RETURN(sim.files, MakeBundleFiles(context, std::move(proof), plan, &sim.journal));
  sim.proof_bytes = sim.files.proof.size();
  ASSIGN_OR_RETURN(sim.bundle_zip, WriteBundleZip(sim.files));
  sim.receipt_json = ReceiptToJson(receipt).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  sim.expected_failures = plan.expected_failures;
  return sim;
}

}  // namespace vp::ballot
