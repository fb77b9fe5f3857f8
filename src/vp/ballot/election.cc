// The election config and the bundle's JSON documents: canonical writers and strict readers
// (docs/bundle_format.md). Every reader checks the exact key set and each value's JSON type
// before touching it, so no nlohmann call here can throw on hostile input.
#include "vp/ballot/election.h"

#include <algorithm>
#include <initializer_list>
#include <set>
#include <utility>

#include "vp/ballot/bulletin.h"
#include "vp/base/json.h"

namespace vp::ballot {
namespace {

using nlohmann::json;

std::string Quote(std::string_view s) { return QuoteForMessage(s); }

Status CheckKeys(const json& doc, std::string_view what, std::initializer_list<std::string_view> required,
                 std::initializer_list<std::string_view> optional = {}) {
  return CheckJsonKeys(doc, what, required, optional);
}

std::string Field(std::string_view what, std::string_view key) {
  return std::string(what) + "." + std::string(key);
}

// A JSON integer in [0, max] (max <= 2^53 - 1 so browsers read it exactly).
StatusOr<uint64_t> UintValue(const json& v, const std::string& name,
                             uint64_t max = kMaxJsonSafeInteger) {
  // A parsed non-negative integer is number_unsigned; one set from C++ code may be a signed
  // number_integer.
  if (!v.is_number_integer()) return InvalidArgumentError(name + ": expected an integer");
  if (!v.is_number_unsigned() && v.get<int64_t>() < 0) {
    return InvalidArgumentError(name + ": must not be negative");
  }
  const auto x = v.get<uint64_t>();
  if (x > max) {
    return InvalidArgumentError(name + ": " + std::to_string(x) + " is above the maximum " +
                                std::to_string(max));
  }
  return x;
}

StatusOr<uint64_t> GetUint(const json& doc, std::string_view what, std::string_view key,
                           uint64_t max = kMaxJsonSafeInteger) {
  return UintValue(doc.at(std::string(key)), Field(what, key), max);
}

StatusOr<std::string> GetString(const json& doc, std::string_view what, std::string_view key) {
  const json& v = doc.at(std::string(key));
  if (!v.is_string()) return InvalidArgumentError(Field(what, key) + ": expected a string");
  return v.get<std::string>();
}

StatusOr<bool> GetBool(const json& doc, std::string_view what, std::string_view key) {
  const json& v = doc.at(std::string(key));
  if (!v.is_boolean()) return InvalidArgumentError(Field(what, key) + ": expected true or false");
  return v.get<bool>();
}

StatusOr<HashOut> GetHash(const json& doc, std::string_view what, std::string_view key) {
  ASSIGN_OR_RETURN(std::string text, GetString(doc, what, key));
  StatusOr<HashOut> h = ParseHash(text);
  if (!h.ok()) return h.status().Annotate(Field(what, key));
  return *h;
}

StatusOr<std::vector<uint64_t>> GetUintArray(const json& doc, std::string_view what,
                                             std::string_view key, size_t max_len) {
  const json& v = doc.at(std::string(key));
  const std::string name = Field(what, key);
  if (!v.is_array()) return InvalidArgumentError(name + ": expected an array");
  if (v.size() > max_len) {
    return InvalidArgumentError(name + ": more than " + std::to_string(max_len) + " entries");
  }
  std::vector<uint64_t> out;
  out.reserve(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    ASSIGN_OR_RETURN(uint64_t x, UintValue(v[i], name + "[" + std::to_string(i) + "]"));
    out.push_back(x);
  }
  return out;
}

StatusOr<std::vector<HashOut>> GetHashArray(const json& doc, std::string_view what,
                                            std::string_view key) {
  const json& v = doc.at(std::string(key));
  const std::string name = Field(what, key);
  if (!v.is_array()) return InvalidArgumentError(name + ": expected an array");
  if (v.size() > kMaxProofHashes) {
    return InvalidArgumentError(name + ": more than " + std::to_string(kMaxProofHashes) +
                                " hashes");
  }
  std::vector<std::string> texts;
  for (size_t i = 0; i < v.size(); ++i) {
    if (!v[i].is_string()) {
      return InvalidArgumentError(name + "[" + std::to_string(i) + "]: expected a string");
    }
    texts.push_back(v[i].get<std::string>());
  }
  StatusOr<std::vector<HashOut>> hashes = ParseHashList(texts);
  if (!hashes.ok()) return hashes.status().Annotate(name);
  return *hashes;
}

json HashArray(std::span<const HashOut> hashes) {
  json a = json::array();
  for (const HashOut& h : hashes) a.push_back(FormatHash(h));
  return a;
}

json UintArray(std::span<const uint64_t> xs) {
  json a = json::array();
  for (uint64_t x : xs) a.push_back(x);
  return a;
}

bool IsPrintableAscii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c <= 0x7e; });
}

json ProofOptionsToJson(const stark::ProofOptions& o) {
  return json{{"grindingBits", o.grinding_bits},
              {"logBlowup", o.log_blowup},
              {"logFoldingFactor", o.log_folding_factor},
              {"logRemainderMax", o.log_remainder_max},
              {"numQueries", o.num_queries},
              {"zeroKnowledge", o.zero_knowledge}};
}

StatusOr<stark::ProofOptions> ProofOptionsFromJson(const json& doc) {
  constexpr std::string_view kWhat = "proofOptions";
  RETURN_IF_ERROR(CheckKeys(doc, kWhat,
                            {"grindingBits", "logBlowup", "logFoldingFactor", "logRemainderMax",
                             "numQueries", "zeroKnowledge"}));
  stark::ProofOptions o;
  ASSIGN_OR_RETURN(uint64_t grinding, GetUint(doc, kWhat, "grindingBits", 255));
  ASSIGN_OR_RETURN(uint64_t blowup, GetUint(doc, kWhat, "logBlowup", 255));
  ASSIGN_OR_RETURN(uint64_t folding, GetUint(doc, kWhat, "logFoldingFactor", 255));
  ASSIGN_OR_RETURN(uint64_t remainder, GetUint(doc, kWhat, "logRemainderMax", 255));
  ASSIGN_OR_RETURN(uint64_t queries, GetUint(doc, kWhat, "numQueries", 255));
  ASSIGN_OR_RETURN(o.zero_knowledge, GetBool(doc, kWhat, "zeroKnowledge"));
  o.grinding_bits = static_cast<uint8_t>(grinding);
  o.log_blowup = static_cast<uint8_t>(blowup);
  o.log_folding_factor = static_cast<uint8_t>(folding);
  o.log_remainder_max = static_cast<uint8_t>(remainder);
  o.num_queries = static_cast<uint8_t>(queries);
  const Status valid = o.Validate();
  if (!valid.ok()) return valid.Annotate(kWhat);
  return o;
}

StatusOr<InclusionEvidence> InclusionFromJson(const json& doc) {
  constexpr std::string_view kWhat = "receipt.inclusion";
  RETURN_IF_ERROR(
      CheckKeys(doc, kWhat, {json_names::kLeafIndex, json_names::kTreeSize, json_names::kPath}));
  InclusionEvidence e;
  ASSIGN_OR_RETURN(e.leaf_index, GetUint(doc, kWhat, json_names::kLeafIndex));
  ASSIGN_OR_RETURN(e.tree_size, GetUint(doc, kWhat, json_names::kTreeSize));
  ASSIGN_OR_RETURN(e.path, GetHashArray(doc, kWhat, json_names::kPath));
  return e;
}

StatusOr<ConsistencyEvidence> ConsistencyFromJson(const json& doc) {
  constexpr std::string_view kWhat = "receipt.consistency";
  RETURN_IF_ERROR(
      CheckKeys(doc, kWhat, {json_names::kOldSize, json_names::kNewSize, json_names::kProof}));
  ConsistencyEvidence e;
  ASSIGN_OR_RETURN(e.old_size, GetUint(doc, kWhat, json_names::kOldSize));
  ASSIGN_OR_RETURN(e.new_size, GetUint(doc, kWhat, json_names::kNewSize));
  ASSIGN_OR_RETURN(e.proof, GetHashArray(doc, kWhat, json_names::kProof));
  return e;
}

}  // namespace

std::vector<std::string> DefaultChoices() { return {"A", "B", "C", "D", "E"}; }

Status ValidateElectionConfig(const ElectionConfig& config) {
  const size_t k = config.choices.size();
  if (k < kMinChoices || k > kMaxChoices) {
    return InvalidArgumentError("election config: " + std::to_string(k) +
                                " choices; an election has " + std::to_string(kMinChoices) +
                                " to " + std::to_string(kMaxChoices));
  }
  std::set<std::string_view> seen;
  for (size_t i = 0; i < k; ++i) {
    const std::string& c = config.choices[i];
    const std::string at = "election config: choice " + std::to_string(i);
    if (c.empty()) return InvalidArgumentError(at + " is empty");
    if (c.size() > kMaxChoiceNameBytes) {
      return InvalidArgumentError(at + " is longer than " + std::to_string(kMaxChoiceNameBytes) +
                                  " characters");
    }
    if (!IsPrintableAscii(c)) {
      return InvalidArgumentError(at + " has a character outside printable ASCII (0x20-0x7e)");
    }
    if (!seen.insert(c).second) {
      return InvalidArgumentError(at + " repeats the name " + Quote(c));
    }
  }
  if (config.bot_count > kMaxBotCount) {
    return InvalidArgumentError("election config: botCount " + std::to_string(config.bot_count) +
                                " is above 2^24");
  }
  return OkStatus();
}

json ElectionConfigToJson(const ElectionConfig& config) {
  return json{{"botCount", config.bot_count},
              {"choices", config.choices},
              {"electionId", FormatElectionId(config.election_id)},
              {"logId", FormatLogId(config.log_id)}};
}

std::string CanonicalConfigJson(const ElectionConfig& config) {
  return CanonicalJson(ElectionConfigToJson(config));
}

HashOut ElectionConfigHash(const ElectionConfig& config) {
  return ConfigHash(CanonicalConfigJson(config));
}

StatusOr<ElectionConfig> ElectionConfigFromJson(const json& doc) {
  constexpr std::string_view kWhat = "config";
  RETURN_IF_ERROR(CheckKeys(doc, kWhat, {"botCount", "choices", "electionId", "logId"}));
  ElectionConfig config;
  ASSIGN_OR_RETURN(config.bot_count, GetUint(doc, kWhat, "botCount"));
  const json& choices = doc.at("choices");
  if (!choices.is_array()) return InvalidArgumentError("config.choices: expected an array");
  if (choices.size() > kMaxChoices) {
    return InvalidArgumentError("config.choices: more than " + std::to_string(kMaxChoices) +
                                " choices");
  }
  config.choices.clear();
  for (size_t i = 0; i < choices.size(); ++i) {
    if (!choices[i].is_string()) {
      return InvalidArgumentError("config.choices[" + std::to_string(i) + "]: expected a string");
    }
    config.choices.push_back(choices[i].get<std::string>());
  }
  ASSIGN_OR_RETURN(std::string eid, GetString(doc, kWhat, "electionId"));
  StatusOr<ElectionId> id = ParseElectionId(eid);
  if (!id.ok()) return id.status().Annotate("config.electionId");
  config.election_id = *id;
  ASSIGN_OR_RETURN(std::string log_id, GetString(doc, kWhat, "logId"));
  StatusOr<LogId> lid = ParseLogId(log_id);
  if (!lid.ok()) return lid.status().Annotate("config.logId");
  config.log_id = *lid;
  RETURN_IF_ERROR(ValidateElectionConfig(config));
  return config;
}

StatusOr<ElectionConfig> ParseElectionConfig(std::string_view text) {
  ASSIGN_OR_RETURN(json doc, ParseJsonStrict(text, "election config"));
  return ElectionConfigFromJson(doc);
}

std::string CanonicalJson(const json& doc) {
  return doc.dump(-1, ' ', /*ensure_ascii=*/false, json::error_handler_t::replace);
}

StatusOr<json> ParseCanonicalJson(std::string_view text, std::string_view context) {
  ASSIGN_OR_RETURN(json doc, ParseJsonStrict(text, context));
  if (CanonicalJson(doc) != text) {
    return InvalidArgumentError(std::string(context) +
                                ": not in canonical form (sorted keys, no whitespace, plain "
                                "integers; docs/bundle_format.md section 1)");
  }
  return doc;
}

// ---- public-input.json --------------------------------------------------------------------

json StatementToJson(const TallyStatement& s) {
  json segments = json::array();
  for (const SegmentStatement& seg : s.segments) {
    if (s.version == 1) {
      segments.push_back(json{{"counts", UintArray(seg.counts)},
                              {"excluded", UintArray(seg.excluded)},
                              {"offset", seg.offset},
                              {"root", FormatHash(seg.blocks.empty() ? HashOut{} : seg.blocks[0].root)},
                              {"size", seg.size}});
      continue;
    }
    json blocks = json::array();
    for (const BlockRoot& b : seg.blocks) blocks.push_back(json{{"root", FormatHash(b.root)}, {"size", b.size}});
    segments.push_back(json{{"blocks", std::move(blocks)},
                            {"counts", UintArray(seg.counts)},
                            {"excluded", UintArray(seg.excluded)},
                            {"offset", seg.offset},
                            {"size", seg.size}});
  }
  json out{{"configHash", FormatHash(s.config_hash)},
              {"counted", s.counted},
              {"counts", UintArray(s.counts)},
              {"electionId", FormatElectionId(s.election_id)},
              {"excluded", UintArray(s.excluded)},
              {"excludedCommitment", FormatHash(s.excluded_commitment)},
              {"numChoices", s.num_choices},
              {"root", FormatHash(s.root)},
              {"segments", std::move(segments)},
              {"treeSize", s.tree_size}};
  // Version 1 statements have no "version" key.
  if (s.version != 1) out["version"] = s.version;
  return out;
}

StatusOr<TallyStatement> StatementFromJson(const json& doc) {
  constexpr std::string_view kWhat = "statement";
  RETURN_IF_ERROR(CheckKeys(doc, kWhat,
                            {"configHash", "counted", "counts", "electionId", "excluded",
                             "excludedCommitment", "numChoices", "root", "segments",
                             "treeSize"},
                            {"version"}));
  TallyStatement s;
  s.version = 1;
  if (doc.contains("version")) {
    ASSIGN_OR_RETURN(uint64_t v, GetUint(doc, kWhat, "version"));
    if (v != 2) return InvalidArgumentError("statement.version: " + std::to_string(v) + " is not 2 (version 1 has no version key)");
    s.version = 2;
  }
  ASSIGN_OR_RETURN(std::string eid, GetString(doc, kWhat, "electionId"));
  StatusOr<ElectionId> id = ParseElectionId(eid);
  if (!id.ok()) return id.status().Annotate("statement.electionId");
  s.election_id = *id;
  ASSIGN_OR_RETURN(s.config_hash, GetHash(doc, kWhat, "configHash"));
  ASSIGN_OR_RETURN(uint64_t k, GetUint(doc, kWhat, "numChoices", kMaxChoices));
  if (k == 0) return InvalidArgumentError("statement.numChoices: must be at least 1");
  s.num_choices = static_cast<uint32_t>(k);
  ASSIGN_OR_RETURN(s.tree_size, GetUint(doc, kWhat, "treeSize"));
  ASSIGN_OR_RETURN(s.root, GetHash(doc, kWhat, "root"));
  ASSIGN_OR_RETURN(s.counts, GetUintArray(doc, kWhat, "counts", kMaxChoices));
  if (s.counts.size() != k) {
    return InvalidArgumentError("statement.counts: " + std::to_string(s.counts.size()) +
                                " entries for " + std::to_string(k) + " choices");
  }
  ASSIGN_OR_RETURN(s.counted, GetUint(doc, kWhat, "counted"));
  ASSIGN_OR_RETURN(s.excluded, GetUintArray(doc, kWhat, "excluded", SIZE_MAX));
  ASSIGN_OR_RETURN(s.excluded_commitment, GetHash(doc, kWhat, "excludedCommitment"));
  const json& segments = doc.at("segments");
  if (!segments.is_array()) return InvalidArgumentError("statement.segments: expected an array");
  for (size_t i = 0; i < segments.size(); ++i) {
    const std::string what = "statement.segments[" + std::to_string(i) + "]";
    const json& sj = segments[i];
    SegmentStatement seg;
    if (s.version == 1) {
      RETURN_IF_ERROR(CheckKeys(sj, what, {"counts", "excluded", "offset", "root", "size"}));
    } else {
      RETURN_IF_ERROR(CheckKeys(sj, what, {"blocks", "counts", "excluded", "offset", "size"}));
    }
    ASSIGN_OR_RETURN(seg.offset, GetUint(sj, what, "offset"));
    ASSIGN_OR_RETURN(seg.size, GetUint(sj, what, "size"));
    if (s.version == 1) {
      ASSIGN_OR_RETURN(HashOut root, GetHash(sj, what, "root"));
      seg.blocks.push_back({seg.size, root});
    } else {
      const json& blocks = sj.at("blocks");
      if (!blocks.is_array() || blocks.empty() || blocks.size() > kMaxSegmentLeaves) {
        return InvalidArgumentError(what + ".blocks: expected an array of 1 to 2^20 blocks");
      }
      for (size_t j = 0; j < blocks.size(); ++j) {
        const std::string name = what + ".blocks[" + std::to_string(j) + "]";
        RETURN_IF_ERROR(CheckKeys(blocks[j], name, {"root", "size"}));
        BlockRoot b;
        ASSIGN_OR_RETURN(b.size, GetUint(blocks[j], name, "size", kMaxSegmentLeaves));
        ASSIGN_OR_RETURN(b.root, GetHash(blocks[j], name, "root"));
        seg.blocks.push_back(b);
      }
    }
    ASSIGN_OR_RETURN(seg.counts, GetUintArray(sj, what, "counts", kMaxChoices));
    if (seg.counts.size() != k) {
      return InvalidArgumentError(what + ".counts: " + std::to_string(seg.counts.size()) +
                                  " entries for " + std::to_string(k) + " choices");
    }
    ASSIGN_OR_RETURN(seg.excluded, GetUintArray(sj, what, "excluded", SIZE_MAX));
    s.segments.push_back(std::move(seg));
  }
  return s;
}

// ---- election-manifest.json ---------------------------------------------------------------

json ManifestToJson(const ElectionManifest& m) {
  return json{{"config", ElectionConfigToJson(m.config)},
              {"configHash", FormatHash(m.config_hash)},
              {"formatVersion", kBundleFormatVersion},
              {"logPublicKey", FormatLowerHex(m.log_public_key)},
              {"minSecurityBits", m.min_security_bits},
              {"proofOptions", ProofOptionsToJson(m.proof_options)},
              {"verifierVersion", m.verifier_version}};
}

StatusOr<ElectionManifest> ManifestFromJson(const json& doc) {
  constexpr std::string_view kWhat = "manifest";
  RETURN_IF_ERROR(CheckKeys(doc, kWhat,
                            {"config", "configHash", "formatVersion", "logPublicKey",
                             "minSecurityBits", "proofOptions", "verifierVersion"}));
  ASSIGN_OR_RETURN(uint64_t version, GetUint(doc, kWhat, "formatVersion"));
  if (version != kBundleFormatVersion) {
    return InvalidArgumentError("manifest.formatVersion: " + std::to_string(version) +
                                " is not a version this verifier reads (1)");
  }
  ElectionManifest m;
  ASSIGN_OR_RETURN(m.config, ElectionConfigFromJson(doc.at("config")));
  ASSIGN_OR_RETURN(m.config_hash, GetHash(doc, kWhat, "configHash"));
  ASSIGN_OR_RETURN(std::string key, GetString(doc, kWhat, "logPublicKey"));
  RETURN_IF_ERROR(ParseLowerHex(key, m.log_public_key, "manifest.logPublicKey"));
  ASSIGN_OR_RETURN(m.proof_options, ProofOptionsFromJson(doc.at("proofOptions")));
  ASSIGN_OR_RETURN(uint64_t bits, GetUint(doc, kWhat, "minSecurityBits", kMaxSecurityBits));
  if (bits < kMinSecurityBitsFloor) {
    return InvalidArgumentError("manifest.minSecurityBits: " + std::to_string(bits) +
                                " is below the floor of " +
                                std::to_string(kMinSecurityBitsFloor) + " bits");
  }
  m.min_security_bits = static_cast<uint32_t>(bits);
  ASSIGN_OR_RETURN(m.verifier_version, GetString(doc, kWhat, "verifierVersion"));
  return m;
}

// ---- close-statement.json -----------------------------------------------------------------

json SignedSthToJson(const SignedSth& s) {
  return json{{std::string(json_names::kLogId), FormatLogId(s.sth.log_id)},
              {std::string(json_names::kRoot), FormatHash(s.sth.root)},
              {std::string(json_names::kSignature), FormatSthSignature(s.signature)},
              {std::string(json_names::kTimestamp), s.sth.timestamp_ms},
              {std::string(json_names::kSthTreeSize), s.sth.tree_size}};
}

StatusOr<SignedSth> SignedSthFromJson(const json& doc) {
  constexpr std::string_view kWhat = "sth";
  RETURN_IF_ERROR(CheckKeys(doc, kWhat,
                            {json_names::kLogId, json_names::kRoot, json_names::kSignature,
                             json_names::kTimestamp, json_names::kSthTreeSize}));
  ASSIGN_OR_RETURN(std::string log_id, GetString(doc, kWhat, json_names::kLogId));
  ASSIGN_OR_RETURN(std::string root, GetString(doc, kWhat, json_names::kRoot));
  ASSIGN_OR_RETURN(std::string sig, GetString(doc, kWhat, json_names::kSignature));
  ASSIGN_OR_RETURN(uint64_t ts, GetUint(doc, kWhat, json_names::kTimestamp));
  ASSIGN_OR_RETURN(uint64_t size, GetUint(doc, kWhat, json_names::kSthTreeSize));
  SignedSth s;
  ASSIGN_OR_RETURN(s.sth, SthFromFields(log_id, size, ts, root));
  ASSIGN_OR_RETURN(s.signature, ParseSthSignature(sig));
  return s;
}

// ---- journal.json -------------------------------------------------------------------------

json JournalToJson(const Journal& j) {
  json tally = json::object();
  for (const auto& [name, count] : j.tally) tally[name] = count;
  return json{{"counted", j.counted},
              {"excluded", j.excluded},
              {"expectedVotes", j.expected_votes},
              {"root", FormatHash(j.root)},
              {"tally", std::move(tally)},
              {"treeSize", j.tree_size}};
}

StatusOr<Journal> JournalFromJson(const json& doc) {
  constexpr std::string_view kWhat = "journal";
  RETURN_IF_ERROR(CheckKeys(doc, kWhat,
                            {"counted", "excluded", "expectedVotes", "root", "tally",
                             "treeSize"}));
  Journal j;
  ASSIGN_OR_RETURN(j.counted, GetUint(doc, kWhat, "counted"));
  ASSIGN_OR_RETURN(j.excluded, GetUint(doc, kWhat, "excluded"));
  ASSIGN_OR_RETURN(j.expected_votes, GetUint(doc, kWhat, "expectedVotes"));
  ASSIGN_OR_RETURN(j.root, GetHash(doc, kWhat, "root"));
  ASSIGN_OR_RETURN(j.tree_size, GetUint(doc, kWhat, "treeSize"));
  const json& tally = doc.at("tally");
  if (!tally.is_object()) return InvalidArgumentError("journal.tally: expected an object");
  if (tally.size() > kMaxChoices) {
    return InvalidArgumentError("journal.tally: more than " + std::to_string(kMaxChoices) +
                                " choices");
  }
  for (const auto& item : tally.items()) {
    ASSIGN_OR_RETURN(uint64_t count, UintValue(item.value(), "journal.tally." + item.key()));
    j.tally[item.key()] = count;
  }
  return j;
}

Journal JournalFromStatement(const TallyStatement& statement, const ElectionConfig& config) {
  Journal j;
  const size_t k = std::min(statement.counts.size(), config.choices.size());
  for (size_t i = 0; i < k; ++i) j.tally[config.choices[i]] = statement.counts[i];
  j.counted = statement.counted;
  j.excluded = statement.excluded.size();
  j.tree_size = statement.tree_size;
  j.root = statement.root;
  j.expected_votes = config.ExpectedVotes();
  return j;
}

// ---- receipt.json -------------------------------------------------------------------------

json ReceiptToJson(const Receipt& r) {
  json doc = {{"bulletinIndex", r.bulletin_index},
              {"bulletinRootAtCast", FormatHash(r.bulletin_root_at_cast)},
              {"commitment", FormatHash(r.commitment)},
              {"rand", r.rand},
              {"sth", SignedSthToJson(r.sth)},
              {"timestamp", r.timestamp_ms},
              {"treeSizeAtCast", r.tree_size_at_cast},
              {"vote", r.vote},
              {"voteId", r.vote_id}};
  if (r.inclusion) {
    doc["inclusion"] = json{{std::string(json_names::kLeafIndex), r.inclusion->leaf_index},
                            {std::string(json_names::kPath), HashArray(r.inclusion->path)},
                            {std::string(json_names::kTreeSize), r.inclusion->tree_size}};
  }
  if (r.consistency) {
    doc["consistency"] =
        json{{std::string(json_names::kNewSize), r.consistency->new_size},
             {std::string(json_names::kOldSize), r.consistency->old_size},
             {std::string(json_names::kProof), HashArray(r.consistency->proof)}};
  }
  return doc;
}

StatusOr<Receipt> ReceiptFromJson(const json& doc) {
  constexpr std::string_view kWhat = "receipt";
  RETURN_IF_ERROR(CheckKeys(doc, kWhat,
                            {"bulletinIndex", "bulletinRootAtCast", "commitment", "rand", "sth",
                             "timestamp", "treeSizeAtCast", "vote", "voteId"},
                            {"inclusion", "consistency"}));
  Receipt r;
  ASSIGN_OR_RETURN(r.vote_id, GetString(doc, kWhat, "voteId"));
  if (StatusOr<ElectionId> id = ParseElectionId(r.vote_id); !id.ok()) {
    return id.status().Annotate("receipt.voteId");
  }
  ASSIGN_OR_RETURN(r.commitment, GetHash(doc, kWhat, "commitment"));
  ASSIGN_OR_RETURN(r.bulletin_index, GetUint(doc, kWhat, "bulletinIndex"));
  ASSIGN_OR_RETURN(r.bulletin_root_at_cast, GetHash(doc, kWhat, "bulletinRootAtCast"));
  ASSIGN_OR_RETURN(r.tree_size_at_cast, GetUint(doc, kWhat, "treeSizeAtCast"));
  ASSIGN_OR_RETURN(r.timestamp_ms, GetUint(doc, kWhat, "timestamp"));
  StatusOr<SignedSth> sth = SignedSthFromJson(doc.at("sth"));
  if (!sth.ok()) return sth.status().Annotate("receipt");
  r.sth = *sth;
  ASSIGN_OR_RETURN(r.vote, GetUint(doc, kWhat, "vote"));
  ASSIGN_OR_RETURN(r.rand, GetString(doc, kWhat, "rand"));
  if (doc.contains("inclusion")) {
    ASSIGN_OR_RETURN(InclusionEvidence e, InclusionFromJson(doc.at("inclusion")));
    r.inclusion = std::move(e);
  }
  if (doc.contains("consistency")) {
    ASSIGN_OR_RETURN(ConsistencyEvidence e, ConsistencyFromJson(doc.at("consistency")));
    r.consistency = std::move(e);
  }
  return r;
}

StatusOr<Receipt> ParseReceipt(std::string_view text) {
  ASSIGN_OR_RETURN(json doc, ParseJsonStrict(text, "receipt"));
  return ReceiptFromJson(doc);
}

}  // namespace vp::ballot
