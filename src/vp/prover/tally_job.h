// The worker's side of a finalization: proves a whole election by running the signed prover
// image once per segment, and accepts a segment proof only after verifying it against the
// statement the worker computed itself from the witness.
//
//   ASSIGN_OR_RETURN(ballot::TallyProof proof, ProveTallyWithImage(input, image, run_options));
#pragma once

#include <cstdint>

#include "vp/ballot/tally.h"
#include "vp/prover/prover_image.h"
#include "vp/prover/segment_request.h"

namespace vp::prover {

// input: the whole election (offset 0). Errors: those of RunSignedProver (an unsigned image
// is kPermissionDenied "ImageSignatureVerificationFailed: ..."), kInvalidArgument for a bad
// witness, kInternal "prover returned an invalid proof for segment [a, b): ..." when a proof
// does not verify.
StatusOr<ballot::TallyProof> ProveTallyWithImage(
    const ProverInput& input, const ProverImage& image, const ProverRunOptions& run_options,
    uint64_t max_segment_leaves = ballot::kDefaultMaxSegmentLeaves);

}  // namespace vp::prover
