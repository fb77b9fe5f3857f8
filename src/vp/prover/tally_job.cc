// Proving an election through the signed prover image.
#include "vp/prover/tally_job.h"

#include <string>

namespace vp::prover {

StatusOr<ballot::TallyProof> ProveTallyWithImage(const ProverInput& input, const ProverImage& image,
                                                 const ProverRunOptions& run_options,
                                                 uint64_t max_segment_leaves) {
  if (input.offset != 0) return InvalidArgumentError("prover input: a whole election starts at offset 0");
  ballot::TallyInput tally;
  tally.election_id = input.election_id;
  tally.config_hash = input.config_hash;
  tally.num_choices = input.num_choices;
  tally.leaves = input.leaves;
  tally.max_segment_leaves = max_segment_leaves;
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
    part.leaves.assign(input.leaves.begin() + static_cast<std::ptrdiff_t>(seg.offset),
                       input.leaves.begin() + static_cast<std::ptrdiff_t>(seg.offset + seg.size));
    const std::string request = EncodeProverInput(part);
    ASSIGN_OR_RETURN(ProverRun run, RunSignedProver(image, {"segment"}, AsBytes(request), run_options));
    const Status v = ballot::VerifySegment(out.statement, seg, run.output, {});
    if (!v.ok()) {
      return InternalError("prover returned an invalid proof for segment [" + std::to_string(seg.offset) +
                           ", " + std::to_string(seg.offset + seg.size) + "): " + v.message());
    }
    out.segments.push_back(std::move(run.output));
  }
  return out;
}

}  // namespace vp::prover
