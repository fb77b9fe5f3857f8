// The prover's input: one election's witness, or one segment of it, as JSON (the private
// "input.json" object of a finalization; docs/tally_proof.md, "Prover input"). It holds every
// counted vote's choice and random, so it is stored encrypted and never served.
//
//   std::string text = EncodeProverInput(input);
//   ASSIGN_OR_RETURN(ProverInput back, DecodeProverInput(text));
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "vp/ballot/tally.h"
#include "vp/base/status.h"

namespace vp::prover {

// Version 2 inputs list the segment's block sizes and are proven with the version 2 tally
// AIR; version 1 inputs (no blocks) are one block, proven with version 1.
inline constexpr uint64_t kProverInputVersion = 2;
// Leaves in one input: a whole segment of the largest size.
inline constexpr uint64_t kMaxInputLeaves = ballot::kMaxSegmentLeaves;

struct ProverInput {
  ballot::ElectionId election_id{};
  ballot::HashOut config_hash{};
  uint32_t num_choices = 0;
  uint64_t offset = 0;  // index of leaves[0] in the bulletin
  uint32_t version = kProverInputVersion;
  // Version 2: the segment's block sizes (powers of two, each aligned to its size, adding up
  // to the number of leaves); empty for one block of all of them (a whole election's input,
  // which ProveTallyWithImage lays out itself, has none).
  std::vector<uint64_t> blocks;
  std::vector<ballot::LeafWitness> leaves;
};

// {"version":2,"electionId":uuid,"configHash":hex,"numChoices":k,"offset":o,"blocks":[m...],
//  "leaves":[{"commitment":hex,"choice":c,"rand":hex} | {"commitment":hex,"excluded":true}]}
// (version 1: no "blocks").
std::string EncodeProverInput(const ProverInput& input);
// Strict: unknown or missing fields, wrong types, a counted leaf whose commitment does not
// open, a choice out of range, or more than kMaxInputLeaves leaves are kInvalidArgument.
StatusOr<ProverInput> DecodeProverInput(std::string_view text);

}  // namespace vp::prover
