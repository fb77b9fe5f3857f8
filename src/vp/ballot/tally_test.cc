// Tally proof: segment layout and root recombination against the bulletin tree, honest
// proofs over several shapes, and dishonest provers (a trace that breaks one rule, a
// statement that lies) whose proofs the verifier must refuse. Seeded; VP_TEST_SEED replays.
#include "vp/ballot/tally.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "vp/ballot/bulletin.h"
#include "vp/ballot/tally_air.h"
#include "vp/base/test_util.h"
#include "vp/stark/proof.h"

namespace vp::ballot {
namespace {

using stark::Fp;

using vp::testing::TestSeed;

ElectionId TestElection() {
  auto id = ParseElectionId("0f8c5b1e-2a47-4d3b-9c61-7e5a3f2d1b09");
  return *id;
}

std::vector<LeafWitness> RandomLeaves(size_t n, uint32_t k, stark::RandomSource& rng,
                                      const std::vector<size_t>& excluded = {}) {
  std::vector<LeafWitness> leaves(n);
  for (size_t i = 0; i < n; ++i) {
    LeafWitness& l = leaves[i];
    for (auto& b : l.random) b = static_cast<uint8_t>(rng.NextU64());
    l.choice = static_cast<uint32_t>(rng.NextU64() % k);
    l.commitment = ComputeCommitment(TestElection(), l.choice, l.random);
  }
  for (const size_t e : excluded) leaves[e].excluded = true;
  return leaves;
}

TallyInput MakeInput(std::vector<LeafWitness> leaves, uint32_t k, uint64_t max_seg,
                     uint64_t block = kDefaultBlockLeaves, uint32_t version = kTallyVersion) {
  TallyInput in;
  in.election_id = TestElection();
  in.config_hash = ConfigHash("{\"choices\":[\"A\",\"B\"]}");
  in.num_choices = k;
  in.leaves = std::move(leaves);
  in.max_segment_leaves = max_seg;
  in.block_leaves = block;
  in.version = version;
  return in;
}

// The public inputs of a segment at offset 0 of the test election (no config hash; roots
// 0, 1, ...), in blocks of these sizes (none: one block of `size`).
std::vector<Fp> SegmentInputsFor(uint32_t k, uint64_t size, std::vector<uint64_t> counts,
                                 std::vector<uint64_t> excluded, uint32_t version = 2,
                                 std::vector<uint64_t> blocks = {}) {
  TallyStatement st;
  st.version = version;
  st.election_id = TestElection();
  st.num_choices = k;
  SegmentStatement seg;
  seg.offset = 0;
  seg.size = size;
  if (blocks.empty()) blocks = {size};
  for (size_t j = 0; j < blocks.size(); ++j) seg.blocks.push_back({blocks[j], HashOut{Fp(j), Fp(j), Fp(j), Fp(j)}});
  seg.counts = std::move(counts);
  seg.excluded = std::move(excluded);
  return SegmentPublicInputs(st, seg);
}

HashOut TreeRoot(const std::vector<LeafWitness>& leaves) {
  BulletinTree tree;
  for (const auto& l : leaves) tree.Append(l.commitment);
  return tree.Root();
}

TEST(SegmentLayout, FollowsTheBinaryDigitsAndTheMaximum) {
  using V = std::vector<SegmentShape>;
  // Version 1's layout: one block each, pieces of at most the maximum.
  EXPECT_EQ(SegmentLayout(64, 1 << 14, 1 << 14, true), (V{{0, 64, {64}}}));
  EXPECT_EQ(SegmentLayout(1, 16, 16, true), (V{{0, 1, {1}}}));
  EXPECT_EQ(SegmentLayout(7, 16, 16, true), (V{{0, 4, {4}}, {4, 2, {2}}, {6, 1, {1}}}));
  EXPECT_EQ(SegmentLayout(100, 16, 16, true),
            (V{{0, 16, {16}}, {16, 16, {16}}, {32, 16, {16}}, {48, 16, {16}}, {64, 16, {16}},
               {80, 16, {16}}, {96, 4, {4}}}));
  // Version 2: blocks of 4, at most 12 leaves a segment; the subtrees below a block join the
  // blocks before them.
  EXPECT_EQ(SegmentLayout(23, 12, 4), (V{{0, 12, {4, 4, 4}}, {12, 11, {4, 4, 2, 1}}}));
  EXPECT_EQ(SegmentLayout(7, 16, 16), (V{{0, 7, {4, 2, 1}}}));
  EXPECT_EQ(SegmentLayout(26, 12, 4), (V{{0, 12, {4, 4, 4}}, {12, 12, {4, 4, 4}}, {24, 2, {2}}}));
  // The defaults: 21 blocks of 2^10 a segment. Every election of up to 21,504 votes is one
  // segment, whatever its size, so it reveals only its totals.
  const V big = SegmentLayout(uint64_t{1} << 20, kDefaultMaxSegmentLeaves);
  ASSERT_EQ(big.size(), 49u);
  EXPECT_EQ(big[0].offset, 0u);
  EXPECT_EQ(big[0].blocks, std::vector<uint64_t>(21, 1024));
  EXPECT_EQ(big[48].offset, 48u * 21504);
  EXPECT_EQ(big[48].size, 16384u);
  EXPECT_EQ(SegmentLayout(64, kDefaultMaxSegmentLeaves), (V{{0, 64, {64}}}));
  EXPECT_EQ(SegmentLayout(65, kDefaultMaxSegmentLeaves), (V{{0, 65, {64, 1}}}));
  for (const uint64_t n : {uint64_t{1000}, uint64_t{16385}, uint64_t{21504}}) {
    EXPECT_EQ(SegmentLayout(n, kDefaultMaxSegmentLeaves).size(), 1u) << n;
  }
  EXPECT_EQ(SegmentLayout(21505, kDefaultMaxSegmentLeaves).size(), 2u);
  // A block is never larger than the maximum.
  EXPECT_EQ(SegmentLayout(16, 6, 1024), (V{{0, 4, {4}}, {4, 4, {4}}, {8, 4, {4}}, {12, 4, {4}}}));
  EXPECT_TRUE(SegmentLayout(0, 16).empty());
  EXPECT_TRUE(SegmentLayout(10, 0).empty());
  EXPECT_TRUE(SegmentLayout(10, 16, 0).empty());
}

TEST(CombineSegmentRoots, EqualsTheBulletinRootForEveryShape) {
  stark::SeededRandom rng(TestSeed());
  struct Cut {
    uint64_t max, block;
    bool one_each;
  };
  for (uint64_t n = 1; n <= 70; ++n) {
    const auto leaves = RandomLeaves(n, 2, rng);
    for (const Cut cut : {Cut{1, 1, true}, Cut{4, 4, true}, Cut{16, 16, true}, Cut{1 << 14, 1 << 14, true},
                          Cut{12, 4, false}, Cut{40, 8, false}, Cut{7, 2, false}, Cut{3, 1, false},
                          Cut{kDefaultMaxSegmentLeaves, kDefaultBlockLeaves, false}}) {
      std::vector<SegmentStatement> segs;
      for (const SegmentShape& sh : SegmentLayout(n, cut.max, cut.block, cut.one_each)) {
        auto seg = ComputeSegmentStatement(
            sh.offset, std::span<const LeafWitness>(leaves).subspan(sh.offset, sh.size), 2, sh.blocks);
        ASSERT_TRUE(seg.ok()) << seg.status().message();
        segs.push_back(*seg);
      }
      auto root = CombineSegmentRoots(n, segs);
      ASSERT_TRUE(root.ok()) << root.status().message();
      EXPECT_EQ(*root, TreeRoot(leaves)) << "n=" << n << " max=" << cut.max << " block=" << cut.block;
    }
  }
}

TEST(CombineSegmentRoots, RefusesTilingsThatAreNotTheTreeShape) {
  // A segment at o of blocks of these sizes (none: one block of s).
  auto seg = [](uint64_t o, uint64_t s, std::vector<uint64_t> blocks = {}) {
    SegmentStatement x;
    x.offset = o;
    x.size = s;
    if (blocks.empty()) blocks = {s};
    for (const uint64_t b : blocks) x.blocks.push_back({b, HashOut{}});
    return x;
  };
  // 6 leaves are the subtrees [0,4) and [4,6): [0,2),[2,4),[4,6) is fine, [0,4),[4,8) is not.
  EXPECT_TRUE(CombineSegmentRoots(6, std::vector{seg(0, 2), seg(2, 2), seg(4, 2)}).ok());
  EXPECT_FALSE(CombineSegmentRoots(6, std::vector{seg(0, 4), seg(4, 4)}).ok());
  EXPECT_FALSE(CombineSegmentRoots(6, std::vector{seg(0, 2), seg(2, 4)}).ok());  // unaligned
  EXPECT_FALSE(CombineSegmentRoots(6, std::vector{seg(0, 4), seg(4, 1)}).ok());  // short
  EXPECT_FALSE(CombineSegmentRoots(6, std::vector{seg(0, 4), seg(2, 2)}).ok());  // overlap
  EXPECT_FALSE(CombineSegmentRoots(6, std::vector{seg(0, 3), seg(3, 3)}).ok());  // not 2^k
  EXPECT_FALSE(CombineSegmentRoots(0, std::vector{seg(0, 1)}).ok());
  EXPECT_FALSE(CombineSegmentRoots(3, std::vector<SegmentStatement>{}).ok());
  // 3 leaves are [0,2) and [2,3): a segment of 2 at offset 2 would cross the tree's end.
  EXPECT_FALSE(CombineSegmentRoots(3, std::vector{seg(0, 1), seg(1, 2)}).ok());
  // Blocks follow the shape: [0,4) [4,6) in one segment, or [0,2) [2,4) [4,6).
  EXPECT_TRUE(CombineSegmentRoots(6, std::vector{seg(0, 6, {4, 2})}).ok());
  EXPECT_TRUE(CombineSegmentRoots(6, std::vector{seg(0, 6, {2, 2, 2})}).ok());
  EXPECT_TRUE(CombineSegmentRoots(7, std::vector{seg(0, 4, {2, 2}), seg(4, 3, {2, 1})}).ok());
  EXPECT_FALSE(CombineSegmentRoots(6, std::vector{seg(0, 6, {2, 4})}).ok());     // [2,6) unaligned
  EXPECT_FALSE(CombineSegmentRoots(6, std::vector{seg(0, 6, {3, 3})}).ok());     // not 2^k
  EXPECT_TRUE(CombineSegmentRoots(6, std::vector{seg(0, 6, {4, 1, 1})}).ok());   // [4,5) and [5,6) split [4,6)
  // 5 leaves are [0,4) and [4,5): a block of 2 at 4 crosses the end.
  EXPECT_FALSE(CombineSegmentRoots(5, std::vector{seg(0, 6, {4, 2})}).ok());
  EXPECT_FALSE(CombineSegmentRoots(5, std::vector{seg(0, 5, {2, 2, 1}), seg(5, 1)}).ok());  // past the end
  EXPECT_FALSE(CombineSegmentRoots(6, std::vector{seg(0, 6, {4})}).ok());        // blocks short of the size
  EXPECT_FALSE(CombineSegmentRoots(6, std::vector{seg(0, 6, {4, 4})}).ok());     // past the size
  EXPECT_FALSE(CombineSegmentRoots(4, std::vector{seg(0, 4, {0, 4})}).ok());
  {
    auto none = seg(0, 6);
    none.blocks.clear();
    EXPECT_FALSE(CombineSegmentRoots(6, std::vector{none}).ok());
  }
  EXPECT_FALSE(CombineSegmentRoots(uint64_t{1} << 21, std::vector{seg(0, uint64_t{1} << 21, {uint64_t{1} << 20, uint64_t{1} << 20})}).ok());
}

struct Shape {
  size_t n;
  uint32_t k;
  uint64_t max_seg;
  std::vector<size_t> excluded;
  uint64_t block = kDefaultBlockLeaves;
  uint32_t version = kTallyVersion;
};

class TallyRoundTrip : public ::testing::TestWithParam<Shape> {};

TEST_P(TallyRoundTrip, HonestTallyVerifies) {
  const Shape& shape = GetParam();
  stark::SeededRandom rng(TestSeed() + shape.n);
  const auto leaves = RandomLeaves(shape.n, shape.k, rng, shape.excluded);
  auto proof = ProveTally(MakeInput(leaves, shape.k, shape.max_seg, shape.block, shape.version),
                          TallyProofOptions(), rng);
  ASSERT_TRUE(proof.ok()) << proof.status().message();
  const TallyStatement& st = proof->statement;
  EXPECT_EQ(st.version, shape.version);
  for (const Bytes& segment_proof : proof->segments) {
    auto p = stark::DeserializeProof(segment_proof);
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p->air_name, TallyAirName(shape.version));
  }
  EXPECT_EQ(st.root, TreeRoot(leaves));
  EXPECT_EQ(st.tree_size, shape.n);
  std::vector<uint64_t> expect(shape.k, 0);
  for (const auto& l : leaves) {
    if (!l.excluded) ++expect[l.choice];
  }
  EXPECT_EQ(st.counts, expect);
  EXPECT_EQ(st.excluded.size(), shape.excluded.size());
  const Status v = VerifyTally(st, proof->segments, stark::VerifierConfig{});
  EXPECT_TRUE(v.ok()) << v.message();

  // The container round-trips.
  auto parsed = ParseSegmentProofs(SerializeSegmentProofs(proof->segments));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, proof->segments);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, TallyRoundTrip,
    ::testing::Values(Shape{64, 5, kDefaultMaxSegmentLeaves, {}}, Shape{64, 5, 1 << 14, {17}},
                      Shape{1, 2, 1 << 14, {}}, Shape{2, 3, 1 << 14, {0, 1}},
                      Shape{7, 16, 1 << 14, {3}}, Shape{40, 5, 8, {9, 31}},
                      // Several blocks per segment: 3 of 4, then 4, 4, 2 and 1; 5 of 8 and 3 of 8;
                      // an odd election in one segment (64 + 2 + 1).
                      Shape{23, 3, 12, {0, 11, 12, 19, 22}, 4}, Shape{64, 5, 40, {8, 63}, 8},
                      Shape{67, 4, kDefaultMaxSegmentLeaves, {66}},
                      // Version 1, which bundles proven before 2026-11-22 carry.
                      Shape{64, 5, 1 << 14, {17}, 1 << 14, 1}, Shape{40, 5, 8, {9, 31}, 8, 1}));

class TallyTamper : public ::testing::Test {
 protected:
  void SetUp() override {
    stark::SeededRandom rng(TestSeed());
    leaves_ = RandomLeaves(16, 3, rng, {5});
    auto p = ProveTally(MakeInput(leaves_, 3, 1 << 14), TallyProofOptions(), rng);
    ASSERT_TRUE(p.ok()) << p.status().message();
    proof_ = *p;
    ASSERT_TRUE(VerifyTally(proof_.statement, proof_.segments, {}).ok());
  }
  // Moves one vote from choice `from` to `to` in the statement and its segment.
  static void MoveVote(TallyStatement& st, size_t from, size_t to) {
    st.counts[from] -= 1;
    st.counts[to] += 1;
    st.segments[0].counts[from] -= 1;
    st.segments[0].counts[to] += 1;
  }
  std::vector<LeafWitness> leaves_;
  TallyProof proof_;
};

TEST_F(TallyTamper, AnEditedStatementIsRefused) {
  {
    TallyStatement st = proof_.statement;
    size_t from = st.counts[0] > 0 ? 0 : 1;
    MoveVote(st, from, 2);
    const Status s = VerifyTally(st, proof_.segments, {});
    EXPECT_FALSE(s.ok());
    EXPECT_NE(s.message().find("proof rejected"), std::string::npos) << s.message();
  }
  {
    TallyStatement st = proof_.statement;  // counts that no longer add up
    st.counts[0] += 1;
    EXPECT_FALSE(VerifyTally(st, proof_.segments, {}).ok());
  }
  {
    TallyStatement st = proof_.statement;  // hide the exclusion, count it instead
    st.excluded.clear();
    st.segments[0].excluded.clear();
    st.excluded_commitment = ExcludedSetCommitment(st.excluded);
    st.counts[0] += 1;
    st.segments[0].counts[0] += 1;
    st.counted += 1;
    EXPECT_FALSE(VerifyTally(st, proof_.segments, {}).ok());
  }
  {
    TallyStatement st = proof_.statement;  // another election
    st.election_id[0] ^= 1;
    EXPECT_FALSE(VerifyTally(st, proof_.segments, {}).ok());
  }
  {
    TallyStatement st = proof_.statement;  // another config
    st.config_hash[0] = st.config_hash[0] + Fp::One();
    EXPECT_FALSE(VerifyTally(st, proof_.segments, {}).ok());
  }
  {
    TallyStatement st = proof_.statement;  // another root
    st.root[1] = st.root[1] + Fp::One();
    EXPECT_FALSE(VerifyTally(st, proof_.segments, {}).ok());
  }
  EXPECT_FALSE(VerifyTally(proof_.statement, {}, {}).ok());
  std::vector<Bytes> cut = proof_.segments;
  cut[0].resize(cut[0].size() / 2);
  EXPECT_FALSE(VerifyTally(proof_.statement, cut, {}).ok());
}

// A dishonest prover: the honest trace with one edit, proven against a statement of its
// choosing. The prover does not check the witness, so only the verifier stands in the way.
class DishonestProver : public ::testing::Test {
 protected:
  void SetUp() override { Make(kTallyVersion); }
  void Make(uint32_t version) {
    stark::SeededRandom rng(TestSeed() + 1);
    leaves_ = RandomLeaves(8, 3, rng);
    auto st = ProveTally(MakeInput(leaves_, 3, 1 << 14, 1 << 14, version), TallyProofOptions(), rng);
    ASSERT_TRUE(st.ok());
    statement_ = st->statement;
  }
  // Proves `trace` for `statement` (segment 0) and verifies it.
  Status ProveAndVerify(const TallyStatement& statement, const stark::TraceColumns& trace) {
    stark::SeededRandom rng(7);
    auto air = TallyAir::FromPublicInputs(SegmentPublicInputs(statement, statement.segments[0]));
    if (!air.ok()) return air.status();
    auto proof = stark::Prove(*air, trace, TallyProofOptions(), rng);
    if (!proof.ok()) return proof.status();
    return VerifyTally(statement, std::vector<Bytes>{stark::SerializeProof(*proof)}, {});
  }
  // The statement is consistent, so only the proof can be what is refused.
  void ExpectProofRejected(const TallyStatement& statement, const stark::TraceColumns& trace) {
    ASSERT_TRUE(CheckTallyStatement(statement).ok());
    const Status s = ProveAndVerify(statement, trace);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.message().find("proof rejected"), std::string::npos) << s.message();
    std::printf("refused: %s\n", s.message().c_str());
  }
  stark::TraceColumns HonestTrace(const TallyStatement& statement) {
    stark::SeededRandom rng(9);
    auto air = TallyAir::FromPublicInputs(SegmentPublicInputs(statement, statement.segments[0]));
    return air->GenerateTrace(leaves_, rng);
  }
  std::vector<LeafWitness> leaves_;
  TallyStatement statement_;
};

TEST_F(DishonestProver, TheHonestTraceVerifies) {
  EXPECT_TRUE(ProveAndVerify(statement_, HonestTrace(statement_)).ok());
}

TEST_F(DishonestProver, ClaimingOtherCountsFails) {
  TallyStatement st = statement_;
  const size_t from = st.counts[0] > 0 ? 0 : (st.counts[1] > 0 ? 1 : 2);
  const size_t to = (from + 1) % 3;
  st.counts[from] -= 1;
  st.counts[to] += 1;
  st.segments[0].counts = st.counts;
  ExpectProofRejected(st, HonestTrace(statement_));
}

TEST_F(DishonestProver, RecountingOneVoteInTheTraceFails) {
  // Move leaf 0's choice to another, keep its commitment: the counts match the new claim but
  // the commitment no longer opens.
  TallyStatement st = statement_;
  const uint32_t old = leaves_[0].choice, now = (old + 1) % 3;
  st.counts[old] -= 1;
  st.counts[now] += 1;
  st.segments[0].counts = st.counts;
  stark::TraceColumns t = HonestTrace(statement_);
  t[TallyAir::kIn + 4][0] = Fp(now);
  ExpectProofRejected(st, t);
}

TEST_F(DishonestProver, AChoiceOutOfRangeIsNotCounted) {
  // A voter committed to choice 3 of 3 (0..2 are valid) and the prover counts it as choice
  // 0: the commitment opens and the tree is the board's, but the sum over delta of the
  // counted choices is not the one of the claimed counts.
  leaves_[0].choice = 3;
  leaves_[0].commitment = ComputeCommitment(TestElection(), 3, leaves_[0].random);
  TallyStatement st = statement_;
  std::vector<HashOut> commitments;
  for (const auto& l : leaves_) commitments.push_back(l.commitment);
  st.segments[0].blocks = {{8, CompleteTreeRoot(commitments)}};
  st.root = TreeRoot(leaves_);
  st.segments[0].counts = {0, 0, 0};
  for (const auto& l : leaves_) ++st.segments[0].counts[std::min<uint32_t>(l.choice, 3) % 3];
  st.counts = st.segments[0].counts;
  ExpectProofRejected(st, HonestTrace(st));
}

TEST_F(DishonestProver, ASecretExclusionFails) {
  // Mark leaf 2 excluded in the trace (drop its vote) while the statement claims none; give
  // the statement the exclusion of another leaf, so that it stays consistent (counted +
  // excluded = n) and only the proof can catch it.
  TallyStatement st = statement_;
  const uint32_t c = leaves_[2].choice;
  st.counts[c] -= 1;
  st.segments[0].counts = st.counts;
  st.counted -= 1;
  st.excluded = {6};
  st.segments[0].excluded = {6};
  st.excluded_commitment = ExcludedSetCommitment(st.excluded);
  stark::TraceColumns t = HonestTrace(statement_);
  t[TallyAir::kX][4] = Fp::One();
  ExpectProofRejected(st, t);
}

// Version 1 (one-hot choice bits and running counts) against the same dishonest provers.
class DishonestProverV1 : public DishonestProver {
 protected:
  void SetUp() override { Make(1); }
};

TEST_F(DishonestProverV1, TheHonestTraceVerifies) {
  ASSERT_EQ(statement_.version, 1u);
  EXPECT_TRUE(ProveAndVerify(statement_, HonestTrace(statement_)).ok());
}

TEST_F(DishonestProverV1, RecountingOneVoteInTheTraceFails) {
  // Move leaf 0's one-hot bit and choice to another choice, keep its commitment: the counts
  // match the new claim but the commitment no longer opens.
  TallyStatement st = statement_;
  const uint32_t old = leaves_[0].choice, now = (old + 1) % 3;
  st.counts[old] -= 1;
  st.counts[now] += 1;
  st.segments[0].counts = st.counts;
  stark::TraceColumns t = HonestTrace(statement_);
  const size_t k = 3;
  t[TallyAir::kB + old][0] = Fp::Zero();
  t[TallyAir::kB + now][0] = Fp::One();
  t[TallyAir::kIn + 4][0] = Fp(now);
  for (size_t r = 0; r < t[0].size(); ++r) {
    t[TallyAir::kB + k + old][r] = t[TallyAir::kB + k + old][r] - Fp::One();
    t[TallyAir::kB + k + now][r] = t[TallyAir::kB + k + now][r] + Fp::One();
  }
  ExpectProofRejected(st, t);
}

TEST_F(DishonestProver, SwappingALeafCommitmentFails) {
  stark::TraceColumns t = HonestTrace(statement_);
  t[TallyAir::kIn + 1][3] = t[TallyAir::kIn + 1][3] + Fp::One();  // leaf 1's L row input
  ExpectProofRejected(statement_, t);
}

TEST_F(DishonestProverV1, ASecretExclusionFails) {
  // Mark leaf 2 excluded in the trace (drop its vote) while the statement claims none.
  TallyStatement st = statement_;
  const uint32_t c = leaves_[2].choice;
  st.counts[c] -= 1;
  st.segments[0].counts = st.counts;
  st.counted -= 1;
  stark::TraceColumns t = HonestTrace(statement_);
  t[TallyAir::kX][4] = Fp::One();
  t[TallyAir::kB + c][4] = Fp::Zero();
  for (size_t r = 4; r < t[0].size(); ++r) {
    t[TallyAir::kB + 3 + c][r] = t[TallyAir::kB + 3 + c][r] - Fp::One();
  }
  // The statement is now inconsistent (counted + excluded != n) and is refused before the
  // proof; give it the exclusion of another leaf instead, so only the proof can catch it.
  st.excluded = {6};
  st.segments[0].excluded = {6};
  st.excluded_commitment = ExcludedSetCommitment(st.excluded);
  ExpectProofRejected(st, t);
}

TEST_F(DishonestProver, AForgedNodeInputFails) {
  stark::TraceColumns t = HonestTrace(statement_);
  const size_t first_node_row = 16;
  t[TallyAir::kIn + 5][first_node_row] = t[TallyAir::kIn + 5][first_node_row] + Fp::One();
  ExpectProofRejected(statement_, t);
}

// The same dishonest prover against a segment of blocks of 4, 4, 2 and 1 leaves (version 2):
// 11, 11, 5 and 2 rows, the block's first leaf S and size M in the last two columns.
class DishonestBlockProver : public DishonestProver {
 protected:
  void SetUp() override {
    stark::SeededRandom rng(TestSeed() + 3);
    leaves_ = RandomLeaves(11, 3, rng, {6});
    auto st = ProveTally(MakeInput(leaves_, 3, 12, 4), TallyProofOptions(), rng);
    ASSERT_TRUE(st.ok()) << st.status().message();
    statement_ = st->statement;
    ASSERT_EQ(statement_.segments.size(), 1u);
    ASSERT_EQ(statement_.segments[0].blocks.size(), 4u);
  }
  static constexpr size_t kStart = TallyAir::kB, kSize = kStart + 1;
};

TEST_F(DishonestBlockProver, TheHonestTraceVerifies) {
  const stark::TraceColumns t = HonestTrace(statement_);
  ASSERT_EQ(t.size(), kSize + 1);
  ASSERT_EQ(t[0].size(), 29u);
  EXPECT_EQ(t[kStart][10], Fp(0));
  EXPECT_EQ(t[kStart][11], Fp(4));
  EXPECT_EQ(t[TallyAir::kId][11], Fp(4));  // the second block starts again at heap id M
  EXPECT_EQ(t[kSize][22], Fp(2));
  EXPECT_EQ(t[kSize][27], Fp(1));          // the last block is one leaf: a C and an L row
  EXPECT_EQ(t[TallyAir::kId][28], Fp(1));
  EXPECT_TRUE(ProveAndVerify(statement_, t).ok());
}

TEST_F(DishonestBlockProver, BlockRootsInAnotherOrderFail) {
  // Swap the first two blocks' roots and recompute the tree root from them: a consistent
  // statement about a bulletin whose first eight leaves come in another order.
  TallyStatement st = statement_;
  std::swap(st.segments[0].blocks[0], st.segments[0].blocks[1]);
  auto root = CombineSegmentRoots(st.tree_size, st.segments);
  ASSERT_TRUE(root.ok());
  st.root = *root;
  ExpectProofRejected(st, HonestTrace(statement_));
}

TEST_F(DishonestBlockProver, BlocksRunTogetherFail) {
  // The first two blocks labelled as one (S = 0, M = 4 on all their rows): the wiring
  // product then pairs ids across them and the second block's root is not left over, and
  // the excluded leaf 6 (the second block's local leaf 2) would name segment index 2.
  stark::TraceColumns t = HonestTrace(statement_);
  for (size_t r = 11; r < 22; ++r) t[kStart][r] = Fp(0);
  ExpectProofRejected(statement_, t);
}

TEST_F(DishonestBlockProver, AWrongBlockSizeFails) {
  // The block of 2 claims M = 4 on its rows: the statement says 2.
  stark::TraceColumns t = HonestTrace(statement_);
  for (size_t r = 22; r < 27; ++r) t[kSize][r] = Fp(4);
  ExpectProofRejected(statement_, t);
}

TEST_F(DishonestBlockProver, AForgedLeafInTheLastBlockFails) {
  stark::TraceColumns t = HonestTrace(statement_);
  t[TallyAir::kIn + 2][28] = t[TallyAir::kIn + 2][28] + Fp::One();  // leaf 10's L row input
  ExpectProofRejected(statement_, t);
}

TEST(TallyVersions, AVersion1StatementTakesOnlyVersion1Segments) {
  stark::SeededRandom rng(TestSeed() + 4);
  const auto leaves = RandomLeaves(40, 3, rng, {2});
  auto v1 = ProveTally(MakeInput(leaves, 3, 16, 16, 1), TallyProofOptions(), rng);
  auto v2 = ProveTally(MakeInput(leaves, 3, 16, 16, 2), TallyProofOptions(), rng);
  ASSERT_TRUE(v1.ok() && v2.ok());
  ASSERT_TRUE(VerifyTally(v1->statement, v1->segments, {}).ok());
  ASSERT_TRUE(VerifyTally(v2->statement, v2->segments, {}).ok());
  // The same segments: the statements differ only in their version.
  TallyStatement relabelled = v1->statement;
  relabelled.version = 2;
  EXPECT_EQ(relabelled, v2->statement);
  // Proofs of one version do not verify under the other.
  const Status a = VerifyTally(v1->statement, v2->segments, {});
  EXPECT_FALSE(a.ok());
  EXPECT_NE(a.message().find("vaultproof-tally-v2"), std::string::npos) << a.message();
  EXPECT_FALSE(VerifyTally(v2->statement, v1->segments, {}).ok());
  // A version 1 statement holds one block per segment.
  TallyStatement multi = v2->statement;
  multi.version = 1;
  multi.segments[0].blocks = {BlockRoot{8, HashOut{}}, BlockRoot{8, HashOut{}}};
  const Status m = CheckTallyStatement(multi);
  EXPECT_FALSE(m.ok());
  EXPECT_NE(m.message().find("one block"), std::string::npos) << m.message();
  TallyStatement unknown = v2->statement;
  unknown.version = 3;
  EXPECT_FALSE(CheckTallyStatement(unknown).ok());
}

TEST(TallyZeroKnowledge, NoOpenedValueIsAPrivateCell) {
  stark::SeededRandom rng(TestSeed() + 2);
  const auto leaves = RandomLeaves(32, 5, rng);
  auto proof = ProveTally(MakeInput(leaves, 5, 1 << 14), TallyProofOptions(), rng);
  ASSERT_TRUE(proof.ok());
  auto p = stark::DeserializeProof(proof->segments[0]);
  ASSERT_TRUE(p.ok());
  std::vector<uint64_t> secrets;
  for (const auto& l : leaves) {
    for (const Fp limb : BytesToLimbs(l.random)) secrets.push_back(limb.value());
  }
  size_t opened = 0;
  for (const auto& row : p->main_opening.rows) {
    for (const Fp v : row) {
      ++opened;
      EXPECT_EQ(std::find(secrets.begin(), secrets.end(), v.value()), secrets.end());
    }
  }
  for (const auto& v : p->ood_main_current) {
    EXPECT_EQ(std::find(secrets.begin(), secrets.end(), v.c0().value()), secrets.end());
  }
  EXPECT_GT(opened, 1000u);
  // The public inputs are the statement only: no choice bit pattern or random appears.
  for (const Fp v : p->public_inputs) {
    EXPECT_EQ(std::find(secrets.begin(), secrets.end(), v.value()), secrets.end());
  }
}

TEST(TallyAirPublicInputs, MalformedInputsAreRefused) {
  // Version 2: [2, k, offset, F, e (3), config (4), F x (m_j, root_j (4)), counts (k), |x|,
  // x...].
  const auto good = SegmentInputsFor(2, 4, {3, 0}, {2});
  ASSERT_TRUE(TallyAir::FromPublicInputs(good).ok());
  auto with = [](std::vector<Fp> p, size_t i, uint64_t v) {
    p[i] = Fp(v);
    return TallyAir::FromPublicInputs(p).ok();
  };
  EXPECT_FALSE(with(good, 0, 3));            // version
  EXPECT_FALSE(with(good, 0, 0));
  EXPECT_FALSE(with(good, 1, 1));            // one choice
  EXPECT_FALSE(with(good, 1, 17));           // too many choices
  EXPECT_FALSE(with(good, 2, 2));            // unaligned offset
  EXPECT_FALSE(with(good, 3, 0));            // no blocks
  EXPECT_FALSE(with(good, 3, 2));            // two blocks, one given
  EXPECT_FALSE(with(good, 4, uint64_t{1} << 60));  // election limb out of range
  EXPECT_FALSE(with(good, 11, 3));           // a block size not a power of two
  EXPECT_FALSE(with(good, 11, 0));
  EXPECT_FALSE(with(good, 11, uint64_t{1} << 21));
  EXPECT_FALSE(with(good, 16, 5));           // counts exceed the size
  EXPECT_FALSE(with(good, 18, 2));           // excluded count vs indices
  EXPECT_FALSE(with(good, 19, 9));           // excluded index outside
  auto p = good;
  p.pop_back();
  EXPECT_FALSE(TallyAir::FromPublicInputs(p).ok());
  EXPECT_FALSE(TallyAir::FromPublicInputs(std::span<const Fp>()).ok());

  // Several blocks: 4, 2 and 1 leaves; each aligned to its size.
  const auto three = SegmentInputsFor(2, 7, {3, 3}, {5}, 2, {4, 2, 1});
  auto air = TallyAir::FromPublicInputs(three);
  ASSERT_TRUE(air.ok()) << air.status().message();
  EXPECT_EQ(air->size(), 7u);
  EXPECT_EQ(air->TraceRows(), 18u);
  EXPECT_EQ(air->MainWidth(), TallyAir::kB + 2);
  EXPECT_EQ(air->AuxWidth(), 3u);
  EXPECT_FALSE(with(three, 29, 7));          // excluded index past the last block
  EXPECT_FALSE(TallyAir::FromPublicInputs(SegmentInputsFor(2, 6, {6, 0}, {}, 2, {2, 4})).ok());  // unaligned
  EXPECT_TRUE(TallyAir::FromPublicInputs(SegmentInputsFor(2, 3, {3, 0}, {}, 2, {1, 1, 1})).ok());

  // Version 1: [1, k, offset, m, e (3), config (4), root (4), counts (k), |x|, x...].
  const auto v1 = SegmentInputsFor(2, 4, {3, 0}, {2}, 1);
  auto air1 = TallyAir::FromPublicInputs(v1);
  ASSERT_TRUE(air1.ok()) << air1.status().message();
  EXPECT_EQ(air1->Name(), kTallyAirNameV1);
  EXPECT_EQ(air1->MainWidth(), TallyAir::kB + 2 * 2);
  EXPECT_FALSE(with(v1, 3, 3));
  EXPECT_FALSE(with(v1, 4, uint64_t{1} << 60));
  EXPECT_FALSE(with(v1, 15, 5));
  EXPECT_FALSE(with(v1, 17, 2));
  EXPECT_FALSE(with(v1, 18, 9));
}

// The prover evaluates the grand-product constraints eight rows at a time
// (EvaluateAuxPacked); the verifier evaluates EvaluateAux at one point. They must agree lane
// by lane on any frame, not only on honest rows.
TEST(TallyAirAux, PackedEvaluationMatchesOneRowAtATime) {
 for (const uint32_t version : {1u, 2u}) {
  auto air = TallyAir::FromPublicInputs(
      SegmentInputsFor(3, 8, {3, 2, 1}, {2, 5}, version, version == 2 ? std::vector<uint64_t>{4, 2, 2} : std::vector<uint64_t>{}));
  ASSERT_TRUE(air.ok()) << air.status().message();
  std::mt19937_64 rng(TestSeed() + 41);
  auto rand_fp = [&] { return Fp(rng() % Fp::kModulus); };
  const size_t w = air->MainWidth(), a = air->AuxWidth();
  for (int round = 0; round < 20; ++round) {
    std::vector<stark::Fp2> rand;
    for (size_t i = 0; i < air->NumAuxRandomElements(); ++i) rand.emplace_back(rand_fp(), rand_fp());
    // Eight rows of random values; selector columns sometimes 0/1 so every branch counts.
    std::vector<std::array<Fp, 8>> cur(w), nxt(w);
    std::vector<std::array<stark::Fp2, 8>> acur(a), anxt(a);
    for (size_t c = 0; c < w; ++c) {
      for (size_t j = 0; j < 8; ++j) {
        cur[c][j] = (rng() % 3 == 0) ? Fp(rng() % 2) : rand_fp();
        nxt[c][j] = rand_fp();
      }
    }
    for (size_t c = 0; c < a; ++c) {
      for (size_t j = 0; j < 8; ++j) {
        acur[c][j] = stark::Fp2(rand_fp(), rand_fp());
        anxt[c][j] = stark::Fp2(rand_fp(), rand_fp());
      }
    }
    std::vector<stark::PackedFp> pcur(w), pnxt(w);
    for (size_t c = 0; c < w; ++c) {
      pcur[c] = stark::PackedFp::Load(cur[c].data());
      pnxt[c] = stark::PackedFp::Load(nxt[c].data());
    }
    std::vector<stark::PackedFp2> pacur(a), panxt(a);
    for (size_t c = 0; c < a; ++c) {
      Fp re[8], im[8], nre[8], nim[8];
      for (size_t j = 0; j < 8; ++j) {
        re[j] = acur[c][j].c0();
        im[j] = acur[c][j].c1();
        nre[j] = anxt[c][j].c0();
        nim[j] = anxt[c][j].c1();
      }
      pacur[c] = stark::PackedFp2(stark::PackedFp::Load(re), stark::PackedFp::Load(im));
      panxt[c] = stark::PackedFp2(stark::PackedFp::Load(nre), stark::PackedFp::Load(nim));
    }
    const size_t q = air->AuxConstraints().size();
    std::vector<stark::PackedFp2> packed(q);
    air->EvaluateAuxPacked(stark::Frame<stark::PackedFp>{pcur, pnxt}, stark::Frame<stark::PackedFp2>{pacur, panxt},
                           {}, rand, packed);
    for (size_t j = 0; j < 8; ++j) {
      std::vector<stark::Fp2> mc(w), mn(w), ac(a), an(a), out(q);
      for (size_t c = 0; c < w; ++c) {
        mc[c] = cur[c][j];
        mn[c] = nxt[c][j];
      }
      for (size_t c = 0; c < a; ++c) {
        ac[c] = acur[c][j];
        an[c] = anxt[c][j];
      }
      air->EvaluateAux(stark::Frame<stark::Fp2>{mc, mn}, stark::Frame<stark::Fp2>{ac, an}, {}, rand, out);
      for (size_t k = 0; k < q; ++k) ASSERT_EQ(packed[k].Lane(j), out[k]) << "constraint " << k << " lane " << j;
    }
  }
 }
}

TEST(SegmentProofContainer, MalformedBytesAreRefused) {
  const Bytes good = SerializeSegmentProofs(std::vector<Bytes>{Bytes{1, 2, 3}, Bytes{4}});
  ASSERT_TRUE(ParseSegmentProofs(good).ok());
  for (size_t cut = 0; cut < good.size(); ++cut) {
    EXPECT_FALSE(ParseSegmentProofs(ByteSpan(good.data(), cut)).ok()) << cut;
  }
  Bytes trailing = good;
  trailing.push_back(0);
  EXPECT_FALSE(ParseSegmentProofs(trailing).ok());
  Bytes magic = good;
  magic[0] = 'X';
  EXPECT_FALSE(ParseSegmentProofs(magic).ok());
  Bytes none = SerializeSegmentProofs(std::vector<Bytes>{});
  EXPECT_FALSE(ParseSegmentProofs(none).ok());
  Bytes huge = good;
  huge[12] = 0xff;
  huge[13] = 0xff;
  huge[14] = 0xff;
  huge[15] = 0x7f;
  EXPECT_FALSE(ParseSegmentProofs(huge).ok());
}

TEST(TallyProve, RefusesAWitnessThatDoesNotOpen) {
  stark::SeededRandom rng(TestSeed());
  auto leaves = RandomLeaves(4, 2, rng);
  leaves[1].random[0] ^= 1;
  auto p = ProveTally(MakeInput(leaves, 2, 1 << 14), TallyProofOptions(), rng);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("leaf 1"), std::string::npos) << p.status().message();
  leaves = RandomLeaves(4, 2, rng);
  leaves[2].choice = 2;
  EXPECT_FALSE(ProveTally(MakeInput(leaves, 2, 1 << 14), TallyProofOptions(), rng).ok());
  // The openings are checked with the trace's commitment rows: a bad one in the second
  // segment is named by its index in the tree, and an excluded leaf's random is not checked.
  leaves = RandomLeaves(8, 2, rng);
  leaves[6].random[3] ^= 0x80;
  leaves[2].excluded = true;
  leaves[2].random[0] ^= 1;
  p = ProveTally(MakeInput(leaves, 2, 4, 2), TallyProofOptions(), rng);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("leaf 6 does not open"), std::string::npos) << p.status().message();
  leaves[6].random[3] ^= 0x80;
  EXPECT_TRUE(ProveTally(MakeInput(leaves, 2, 4, 2), TallyProofOptions(), rng).ok());
}

}  // namespace
}  // namespace vp::ballot
