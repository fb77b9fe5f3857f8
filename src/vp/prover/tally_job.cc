// Proving segments through the signed prover image (tally_job.h).
#include "vp/prover/tally_job.h"

#include <string>

#include "vp/stark/random.h"

namespace vp::prover {

StatusOr<Bytes> ProveSegmentInput(const ProverInput& input, ByteSpan encoded, const ProverImage& image,
                                  const ProverRunOptions& run_options) {
  ASSIGN_OR_RETURN(ballot::SegmentStatement segment,
                   ballot::ComputeSegmentStatement(input.offset, input.leaves, input.num_choices, input.blocks));
  // A segment's proof binds the election, the config and the number of choices besides the
  // segment's own statement; the rest of the whole statement is not its concern.
  ballot::TallyStatement context;
  context.version = input.version;
  context.election_id = input.election_id;
  context.config_hash = input.config_hash;
  context.num_choices = input.num_choices;
  Bytes proof;
  if (image.binary_path.empty()) {
    stark::SystemRandom masks;
    ASSIGN_OR_RETURN(proof, ballot::ProveSegment(context, segment, input.leaves, ballot::TallyProofOptions(), masks));
  } else {
    StatusOr<ProverRun> run = run_options.sessions != nullptr
                                  ? run_options.sessions->Run(encoded, run_options.threads, run_options)
                                  : RunSignedProver(image, {"segment"}, encoded, run_options);
    if (!run.ok()) return run.status();
    proof = std::move(run->output);
  }
  const Status v = ballot::VerifySegment(context, segment, proof, {});
  if (!v.ok()) {
    return InternalError("prover returned an invalid proof for segment [" + std::to_string(segment.offset) + ", " +
                         std::to_string(segment.offset + segment.size) + "): " + v.message());
  }
  return proof;
}

StatusOr<ballot::TallyProof> ProveTallyWithImage(const ProverInput& input, const ProverImage& image,
                                                 const ProverRunOptions& run_options,
                                                 uint64_t max_segment_leaves, uint64_t block_leaves) {
  if (input.offset != 0) return InvalidArgumentError("prover input: a whole election starts at offset 0");
  ballot::TallyInput tally;
  tally.election_id = input.election_id;
  tally.config_hash = input.config_hash;
  tally.num_choices = input.num_choices;
  tally.leaves = input.leaves;
  tally.max_segment_leaves = max_segment_leaves;
  tally.version = input.version;
  tally.block_leaves = block_leaves;
  ballot::TallyProof out;
  ASSIGN_OR_RETURN(out.statement, ballot::BuildTallyStatement(tally));
  // Check the image once up front, so an unsigned image fails before any work.
  RETURN_IF_ERROR(CheckProverImage(image));
  for (const ballot::SegmentStatement& seg : out.statement.segments) {
    ProverInput part;
    part.election_id = input.election_id;
    part.config_hash = input.config_hash;
    part.num_choices = input.num_choices;
    part.offset = seg.offset;
    part.version = input.version;
    if (input.version >= 2) {
      for (const ballot::BlockRoot& b : seg.blocks) part.blocks.push_back(b.size);
    }
    part.leaves.assign(input.leaves.begin() + static_cast<std::ptrdiff_t>(seg.offset),
                       input.leaves.begin() + static_cast<std::ptrdiff_t>(seg.offset + seg.size));
    const std::string request = EncodeProverInput(part);
    ASSIGN_OR_RETURN(Bytes proof, ProveSegmentInput(part, AsBytes(request), image, run_options));
    out.segments.push_back(std::move(proof));
  }
  return out;
}

}  // namespace vp::prover
