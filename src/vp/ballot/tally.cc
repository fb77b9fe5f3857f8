// The tally proof over segments (docs/tally_proof.md).
#include "vp/ballot/tally.h"

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "vp/ballot/bulletin.h"
#include "vp/ballot/tally_air.h"

namespace vp::ballot {
namespace {

using stark::Fp;

constexpr char kProofMagic[8] = {'V', 'P', 'T', 'A', 'L', 'L', 'Y', '1'};
constexpr uint32_t kMaxSegments = 4096;
constexpr uint32_t kMaxSegmentProofBytes = 16u << 20;

bool IsPowerOfTwo(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

uint64_t LargestPowerOfTwoAtMost(uint64_t v) {
  uint64_t p = 1;
  while (p <= v / 2) p *= 2;
  return p;
}

std::string Range(const SegmentStatement& s) {
  return "segment [" + std::to_string(s.offset) + ", " + std::to_string(s.offset + s.size) + ")";
}

void PutU32(Bytes& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

std::vector<uint64_t> BlockSizes(const SegmentStatement& s) {
  std::vector<uint64_t> sizes;
  sizes.reserve(s.blocks.size());
  for (const BlockRoot& b : s.blocks) sizes.push_back(b.size);
  return sizes;
}

uint32_t GetU32(ByteSpan b, size_t at) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i) v |= static_cast<uint32_t>(b[at + i]) << (8 * i);
  return v;
}

}  // namespace

std::vector<SegmentShape> SegmentLayout(uint64_t n, uint64_t max_segment_leaves, uint64_t block_leaves,
                                        bool one_block_each) {
  std::vector<SegmentShape> out;
  if (n == 0 || max_segment_leaves == 0 || block_leaves == 0) return out;
  const uint64_t b = std::min(LargestPowerOfTwoAtMost(block_leaves), LargestPowerOfTwoAtMost(max_segment_leaves));
  SegmentShape cur;
  auto add_block = [&](uint64_t offset, uint64_t size) {
    if (!cur.blocks.empty() && (one_block_each || cur.size + size > max_segment_leaves)) {
      out.push_back(std::move(cur));
      cur = SegmentShape{};
    }
    if (cur.blocks.empty()) cur.offset = offset;
    cur.size += size;
    cur.blocks.push_back(size);
  };
  uint64_t offset = 0;
  while (offset < n) {
    const uint64_t chunk = LargestPowerOfTwoAtMost(n - offset);
    const uint64_t piece = std::min(chunk, b);
    for (uint64_t o = offset; o < offset + chunk; o += piece) add_block(o, piece);
    offset += chunk;
  }
  out.push_back(std::move(cur));
  return out;
}

StatusOr<uint64_t> BlocksLeaves(uint64_t offset, std::span<const uint64_t> sizes) {
  uint64_t total = 0;
  for (const uint64_t b : sizes) {
    if (!IsPowerOfTwo(b) || b > kMaxSegmentLeaves - total) {
      return InvalidArgumentError("tally: blocks must be powers of two, at most 2^20 leaves in all");
    }
    // b divides 2^64, so the sum may wrap without changing the remainder.
    if ((offset + total) % b != 0) return InvalidArgumentError("tally: a block is not aligned to its size");
    total += b;
  }
  return total;
}

StatusOr<HashOut> CombineSegmentRoots(uint64_t n, std::span<const SegmentStatement> segments) {
  if (n == 0 || n > kMaxTreeSize) return InvalidArgumentError("tally: tree size must be 1..2^32");
  if (segments.empty()) return InvalidArgumentError("tally: no segments");
  std::map<uint64_t, const BlockRoot*> by_offset;
  uint64_t next = 0;
  for (const SegmentStatement& s : segments) {
    if (s.offset != next) return InvalidArgumentError("tally: segments must tile the tree in order");
    if (s.blocks.empty() || s.size > kMaxSegmentLeaves) {
      return InvalidArgumentError("tally: " + Range(s) + " must be 1 to 2^20 leaves in blocks");
    }
    const StatusOr<uint64_t> covered = BlocksLeaves(s.offset, BlockSizes(s));
    if (!covered.ok()) return InvalidArgumentError("tally: " + Range(s) + ": " + covered.status().message());
    if (*covered != s.size) return InvalidArgumentError("tally: " + Range(s) + " size is not the sum of its blocks");
    uint64_t at = s.offset;
    for (const BlockRoot& b : s.blocks) {
      by_offset[at] = &b;
      at += b.size;
    }
    if (s.size > n - s.offset) return InvalidArgumentError("tally: " + Range(s) + " extends past the tree");
    next = s.offset + s.size;
  }
  if (next != n) return InvalidArgumentError("tally: segments do not cover the whole tree");
  size_t matched = 0;
  Status error = OkStatus();
  // RFC 6962's MTH recursion, taking a block's root wherever a range is exactly a block.
  auto mth = [&](auto&& self, uint64_t begin, uint64_t end) -> HashOut {
    const auto it = by_offset.find(begin);
    if (it != by_offset.end() && it->second->size == end - begin) {
      ++matched;
      return it->second->root;
    }
    if (end - begin <= 1) {
      error = InvalidArgumentError("tally: segments do not follow the tree's shape");
      return HashOut{};
    }
    const uint64_t k = SplitPoint(end - begin);
    const HashOut left = self(self, begin, begin + k);
    const HashOut right = self(self, begin + k, end);
    return NodeHash(left, right);
  };
  const HashOut root = mth(mth, 0, n);
  RETURN_IF_ERROR(error);
  if (matched != by_offset.size()) return InvalidArgumentError("tally: segments do not follow the tree's shape");
  return root;
}

HashOut ExcludedSetCommitment(std::span<const uint64_t> excluded) {
  std::vector<Fp> in;
  in.reserve(excluded.size() + 2);
  in.push_back(DomainTag(kExcludedDomain));
  in.push_back(Fp(static_cast<uint64_t>(excluded.size())));
  for (const uint64_t e : excluded) in.push_back(Fp(e));
  return stark::Poseidon2Hash(in);
}

HashOut ConfigHash(std::string_view canonical_config_json) {
  std::vector<Fp> in;
  in.push_back(DomainTag(kConfigDomain));
  in.push_back(Fp(static_cast<uint64_t>(canonical_config_json.size())));
  const std::vector<Fp> limbs = BytesToLimbs(AsBytes(canonical_config_json));
  in.insert(in.end(), limbs.begin(), limbs.end());
  return stark::Poseidon2Hash(in);
}

std::vector<Fp> SegmentPublicInputs(const TallyStatement& statement,
                                    const SegmentStatement& segment) {
  std::vector<Fp> pub = {Fp(statement.version), Fp(statement.num_choices), Fp(segment.offset)};
  pub.push_back(statement.version == 1 ? Fp(segment.size) : Fp(static_cast<uint64_t>(segment.blocks.size())));
  const std::vector<Fp> e = BytesToLimbs(statement.election_id);
  pub.insert(pub.end(), e.begin(), e.end());
  pub.insert(pub.end(), statement.config_hash.begin(), statement.config_hash.end());
  if (statement.version == 1) {
    const HashOut root = segment.blocks.empty() ? HashOut{} : segment.blocks[0].root;
    pub.insert(pub.end(), root.begin(), root.end());
  } else {
    for (const BlockRoot& b : segment.blocks) {
      pub.push_back(Fp(b.size));
      pub.insert(pub.end(), b.root.begin(), b.root.end());
    }
  }
  for (const uint64_t c : segment.counts) pub.push_back(Fp(c));
  pub.push_back(Fp(static_cast<uint64_t>(segment.excluded.size())));
  for (const uint64_t x : segment.excluded) pub.push_back(Fp(x));
  return pub;
}

StatusOr<SegmentStatement> ComputeSegmentStatement(uint64_t offset,
                                                   std::span<const LeafWitness> leaves,
                                                   uint32_t num_choices, std::span<const uint64_t> blocks) {
  if (num_choices < 2 || num_choices > kMaxChoices) return InvalidArgumentError("tally: number of choices must be 2..16");
  const uint64_t m = leaves.size();
  if (m == 0 || m > kMaxSegmentLeaves) return InvalidArgumentError("tally: a segment holds 1 to 2^20 leaves");
  const uint64_t whole[1] = {m};
  if (blocks.empty()) {
    if (!IsPowerOfTwo(m)) return InvalidArgumentError("tally: segment size must be a power of two <= 2^20");
    blocks = whole;
  }
  ASSIGN_OR_RETURN(const uint64_t covered, BlocksLeaves(offset, blocks));
  if (covered != m) return InvalidArgumentError("tally: the blocks must add up to the segment");
  SegmentStatement s;
  s.offset = offset;
  s.size = m;
  s.counts.assign(num_choices, 0);
  std::vector<HashOut> commitments(m);
  for (uint64_t i = 0; i < m; ++i) {
    const LeafWitness& leaf = leaves[i];
    commitments[i] = leaf.commitment;
    if (leaf.excluded) {
      s.excluded.push_back(offset + i);
    } else {
      if (leaf.choice >= num_choices) {
        return InvalidArgumentError("tally: leaf " + std::to_string(offset + i) + " has choice " +
                                    std::to_string(leaf.choice) + " out of range");
      }
      ++s.counts[leaf.choice];
    }
  }
  uint64_t at = 0;
  for (const uint64_t b : blocks) {
    s.blocks.push_back({b, CompleteTreeRoot(std::span<const HashOut>(commitments).subspan(at, b))});
    at += b;
  }
  return s;
}

StatusOr<Bytes> ProveSegment(const TallyStatement& statement, const SegmentStatement& segment,
                             std::span<const LeafWitness> leaves,
                             const stark::ProofOptions& options, stark::RandomSource& rng,
                             stark::ProverStats* stats) {
  if (leaves.size() != segment.size) return InvalidArgumentError("tally: witness size does not match the segment");
  ASSIGN_OR_RETURN(TallyAir air, TallyAir::FromPublicInputs(SegmentPublicInputs(statement, segment)));
  // The openings are checked with the trace's commitment rows, which hash every counted
  // leaf's opening anyway; the first bad leaf is reported.
  std::vector<uint8_t> opens;
  const stark::TraceColumns trace = air.GenerateTrace(leaves, rng, &opens);
  for (size_t i = 0; i < leaves.size(); ++i) {
    const LeafWitness& leaf = leaves[i];
    if (leaf.excluded) continue;
    if (leaf.choice >= statement.num_choices) {
      return InvalidArgumentError("tally: leaf " + std::to_string(segment.offset + i) + " has a choice out of range");
    }
    if (opens[i] == 0) {
      return InvalidArgumentError("tally: leaf " + std::to_string(segment.offset + i) +
                                  " does not open to its commitment");
    }
  }
  ASSIGN_OR_RETURN(stark::Proof proof, stark::Prove(air, trace, options, rng, stats));
  return stark::SerializeProof(proof);
}

StatusOr<TallyStatement> BuildTallyStatement(const TallyInput& input) {
  const uint64_t n = input.leaves.size();
  if (n == 0 || n > kMaxTreeSize) return InvalidArgumentError("tally: tree size must be 1..2^32");
  if (input.version != 1 && input.version != 2) return InvalidArgumentError("tally: version must be 1 or 2");
  if (input.version == 1 && !IsPowerOfTwo(input.max_segment_leaves)) {
    return InvalidArgumentError("tally: version 1 max segment leaves must be a power of two");
  }
  if (input.max_segment_leaves == 0 || input.max_segment_leaves > kMaxSegmentLeaves) {
    return InvalidArgumentError("tally: max segment leaves must be 1..2^20");
  }
  if (!IsPowerOfTwo(input.block_leaves)) return InvalidArgumentError("tally: block leaves must be a power of two");
  TallyStatement st;
  st.version = input.version;
  st.election_id = input.election_id;
  st.config_hash = input.config_hash;
  st.num_choices = input.num_choices;
  st.tree_size = n;
  st.counts.assign(input.num_choices, 0);
  const std::span<const LeafWitness> all(input.leaves);
  const bool v1 = input.version == 1;
  const std::vector<SegmentShape> shapes =
      SegmentLayout(n, input.max_segment_leaves, v1 ? input.max_segment_leaves : input.block_leaves, v1);
  // The segments' roots on every core (2^21 hashes for 2^20 leaves); the first error in
  // leaf order is the answer.
  std::vector<StatusOr<SegmentStatement>> segs(shapes.size(), InternalError("tally: segment not computed"));
  const long long count = static_cast<long long>(shapes.size());
#pragma omp parallel for schedule(dynamic, 1) if (count > 1 && n >= 4096)
  for (long long k = 0; k < count; ++k) {
    const SegmentShape& shape = shapes[static_cast<size_t>(k)];
    segs[static_cast<size_t>(k)] = ComputeSegmentStatement(shape.offset, all.subspan(shape.offset, shape.size),
                                                          input.num_choices, shape.blocks);
  }
  for (StatusOr<SegmentStatement>& one : segs) {
    if (!one.ok()) return one.status();
    SegmentStatement& seg = *one;
    for (size_t j = 0; j < seg.counts.size(); ++j) st.counts[j] += seg.counts[j];
    st.excluded.insert(st.excluded.end(), seg.excluded.begin(), seg.excluded.end());
    st.segments.push_back(std::move(seg));
  }
  for (const uint64_t c : st.counts) st.counted += c;
  st.excluded_commitment = ExcludedSetCommitment(st.excluded);
  ASSIGN_OR_RETURN(st.root, CombineSegmentRoots(n, st.segments));
  return st;
}

StatusOr<TallyProof> ProveTally(const TallyInput& input, const stark::ProofOptions& options,
                                stark::RandomSource& rng) {
  TallyProof out;
  ASSIGN_OR_RETURN(out.statement, BuildTallyStatement(input));
  const std::span<const LeafWitness> all(input.leaves);
  for (const SegmentStatement& seg : out.statement.segments) {
    ASSIGN_OR_RETURN(Bytes proof, ProveSegment(out.statement, seg, all.subspan(seg.offset, seg.size),
                                               options, rng));
    out.segments.push_back(std::move(proof));
  }
  return out;
}

Status CheckTallyStatement(const TallyStatement& st) {
  if (st.version != 1 && st.version != 2) {
    return InvalidArgumentError("tally: unsupported statement version " + std::to_string(st.version));
  }
  if (st.num_choices < 2 || st.num_choices > kMaxChoices) return InvalidArgumentError("tally: number of choices must be 2..16");
  if (st.tree_size == 0 || st.tree_size > kMaxTreeSize) return InvalidArgumentError("tally: tree size must be 1..2^32");
  if (st.counts.size() != st.num_choices) return InvalidArgumentError("tally: counts must have one entry per choice");
  if (st.segments.empty() || st.segments.size() > kMaxSegments) return InvalidArgumentError("tally: segment count out of range");
  std::vector<uint64_t> sums(st.num_choices, 0);
  std::vector<uint64_t> excluded;
  for (const SegmentStatement& s : st.segments) {
    if (s.counts.size() != st.num_choices) return InvalidArgumentError("tally: " + Range(s) + " counts must have one entry per choice");
    if (st.version == 1 && (s.blocks.size() != 1 || s.blocks[0].size != s.size)) {
      return InvalidArgumentError("tally: " + Range(s) + " must be one block in a version 1 statement");
    }
    uint64_t total = s.excluded.size();
    for (size_t j = 0; j < s.counts.size(); ++j) {
      if (s.counts[j] > s.size) return InvalidArgumentError("tally: " + Range(s) + " has a count above its size");
      total += s.counts[j];
      sums[j] += s.counts[j];
    }
    if (total != s.size) return InvalidArgumentError("tally: " + Range(s) + " counts and exclusions do not add up to its size");
    for (size_t i = 0; i < s.excluded.size(); ++i) {
      if (s.excluded[i] < s.offset || s.excluded[i] - s.offset >= s.size) {
        return InvalidArgumentError("tally: " + Range(s) + " excludes an index outside it");
      }
      if (i > 0 && s.excluded[i] <= s.excluded[i - 1]) {
        return InvalidArgumentError("tally: " + Range(s) + " excluded indices must be strictly increasing");
      }
    }
    excluded.insert(excluded.end(), s.excluded.begin(), s.excluded.end());
  }
  if (sums != st.counts) return InvalidArgumentError("tally: the counts are not the sums of the segments' counts");
  uint64_t counted = 0;
  for (const uint64_t c : st.counts) counted += c;
  if (counted != st.counted) return InvalidArgumentError("tally: counted is not the sum of the counts");
  if (excluded != st.excluded) return InvalidArgumentError("tally: the excluded indices are not the segments' exclusions");
  if (ExcludedSetCommitment(st.excluded) != st.excluded_commitment) {
    return InvalidArgumentError("tally: the excluded set commitment does not match the excluded indices");
  }
  if (st.counted + st.excluded.size() != st.tree_size) {
    return InvalidArgumentError("tally: counted plus excluded is not the tree size");
  }
  ASSIGN_OR_RETURN(HashOut root, CombineSegmentRoots(st.tree_size, st.segments));
  if (root != st.root) return InvalidArgumentError("tally: the segments' roots do not combine to the tree root");
  return OkStatus();
}

Status VerifySegment(const TallyStatement& statement, const SegmentStatement& segment,
                     ByteSpan proof, const stark::VerifierConfig& config) {
  const StatusOr<uint64_t> covered = BlocksLeaves(segment.offset, BlockSizes(segment));
  if (segment.blocks.empty() || !covered.ok() || *covered != segment.size ||
      (statement.version == 1 && segment.blocks.size() != 1)) {
    return InvalidArgumentError("tally: " + Range(segment) + " does not match its blocks");
  }
  ASSIGN_OR_RETURN(TallyAir air, TallyAir::FromPublicInputs(SegmentPublicInputs(statement, segment)));
  return stark::VerifyBytes(air, proof, config);
}

Status VerifyTally(const TallyStatement& statement, std::span<const Bytes> segment_proofs,
                   const stark::VerifierConfig& config) {
  RETURN_IF_ERROR(CheckTallyStatement(statement));
  if (segment_proofs.size() != statement.segments.size()) {
    return InvalidArgumentError("tally: " + std::to_string(segment_proofs.size()) +
                                " segment proofs for " + std::to_string(statement.segments.size()) +
                                " segments");
  }
  for (size_t i = 0; i < segment_proofs.size(); ++i) {
    const Status s = VerifySegment(statement, statement.segments[i], segment_proofs[i], config);
    if (!s.ok()) {
      return InvalidArgumentError("tally: " + Range(statement.segments[i]) + " proof rejected: " +
                                  std::string(s.message()));
    }
  }
  return OkStatus();
}

Bytes SerializeSegmentProofs(std::span<const Bytes> segment_proofs) {
  Bytes out(kProofMagic, kProofMagic + sizeof(kProofMagic));
  PutU32(out, static_cast<uint32_t>(segment_proofs.size()));
  for (const Bytes& p : segment_proofs) {
    PutU32(out, static_cast<uint32_t>(p.size()));
    out.insert(out.end(), p.begin(), p.end());
  }
  return out;
}

StatusOr<std::vector<Bytes>> ParseSegmentProofs(ByteSpan bytes) {
  if (bytes.size() < sizeof(kProofMagic) + 4 ||
      !std::equal(kProofMagic, kProofMagic + sizeof(kProofMagic), bytes.begin())) {
    return InvalidArgumentError("proof.bin: not a vaultproof tally proof (bad magic)");
  }
  size_t at = sizeof(kProofMagic);
  const uint32_t count = GetU32(bytes, at);
  at += 4;
  if (count == 0 || count > kMaxSegments) return InvalidArgumentError("proof.bin: segment count out of range");
  std::vector<Bytes> out;
  for (uint32_t i = 0; i < count; ++i) {
    if (bytes.size() - at < 4) return InvalidArgumentError("proof.bin: truncated segment length");
    const uint32_t len = GetU32(bytes, at);
    at += 4;
    if (len == 0 || len > kMaxSegmentProofBytes) return InvalidArgumentError("proof.bin: segment proof length out of range");
    if (bytes.size() - at < len) return InvalidArgumentError("proof.bin: truncated segment proof");
    out.emplace_back(bytes.begin() + static_cast<std::ptrdiff_t>(at),
                     bytes.begin() + static_cast<std::ptrdiff_t>(at + len));
    at += len;
  }
  if (at != bytes.size()) return InvalidArgumentError("proof.bin: trailing bytes");
  return out;
}

}  // namespace vp::ballot
