// End-to-end STARK tests: round trips over AIRs, sizes and options; a tamper test for every
// proof component with the reason the verifier must give; wrong witnesses; statement
// mismatches; malformed bytes; zero knowledge.
#include <gtest/gtest.h>

#include <cstdlib>
#include <set>
#include <string>

#include "vp/stark/airs/fibonacci.h"
#include "vp/stark/airs/permutation.h"
#include "vp/stark/airs/poseidon2_chain.h"
#include "vp/stark/airs/registry.h"
#include "vp/stark/layout.h"
#include "vp/stark/prover.h"
#include "vp/stark/verifier.h"

namespace vp::stark {
namespace {

uint64_t Seed() {
  static const uint64_t seed = [] {
    const char* env = std::getenv("VP_TEST_SEED");
    const uint64_t s = env != nullptr ? std::strtoull(env, nullptr, 10) : 7;
    std::printf("stark_test seed=%llu (override with VP_TEST_SEED)\n", static_cast<unsigned long long>(s));
    return s;
  }();
  return seed;
}

// Small, fast options for most tests; the verifier is told to accept their low security.
ProofOptions TestOptions() {
  ProofOptions o;
  o.log_blowup = 2;
  o.num_queries = 12;
  o.grinding_bits = 4;
  o.log_folding_factor = 2;
  o.log_remainder_max = 3;
  o.zero_knowledge = true;
  return o;
}
const VerifierConfig kLax{0};

Proof ProveOrDie(const Air& air, const TraceColumns& trace, const ProofOptions& o, uint64_t seed) {
  SeededRandom rng(seed);
  auto p = Prove(air, trace, o, rng);
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return p.ok() ? *p : Proof{};
}

std::string Why(const Status& s) { return s.ok() ? "OK" : s.message(); }

TEST(StarkTest, FibonacciRoundTripsOverSizesAndOptions) {
  for (size_t rows : {2u, 3u, 8u, 50u, 257u}) {
    for (uint8_t fold : {uint8_t{1}, uint8_t{2}, uint8_t{3}, uint8_t{4}}) {
      for (bool zk : {false, true}) {
        ProofOptions o = TestOptions();
        o.log_folding_factor = fold;
        o.zero_knowledge = zk;
        o.log_blowup = static_cast<uint8_t>(1 + (rows + fold) % 3);
        FibonacciAir air(rows, Fp(1), Fp(2), FibonacciAir::Compute(rows, Fp(1), Fp(2)));
        const Proof p = ProveOrDie(air, air.GenerateTrace(), o, Seed());
        const Bytes b = SerializeProof(p);
        EXPECT_TRUE(VerifyBytes(air, b, kLax).ok())
            << "rows=" << rows << " fold=" << int(fold) << " zk=" << zk << ": " << Why(VerifyBytes(air, b, kLax));
      }
    }
  }
}

TEST(StarkTest, RemainderOnlyAndManyLayers) {
  FibonacciAir air(20, Fp(3), Fp(5), FibonacciAir::Compute(20, Fp(3), Fp(5)));
  for (uint8_t rem : {uint8_t{0}, uint8_t{1}, uint8_t{10}}) {
    ProofOptions o = TestOptions();
    o.log_remainder_max = rem;
    const Proof p = ProveOrDie(air, air.GenerateTrace(), o, Seed());
    EXPECT_TRUE(Verify(air, p, kLax).ok()) << int(rem) << ": " << Why(Verify(air, p, kLax));
  }
}

TEST(StarkTest, PermutationAirWithAuxTraceAndPeriodicColumn) {
  PermutationAir air(100);
  SeededRandom wrng(Seed());
  for (bool zk : {false, true}) {
    ProofOptions o = TestOptions();
    o.zero_knowledge = zk;
    const Proof p = ProveOrDie(air, air.GenerateTrace(wrng), o, Seed() + 1);
    EXPECT_TRUE(p.has_aux);
    EXPECT_TRUE(Verify(air, p, kLax).ok()) << Why(Verify(air, p, kLax));
  }
}

TEST(StarkTest, Poseidon2ChainRoundTripAtDefaultSecurity) {
  const HashOut x = {Fp(1), Fp(2), Fp(3), Fp(4)};
  auto air = Poseidon2ChainAir::ForInput(20, x);
  EXPECT_EQ(air.output(), Poseidon2ChainAir::Compute(20, x));
  const Proof p = ProveOrDie(air, air.GenerateTrace(), ProofOptions{}, Seed());
  EXPECT_TRUE(Verify(air, p).ok()) << Why(Verify(air, p));
  // Default options give 100 conjectured bits.
  EXPECT_GE(ProofOptions{}.ConjecturedSecurityBits(20), 100);
  // The registry rebuilds the same statement from the proof's public inputs.
  auto rebuilt = MakeAir(p.air_name, p.public_inputs);
  ASSERT_TRUE(rebuilt.ok());
  EXPECT_TRUE(Verify(**rebuilt, p).ok());
}

// Degree-7 constraints need 7 of the evaluation domain's 8 trace-domain cosets, or 6 and a
// small coset when the trace is nearly full (200 of 256 rows): with blowup 2 and 4 most of
// them are extended beside the committed LDE, with blowup 8 they are read from it. Every way
// verifies, and a broken witness still shows in H's degree.
TEST(StarkTest, Poseidon2ChainProvesAtEveryBlowup) {
  const HashOut x = {Fp(5), Fp(6), Fp(7), Fp(8)};
  for (size_t length : {size_t{9}, size_t{200}}) {
    auto air = Poseidon2ChainAir::ForInput(length, x);
    for (uint8_t log_blowup : {uint8_t{1}, uint8_t{2}, uint8_t{3}, uint8_t{4}}) {
      ProofOptions o = TestOptions();
      o.log_blowup = log_blowup;
      SeededRandom honest_rng(Seed() + log_blowup);
      ProverStats honest;
      auto p = Prove(air, air.GenerateTrace(), o, honest_rng, &honest);
      ASSERT_TRUE(p.ok());
      EXPECT_TRUE(honest.composition_degree_ok);
      EXPECT_EQ(honest.composition_cosets, length == 9 ? 7u : 6u) << length;
      EXPECT_EQ(honest.composition_small_points, length == 9 ? 0u : 64u) << length;
      EXPECT_TRUE(Verify(air, *p, kLax).ok()) << length << " " << int(log_blowup) << ": " << Why(Verify(air, *p, kLax));
      auto broken = air.GenerateTrace();
      broken[3][4] += Fp::One();
      SeededRandom rng(Seed());
      ProverStats stats;
      auto q = Prove(air, broken, o, rng, &stats);
      ASSERT_TRUE(q.ok());
      EXPECT_FALSE(stats.composition_degree_ok) << length << " " << int(log_blowup);
      EXPECT_FALSE(Verify(air, *q, kLax).ok()) << length << " " << int(log_blowup);
    }
  }
}

// Forwards to another AIR but hides its packed evaluation, so the prover takes the
// row-by-row path.
class RowByRowAir final : public Air {
 public:
  explicit RowByRowAir(const Air& inner) : inner_(inner) {}
  std::string Name() const override { return inner_.Name(); }
  std::vector<Fp> PublicInputs() const override { return inner_.PublicInputs(); }
  size_t TraceRows() const override { return inner_.TraceRows(); }
  size_t MainWidth() const override { return inner_.MainWidth(); }
  std::vector<ConstraintInfo> MainConstraints() const override { return inner_.MainConstraints(); }
  std::vector<std::vector<Fp>> PeriodicColumns() const override { return inner_.PeriodicColumns(); }
  void EvaluateMain(const Frame<Fp>& f, std::span<const Fp> per, std::span<Fp> out) const override {
    inner_.EvaluateMain(f, per, out);
  }
  void EvaluateMain(const Frame<Fp2>& f, std::span<const Fp2> per, std::span<Fp2> out) const override {
    inner_.EvaluateMain(f, per, out);
  }
  size_t AuxWidth() const override { return inner_.AuxWidth(); }
  size_t NumAuxRandomElements() const override { return inner_.NumAuxRandomElements(); }
  std::vector<ConstraintInfo> AuxConstraints() const override { return inner_.AuxConstraints(); }
  ExtTraceColumns BuildAuxTrace(const TraceColumns& main, std::span<const Fp2> rand) const override {
    return inner_.BuildAuxTrace(main, rand);
  }
  void EvaluateAux(const Frame<Fp2>& main, const Frame<Fp2>& aux, std::span<const Fp2> per,
                   std::span<const Fp2> rand, std::span<Fp2> out) const override {
    inner_.EvaluateAux(main, aux, per, rand, out);
  }

 private:
  const Air& inner_;
};

// The packed constraint evaluation (eight rows at once) is an implementation detail: the
// same seed gives the same proof bytes as evaluating row by row, and the packed form agrees
// with the scalar one on arbitrary frames.
TEST(StarkTest, PackedEvaluationGivesTheSameProofAsRowByRow) {
  for (size_t length : {size_t{5}, size_t{30}, size_t{200}}) {
    const HashOut x = {Fp(9), Fp(8), Fp(7), Fp(length)};
    auto air = Poseidon2ChainAir::ForInput(length, x);
    ASSERT_TRUE(air.HasPackedMain());
    const RowByRowAir rows(air);
    ASSERT_FALSE(rows.HasPackedMain());
    const auto trace = air.GenerateTrace();
    for (bool zk : {false, true}) {
      ProofOptions o = TestOptions();
      o.zero_knowledge = zk;
      const Bytes a = SerializeProof(ProveOrDie(air, trace, o, Seed() + length));
      const Bytes b = SerializeProof(ProveOrDie(rows, trace, o, Seed() + length));
      EXPECT_EQ(a, b) << length << " zk=" << zk;
    }
  }
  auto air = Poseidon2ChainAir::ForInput(3, {Fp(1), Fp(2), Fp(3), Fp(4)});
  const size_t w = air.MainWidth(), nc = air.MainConstraints().size();
  SeededRandom rng(Seed());
  std::vector<Fp> cur(8 * w), nxt(8 * w);  // lane-major: row j's column c at [j * w + c]
  for (auto& v : cur) v = rng.NextFp();
  for (auto& v : nxt) v = rng.NextFp();
  std::vector<PackedFp> pcur(w), pnxt(w), pout(nc);
  for (size_t c = 0; c < w; ++c) {
    Fp lc[8], ln[8];
    for (size_t j = 0; j < 8; ++j) {
      lc[j] = cur[j * w + c];
      ln[j] = nxt[j * w + c];
    }
    pcur[c] = PackedFp::Load(lc);
    pnxt[c] = PackedFp::Load(ln);
  }
  air.EvaluateMainPacked(Frame<PackedFp>{pcur, pnxt}, {}, pout);
  for (size_t j = 0; j < 8; ++j) {
    std::vector<Fp> out(nc);
    air.EvaluateMain(Frame<Fp>{std::span<const Fp>(cur).subspan(j * w, w), std::span<const Fp>(nxt).subspan(j * w, w)},
                     {}, out);
    for (size_t k = 0; k < nc; ++k) ASSERT_EQ(pout[k].Lane(j), out[k]) << j << " " << k;
  }
}

TEST(StarkTest, SerializationRoundTripIsExactAndDeterministic) {
  PermutationAir air(40);
  SeededRandom wrng(Seed());
  const auto trace = air.GenerateTrace(wrng);
  const Bytes a = SerializeProof(ProveOrDie(air, trace, TestOptions(), 99));
  const Bytes b = SerializeProof(ProveOrDie(air, trace, TestOptions(), 99));
  EXPECT_EQ(a, b);  // same seed, same proof
  auto decoded = DeserializeProof(a);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(SerializeProof(*decoded), a);
}

TEST(StarkTest, AirNameOutsideItsAlphabetIsMalformed) {
  // The name reaches rejection reasons and JSON output, so bytes outside [a-z0-9-] (here
  // 0xA5, invalid UTF-8, and an upper-case letter) are refused by the decoder itself.
  PermutationAir air(40);
  SeededRandom wrng(Seed());
  Proof p = ProveOrDie(air, air.GenerateTrace(wrng), TestOptions(), 5);
  for (const std::string& bad : {std::string("perm\xa5tation"), std::string("Permutation"), std::string()}) {
    p.air_name = bad;
    auto decoded = DeserializeProof(SerializeProof(p));
    ASSERT_FALSE(decoded.ok());
    EXPECT_NE(decoded.status().message().find("air name"), std::string::npos) << decoded.status().message();
  }
}

// --- Tampering -----------------------------------------------------------------------------

class TamperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SeededRandom wrng(Seed());
    trace_ = air_.GenerateTrace(wrng);
    ProofOptions o = TestOptions();
    o.grinding_bits = 12;  // tampering with the transcript then fails the proof of work
    proof_ = ProveOrDie(air_, trace_, o, Seed() + 5);
    ASSERT_TRUE(Verify(air_, proof_, kLax).ok()) << Why(Verify(air_, proof_, kLax));
  }
  // Applies the mutation and expects a rejection whose reason contains `reason`.
  template <typename Fn>
  void Expect(Fn mutate, const std::string& reason) {
    Proof p = proof_;
    mutate(p);
    const Status s = Verify(air_, p, kLax);
    ASSERT_FALSE(s.ok()) << "accepted after tampering; expected: " << reason;
    EXPECT_NE(s.message().find(reason), std::string::npos) << "reason: " << s.message();
    // And the same through the wire format (decoding may already reject).
    EXPECT_FALSE(VerifyBytes(air_, SerializeProof(p), kLax).ok());
  }
  static void Bump(Fp& v) { v += Fp::One(); }
  static void Bump(Fp2& v) { v += Fp2(Fp::Zero(), Fp::One()); }
  static void Flip(Digest& d) { d[3] ^= 0x10; }

  PermutationAir air_{60};
  TraceColumns trace_;
  Proof proof_;
};

// Commitments and everything absorbed before the challenges: the transcript changes, so the
// out-of-domain check (drawn right after) or the proof of work (bound to the whole
// transcript) fails.
TEST_F(TamperTest, Commitments) {
  Expect([](Proof& p) { Flip(p.main_root); }, "out-of-domain constraint check failed");
  Expect([](Proof& p) { Flip(p.aux_root); }, "out-of-domain constraint check failed");
  Expect([](Proof& p) { Flip(p.composition_root); }, "out-of-domain constraint check failed");
}

TEST_F(TamperTest, OutOfDomainValues) {
  Expect([](Proof& p) { Bump(p.ood_main_current[0]); }, "out-of-domain constraint check failed");
  Expect([](Proof& p) { Bump(p.ood_aux_current[0]); }, "out-of-domain constraint check failed");
  Expect([](Proof& p) { Bump(p.ood_aux_next[0]); }, "out-of-domain constraint check failed");
  Expect([](Proof& p) { Bump(p.ood_composition[0]); }, "out-of-domain constraint check failed");
  // No constraint of this AIR reads the main columns at the next row; those values still
  // bind through the transcript, so the proof of work fails.
  Expect([](Proof& p) { Bump(p.ood_main_next[1]); }, "proof-of-work");
}

TEST_F(TamperTest, FriCommitmentsRemainderAndNonce) {
  ASSERT_FALSE(proof_.fri_roots.empty());
  Expect([](Proof& p) { Flip(p.fri_roots[0]); }, "proof-of-work");
  Expect([](Proof& p) { Flip(p.fri_roots.back()); }, "proof-of-work");
  Expect([](Proof& p) { Bump(p.fri_remainder[0]); }, "proof-of-work");
  Expect([](Proof& p) { p.pow_nonce ^= 1; }, "proof-of-work");
}

TEST_F(TamperTest, OpenedValuesSaltsAndPaths) {
  Expect([](Proof& p) { Bump(p.main_opening.rows[0][0]); }, "main trace: Merkle");
  Expect([](Proof& p) { Bump(p.main_opening.rows.back()[2]); }, "main trace: Merkle");
  Expect([](Proof& p) { Flip(p.main_opening.salts[0]); }, "main trace: Merkle");
  Expect([](Proof& p) { Flip(p.main_opening.proof.nodes[0]); }, "main trace: Merkle");
  Expect([](Proof& p) { Flip(p.main_opening.proof.nodes.back()); }, "main trace: Merkle");
  Expect([](Proof& p) { p.main_opening.proof.nodes.pop_back(); }, "main trace: Merkle");
  Expect([](Proof& p) { p.main_opening.proof.nodes.push_back({}); }, "main trace: Merkle");
  Expect([](Proof& p) { p.main_opening.rows.pop_back(); }, "main trace: wrong number");
  Expect([](Proof& p) { Bump(p.aux_opening.rows[1][1]); }, "aux trace: Merkle");
  Expect([](Proof& p) { Flip(p.aux_opening.proof.nodes[1]); }, "aux trace: Merkle");
  Expect([](Proof& p) { Bump(p.composition_opening.rows[0][0]); }, "composition: Merkle");
  Expect([](Proof& p) { Flip(p.composition_opening.salts.back()); }, "composition: Merkle");
  Expect([](Proof& p) { Flip(p.composition_opening.proof.nodes[0]); }, "composition: Merkle");
  for (size_t k = 0; k < proof_.fri_openings.size(); ++k) {
    const std::string name = "FRI layer " + std::to_string(k) + ": Merkle";
    Expect([k](Proof& p) { Bump(p.fri_openings[k].rows[0][0]); }, name);
    Expect([k](Proof& p) { Flip(p.fri_openings[k].proof.nodes[0]); }, name);
  }
}

TEST_F(TamperTest, PublicInputsAndStatement) {
  Expect([](Proof& p) { p.public_inputs[0] += Fp::One(); }, "public inputs do not match");
  Expect([](Proof& p) { p.air_name = "fibonacci"; }, "proof is for AIR 'fibonacci'");
  Expect([](Proof& p) { p.log_trace_length += 1; }, "trace shape");
  Expect([](Proof& p) { p.options.num_queries += 1; }, "");
  // A proof for one statement does not verify another: same AIR kind, other public inputs.
  PermutationAir other(61);
  EXPECT_FALSE(Verify(other, proof_, kLax).ok());
}

TEST_F(TamperTest, EveryByteFlipIsRejectedWithoutCrashing) {
  const Bytes good = SerializeProof(proof_);
  ASSERT_TRUE(VerifyBytes(air_, good, kLax).ok());
  SeededRandom rng(Seed() + 11);
  for (int i = 0; i < 300; ++i) {
    Bytes bad = good;
    const size_t pos = static_cast<size_t>(rng.NextU64() % bad.size());
    bad[pos] ^= static_cast<uint8_t>(1u << (rng.NextU64() % 8));
    EXPECT_FALSE(VerifyBytes(air_, bad, kLax).ok()) << "flip at byte " << pos;
  }
  for (size_t len : {size_t{0}, size_t{3}, size_t{10}, good.size() / 2, good.size() - 1}) {
    const Status s = VerifyBytes(air_, ByteSpan(good.data(), len), kLax);
    EXPECT_FALSE(s.ok());
    EXPECT_NE(s.message().find("malformed proof"), std::string::npos) << s.message();
  }
  Bytes longer = good;
  longer.push_back(0);
  EXPECT_NE(Why(VerifyBytes(air_, longer, kLax)).find("trailing bytes"), std::string::npos);
}

TEST(StarkTest, WrongWitnessIsRejected) {
  FibonacciAir air(64, Fp(1), Fp(1), FibonacciAir::Compute(64, Fp(1), Fp(1)));
  auto trace = air.GenerateTrace();
  trace[0][17] += Fp::One();  // breaks two transitions
  SeededRandom rng(Seed());
  ProverStats stats;
  auto p = Prove(air, trace, TestOptions(), rng, &stats);
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(stats.composition_degree_ok);
  EXPECT_FALSE(Verify(air, *p, kLax).ok());
  // A correct trace for a different claimed result is rejected too.
  FibonacciAir liar(64, Fp(1), Fp(1), FibonacciAir::Compute(64, Fp(1), Fp(1)) + Fp::One());
  const Proof q = ProveOrDie(liar, air.GenerateTrace(), TestOptions(), Seed());
  EXPECT_FALSE(Verify(liar, q, kLax).ok());
  // And a broken Poseidon2 chain.
  auto chain = Poseidon2ChainAir::ForInput(10, {Fp(9), Fp(8), Fp(7), Fp(6)});
  auto ct = chain.GenerateTrace();
  ct[40][3] += Fp::One();
  const Proof r = ProveOrDie(chain, ct, TestOptions(), Seed());
  EXPECT_FALSE(Verify(chain, r, kLax).ok());
}

TEST(StarkTest, ProofForOnePublicInputFailsForAnother) {
  const HashOut x = {Fp(1), Fp(1), Fp(1), Fp(1)};
  auto air = Poseidon2ChainAir::ForInput(12, x);
  const Proof p = ProveOrDie(air, air.GenerateTrace(), TestOptions(), Seed());
  ASSERT_TRUE(Verify(air, p, kLax).ok());
  HashOut y2 = air.output();
  y2[0] += Fp::One();
  Poseidon2ChainAir other(12, x, y2);
  EXPECT_NE(Why(Verify(other, p, kLax)).find("public inputs do not match"), std::string::npos);
  // Rewriting the public inputs inside the proof as well: the transcript no longer matches.
  Proof forged = p;
  forged.public_inputs = other.PublicInputs();
  EXPECT_FALSE(Verify(other, forged, kLax).ok());
}

TEST(StarkTest, VerifierRefusesLowSecurityProofs) {
  FibonacciAir air(16, Fp(1), Fp(1), FibonacciAir::Compute(16, Fp(1), Fp(1)));
  const Proof p = ProveOrDie(air, air.GenerateTrace(), TestOptions(), Seed());
  const Status s = Verify(air, p);  // default: 100 bits
  EXPECT_NE(Why(s).find("security below minimum"), std::string::npos) << Why(s);
  ProofOptions strong;
  EXPECT_GE(strong.ConjecturedSecurityBits(10), 100);
  EXPECT_GT(strong.ProvenSecurityBits(10), 0);
  EXPECT_LT(strong.ProvenSecurityBits(10), strong.ConjecturedSecurityBits(10));
}

TEST(StarkTest, ProverRejectsMismatchedTraceShape) {
  FibonacciAir air(16, Fp(1), Fp(1), Fp(0));
  SeededRandom rng(1);
  TraceColumns t = air.GenerateTrace();
  t[1].pop_back();
  EXPECT_FALSE(Prove(air, t, TestOptions(), rng).ok());
  t.pop_back();
  EXPECT_FALSE(Prove(air, t, TestOptions(), rng).ok());
  ProofOptions bad = TestOptions();
  bad.log_folding_factor = 9;
  EXPECT_FALSE(Prove(air, air.GenerateTrace(), bad, rng).ok());
}

// --- Zero knowledge ----------------------------------------------------------------------

// Two witnesses for the same public statement: no opened or out-of-domain value equals a
// private witness cell, and the opened values look uniform (their top bits balance).
TEST(StarkTest, ZeroKnowledgeOpenedValuesRevealNoWitnessCell) {
  PermutationAir air(64);
  SeededRandom w1(Seed() + 100), w2(Seed() + 200);
  const auto t1 = air.GenerateTrace(w1), t2 = air.GenerateTrace(w2);
  ProofOptions o = TestOptions();
  const Proof p1 = ProveOrDie(air, t1, o, Seed() + 1);
  const Proof p2 = ProveOrDie(air, t2, o, Seed() + 2);
  ASSERT_TRUE(Verify(air, p1, kLax).ok());
  ASSERT_TRUE(Verify(air, p2, kLax).ok());
  size_t top_bits = 0, total = 0;
  for (const auto* pair : {&p1, &p2}) {
    const auto& trace = pair == &p1 ? t1 : t2;
    std::set<uint64_t> witness;
    for (size_t c = 0; c < 2; ++c) {  // the private columns x and y
      for (Fp v : trace[c]) witness.insert(v.value());
    }
    for (const auto& row : pair->main_opening.rows) {
      for (size_t c = 0; c < 2; ++c) {
        EXPECT_EQ(witness.count(row[c].value()), 0u);
        top_bits += row[c].value() >> 63;
        ++total;
      }
    }
    for (size_t c = 0; c < 2; ++c) {
      EXPECT_FALSE(pair->ood_main_current[c].IsBase() && witness.count(pair->ood_main_current[c].c0().value()));
    }
    for (const auto& row : pair->composition_opening.rows) {
      for (Fp v : row) {
        EXPECT_EQ(witness.count(v.value()), 0u);
        top_bits += v.value() >> 63;
        ++total;
      }
    }
  }
  // Uniform 64-bit field elements have their top bit set with probability ~1/2.
  const double frac = static_cast<double>(top_bits) / static_cast<double>(total);
  EXPECT_GT(frac, 0.3);
  EXPECT_LT(frac, 0.7);
  // Without zero knowledge the same statement opens real rows: the padding is zero and the
  // salts are absent.
  o.zero_knowledge = false;
  const Proof plain = ProveOrDie(air, t1, o, Seed());
  EXPECT_TRUE(plain.main_opening.salts.empty());
  EXPECT_FALSE(p1.main_opening.salts.empty());
}

TEST(StarkTest, OutOfDomainPointAvoidsTraceDomainAndCosets) {
  FibonacciAir air(100, Fp(1), Fp(1), Fp(0));
  auto l = ComputeLayout(air, TestOptions());
  ASSERT_TRUE(l.ok());
  const Fp g = Fp::RootOfUnity(l->log_n);
  const Fp w = Fp::RootOfUnity(l->log_lde);
  EXPECT_FALSE(OodPointAllowed(Fp2(g.Pow(3)), *l));
  EXPECT_FALSE(OodPointAllowed(Fp2(Fp::One()), *l));
  EXPECT_FALSE(OodPointAllowed(Fp2(DomainOffset() * w.Pow(5)), *l));
  EXPECT_TRUE(OodPointAllowed(Fp2(Fp(12345), Fp(678)), *l));
  Channel ch("test");
  auto z = DrawOodPoint(ch, *l);
  ASSERT_TRUE(z.ok());
  EXPECT_FALSE(z->IsBase());
}

TEST(StarkTest, RegistryRejectsBadStatements) {
  EXPECT_FALSE(MakeAir("nope", {}).ok());
  EXPECT_FALSE(MakeAir("fibonacci", std::vector<Fp>{Fp(1)}).ok());
  EXPECT_FALSE(MakeAir("poseidon2-chain", std::vector<Fp>(9, Fp(0))).ok());
  EXPECT_TRUE(MakeAir("poseidon2-chain", std::vector<Fp>(9, Fp(5))).ok());
}

}  // namespace
}  // namespace vp::stark
