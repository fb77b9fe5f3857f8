// The proof object and its versioned binary encoding (docs/proof_format.md). Decoding never
// crashes: every count is bounded, every field element must be canonical, and trailing
// bytes are an error.
//
//   Bytes b = SerializeProof(proof);
//   ASSIGN_OR_RETURN(Proof p, DeserializeProof(b));
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "vp/base/bytes.h"
#include "vp/base/status.h"
#include "vp/stark/field.h"
#include "vp/stark/merkle.h"
#include "vp/stark/options.h"

namespace vp::stark {

inline constexpr uint16_t kProofVersion = 1;
inline constexpr char kProtocolId[] = "vaultproof-stark";

// Rows opened from one committed table, in increasing leaf order, with their salts (hiding
// mode) and one batched authentication proof.
struct TreeOpening {
  std::vector<std::vector<Fp>> rows;
  std::vector<Salt> salts;
  MerkleMultiProof proof;
};

struct Proof {
  ProofOptions options;
  std::string air_name;
  std::vector<Fp> public_inputs;
  uint8_t log_trace_length = 0;

  Digest main_root{};
  bool has_aux = false;
  Digest aux_root{};
  Digest composition_root{};

  std::vector<Fp2> ood_main_current, ood_main_next;
  std::vector<Fp2> ood_aux_current, ood_aux_next;
  std::vector<Fp2> ood_composition;

  std::vector<Digest> fri_roots;
  std::vector<Fp2> fri_remainder;  // coefficients, low degree first
  uint64_t pow_nonce = 0;

  TreeOpening main_opening, aux_opening, composition_opening;
  std::vector<TreeOpening> fri_openings;  // rows hold f extension values as 2f base elements
};

Bytes SerializeProof(const Proof& proof);
// kInvalidArgument with the offending field named on any malformed input.
StatusOr<Proof> DeserializeProof(ByteSpan bytes);

}  // namespace vp::stark
