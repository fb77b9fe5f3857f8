// STARK prover: commits to the trace, the composition polynomial and the FRI layers, and
// answers the queries the Fiat-Shamir channel draws. The prover does not check the witness:
// an invalid trace yields a proof the verifier rejects (tests rely on this).
//
//   SystemRandom rng;
//   ASSIGN_OR_RETURN(Proof proof, Prove(air, trace, ProofOptions{}, rng));
//   Bytes wire = SerializeProof(proof);
#pragma once

#include "vp/base/status.h"
#include "vp/stark/air.h"
#include "vp/stark/options.h"
#include "vp/stark/proof.h"
#include "vp/stark/random.h"

namespace vp::stark {

struct ProverStats {
  double trace_ms = 0, composition_ms = 0, ood_ms = 0, deep_ms = 0, fri_ms = 0, pow_ms = 0,
         query_ms = 0, total_ms = 0;
  size_t trace_length = 0, lde_size = 0, num_segments = 0;
  // The composition polynomial's evaluation points: full cosets of the trace domain, and the
  // points of the small coset that holds its last coefficients (0 when it took one more
  // full coset).
  size_t composition_cosets = 0, composition_small_points = 0;
  // False when the composition polynomial exceeded its degree bound, i.e. the trace does
  // not satisfy the constraints (the proof will not verify).
  bool composition_degree_ok = true;
};

// trace: MainWidth() columns of TraceRows() rows. rng supplies zero-knowledge masks (random
// rows, salts, blinding); use SystemRandom in production. Errors: kInvalidArgument when the
// options or the trace shape do not fit the AIR.
StatusOr<Proof> Prove(const Air& air, const TraceColumns& trace, const ProofOptions& options,
                      RandomSource& rng, ProverStats* stats = nullptr);

// For processes that prove (the prover image, the CLI's prove commands, benchmarks): keeps
// memory a proof frees inside the process (up to 2 GiB), so a later phase or the next proof
// reuses those pages. glibc would otherwise map and unmap each column of megabytes, and every
// fresh 4 KiB page costs a fault and a clear: a tally segment of 2^14 votes touches about
// 1 GB, 1.2-2.5 s of system time on this 2-core VM. No effect outside glibc or under the
// sanitizers. Call once, early.
void KeepFreedMemoryForProving();

}  // namespace vp::stark
