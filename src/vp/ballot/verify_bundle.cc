// The bundle's verification checks (docs/bundle_format.md, section 9). Each file is parsed
// once, on its own, so one unreadable file fails only the checks that need it and the report
// still says what the others found.
#include "vp/ballot/verify_bundle.h"

#include <algorithm>
#include <exception>
#include <set>

#include "vp/ballot/bulletin.h"
#include "vp/ballot/tally.h"
#include "vp/stark/proof.h"
#include "vp/stark/verifier.h"

namespace vp::ballot {
namespace {

using nlohmann::json;

constexpr std::string_view kCastAsIntended = "cast-as-intended";
constexpr std::string_view kRecordedAsCast = "recorded-as-cast";
constexpr std::string_view kCountedAsRecorded = "counted-as-recorded";
constexpr std::string_view kProofGroup = "proof";

template <typename T>
struct Parsed {
  std::optional<T> value;
  std::string error;
};

template <typename T, typename Fn>
Parsed<T> ParseFile(std::string_view text, std::string_view file, Fn&& from_json) {
  Parsed<T> p;
  StatusOr<json> doc = ParseCanonicalJson(text, file);
  if (!doc.ok()) {
    p.error = doc.status().message();
    return p;
  }
  StatusOr<T> v = from_json(*doc);
  if (!v.ok()) {
    p.error = std::string(file) + ": " + v.status().message();
    return p;
  }
  p.value = std::move(*v);
  return p;
}

struct Docs {
  Parsed<ElectionManifest> manifest;
  Parsed<TallyStatement> statement;
  Parsed<SignedSth> close;
  Parsed<Journal> journal;
  Parsed<std::vector<Bytes>> proofs;
  bool receipt_given = false;
  Parsed<Receipt> receipt;
};

struct Outcome {
  CheckStatus status;
  std::string detail;
};
Outcome Pass(std::string d) { return {CheckStatus::kPass, std::move(d)}; }
Outcome Fail(std::string d) { return {CheckStatus::kFail, std::move(d)}; }
Outcome Skip(std::string d) { return {CheckStatus::kSkipped, std::move(d)}; }

// The outcome of a check whose input could not be read, or nullopt when all are there.
template <typename T>
std::optional<Outcome> Missing(const Parsed<T>& p) {
  if (p.value) return std::nullopt;
  return Fail("cannot check: " + p.error);
}
std::optional<Outcome> MissingReceipt(const Docs& d) {
  if (!d.receipt_given) return Skip("no receipt given: this check needs the voter's receipt.json");
  if (!d.receipt.value) return Skip("the receipt is unreadable (see receiptPresent)");
  return std::nullopt;
}

std::string Join(const std::vector<std::string>& parts) {
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : "; ") + p;
  return out;
}

std::string IndexList(std::span<const uint64_t> xs) {
  std::string out;
  const size_t shown = std::min<size_t>(xs.size(), 10);
  for (size_t i = 0; i < shown; ++i) out += (i ? ", " : "") + std::to_string(xs[i]);
  if (xs.size() > shown) out += ", ... (" + std::to_string(xs.size()) + " in all)";
  return out;
}

// "1 leaf", "64 leaves".
std::string Leaves(uint64_t n) { return std::to_string(n) + (n == 1 ? " leaf" : " leaves"); }

bool Contains(std::span<const uint64_t> sorted_or_not, uint64_t x) {
  return std::find(sorted_or_not.begin(), sorted_or_not.end(), x) != sorted_or_not.end();
}

// ---- cast-as-intended ----------------------------------------------------------------------

Outcome ReceiptPresent(const Docs& d) {
  if (!d.receipt_given) {
    return Skip("no receipt given: the checks of the voter's own vote need receipt.json");
  }
  if (!d.receipt.value) return Fail(d.receipt.error);
  return Pass("receipt of vote " + d.receipt.value->vote_id + " at bulletin index " +
              std::to_string(d.receipt.value->bulletin_index));
}

Outcome ChoiceValid(const Docs& d) {
  if (auto m = MissingReceipt(d)) return *m;
  if (auto m = Missing(d.manifest)) return *m;
  const Receipt& r = *d.receipt.value;
  const auto& choices = d.manifest.value->config.choices;
  if (r.vote >= choices.size()) {
    return Fail("vote " + std::to_string(r.vote) + " is not a choice: the election has " +
                std::to_string(choices.size()) + " choices (0 to " +
                std::to_string(choices.size() - 1) + ")");
  }
  return Pass("vote " + std::to_string(r.vote) + " is the choice \"" +
              choices[static_cast<size_t>(r.vote)] + "\"");
}

Outcome RandomWellFormed(const Docs& d) {
  if (auto m = MissingReceipt(d)) return *m;
  const StatusOr<VoteRandom> r = ParseVoteRandom(d.receipt.value->rand);
  if (!r.ok()) return Fail("receipt.rand: " + r.status().message());
  return Pass("rand is a 256-bit random (64 lower-case hex digits)");
}

Outcome CommitmentRecomputes(const Docs& d) {
  if (auto m = MissingReceipt(d)) return *m;
  if (auto m = Missing(d.manifest)) return *m;
  const Receipt& r = *d.receipt.value;
  const StatusOr<VoteRandom> random = ParseVoteRandom(r.rand);
  if (!random.ok() || r.vote > UINT32_MAX) {
    return Fail("cannot recompute the commitment without a well-formed vote and random");
  }
  const ElectionConfig& config = d.manifest.value->config;
  const HashOut c = ComputeCommitment(config.election_id, static_cast<uint32_t>(r.vote), *random);
  if (c != r.commitment) {
    return Fail("the commitment of (election " + FormatElectionId(config.election_id) +
                ", vote " + std::to_string(r.vote) + ", rand) is " + FormatHash(c) +
                ", the receipt holds " + FormatHash(r.commitment) +
                ": the receipt is not of this vote in this election");
  }
  return Pass("the receipt's commitment opens to vote " + std::to_string(r.vote) +
              " with the voter's random in election " + FormatElectionId(config.election_id));
}

// ---- recorded-as-cast ----------------------------------------------------------------------

Outcome CommitmentOnBoard(const Docs& d) {
  if (auto m = MissingReceipt(d)) return *m;
  if (auto m = Missing(d.close)) return *m;
  const Receipt& r = *d.receipt.value;
  const Sth& close = d.close.value->sth;
  if (!r.inclusion) {
    return Fail("the receipt has no inclusion proof (fetch it after close from "
                "/api/bulletin/{voteId}/proof)");
  }
  const InclusionEvidence& inc = *r.inclusion;
  if (inc.leaf_index != r.bulletin_index) {
    return Fail("the inclusion proof is for leaf " + std::to_string(inc.leaf_index) +
                ", the receipt's bulletin index is " + std::to_string(r.bulletin_index));
  }
  if (inc.tree_size != close.tree_size) {
    return Fail("the inclusion proof is for a tree of " + std::to_string(inc.tree_size) +
                " leaves, the close statement's tree has " + std::to_string(close.tree_size));
  }
  const Status s =
      VerifyCommitmentInclusion(r.commitment, r.bulletin_index, close.tree_size, inc.path, close.root);
  if (!s.ok()) {
    return Fail("the commitment is not leaf " + std::to_string(r.bulletin_index) +
                " of the closing tree: " + s.message());
  }
  return Pass("the commitment is leaf " + std::to_string(r.bulletin_index) +
              " of the closing tree of " + Leaves(close.tree_size));
}

Outcome RootAtCastConsistent(const Docs& d) {
  if (auto m = MissingReceipt(d)) return *m;
  if (auto m = Missing(d.close)) return *m;
  const Receipt& r = *d.receipt.value;
  const Sth& close = d.close.value->sth;
  if (r.sth.sth.tree_size != r.tree_size_at_cast || r.sth.sth.root != r.bulletin_root_at_cast) {
    return Fail("the receipt's signed tree head (size " + std::to_string(r.sth.sth.tree_size) +
                ") is not the tree at cast (size " + std::to_string(r.tree_size_at_cast) +
                ", root " + FormatHash(r.bulletin_root_at_cast) + ")");
  }
  if (r.bulletin_index >= r.tree_size_at_cast) {
    return Fail("bulletin index " + std::to_string(r.bulletin_index) +
                " is not inside the tree at cast of " + Leaves(r.tree_size_at_cast));
  }
  if (!r.consistency) {
    return Fail("the receipt has no consistency proof (fetch it after close from "
                "/api/bulletin/consistency-proof)");
  }
  const ConsistencyEvidence& c = *r.consistency;
  if (c.old_size != r.tree_size_at_cast || c.new_size != close.tree_size) {
    return Fail("the consistency proof is from size " + std::to_string(c.old_size) + " to " +
                std::to_string(c.new_size) + ", the receipt and close statement need " +
                std::to_string(r.tree_size_at_cast) + " to " + std::to_string(close.tree_size));
  }
  const Status s =
      VerifyConsistency(c.old_size, c.new_size, r.bulletin_root_at_cast, close.root, c.proof);
  if (!s.ok()) {
    return Fail("the tree at cast is not a prefix of the closing tree: " + s.message());
  }
  return Pass("the tree of " + Leaves(c.old_size) + " at cast is a prefix of the closing tree of " +
              Leaves(c.new_size));
}

Outcome SthSignature(const Docs& d, const KeyedEd25519VerifyFn& ed25519_verify) {
  if (auto m = Missing(d.manifest)) return *m;
  if (auto m = Missing(d.close)) return *m;
  const ElectionManifest& manifest = *d.manifest.value;
  const Ed25519VerifyFn verify = [&](ByteSpan message, ByteSpan signature) {
    return ed25519_verify && ed25519_verify(manifest.log_public_key, message, signature);
  };
  auto check = [&](const SignedSth& sth, std::string_view which) -> std::optional<Outcome> {
    if (sth.sth.log_id != manifest.config.log_id) {
      return Fail(std::string(which) + " is for log " + FormatLogId(sth.sth.log_id) +
                  ", the election's log is " + FormatLogId(manifest.config.log_id));
    }
    const Status s = VerifySthSignature(sth, verify);
    if (!s.ok()) {
      return Fail(std::string(which) + ": " + s.message() + " (" +
                  FormatLowerHex(manifest.log_public_key) + ")");
    }
    return std::nullopt;
  };
  if (auto f = check(*d.close.value, "the close statement")) return *f;
  const bool with_receipt = d.receipt_given && d.receipt.value;
  if (with_receipt) {
    if (auto f = check(d.receipt.value->sth, "the receipt's tree head")) return *f;
  }
  return Pass(std::string(with_receipt ? "the close statement and the receipt's tree head are"
                                       : "the close statement is") +
              " signed by the log key " + FormatLowerHex(manifest.log_public_key));
}

// ---- counted-as-recorded -------------------------------------------------------------------

Outcome ClaimedEqualsProven(const Docs& d) {
  if (auto m = Missing(d.journal)) return *m;
  if (auto m = Missing(d.statement)) return *m;
  if (auto m = Missing(d.manifest)) return *m;
  const Journal& j = *d.journal.value;
  const TallyStatement& s = *d.statement.value;
  const auto& choices = d.manifest.value->config.choices;
  std::vector<std::string> diffs;
  if (s.counts.size() != choices.size()) {
    return Fail("the statement counts " + std::to_string(s.counts.size()) + " choices, the " +
                "election has " + std::to_string(choices.size()));
  }
  for (size_t i = 0; i < choices.size(); ++i) {
    const auto it = j.tally.find(choices[i]);
    if (it == j.tally.end()) {
      diffs.push_back("the journal has no tally for \"" + choices[i] + "\"");
    } else if (it->second != s.counts[i]) {
      diffs.push_back("\"" + choices[i] + "\": published " + std::to_string(it->second) +
                      ", proven " + std::to_string(s.counts[i]));
    }
  }
  for (const auto& [name, count] : j.tally) {
    if (std::find(choices.begin(), choices.end(), name) == choices.end()) {
      diffs.push_back("the journal publishes a tally for \"" + name +
                      "\", which is not a choice");
    }
  }
  if (j.counted != s.counted) {
    diffs.push_back("counted: published " + std::to_string(j.counted) + ", proven " +
                    std::to_string(s.counted));
  }
  if (j.excluded != s.excluded.size()) {
    diffs.push_back("excluded: published " + std::to_string(j.excluded) + ", proven " +
                    std::to_string(s.excluded.size()));
  }
  if (j.tree_size != s.tree_size) {
    diffs.push_back("treeSize: published " + std::to_string(j.tree_size) + ", proven " +
                    std::to_string(s.tree_size));
  }
  if (j.root != s.root) {
    diffs.push_back("root: published " + FormatHash(j.root) + ", proven " + FormatHash(s.root));
  }
  if (!diffs.empty()) return Fail("the published result is not the proven one: " + Join(diffs));
  return Pass("the published tally, counted, excluded, tree size and root are the proven ones");
}

Outcome NoExcludedSlots(const Docs& d) {
  if (auto m = Missing(d.statement)) return *m;
  const TallyStatement& s = *d.statement.value;
  if (!s.excluded.empty()) {
    return Fail("the tally leaves " + std::to_string(s.excluded.size()) + " of " +
                std::to_string(s.tree_size) + " votes uncounted (bulletin indices " +
                IndexList(s.excluded) + ")");
  }
  return Pass("every one of the " + std::to_string(s.tree_size) + " leaves is counted");
}

Outcome TreeSizeMatches(const Docs& d) {
  if (auto m = Missing(d.statement)) return *m;
  if (auto m = Missing(d.close)) return *m;
  if (auto m = Missing(d.journal)) return *m;
  if (auto m = Missing(d.manifest)) return *m;
  const uint64_t proven = d.statement.value->tree_size;
  const uint64_t closed = d.close.value->sth.tree_size;
  const uint64_t published = d.journal.value->expected_votes;
  const uint64_t expected = d.manifest.value->config.ExpectedVotes();
  if (proven != closed || closed != published || published != expected) {
    return Fail("the proven tree has " + std::to_string(proven) + " votes, the close " +
                "statement " + std::to_string(closed) + ", the journal expects " +
                std::to_string(published) + " and the election (botCount + 1) " +
                std::to_string(expected) + ": these must all be equal");
  }
  return Pass("the tree holds the " + std::to_string(expected) + " expected votes");
}

Outcome RootMatches(const Docs& d) {
  if (auto m = Missing(d.statement)) return *m;
  if (auto m = Missing(d.close)) return *m;
  const HashOut& proven = d.statement.value->root;
  const HashOut& closed = d.close.value->sth.root;
  if (proven != closed) {
    return Fail("the proven root " + FormatHash(proven) + " is not the close statement's root " +
                FormatHash(closed));
  }
  return Pass("the proven root is the close statement's root " + FormatHash(closed));
}

Outcome MyVoteCounted(const Docs& d) {
  if (auto m = MissingReceipt(d)) return *m;
  if (auto m = Missing(d.statement)) return *m;
  const Receipt& r = *d.receipt.value;
  const TallyStatement& s = *d.statement.value;
  if (Contains(s.excluded, r.bulletin_index)) {
    return Fail("your vote (bulletin index " + std::to_string(r.bulletin_index) +
                ") is excluded from the tally: it was not counted");
  }
  if (!r.inclusion) return Fail("the receipt has no inclusion proof to check against the proof");
  if (r.inclusion->tree_size != s.tree_size) {
    return Fail("the inclusion proof is for a tree of " + std::to_string(r.inclusion->tree_size) +
                " leaves, the proven tree has " + std::to_string(s.tree_size));
  }
  const Status inc =
      VerifyCommitmentInclusion(r.commitment, r.bulletin_index, s.tree_size, r.inclusion->path, s.root);
  if (!inc.ok()) {
    return Fail("your commitment is not leaf " + std::to_string(r.bulletin_index) +
                " of the proven tree: " + inc.message());
  }
  return Pass("your vote is leaf " + std::to_string(r.bulletin_index) +
              " of the proven tree and is not excluded");
}

// ---- proof ---------------------------------------------------------------------------------

Outcome ProofVerifies(const Docs& d) {
  if (auto m = Missing(d.proofs)) return *m;
  if (auto m = Missing(d.statement)) return *m;
  if (auto m = Missing(d.manifest)) return *m;
  const std::vector<Bytes>& proofs = *d.proofs.value;
  const ElectionManifest& manifest = *d.manifest.value;
  for (size_t i = 0; i < proofs.size(); ++i) {
    const StatusOr<stark::Proof> p = stark::DeserializeProof(proofs[i]);
    if (!p.ok()) {
      return Fail("segment proof " + std::to_string(i) + " is malformed: " + p.status().message());
    }
    if (!(p->options == manifest.proof_options)) {
      return Fail("segment proof " + std::to_string(i) +
                  " was made with other proof options than the manifest's");
    }
  }
  stark::VerifierConfig config;
  config.min_conjectured_bits =
      std::max<double>(kMinSecurityBitsFloor, static_cast<double>(manifest.min_security_bits));
  const Status s = VerifyTally(*d.statement.value, proofs, config);
  if (!s.ok()) return Fail("the tally proof does not verify: " + s.message());
  return Pass("all " + std::to_string(proofs.size()) + " segment proofs verify at " +
              std::to_string(static_cast<int>(config.min_conjectured_bits)) +
              " conjectured bits or more");
}

Outcome VerifierVersion(const Docs& d) {
  if (auto m = Missing(d.manifest)) return *m;
  const std::string& v = d.manifest.value->verifier_version;
  if (v != kTallyAirNameV1 && v != kTallyAirNameV2) {
    return Fail("the manifest asks for verifier \"" + v + "\", this one is \"" + std::string(kTallyAirNameV1) +
                "\" and \"" + std::string(kTallyAirNameV2) + "\"");
  }
  if (auto m = Missing(d.statement)) return *m;
  const std::string_view want = TallyAirName(d.statement.value->version);
  if (v != want) {
    return Fail("the manifest asks for verifier \"" + v + "\", the statement is version " +
                std::to_string(d.statement.value->version) + " (\"" + std::string(want) + "\")");
  }
  if (auto m = Missing(d.proofs)) return *m;
  const std::vector<Bytes>& proofs = *d.proofs.value;
  for (size_t i = 0; i < proofs.size(); ++i) {
    const StatusOr<stark::Proof> p = stark::DeserializeProof(proofs[i]);
    if (!p.ok()) {
      return Fail("segment proof " + std::to_string(i) + " is malformed: " + p.status().message());
    }
    if (p->air_name != v) {
      return Fail("segment proof " + std::to_string(i) + " is for AIR \"" + p->air_name +
                  "\", not \"" + v + "\"");
    }
  }
  return Pass("the manifest and every segment proof are for " + v);
}

Outcome ConfigHashMatches(const Docs& d) {
  if (auto m = Missing(d.manifest)) return *m;
  if (auto m = Missing(d.statement)) return *m;
  const ElectionManifest& manifest = *d.manifest.value;
  const TallyStatement& s = *d.statement.value;
  const HashOut h = ElectionConfigHash(manifest.config);
  std::vector<std::string> diffs;
  if (manifest.config_hash != h) {
    diffs.push_back("the manifest's configHash " + FormatHash(manifest.config_hash) +
                    " is not the hash of its config " + FormatHash(h));
  }
  if (s.config_hash != h) {
    diffs.push_back("the statement's configHash " + FormatHash(s.config_hash) +
                    " is not the hash of the manifest's config " + FormatHash(h));
  }
  if (s.election_id != manifest.config.election_id) {
    diffs.push_back("the statement is for election " + FormatElectionId(s.election_id) +
                    ", the manifest for " + FormatElectionId(manifest.config.election_id));
  }
  if (s.num_choices != manifest.config.choices.size()) {
    diffs.push_back("the statement has " + std::to_string(s.num_choices) + " choices, the config " +
                    std::to_string(manifest.config.choices.size()));
  }
  if (!diffs.empty()) return Fail(Join(diffs));
  return Pass("the proof is bound to this election's config (hash " + FormatHash(h) + ")");
}

Docs ParseDocs(const BundleFiles& files, const std::optional<std::string>& receipt_json) {
  Docs d;
  d.manifest = ParseFile<ElectionManifest>(files.manifest, kManifestFileName, ManifestFromJson);
  d.statement =
      ParseFile<TallyStatement>(files.public_input, kPublicInputFileName, StatementFromJson);
  d.close = ParseFile<SignedSth>(files.close_statement, kCloseStatementFileName, SignedSthFromJson);
  d.journal = ParseFile<Journal>(files.journal, kJournalFileName, JournalFromJson);
  StatusOr<std::vector<Bytes>> proofs = ParseSegmentProofs(files.proof);
  if (proofs.ok()) {
    d.proofs.value = std::move(*proofs);
  } else {
    d.proofs.error = std::string(kProofFileName) + ": " + proofs.status().message();
  }
  d.receipt_given = receipt_json.has_value();
  if (receipt_json) {
    StatusOr<Receipt> r = ParseReceipt(*receipt_json);
    if (r.ok()) {
      d.receipt.value = std::move(*r);
    } else {
      d.receipt.error = r.status().message();
    }
  }
  return d;
}

VerificationReport RunChecks(const Docs& d, const KeyedEd25519VerifyFn& ed25519_verify) {
  VerificationReport report;
  auto add = [&](std::string_view id, std::string_view group, Evidence e, Outcome o) {
    report.checks.push_back(
        CheckResult{std::string(id), std::string(group), e, o.status, std::move(o.detail)});
  };
  using namespace check_ids;  // NOLINT
  add(kReceiptPresent, kCastAsIntended, Evidence::kLocal, ReceiptPresent(d));
  add(kChoiceValid, kCastAsIntended, Evidence::kLocal, ChoiceValid(d));
  add(kRandomWellFormed, kCastAsIntended, Evidence::kLocal, RandomWellFormed(d));
  add(kCommitmentRecomputes, kCastAsIntended, Evidence::kLocal, CommitmentRecomputes(d));
  add(kCommitmentOnBoard, kRecordedAsCast, Evidence::kPublic, CommitmentOnBoard(d));
  add(kRootAtCastConsistent, kRecordedAsCast, Evidence::kPublic, RootAtCastConsistent(d));
  add(kSthSignature, kRecordedAsCast, Evidence::kPublic, SthSignature(d, ed25519_verify));
  add(kClaimedEqualsProven, kCountedAsRecorded, Evidence::kProof, ClaimedEqualsProven(d));
  add(kNoExcludedSlots, kCountedAsRecorded, Evidence::kProof, NoExcludedSlots(d));
  add(kTreeSizeMatches, kCountedAsRecorded, Evidence::kPublic, TreeSizeMatches(d));
  add(kRootMatches, kCountedAsRecorded, Evidence::kPublic, RootMatches(d));
  add(kMyVoteCounted, kCountedAsRecorded, Evidence::kProof, MyVoteCounted(d));
  add(kProofVerifies, kProofGroup, Evidence::kProof, ProofVerifies(d));
  add(kVerifierVersion, kProofGroup, Evidence::kProof, VerifierVersion(d));
  add(kConfigHashMatches, kProofGroup, Evidence::kProof, ConfigHashMatches(d));
  report.valid = std::none_of(report.checks.begin(), report.checks.end(),
                              [](const CheckResult& c) { return c.status == CheckStatus::kFail; });
  if (d.statement.value && d.manifest.value &&
      d.statement.value->counts.size() == d.manifest.value->config.choices.size()) {
    std::vector<std::pair<std::string, uint64_t>> tally;
    for (size_t i = 0; i < d.statement.value->counts.size(); ++i) {
      tally.emplace_back(d.manifest.value->config.choices[i], d.statement.value->counts[i]);
    }
    report.tally = std::move(tally);
  }
  return report;
}

}  // namespace

std::string_view EvidenceName(Evidence e) {
  switch (e) {
    case Evidence::kLocal:
      return "local";
    case Evidence::kPublic:
      return "public";
    case Evidence::kProof:
      return "proof";
  }
  return "unknown";
}

std::string_view CheckStatusName(CheckStatus s) {
  switch (s) {
    case CheckStatus::kPass:
      return "pass";
    case CheckStatus::kFail:
      return "fail";
    case CheckStatus::kSkipped:
      return "skipped";
  }
  return "unknown";
}

const CheckResult* VerificationReport::Find(std::string_view id) const {
  for (const CheckResult& c : checks) {
    if (c.id == id) return &c;
  }
  return nullptr;
}

std::vector<std::string> VerificationReport::FailedChecks() const {
  std::vector<std::string> out;
  for (const CheckResult& c : checks) {
    if (c.status == CheckStatus::kFail) out.push_back(c.id);
  }
  return out;
}

VerificationReport VerifyBundleFiles(const BundleFiles& files,
                                     const std::optional<std::string>& receipt_json,
                                     const KeyedEd25519VerifyFn& ed25519_verify) {
  try {
    return RunChecks(ParseDocs(files, receipt_json), ed25519_verify);
  } catch (const std::exception& e) {
    // Nothing above throws on any input; memory exhaustion is the one way left.
    return UnreadableBundleReport(std::string("verification aborted: ") + e.what());
  }
}

VerificationReport UnreadableBundleReport(std::string reason) {
  VerificationReport r;
  r.valid = false;
  r.error = std::move(reason);
  return r;
}

json ReportToJson(const VerificationReport& report) {
  json checks = json::array();
  for (const CheckResult& c : report.checks) {
    checks.push_back(json{{"id", c.id},
                          {"group", c.group},
                          {"evidence", EvidenceName(c.evidence)},
                          {"status", CheckStatusName(c.status)},
                          {"detail", c.detail}});
  }
  json out = {{"valid", report.valid}, {"checks", std::move(checks)}};
  if (!report.error.empty()) out["error"] = report.error;
  if (report.tally) {
    json tally = json::object();
    for (const auto& [name, count] : *report.tally) tally[name] = count;
    out["tally"] = std::move(tally);
  } else {
    out["tally"] = nullptr;
  }
  return out;
}

}  // namespace vp::ballot
