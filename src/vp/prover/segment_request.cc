// Prover input JSON.
#include "vp/prover/segment_request.h"

#include <nlohmann/json.hpp>

#include "vp/base/json.h"
#include "vp/base/secure.h"

namespace vp::prover {
namespace {

using nlohmann::json;

StatusOr<uint64_t> GetUint(const json& obj, const char* key, std::string_view what) {
  const auto it = obj.find(key);
  if (it == obj.end() || !it->is_number_unsigned()) {
    return InvalidArgumentError(std::string(what) + ": \"" + key + "\" must be a non-negative integer");
  }
  return it->get<uint64_t>();
}

StatusOr<std::string> GetString(const json& obj, const char* key, std::string_view what) {
  const auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) {
    return InvalidArgumentError(std::string(what) + ": \"" + key + "\" must be a string");
  }
  return it->get<std::string>();
}

}  // namespace

std::string EncodeProverInput(const ProverInput& input) {
  std::string out = "{\"version\":" + std::to_string(input.version) + ",\"electionId\":\"" +
                    ballot::FormatElectionId(input.election_id) +
                    "\",\"configHash\":\"" + ballot::FormatHash(input.config_hash) +
                    "\",\"numChoices\":" + std::to_string(input.num_choices) +
                    ",\"offset\":" + std::to_string(input.offset);
  if (input.version >= 2) {
    out += ",\"blocks\":[";
    if (input.blocks.empty()) out += std::to_string(input.leaves.size());
    for (size_t j = 0; j < input.blocks.size(); ++j) out += (j > 0 ? "," : "") + std::to_string(input.blocks[j]);
    out += "]";
  }
  out += ",\"leaves\":[";
  out.reserve(out.size() + input.leaves.size() * 180);
  for (size_t i = 0; i < input.leaves.size(); ++i) {
    const ballot::LeafWitness& l = input.leaves[i];
    if (i > 0) out += ',';
    out += "{\"commitment\":\"" + ballot::FormatHash(l.commitment) + "\",";
    if (l.excluded) {
      out += "\"excluded\":true}";
    } else {
      out += "\"choice\":" + std::to_string(l.choice) + ",\"rand\":\"" +
             ballot::FormatVoteRandom(l.random) + "\"}";
    }
  }
  out += "]}";
  return out;
}

StatusOr<ProverInput> DecodeProverInput(std::string_view text) {
  ASSIGN_OR_RETURN(json doc, ParseJsonStrict(text, "prover input", 8));
  if (!doc.is_object()) return InvalidArgumentError("prover input: expected a JSON object");
  ASSIGN_OR_RETURN(uint64_t version, GetUint(doc, "version", "prover input"));
  if (version != 1 && version != 2) return InvalidArgumentError("prover input: unsupported version");
  if (version == 1) {
    RETURN_IF_ERROR(CheckJsonKeys(doc, "prover input", {"version", "electionId", "configHash", "numChoices", "offset", "leaves"}));
  } else {
    RETURN_IF_ERROR(CheckJsonKeys(doc, "prover input",
                                  {"version", "electionId", "configHash", "numChoices", "offset", "blocks", "leaves"}));
  }
  ProverInput in;
  in.version = static_cast<uint32_t>(version);
  if (version == 2) {
    // The sizes are checked against the offset and the leaves below.
    const json& blocks = doc["blocks"];
    if (!blocks.is_array() || blocks.empty() || blocks.size() > kMaxInputLeaves) {
      return InvalidArgumentError("prover input: \"blocks\" must be an array of 1..2^20 block sizes");
    }
    for (const json& b : blocks) {
      if (!b.is_number_unsigned()) return InvalidArgumentError("prover input: a block size must be a non-negative integer");
      in.blocks.push_back(b.get<uint64_t>());
    }
  }
  ASSIGN_OR_RETURN(std::string eid, GetString(doc, "electionId", "prover input"));
  ASSIGN_OR_RETURN(in.election_id, ballot::ParseElectionId(eid));
  ASSIGN_OR_RETURN(std::string cfg, GetString(doc, "configHash", "prover input"));
  ASSIGN_OR_RETURN(in.config_hash, ballot::ParseHash(cfg));
  ASSIGN_OR_RETURN(uint64_t k, GetUint(doc, "numChoices", "prover input"));
  if (k < 2 || k > ballot::kMaxChoices) return InvalidArgumentError("prover input: numChoices must be 2..16");
  in.num_choices = static_cast<uint32_t>(k);
  ASSIGN_OR_RETURN(in.offset, GetUint(doc, "offset", "prover input"));
  if (in.offset >= ballot::kMaxTreeSize) return InvalidArgumentError("prover input: offset out of range");
  const auto leaves = doc.find("leaves");
  if (leaves == doc.end() || !leaves->is_array()) return InvalidArgumentError("prover input: \"leaves\" must be an array");
  if (leaves->empty() || leaves->size() > kMaxInputLeaves) return InvalidArgumentError("prover input: 1..2^20 leaves");
  if (version == 2) {
    const StatusOr<uint64_t> covered = ballot::BlocksLeaves(in.offset, in.blocks);
    if (!covered.ok()) return InvalidArgumentError("prover input: " + covered.status().message());
    if (*covered != leaves->size()) return InvalidArgumentError("prover input: the blocks do not add up to the leaves");
  }
  in.leaves.reserve(leaves->size());
  for (size_t i = 0; i < leaves->size(); ++i) {
    const json& l = (*leaves)[i];
    const std::string what = "prover input: leaf " + std::to_string(in.offset + i);
    if (!l.is_object()) return InvalidArgumentError(what + ": expected an object");
    ballot::LeafWitness w;
    ASSIGN_OR_RETURN(std::string c, GetString(l, "commitment", what));
    ASSIGN_OR_RETURN(w.commitment, ballot::ParseHash(c));
    if (l.contains("excluded")) {
      RETURN_IF_ERROR(CheckJsonKeys(l, what, {"commitment", "excluded"}));
      if (!l["excluded"].is_boolean() || !l["excluded"].get<bool>()) {
        return InvalidArgumentError(what + ": \"excluded\" must be true when present");
      }
      w.excluded = true;
    } else {
      RETURN_IF_ERROR(CheckJsonKeys(l, what, {"commitment", "choice", "rand"}));
      ASSIGN_OR_RETURN(uint64_t choice, GetUint(l, "choice", what));
      if (choice >= k) return InvalidArgumentError(what + ": choice out of range");
      w.choice = static_cast<uint32_t>(choice);
      ASSIGN_OR_RETURN(std::string r, GetString(l, "rand", what));
      ASSIGN_OR_RETURN(w.random, ballot::ParseVoteRandom(r));
    }
    in.leaves.push_back(w);
  }
  // The openings in one batch of hashes (eight permutations at a time); the first leaf that
  // does not open is named, as when they were checked one by one.
  std::vector<std::array<stark::Fp, 12>> states;
  std::vector<size_t> counted;
  for (size_t i = 0; i < in.leaves.size(); ++i) {
    const ballot::LeafWitness& w = in.leaves[i];
    if (w.excluded) continue;
    states.push_back(ballot::CommitmentState(in.election_id, w.choice, w.random));
    counted.push_back(i);
  }
  const std::vector<ballot::HashOut> opened = ballot::TaggedHashes(states);
  // Permuted in place, the states still determine the randoms (the permutation inverts).
  SecureWipe(states.data(), states.size() * sizeof(states[0]));
  for (size_t j = 0; j < counted.size(); ++j) {
    if (opened[j] != in.leaves[counted[j]].commitment) {
      return InvalidArgumentError("prover input: leaf " + std::to_string(in.offset + counted[j]) +
                                  ": the commitment does not open to this choice and random");
    }
  }
  return in;
}

}  // namespace vp::prover
