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

TallyInput MakeInput(std::vector<LeafWitness> leaves, uint32_t k, uint64_t max_seg) {
  TallyInput in;
  in.election_id = TestElection();
  in.config_hash = ConfigHash("{\"choices\":[\"A\",\"B\"]}");
  in.num_choices = k;
  in.leaves = std::move(leaves);
  in.max_segment_leaves = max_seg;
  return in;
}

// The public inputs of a segment at offset 0 of the test election (no config hash or root).
std::vector<Fp> SegmentInputsFor(uint32_t k, uint64_t size, std::vector<uint64_t> counts,
                                 std::vector<uint64_t> excluded) {
  TallyStatement st;
  st.election_id = TestElection();
  st.num_choices = k;
  SegmentStatement seg;
  seg.offset = 0;
  seg.size = size;
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
  using V = std::vector<std::pair<uint64_t, uint64_t>>;
  EXPECT_EQ(SegmentLayout(64, 1 << 14), (V{{0, 64}}));
  EXPECT_EQ(SegmentLayout(1, 16), (V{{0, 1}}));
  EXPECT_EQ(SegmentLayout(7, 16), (V{{0, 4}, {4, 2}, {6, 1}}));
  EXPECT_EQ(SegmentLayout(100, 16),
            (V{{0, 16}, {16, 16}, {32, 16}, {48, 16}, {64, 16}, {80, 16}, {96, 4}}));
  EXPECT_TRUE(SegmentLayout(0, 16).empty());
  EXPECT_TRUE(SegmentLayout(10, 6).empty());
}

TEST(CombineSegmentRoots, EqualsTheBulletinRootForEveryShape) {
  stark::SeededRandom rng(TestSeed());
  for (uint64_t n = 1; n <= 70; ++n) {
    const auto leaves = RandomLeaves(n, 2, rng);
    for (const uint64_t max : {uint64_t{1}, uint64_t{4}, uint64_t{16}, uint64_t{1} << 14}) {
      std::vector<SegmentStatement> segs;
      for (const auto& [o, s] : SegmentLayout(n, max)) {
        auto seg = ComputeSegmentStatement(
            o, std::span<const LeafWitness>(leaves).subspan(o, s), 2);
        ASSERT_TRUE(seg.ok()) << seg.status().message();
        segs.push_back(*seg);
      }
      auto root = CombineSegmentRoots(n, segs);
      ASSERT_TRUE(root.ok()) << root.status().message();
      EXPECT_EQ(*root, TreeRoot(leaves)) << "n=" << n << " max=" << max;
    }
  }
}

TEST(CombineSegmentRoots, RefusesTilingsThatAreNotTheTreeShape) {
  auto seg = [](uint64_t o, uint64_t s) {
    SegmentStatement x;
    x.offset = o;
    x.size = s;
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
}

struct Shape {
  size_t n;
  uint32_t k;
  uint64_t max_seg;
  std::vector<size_t> excluded;
};

class TallyRoundTrip : public ::testing::TestWithParam<Shape> {};

TEST_P(TallyRoundTrip, HonestTallyVerifies) {
  const Shape& shape = GetParam();
  stark::SeededRandom rng(TestSeed() + shape.n);
  const auto leaves = RandomLeaves(shape.n, shape.k, rng, shape.excluded);
  auto proof = ProveTally(MakeInput(leaves, shape.k, shape.max_seg), TallyProofOptions(), rng);
  ASSERT_TRUE(proof.ok()) << proof.status().message();
  const TallyStatement& st = proof->statement;
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
    ::testing::Values(Shape{64, 5, 1 << 14, {}}, Shape{64, 5, 1 << 14, {17}},
                      Shape{1, 2, 1 << 14, {}}, Shape{2, 3, 1 << 14, {0, 1}},
                      Shape{7, 16, 1 << 14, {3}}, Shape{40, 5, 8, {9, 31}}));

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
  void SetUp() override {
    stark::SeededRandom rng(TestSeed() + 1);
    leaves_ = RandomLeaves(8, 3, rng);
    auto st = ProveTally(MakeInput(leaves_, 3, 1 << 14), TallyProofOptions(), rng);
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

TEST_F(DishonestProver, ASecretExclusionFails) {
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
  const auto good = SegmentInputsFor(2, 4, {3, 0}, {2});
  ASSERT_TRUE(TallyAir::FromPublicInputs(good).ok());
  auto with = [&](size_t i, uint64_t v) {
    auto p = good;
    p[i] = Fp(v);
    return TallyAir::FromPublicInputs(p).ok();
  };
  EXPECT_FALSE(with(0, 2));            // version
  EXPECT_FALSE(with(1, 1));            // one choice
  EXPECT_FALSE(with(1, 17));           // too many choices
  EXPECT_FALSE(with(2, 2));            // unaligned offset
  EXPECT_FALSE(with(3, 3));            // not a power of two
  EXPECT_FALSE(with(3, 0));
  EXPECT_FALSE(with(4, uint64_t{1} << 60));  // election limb out of range
  EXPECT_FALSE(with(15, 4));           // counts exceed the size
  EXPECT_FALSE(with(17, 2));           // excluded count vs indices
  EXPECT_FALSE(with(18, 9));           // excluded index outside
  auto p = good;
  p.pop_back();
  EXPECT_FALSE(TallyAir::FromPublicInputs(p).ok());
  EXPECT_FALSE(TallyAir::FromPublicInputs(std::span<const Fp>()).ok());
}

// The prover evaluates the grand-product constraints eight rows at a time
// (EvaluateAuxPacked); the verifier evaluates EvaluateAux at one point. They must agree lane
// by lane on any frame, not only on honest rows.
TEST(TallyAirAux, PackedEvaluationMatchesOneRowAtATime) {
  auto air = TallyAir::FromPublicInputs(SegmentInputsFor(3, 8, {3, 2, 1}, {2, 5}));
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
}

}  // namespace
}  // namespace vp::ballot
