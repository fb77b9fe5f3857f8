// STARK verifier: replays the transcript, checks the out-of-domain constraint identity, the
// Merkle openings, the DEEP values against FRI layer 0, every FRI fold and the remainder.
// Returns OK or kInvalidArgument with a reason naming the failed check; never crashes on any
// input (the proof decoder bounds every size first).
//
//   VerifierConfig cfg;                                // min 100 conjectured bits
//   Status s = Verify(air, proof, cfg);
//   Status s2 = VerifyBytes(air, bytes, cfg);          // decode + verify
#pragma once

#include "vp/base/bytes.h"
#include "vp/base/status.h"
#include "vp/stark/air.h"
#include "vp/stark/proof.h"

namespace vp::stark {

struct VerifierConfig {
  double min_conjectured_bits = 100;
};

Status Verify(const Air& air, const Proof& proof, const VerifierConfig& config = {});
Status VerifyBytes(const Air& air, ByteSpan proof_bytes, const VerifierConfig& config = {});

}  // namespace vp::stark
