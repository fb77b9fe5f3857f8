// The tally proof: a STARK (vp::stark) that the bulletin tree of n leaves with root R counts
// as the published tally (format and AIR: docs/tally_proof.md, versions 1 and 2).
//
// The tree is proven in segments, each by its own TallyAir proof, so workers can prove
// segments in parallel and on different hosts. A segment is a run of blocks: complete,
// aligned subtrees of the RFC 6962 shape (SegmentLayout; version 1 segments are one block). Its public statement is its leaf range, its blocks' roots, its per-choice counts
// and its excluded leaf indices; the verifier checks every segment proof, recombines the
// block roots into the tree root with the RFC 6962 recursion and sums the counts. Each
// segment's statement is public, so per-segment subtotals are revealed (one segment holds up
// to kDefaultMaxSegmentLeaves leaves, so elections of that size reveal only the totals).
// Nothing else about any vote is: choices and randoms are private columns of a
// zero-knowledge proof.
//
//   TallyInput in{election_id, config_hash, num_choices, leaves};  // leaves from the store
//   ASSIGN_OR_RETURN(TallyProof proof, ProveTally(in, TallyProofOptions(), rng));
//   RETURN_IF_ERROR(VerifyTally(proof.statement, proof.segments, VerifierConfig{}));
//
// Standard library + vp::stark only: the verifier half compiles to WebAssembly.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "vp/ballot/commitment.h"
#include "vp/base/bytes.h"
#include "vp/base/status.h"
#include "vp/stark/options.h"
#include "vp/stark/prover.h"
#include "vp/stark/random.h"
#include "vp/stark/verifier.h"

namespace vp::ballot {

inline constexpr uint32_t kMaxChoices = 16;
// Version 2 segments: blocks of 2^10 leaves (smaller subtrees at the tree's end are blocks of
// their own size), up to 21,504 leaves a segment: 21 blocks take 64,491 rows, so a segment's
// trace of 2^16 rows is 98% used (a version 1 segment of 2^14 leaves used 75% of it).
inline constexpr uint64_t kDefaultBlockLeaves = uint64_t{1} << 10;
inline constexpr uint64_t kDefaultMaxSegmentLeaves = 21 * kDefaultBlockLeaves;
inline constexpr uint64_t kMaxSegmentLeaves = uint64_t{1} << 20;
inline constexpr uint64_t kMaxTreeSize = uint64_t{1} << 32;
inline constexpr uint32_t kTallyVersion = 2;  // what the prover makes; the verifier takes 1 and 2
inline constexpr std::string_view kTallyAirNameV1 = "vaultproof-tally-v1";
inline constexpr std::string_view kTallyAirNameV2 = "vaultproof-tally-v2";
inline constexpr std::string_view kTallyAirName = kTallyAirNameV2;
// The AIR name of a statement version ("" for an unknown one).
inline constexpr std::string_view TallyAirName(uint32_t version) {
  return version == 1 ? kTallyAirNameV1 : version == 2 ? kTallyAirNameV2 : std::string_view();
}
inline constexpr std::string_view kExcludedDomain = "vaultproof:excluded:v1";
inline constexpr std::string_view kConfigDomain = "vaultproof:config:v1";

// The options tally segments are proven with: blowup 4, 42 queries and 16 grinding bits, 100
// conjectured bits (docs/tally_proof.md). Against the engine's default (blowup 8, 28
// queries): half the committed LDE, Merkle hashing, DEEP and FRI, for 50% more queries and a
// 35% larger proof.
inline stark::ProofOptions TallyProofOptions() {
  stark::ProofOptions o;
  o.log_blowup = 2;
  o.num_queries = 42;
  return o;
}

// One leaf of the bulletin as the prover sees it. A counted leaf opens its commitment
// (choice < num_choices, random); an excluded leaf gives only its commitment.
struct LeafWitness {
  HashOut commitment{};
  bool excluded = false;
  uint32_t choice = 0;
  VoteRandom random{};
};

// One block of a segment: a complete subtree of `size` leaves (a power of two) and its hash.
struct BlockRoot {
  uint64_t size = 0;
  HashOut root{};
  friend bool operator==(const BlockRoot&, const BlockRoot&) = default;
};

// The public statement of one segment: leaves [offset, offset + size) as consecutive blocks,
// each aligned to its size, their sizes adding up to `size`. A version 1 segment is one block.
struct SegmentStatement {
  uint64_t offset = 0;
  uint64_t size = 0;
  std::vector<BlockRoot> blocks;    // in leaf order
  std::vector<uint64_t> counts;     // per choice, num_choices entries
  std::vector<uint64_t> excluded;   // absolute leaf indices, strictly increasing, in range

  friend bool operator==(const SegmentStatement&, const SegmentStatement&) = default;
};

// The public statement of the whole tally.
struct TallyStatement {
  uint32_t version = kTallyVersion;  // of the segments' AIR: 1 (one block each) or 2
  ElectionId election_id{};
  HashOut config_hash{};
  uint32_t num_choices = 0;
  uint64_t tree_size = 0;
  HashOut root{};                   // the bulletin root of tree_size leaves
  std::vector<uint64_t> counts;     // per choice, sum over segments
  uint64_t counted = 0;             // sum of counts
  std::vector<uint64_t> excluded;   // all excluded indices, strictly increasing
  HashOut excluded_commitment{};    // ExcludedSetCommitment(excluded)
  std::vector<SegmentStatement> segments;  // in leaf order (SegmentLayout's when proven here)

  friend bool operator==(const TallyStatement&, const TallyStatement&) = default;
};

struct TallyInput {
  ElectionId election_id{};
  HashOut config_hash{};
  uint32_t num_choices = 0;
  std::vector<LeafWitness> leaves;  // bulletin order
  uint64_t max_segment_leaves = kDefaultMaxSegmentLeaves;
  uint64_t block_leaves = kDefaultBlockLeaves;  // version 2 only
  uint32_t version = kTallyVersion;
};

struct TallyProof {
  TallyStatement statement;
  std::vector<Bytes> segments;  // serialized stark proofs, one per statement.segments entry
};

// One segment of a layout: leaves [offset, offset + size) as blocks of these sizes.
struct SegmentShape {
  uint64_t offset = 0, size = 0;
  std::vector<uint64_t> blocks;
  friend bool operator==(const SegmentShape&, const SegmentShape&) = default;
};

// The segments of a tree of n leaves: RFC 6962's decomposition of n into complete aligned
// subtrees (the binary digits of n, largest first). Subtrees of at least b leaves are cut
// into blocks of b, b = min(block_leaves, the largest power of two <= max_segment_leaves);
// each smaller subtree is a block of its own. Consecutive blocks are grouped into segments of
// at most max_segment_leaves leaves, or (one_block_each, version 1's layout) one block each.
// In leaf order; empty when n, max or block_leaves is 0.
std::vector<SegmentShape> SegmentLayout(uint64_t n, uint64_t max_segment_leaves,
                                        uint64_t block_leaves = kDefaultBlockLeaves,
                                        bool one_block_each = false);

// The leaves of consecutive blocks of these sizes from leaf `offset` on: kInvalidArgument
// unless every size is a power of two, every block is aligned to its size and they hold at
// most kMaxSegmentLeaves leaves in all. What every reader of a segment's blocks checks.
StatusOr<uint64_t> BlocksLeaves(uint64_t offset, std::span<const uint64_t> sizes);

// The tree root of n leaves from the segments' block roots. The segments must tile [0, n) in
// order, each of blocks of power-of-two sizes aligned to their sizes (at most
// kMaxSegmentLeaves leaves in all), every block inside one complete subtree of RFC 6962's
// decomposition of n (SegmentLayout gives such a tiling); kInvalidArgument otherwise.
StatusOr<HashOut> CombineSegmentRoots(uint64_t n, std::span<const SegmentStatement> segments);

// Poseidon2Hash([DomainTag(kExcludedDomain), count, i_0, ..., i_{count-1}]) with each index
// as one element: what public-input.json names the "excluded set commitment".
HashOut ExcludedSetCommitment(std::span<const uint64_t> excluded);

// The config hash: Poseidon2Hash([DomainTag(kConfigDomain), byte length, BytesToLimbs(bytes)])
// over the canonical JSON text of the election config.
HashOut ConfigHash(std::string_view canonical_config_json);

// The public inputs of one segment's AIR (what its proof carries and the transcript absorbs).
std::vector<stark::Fp> SegmentPublicInputs(const TallyStatement& statement,
                                           const SegmentStatement& segment);

// Proves one segment. leaves: the witnesses of exactly segment.size leaves. Checks the
// witness first and returns kInvalidArgument naming the first bad leaf (a commitment that
// does not open, a choice out of range); the statement's root, counts and excluded must be
// what the leaves give (ComputeSegmentStatement).
StatusOr<Bytes> ProveSegment(const TallyStatement& statement, const SegmentStatement& segment,
                             std::span<const LeafWitness> leaves,
                             const stark::ProofOptions& options, stark::RandomSource& rng,
                             stark::ProverStats* stats = nullptr);

// The public statement a segment's leaves give (block roots, counts, excluded), in blocks of
// these sizes (powers of two, each aligned to its size, adding up to the number of leaves;
// empty: one block, the number of leaves a power of two).
StatusOr<SegmentStatement> ComputeSegmentStatement(uint64_t offset,
                                                   std::span<const LeafWitness> leaves,
                                                   uint32_t num_choices,
                                                   std::span<const uint64_t> blocks = {});

// The public statement of a whole election's leaves, without proving (what a worker that
// delegates segments to prover processes checks their proofs against).
StatusOr<TallyStatement> BuildTallyStatement(const TallyInput& input);

// Builds the statement and proves every segment (sequentially; each proof uses both cores).
// Test-only option for the tamper scenarios: none; a dishonest tally is built by editing
// the statement after proving (the verifier must then refuse it).
StatusOr<TallyProof> ProveTally(const TallyInput& input, const stark::ProofOptions& options,
                                stark::RandomSource& rng);

// Checks the statement's internal consistency (layout, sums, excluded union and commitment,
// combined root) without any proof. kInvalidArgument with the reason.
Status CheckTallyStatement(const TallyStatement& statement);

// Verifies one segment proof against its statement.
Status VerifySegment(const TallyStatement& statement, const SegmentStatement& segment,
                     ByteSpan proof, const stark::VerifierConfig& config);

// CheckTallyStatement + every segment proof. kInvalidArgument with the reason (which segment,
// which check) on any failure; never crashes on any input.
Status VerifyTally(const TallyStatement& statement, std::span<const Bytes> segment_proofs,
                   const stark::VerifierConfig& config);

// The proof.bin container of a bundle: "VPTALLY1" magic, u32 segment count, then per segment
// a u32 length and the stark proof bytes (little-endian). Strict decoder, bounded counts.
Bytes SerializeSegmentProofs(std::span<const Bytes> segment_proofs);
StatusOr<std::vector<Bytes>> ParseSegmentProofs(ByteSpan bytes);

}  // namespace vp::ballot
