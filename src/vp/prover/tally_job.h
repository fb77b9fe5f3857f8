// The worker's side of a finalization: proves one segment of an election, or a whole election
// segment by segment, through the signed prover image, and accepts a segment proof only after
// verifying it against the statement the worker computed itself from the witness.
//
//   ASSIGN_OR_RETURN(Bytes proof, ProveSegmentInput(segment_input, encoded, image, run_options));
//   ASSIGN_OR_RETURN(ballot::TallyProof proof, ProveTallyWithImage(input, image, run_options));
#pragma once

#include <cstdint>

#include "vp/ballot/tally.h"
#include "vp/base/bytes.h"
#include "vp/prover/prover_image.h"
#include "vp/prover/segment_request.h"

namespace vp::prover {

// One segment: input.leaves at input.offset; encoded is EncodeProverInput(input) (what the
// image reads on stdin). image.binary_path empty proves in this process (tests and dev only);
// run_options.sessions sends the request to a warm image of that pool instead.
// Errors: those of RunSignedProver (an unsigned image is kPermissionDenied
// "ImageSignatureVerificationFailed: ..."), kInvalidArgument for a bad witness, kInternal
// "prover returned an invalid proof for segment [a, b): ..." when the proof does not verify.
StatusOr<Bytes> ProveSegmentInput(const ProverInput& input, ByteSpan encoded, const ProverImage& image,
                                  const ProverRunOptions& run_options);

// input: the whole election (offset 0), proven one segment after the other in this thread
// (the ballot service runs segments as separate jobs instead: vp/election/finalize.h).
StatusOr<ballot::TallyProof> ProveTallyWithImage(
    const ProverInput& input, const ProverImage& image, const ProverRunOptions& run_options,
    uint64_t max_segment_leaves = ballot::kDefaultMaxSegmentLeaves,
    uint64_t block_leaves = ballot::kDefaultBlockLeaves);

}  // namespace vp::prover
