// The ballot verifier's C ABI for WebAssembly (ballot_wasm.h): JSON-in/JSON-out wrappers over
// vp::ballot that read their input strictly and turn every failure into {"ok":false,"reason"}.
// The JSON is nlohmann's, built with JSON_NOEXCEPTION in WASM (a throw would abort), so every
// value's type is checked before it is read.
#include "vp/ballot/wasm/ballot_wasm.h"

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "vp/ballot/bulletin.h"
#include "vp/ballot/commitment.h"
#include "vp/ballot/election.h"
#include "vp/ballot/sth.h"
#include "vp/ballot/tally.h"
#include "vp/ballot/tally_air.h"
#include "vp/base/bytes.h"
#include "vp/base/json.h"
#include "vp/base/status.h"
#include "vp/stark/layout.h"
#include "vp/stark/proof.h"
#include "vp/stark/verifier.h"

namespace vp::ballot {
namespace {

using nlohmann::json;

// The bundle's caps (docs/bundle_format.md section 3): nothing larger is read.
constexpr size_t kMaxJsonBytes = size_t{16} << 20;
constexpr size_t kMaxProofBytes = size_t{64} << 20;

// The answer of the last call; ccall copies it before the next call can overwrite it.
std::string& ResultBuffer() {
  static std::string buffer;
  return buffer;
}

const char* Reply(const json& doc) {
  // ensure_ascii + replace: a reason that quotes hostile bytes still makes valid JSON.
  ResultBuffer() = doc.dump(-1, ' ', /*ensure_ascii=*/true, json::error_handler_t::replace);
  return ResultBuffer().c_str();
}

const char* Fail(const std::string& reason) {
  return Reply(json{{"ok", false}, {"reason", reason}});
}

const char* Verdict(const Status& s) {
  if (!s.ok()) return Fail(s.message());
  return Reply(json{{"ok", true}, {"reason", ""}});
}

// A NUL-terminated argument as text, refused when absent or above the JSON cap.
StatusOr<std::string_view> TextArg(const char* text, std::string_view what) {
  if (text == nullptr) return InvalidArgumentError(std::string(what) + ": missing");
  size_t n = 0;
  while (text[n] != '\0') {
    if (++n > kMaxJsonBytes) {
      return InvalidArgumentError(std::string(what) + ": longer than " +
                                  std::to_string(kMaxJsonBytes) + " bytes");
    }
  }
  return std::string_view(text, n);
}

Status CheckKeys(const json& doc, std::string_view what, std::initializer_list<std::string_view> required,
                 std::initializer_list<std::string_view> optional = {}) {
  return vp::CheckJsonKeys(doc, what, required, optional);
}

// A JSON integer in [0, 2^53 - 1]; a negative or fractional number is refused.
StatusOr<uint64_t> GetUint(const json& doc, std::string_view key) {
  const json& v = doc.at(std::string(key));
  if (!v.is_number_unsigned()) {
    return InvalidArgumentError(std::string(key) + ": expected a non-negative integer");
  }
  const auto x = v.get<uint64_t>();
  if (x > kMaxJsonSafeInteger) {
    return InvalidArgumentError(std::string(key) + ": above 2^53 - 1");
  }
  return x;
}

StatusOr<std::string> GetString(const json& doc, std::string_view key) {
  const json& v = doc.at(std::string(key));
  if (!v.is_string()) return InvalidArgumentError(std::string(key) + ": expected a string");
  return v.get<std::string>();
}

StatusOr<HashOut> GetHash(const json& doc, std::string_view key) {
  ASSIGN_OR_RETURN(std::string text, GetString(doc, key));
  StatusOr<HashOut> h = ParseHash(text);
  if (!h.ok()) return h.status().Annotate(key);
  return h;
}

// A list of hashes; more than kMaxProofHashes is refused before any of them is read.
StatusOr<std::vector<HashOut>> GetHashList(const json& doc, std::string_view key) {
  const json& v = doc.at(std::string(key));
  if (!v.is_array()) return InvalidArgumentError(std::string(key) + ": expected an array");
  if (v.size() > kMaxProofHashes) {
    return InvalidArgumentError(std::string(key) + ": more than " +
                                std::to_string(kMaxProofHashes) + " hashes");
  }
  std::vector<std::string> hex;
  hex.reserve(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    if (!v[i].is_string()) {
      return InvalidArgumentError(std::string(key) + "[" + std::to_string(i) +
                                  "]: expected a string");
    }
    hex.push_back(v[i].get<std::string>());
  }
  StatusOr<std::vector<HashOut>> list = ParseHashList(hex);
  if (!list.ok()) return list.status().Annotate(key);
  return list;
}

StatusOr<json> ParseObject(const char* text, std::string_view what) {
  ASSIGN_OR_RETURN(std::string_view body, TextArg(text, what));
  return ParseJsonStrict(body, what);
}

// ---- the operations behind the entry points --------------------------------------------

StatusOr<json> Commitment(const char* election_id, double choice, const char* rand_hex) {
  ASSIGN_OR_RETURN(std::string_view eid_text, TextArg(election_id, "electionId"));
  StatusOr<ElectionId> eid = ParseElectionId(eid_text);
  if (!eid.ok()) return eid.status().Annotate("electionId");
  // The JS number must be an exact uint32; its range against the election's choices is the
  // caller's check (as ComputeCommitment's).
  if (!std::isfinite(choice) || choice < 0 || choice != std::floor(choice) ||
      choice > static_cast<double>(std::numeric_limits<uint32_t>::max())) {
    return InvalidArgumentError("choice: expected an integer in [0, 2^32 - 1]");
  }
  ASSIGN_OR_RETURN(std::string_view rand_text, TextArg(rand_hex, "rand"));
  StatusOr<VoteRandom> random = ParseVoteRandom(rand_text);
  if (!random.ok()) return random.status().Annotate("rand");
  const HashOut c = ComputeCommitment(*eid, static_cast<uint32_t>(choice), *random);
  return json{{"ok", true}, {"commitment", FormatHash(c)}};
}

Status Inclusion(const char* text) {
  ASSIGN_OR_RETURN(json doc, ParseObject(text, "inclusion"));
  RETURN_IF_ERROR(
      CheckKeys(doc, "inclusion", {"commitment", "leafIndex", "treeSize", "path", "root"}));
  ASSIGN_OR_RETURN(HashOut commitment, GetHash(doc, "commitment"));
  ASSIGN_OR_RETURN(uint64_t index, GetUint(doc, "leafIndex"));
  ASSIGN_OR_RETURN(uint64_t size, GetUint(doc, "treeSize"));
  ASSIGN_OR_RETURN(std::vector<HashOut> path, GetHashList(doc, "path"));
  ASSIGN_OR_RETURN(HashOut root, GetHash(doc, "root"));
  return VerifyCommitmentInclusion(commitment, index, size, path, root);
}

Status Consistency(const char* text) {
  ASSIGN_OR_RETURN(json doc, ParseObject(text, "consistency"));
  RETURN_IF_ERROR(
      CheckKeys(doc, "consistency", {"oldSize", "newSize", "oldRoot", "newRoot", "proof"}));
  ASSIGN_OR_RETURN(uint64_t old_size, GetUint(doc, "oldSize"));
  ASSIGN_OR_RETURN(uint64_t new_size, GetUint(doc, "newSize"));
  ASSIGN_OR_RETURN(HashOut old_root, GetHash(doc, "oldRoot"));
  ASSIGN_OR_RETURN(HashOut new_root, GetHash(doc, "newRoot"));
  ASSIGN_OR_RETURN(std::vector<HashOut> proof, GetHashList(doc, "proof"));
  return VerifyConsistency(old_size, new_size, old_root, new_root, proof);
}

// The signature, when given, is only checked for form and handed back beside the message,
// so the page passes both to WebCrypto's Ed25519 verify (this module has no Ed25519).
StatusOr<json> SthMessageOf(const char* text) {
  ASSIGN_OR_RETURN(json doc, ParseObject(text, "sth"));
  RETURN_IF_ERROR(CheckKeys(doc, "sth", {"logId", "treeSize", "timestamp", "root"}, {"signature"}));
  ASSIGN_OR_RETURN(std::string log_id, GetString(doc, "logId"));
  ASSIGN_OR_RETURN(uint64_t size, GetUint(doc, "treeSize"));
  ASSIGN_OR_RETURN(uint64_t timestamp, GetUint(doc, "timestamp"));
  ASSIGN_OR_RETURN(std::string root, GetString(doc, "root"));
  ASSIGN_OR_RETURN(Sth sth, SthFromFields(log_id, size, timestamp, root));
  json out{{"ok", true}, {"message", FormatLowerHex(SthMessage(sth))}};
  if (doc.contains("signature")) {
    ASSIGN_OR_RETURN(std::string sig_text, GetString(doc, "signature"));
    StatusOr<SthSignature> sig = ParseSthSignature(sig_text);
    if (!sig.ok()) return sig.status().Annotate("signature");
    out["signature"] = FormatSthSignature(*sig);
  }
  return out;
}

// The weakest segment's conjectured security: what the whole proof is worth.
StatusOr<double> ConjecturedBits(const TallyStatement& statement,
                                 std::span<const Bytes> segment_proofs) {
  double bits = std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < segment_proofs.size() && i < statement.segments.size(); ++i) {
    ASSIGN_OR_RETURN(stark::Proof p, stark::DeserializeProof(segment_proofs[i]));
    ASSIGN_OR_RETURN(TallyAir air, TallyAir::FromPublicInputs(
                                       SegmentPublicInputs(statement, statement.segments[i])));
    ASSIGN_OR_RETURN(stark::StarkLayout layout, stark::ComputeLayout(air, p.options));
    const double b = p.options.ConjecturedSecurityBits(layout.log_lde);
    if (b < bits) bits = b;
  }
  return bits;
}

// The config hash the manifest's election config gives (ElectionConfigHash), for the
// configHashMatches check: the page compares it with the manifest's and the statement's.
StatusOr<json> ConfigHashOf(const char* manifest_text) {
  ASSIGN_OR_RETURN(std::string_view text, TextArg(manifest_text, "election-manifest.json"));
  ASSIGN_OR_RETURN(json doc, ParseCanonicalJson(text, "election-manifest.json"));
  ASSIGN_OR_RETURN(ElectionManifest manifest, ManifestFromJson(doc));
  return json{{"ok", true}, {"configHash", FormatHash(ElectionConfigHash(manifest.config))}};
}

StatusOr<json> Tally(const char* public_input, const uint8_t* proof, size_t len,
                     double min_bits) {
  // The floor of docs/bundle_format.md: never below 100 bits, whatever the caller asks.
  if (!std::isfinite(min_bits) || min_bits > kMaxSecurityBits) {
    return InvalidArgumentError("minBits: expected a number of bits up to " +
                                std::to_string(kMaxSecurityBits));
  }
  stark::VerifierConfig config;
  config.min_conjectured_bits =
      min_bits < kMinSecurityBitsFloor ? kMinSecurityBitsFloor : min_bits;
  ASSIGN_OR_RETURN(std::string_view text, TextArg(public_input, "public-input.json"));
  ASSIGN_OR_RETURN(json doc, ParseCanonicalJson(text, "public-input.json"));
  StatusOr<TallyStatement> statement = StatementFromJson(doc);
  if (!statement.ok()) return statement.status().Annotate("public-input.json");
  if (proof == nullptr && len != 0) return InvalidArgumentError("proof.bin: missing");
  if (len > kMaxProofBytes) {
    return InvalidArgumentError("proof.bin: larger than " + std::to_string(kMaxProofBytes) +
                                " bytes");
  }
  ASSIGN_OR_RETURN(std::vector<Bytes> segments, ParseSegmentProofs(ByteSpan(proof, len)));
  RETURN_IF_ERROR(CheckTallyStatement(*statement));
  RETURN_IF_ERROR(VerifyTally(*statement, segments, config));
  ASSIGN_OR_RETURN(double bits, ConjecturedBits(*statement, segments));
  return json{{"ok", true},
              {"reason", ""},
              {"segments", segments.size()},
              {"conjecturedSecurityBits", bits}};
}

const char* Answer(const StatusOr<json>& r) {
  if (!r.ok()) return Fail(r.status().message());
  return Reply(*r);
}

}  // namespace
}  // namespace vp::ballot

extern "C" {

const char* vp_ballot_commitment(const char* election_id, double choice, const char* rand_hex) {
  return vp::ballot::Answer(vp::ballot::Commitment(election_id, choice, rand_hex));
}

const char* vp_ballot_verify_inclusion(const char* json_text) {
  return vp::ballot::Verdict(vp::ballot::Inclusion(json_text));
}

const char* vp_ballot_verify_consistency(const char* json_text) {
  return vp::ballot::Verdict(vp::ballot::Consistency(json_text));
}

const char* vp_ballot_sth_message(const char* json_text) {
  return vp::ballot::Answer(vp::ballot::SthMessageOf(json_text));
}

const char* vp_ballot_config_hash(const char* manifest_json) {
  return vp::ballot::Answer(vp::ballot::ConfigHashOf(manifest_json));
}

const char* vp_ballot_verify_tally(const char* public_input_json, const uint8_t* proof,
                                   size_t len, double min_bits) {
  return vp::ballot::Answer(vp::ballot::Tally(public_input_json, proof, len, min_bits));
}

}  // extern "C"
