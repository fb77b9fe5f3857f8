// The election config and the JSON documents of a ballot bundle and a voter's receipt, with
// their canonical text forms and strict parsers (format: docs/bundle_format.md, version 1).
// The config's canonical JSON is what the tally proof binds through its config hash; every
// JSON file inside a bundle must be in canonical form, so one document has one byte string.
//
//   ElectionConfig config;                           // choices A..E, 63 bots
//   config.election_id = ...; config.log_id = ...;
//   RETURN_IF_ERROR(ValidateElectionConfig(config));
//   HashOut h = ElectionConfigHash(config);          // ConfigHash(CanonicalConfigJson(config))
//   ASSIGN_OR_RETURN(nlohmann::json doc, ParseCanonicalJson(text, "journal.json"));
//   ASSIGN_OR_RETURN(Journal journal, JournalFromJson(doc));
//
// Standard library, nlohmann-json, vp::base and vp::ballot only (no OpenSSL, no libzip), so
// the browser's verifier can build it.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vp/ballot/commitment.h"
#include "vp/ballot/sth.h"
#include "vp/ballot/tally.h"
#include "vp/base/bytes.h"
#include "vp/base/status.h"
#include "vp/stark/options.h"

namespace vp::ballot {

inline constexpr size_t kMinChoices = 2;  // kMaxChoices (16) is tally.h's
inline constexpr size_t kMaxChoiceNameBytes = 32;
inline constexpr uint64_t kMaxBotCount = uint64_t{1} << 24;
inline constexpr uint64_t kBundleFormatVersion = 1;
// The verifier never accepts a proof below this many conjectured bits, whatever the
// manifest says; a manifest may ask for more, up to kMaxSecurityBits.
inline constexpr uint32_t kMinSecurityBitsFloor = 100;
inline constexpr uint32_t kMaxSecurityBits = 256;

// "A", "B", "C", "D", "E".
std::vector<std::string> DefaultChoices();

struct ElectionConfig {
  ElectionId election_id{};
  std::vector<std::string> choices = DefaultChoices();
  uint64_t bot_count = 63;
  LogId log_id{};

  // The votes the election expects: the voter's and the bots'.
  uint64_t ExpectedVotes() const { return bot_count + 1; }
  friend bool operator==(const ElectionConfig&, const ElectionConfig&) = default;
};

// kInvalidArgument naming the problem: fewer than 2 or more than 16 choices, an empty choice,
// one longer than 32 bytes or with a character outside printable ASCII, two equal choices,
// botCount above 2^24.
Status ValidateElectionConfig(const ElectionConfig& config);

// {"botCount":63,"choices":["A",...],"electionId":"<uuid>","logId":"<64 hex>"} (keys sorted,
// no whitespace). The config must be valid.
nlohmann::json ElectionConfigToJson(const ElectionConfig& config);
std::string CanonicalConfigJson(const ElectionConfig& config);
// ConfigHash(CanonicalConfigJson(config)): what the tally statement's configHash must be.
HashOut ElectionConfigHash(const ElectionConfig& config);

// Strict: exactly the four keys with their types and canonical value texts, then
// ValidateElectionConfig. kInvalidArgument with the field and the reason.
StatusOr<ElectionConfig> ElectionConfigFromJson(const nlohmann::json& doc);
// Strict JSON (no repeated key) of any layout; use ParseCanonicalJson to also require the
// canonical form.
StatusOr<ElectionConfig> ParseElectionConfig(std::string_view text);

// ---- Canonical JSON --------------------------------------------------------------------

// The canonical text of a document: sorted keys, no whitespace, never throws.
std::string CanonicalJson(const nlohmann::json& doc);
// Strict JSON (vp::ParseJsonStrict) that must also be byte-identical to its canonical text.
// kInvalidArgument "<context>: ..." otherwise.
StatusOr<nlohmann::json> ParseCanonicalJson(std::string_view text, std::string_view context);

// ---- Bundle documents ------------------------------------------------------------------

// The five files of bundle.zip, as bytes (bundle.h reads and writes the zip).
inline constexpr std::string_view kProofFileName = "proof.bin";
inline constexpr std::string_view kPublicInputFileName = "public-input.json";
inline constexpr std::string_view kManifestFileName = "election-manifest.json";
inline constexpr std::string_view kCloseStatementFileName = "close-statement.json";
inline constexpr std::string_view kJournalFileName = "journal.json";

struct BundleFiles {
  Bytes proof;                  // proof.bin
  std::string public_input;     // public-input.json
  std::string manifest;         // election-manifest.json
  std::string close_statement;  // close-statement.json
  std::string journal;          // journal.json

  friend bool operator==(const BundleFiles&, const BundleFiles&) = default;
};

// public-input.json: the tally statement. The parser checks shapes (types, hash and id texts,
// at most kMaxChoices counts); the statement's consistency is VerifyTally's.
nlohmann::json StatementToJson(const TallyStatement& statement);
StatusOr<TallyStatement> StatementFromJson(const nlohmann::json& doc);

using Ed25519PublicKey = ByteArray<32>;

// election-manifest.json.
struct ElectionManifest {
  ElectionConfig config;
  HashOut config_hash{};
  Ed25519PublicKey log_public_key{};
  stark::ProofOptions proof_options = TallyProofOptions();
  uint32_t min_security_bits = kMinSecurityBitsFloor;
  std::string verifier_version{kTallyAirName};

  friend bool operator==(const ElectionManifest&, const ElectionManifest&) = default;
};
nlohmann::json ManifestToJson(const ElectionManifest& manifest);
// Strict; formatVersion must be 1, the options must pass ProofOptions::Validate and
// minSecurityBits must be in [100, 256]. configHash is read, not checked (a check does it).
StatusOr<ElectionManifest> ManifestFromJson(const nlohmann::json& doc);

// close-statement.json and a receipt's "sth": {"logId","root","signature","timestamp",
// "treeSize"} (docs/ballot_log.md, section 5). The parser runs ValidateSth.
nlohmann::json SignedSthToJson(const SignedSth& sth);
StatusOr<SignedSth> SignedSthFromJson(const nlohmann::json& doc);

// journal.json: the published result.
struct Journal {
  std::map<std::string, uint64_t> tally;  // choice name -> published count
  uint64_t counted = 0;
  uint64_t excluded = 0;  // number of uncounted leaves
  uint64_t tree_size = 0;
  HashOut root{};
  uint64_t expected_votes = 0;

  friend bool operator==(const Journal&, const Journal&) = default;
};
nlohmann::json JournalToJson(const Journal& journal);
StatusOr<Journal> JournalFromJson(const nlohmann::json& doc);
// The journal an honest operator publishes for this statement. statement.counts must have
// one entry per choice of config.
Journal JournalFromStatement(const TallyStatement& statement, const ElectionConfig& config);

// ---- Receipt ---------------------------------------------------------------------------

// The audit path of the voter's leaf in the closing tree (no "commitment" key: the verifier
// uses the receipt's).
struct InclusionEvidence {
  uint64_t leaf_index = 0;
  uint64_t tree_size = 0;
  std::vector<HashOut> path;
  friend bool operator==(const InclusionEvidence&, const InclusionEvidence&) = default;
};
// From the tree at cast to the closing tree.
struct ConsistencyEvidence {
  uint64_t old_size = 0;
  uint64_t new_size = 0;
  std::vector<HashOut> proof;
  friend bool operator==(const ConsistencyEvidence&, const ConsistencyEvidence&) = default;
};

struct Receipt {
  std::string vote_id;  // canonical UUID text
  HashOut commitment{};
  uint64_t bulletin_index = 0;
  HashOut bulletin_root_at_cast{};
  uint64_t tree_size_at_cast = 0;
  uint64_t timestamp_ms = 0;
  SignedSth sth;
  // The voter's secrets, kept as given: the cast-as-intended checks judge them.
  uint64_t vote = 0;
  std::string rand;
  std::optional<InclusionEvidence> inclusion;
  std::optional<ConsistencyEvidence> consistency;
};
nlohmann::json ReceiptToJson(const Receipt& receipt);
// Strict JSON keys and types, any whitespace. "vote" must be a non-negative integer and
// "rand" a string; their values are not judged here. inclusion and consistency may be absent.
StatusOr<Receipt> ReceiptFromJson(const nlohmann::json& doc);
StatusOr<Receipt> ParseReceipt(std::string_view text);

}  // namespace vp::ballot
