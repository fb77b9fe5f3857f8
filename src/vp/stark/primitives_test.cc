// Field, extension, NTT, BLAKE3, Poseidon2, Merkle and channel: axioms, round trips,
// published vectors and misuse.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <random>
#include <string>

#include "vp/base/bytes.h"
#include "vp/stark/blake3.h"
#include "vp/stark/channel.h"
#include "vp/stark/field.h"
#include "vp/stark/merkle.h"
#include "vp/stark/ntt.h"
#include "vp/stark/packed.h"
#include "vp/stark/poseidon2.h"

// The packed tests hold 64-byte vectors in locals; GCC notes the ABI of such values once.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace vp::stark {
namespace {

uint64_t TestSeed() {
  const char* env = std::getenv("VP_TEST_SEED");
  const uint64_t seed = env != nullptr ? std::strtoull(env, nullptr, 10) : 20240601;
  std::printf("primitives_test seed=%llu (override with VP_TEST_SEED)\n",
              static_cast<unsigned long long>(seed));
  return seed;
}

Fp RandFp(std::mt19937_64& rng) { return Fp(rng()); }
Fp2 RandFp2(std::mt19937_64& rng) { return Fp2(RandFp(rng), RandFp(rng)); }

TEST(FieldTest, ReductionEdgeCases) {
  const Fp minus_one(Fp::kModulus - 1);
  EXPECT_EQ(minus_one * minus_one, Fp::One());
  EXPECT_EQ(minus_one + Fp::One(), Fp::Zero());
  EXPECT_EQ(Fp::Zero() - Fp::One(), minus_one);
  EXPECT_EQ(Fp(Fp::kModulus), Fp::Zero());
  EXPECT_EQ(Fp(~uint64_t{0}).value(), Fp::kEpsilon - 1);
  // 2^32 * 2^32 = 2^64 = 2^32 - 1
  EXPECT_EQ(Fp(uint64_t{1} << 32) * Fp(uint64_t{1} << 32), Fp(Fp::kEpsilon));
  // 2^96 = -1
  EXPECT_EQ(Fp(uint64_t{1} << 48) * Fp(uint64_t{1} << 48), minus_one);
  // Reduce128 against a slow reference on extreme products.
  std::mt19937_64 rng(TestSeed());
  for (int i = 0; i < 20000; ++i) {
    uint64_t a = rng(), b = rng();
    if (i % 4 == 0) a = Fp::kModulus - 1 - (a & 0xff);
    if (i % 8 == 0) b = Fp::kModulus - 1 - (b & 0xffff);
    const unsigned __int128 prod = static_cast<unsigned __int128>(Fp(a).value()) * Fp(b).value();
    const auto expected = static_cast<uint64_t>(prod % Fp::kModulus);
    ASSERT_EQ((Fp(a) * Fp(b)).value(), expected) << a << " " << b;
  }
}

TEST(FieldTest, Axioms) {
  std::mt19937_64 rng(TestSeed());
  for (int i = 0; i < 2000; ++i) {
    const Fp a = RandFp(rng), b = RandFp(rng), c = RandFp(rng);
    EXPECT_EQ(a + b, b + a);
    EXPECT_EQ(a * b, b * a);
    EXPECT_EQ((a + b) + c, a + (b + c));
    EXPECT_EQ((a * b) * c, a * (b * c));
    EXPECT_EQ(a * (b + c), a * b + a * c);
    EXPECT_EQ(a - a, Fp::Zero());
    EXPECT_EQ(a + (-a), Fp::Zero());
    if (!a.IsZero()) {
      EXPECT_EQ(a * a.Inverse(), Fp::One());
    }
  }
  EXPECT_EQ(Fp::Zero().Inverse(), Fp::Zero());
}

TEST(FieldTest, ExtensionAxioms) {
  std::mt19937_64 rng(TestSeed() + 1);
  for (int i = 0; i < 1000; ++i) {
    const Fp2 a = RandFp2(rng), b = RandFp2(rng), c = RandFp2(rng);
    EXPECT_EQ(a * b, b * a);
    EXPECT_EQ((a * b) * c, a * (b * c));
    EXPECT_EQ(a * (b + c), a * b + a * c);
    if (!a.IsZero()) {
      EXPECT_EQ(a * a.Inverse(), Fp2::One());
    }
    const Fp s = RandFp(rng);
    EXPECT_EQ(a * s, a * Fp2(s));
  }
  // u^2 = 7 and 7 is a non-residue: 7^((p-1)/2) = -1, so u is not in the base field.
  const Fp2 u(Fp::Zero(), Fp::One());
  EXPECT_EQ(u * u, Fp2(Fp(7)));
  EXPECT_EQ(Fp(7).Pow((Fp::kModulus - 1) / 2), -Fp::One());
  // Frobenius has order 2: a^(p^2) = a.
  const Fp2 a = RandFp2(rng);
  EXPECT_EQ(a.Pow(Fp::kModulus).Pow(Fp::kModulus), a);
}

TEST(FieldTest, BatchInverseMatchesSingleAndSkipsZero) {
  std::mt19937_64 rng(TestSeed() + 2);
  std::vector<Fp2> v(33);
  for (auto& e : v) e = RandFp2(rng);
  v[5] = Fp2::Zero();
  std::vector<Fp2> w = v;
  BatchInverse(std::span<Fp2>(w));
  for (size_t i = 0; i < v.size(); ++i) EXPECT_EQ(w[i], v[i].Inverse());
}

TEST(FieldTest, RootsOfUnity) {
  for (uint32_t k = 0; k <= 32; ++k) {
    const Fp w = Fp::RootOfUnity(k);
    EXPECT_EQ(w.Pow(uint64_t{1} << k), Fp::One());
    if (k > 0) {
      EXPECT_NE(w.Pow(uint64_t{1} << (k - 1)), Fp::One());
    }
  }
}

TEST(NttTest, RoundTripAndAgreesWithNaiveEvaluation) {
  std::mt19937_64 rng(TestSeed() + 3);
  for (size_t log_n : {0u, 1u, 2u, 5u, 6u, 7u, 10u, 14u, 17u}) {  // 6 and up: tiled bit reversal
    const size_t n = size_t{1} << log_n;
    std::vector<Fp> coeffs(n);
    for (auto& c : coeffs) c = RandFp(rng);
    const Fp shift = (log_n % 2 == 0) ? Fp::One() : Fp::Generator();
    std::vector<Fp> evals = coeffs;
    Evaluate(evals, shift);
    const Fp w = Fp::RootOfUnity(static_cast<uint32_t>(log_n));
    for (size_t i = 0; i < std::min<size_t>(n, 8); ++i) {
      const Fp x = shift * w.Pow(i * 7 % n);
      EXPECT_EQ(evals[i * 7 % n], (EvaluatePolynomial<Fp, Fp>(coeffs, x)));
    }
    Interpolate(evals, shift);
    EXPECT_EQ(evals, coeffs);
  }
}

TEST(NttTest, LowDegreeExtensionKeepsTheSamePolynomial) {
  std::mt19937_64 rng(TestSeed() + 4);
  const size_t n = 64;
  std::vector<Fp> values(n);
  for (auto& v : values) v = RandFp(rng);
  std::vector<Fp> coeffs = values;
  Interpolate(coeffs);
  const auto lde = LowDegreeExtend(coeffs, 8 * n, Fp::Generator());
  std::vector<Fp> back = lde;
  Interpolate(back, Fp::Generator());
  for (size_t i = n; i < back.size(); ++i) ASSERT_TRUE(back[i].IsZero());
  const Fp w = Fp::RootOfUnity(9);
  EXPECT_EQ(lde[3], (EvaluatePolynomial<Fp, Fp>(coeffs, Fp::Generator() * w.Pow(3))));
}

// The 8-lane arithmetic must agree with Fp lane by lane, including the carry, borrow and
// reduction corner cases (operands and products near p, 2^32, 2^63, 2^64).
TEST(PackedFieldTest, LanesMatchScalarArithmetic) {
  std::mt19937_64 rng(TestSeed() + 5);
  const uint64_t p = Fp::kModulus;
  const std::vector<uint64_t> edges = {0, 1, 2, p - 1, p - 2, p / 2, p / 2 + 1, 0xFFFFFFFFULL, 0x100000000ULL,
                                       0xFFFFFFFEFFFFFFFFULL, 0x8000000000000000ULL, 0x7FFFFFFFFFFFFFFFULL,
                                       0xFFFFFFFF00000000ULL, 0x00000000FFFFFFFFULL * 3};
  std::vector<Fp> pool;
  for (uint64_t e : edges) pool.push_back(Fp(e));
  for (int i = 0; i < 200; ++i) pool.push_back(RandFp(rng));
  for (int round = 0; round < 4000; ++round) {
    Fp a[8], b[8];
    for (size_t j = 0; j < 8; ++j) {
      a[j] = pool[rng() % pool.size()];
      b[j] = pool[rng() % pool.size()];
    }
    Fp sum[8], diff[8], prod[8];
    Fp8Store(sum, Fp8Add(Fp8Load(a), Fp8Load(b)));
    Fp8Store(diff, Fp8Sub(Fp8Load(a), Fp8Load(b)));
    Fp8Store(prod, Fp8Mul(Fp8Load(a), Fp8Load(b)));
    const PackedFp pa = PackedFp::Load(a), pb = PackedFp::Load(b);
    for (size_t j = 0; j < 8; ++j) {
      ASSERT_EQ(sum[j], a[j] + b[j]) << a[j].value() << " " << b[j].value();
      ASSERT_EQ(diff[j], a[j] - b[j]) << a[j].value() << " " << b[j].value();
      ASSERT_EQ(prod[j], a[j] * b[j]) << a[j].value() << " " << b[j].value();
      ASSERT_EQ((pa * pb + pa - b[0]).Lane(j), a[j] * b[j] + a[j] - b[0]);
    }
  }
}

// PackedFp2 (auxiliary constraints eight rows at a time) agrees with Fp2 lane by lane.
TEST(PackedFieldTest, ExtensionLanesMatchFp2) {
  std::mt19937_64 rng(TestSeed() + 6);
  for (int round = 0; round < 2000; ++round) {
    Fp a0[8], a1[8], b0[8], b1[8], c[8];
    for (size_t j = 0; j < 8; ++j) {
      a0[j] = RandFp(rng);
      a1[j] = RandFp(rng);
      b0[j] = RandFp(rng);
      b1[j] = RandFp(rng);
      c[j] = round % 7 == 0 ? Fp(Fp::kModulus - 1) : RandFp(rng);
    }
    const Fp2 k(RandFp(rng), RandFp(rng));
    const PackedFp2 pa(PackedFp::Load(a0), PackedFp::Load(a1)), pb(PackedFp::Load(b0), PackedFp::Load(b1));
    const PackedFp pc = PackedFp::Load(c);
    const PackedFp2 sum = pa + pb, diff = pa - pb, prod = pa * pb, scaled = pa * pc;
    const PackedFp2 with_k = (k - pa) * k + pb * k - k, lifted = PackedFp2(pc) + PackedFp2(k);
    for (size_t j = 0; j < 8; ++j) {
      const Fp2 a(a0[j], a1[j]), b(b0[j], b1[j]);
      ASSERT_EQ(sum.Lane(j), a + b);
      ASSERT_EQ(diff.Lane(j), a - b);
      ASSERT_EQ(prod.Lane(j), a * b);
      ASSERT_EQ(scaled.Lane(j), a * c[j]);
      ASSERT_EQ(with_k.Lane(j), (k - a) * k + b * k - k);
      ASSERT_EQ(lifted.Lane(j), Fp2(c[j]) + k);
    }
  }
}

// The 8-lane transform kernels (the default where compiled for the CPU) and the portable
// scalar loops give the same transforms, for every size around the blocking and threading
// thresholds, both directions, with and without a coset shift.
TEST(NttTest, PackedKernelsMatchScalarLoops) {
  std::mt19937_64 rng(TestSeed() + 6);
  for (size_t log_n = 0; log_n <= 15; ++log_n) {
    const size_t n = size_t{1} << log_n;
    std::vector<Fp> coeffs(n);
    for (auto& c : coeffs) c = RandFp(rng);
    for (Fp shift : {Fp::One(), Fp::Generator()}) {
      std::vector<Fp> scalar = coeffs, packed = coeffs;
      const bool previous = SetNttScalarForTesting(true);
      Evaluate(scalar, shift);
      SetNttScalarForTesting(false);
      Evaluate(packed, shift);
      ASSERT_EQ(packed, scalar) << "evaluate 2^" << log_n;
      Interpolate(packed, shift);
      SetNttScalarForTesting(true);
      Interpolate(scalar, shift);
      SetNttScalarForTesting(previous);
      ASSERT_EQ(packed, scalar) << "interpolate 2^" << log_n;
      ASSERT_EQ(packed, coeffs);
    }
  }
}

// The coset-major extension is the natural-order one with its points regrouped by coset.
TEST(NttTest, CosetMajorExtensionRegroupsTheNaturalOrder) {
  std::mt19937_64 rng(TestSeed() + 7);
  for (size_t m : {size_t{4}, size_t{16}, size_t{64}, size_t{256}, size_t{8192}}) {
    for (size_t blowup : {size_t{1}, size_t{2}, size_t{8}}) {
      for (size_t used : {m, m / 2 + 1}) {
        std::vector<Fp> coeffs(used);
        for (auto& c : coeffs) c = RandFp(rng);
        const size_t big = m * blowup;
        const std::vector<Fp> natural = LowDegreeExtend(coeffs, big, Fp::Generator());
        for (bool scalar : {true, false}) {
          const bool previous = SetNttScalarForTesting(scalar);
          const std::vector<Fp> by_coset = LowDegreeExtendCosets(coeffs, m, big, Fp::Generator());
          SetNttScalarForTesting(previous);
          ASSERT_EQ(by_coset.size(), big);
          for (size_t t = 0; t < blowup; ++t) {
            for (size_t j = 0; j < m; ++j) {
              ASSERT_EQ(by_coset[t * m + j], natural[t + blowup * j]) << m << " " << blowup << " " << t << " " << j;
            }
          }
        }
      }
    }
  }
}

// The batch extension (one set of coset factors for all columns) keeps the first num_cosets
// cosets of each column's single extension.
TEST(NttTest, ColumnBatchExtensionMatchesOneColumnAtATime) {
  std::mt19937_64 rng(TestSeed() + 8);
  const size_t m = 1024, big = 8 * m;
  std::vector<std::vector<Fp>> coeffs(3);
  for (size_t c = 0; c < coeffs.size(); ++c) {
    coeffs[c].resize(c == 1 ? m / 2 + 3 : m);
    for (auto& v : coeffs[c]) v = RandFp(rng);
  }
  const Fp shift = Fp::Generator() * Fp(5);
  const auto batch = LowDegreeExtendColumnsCosets(coeffs, m, big, shift, 3);
  for (size_t c = 0; c < coeffs.size(); ++c) {
    const std::vector<Fp> one = LowDegreeExtendCosets(coeffs[c], m, big, shift);
    ASSERT_EQ(batch[c].size(), 3 * m);
    EXPECT_TRUE(std::equal(batch[c].begin(), batch[c].end(), one.begin())) << c;
  }
}

// Values on a small coset shift <w_m> by folding, for columns longer than m (whole blocks of
// m and a partial one), shorter, and m = 1 (one point), on both kernels.
TEST(NttTest, SmallCosetEvaluationAgreesWithNaiveEvaluation) {
  std::mt19937_64 rng(TestSeed() + 9);
  for (size_t m : {size_t{1}, size_t{4}, size_t{8}, size_t{64}}) {
    std::vector<std::vector<Fp>> coeffs;
    for (size_t len : {size_t{1}, m + 3, 10 * m, 10 * m + 5}) {
      std::vector<Fp> col(len);
      for (auto& v : col) v = RandFp(rng);
      coeffs.push_back(col);
    }
    const Fp shift = Fp::Generator().Pow(1234567);
    for (bool scalar : {true, false}) {
      const bool previous = SetNttScalarForTesting(scalar);
      const auto got = EvaluateColumnsOnSmallCoset(coeffs, m, shift);
      SetNttScalarForTesting(previous);
      ASSERT_EQ(got.size(), coeffs.size());
      const Fp w = Fp::RootOfUnity(Log2(m));
      for (size_t c = 0; c < coeffs.size(); ++c) {
        ASSERT_EQ(got[c].size(), m);
        for (size_t j = 0; j < m; ++j) {
          EXPECT_EQ(got[c][j], (EvaluatePolynomial<Fp, Fp>(coeffs[c], shift * w.Pow(j))))
              << m << " " << c << " " << j << " scalar=" << scalar;
        }
      }
    }
  }
}

// BLAKE3 official test vectors (BLAKE3-team/BLAKE3 test_vectors/test_vectors.json): input is
// the repeating sequence 0..250; the first 32 bytes of the extended output are the hash.
TEST(Blake3Test, OfficialVectors) {
  struct Case { size_t len; const char* hash; };
  const Case cases[] = {
      {0, "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"},
      {1, "2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213"},
      {1023, "10108970eeda3eb932baac1428c7a2163b0e924c9a9e25b35bba72b28f70bd11"},
      {1024, "42214739f095a406f3fc83deb889744ac00df831c10daa55189b5d121c855af7"},
      {1025, "d00278ae47eb27b34faecf67b4fe263f82d5412916c1ffd97c8cb7fb814b8444"},
      {2048, "e776b6028c7cd22a4d0ba182a8bf62205d2ef576467e838ed6f2529b85fba24a"},
      {2049, "5f4d72f40d7a5f82b15ca2b2e44b1de3c2ef86c426c95c1af0b6879522563030"},
      {3072, "b98cb0ff3623be03326b373de6b9095218513e64f1ee2edd2525c7ad1e5cffd2"},
      {3073, "7124b49501012f81cc7f11ca069ec9226cecb8a2c850cfe644e327d22d3e1cd3"},
      {4096, "015094013f57a5277b59d8475c0501042c0b642e531b0a1c8f58d2163229e969"},
      {4097, "9b4052b38f1c5fc8b1f9ff7ac7b27cd242487b3d890d15c96a1c25b8aa0fb995"},
      {5120, "9cadc15fed8b5d854562b26a9536d9707cadeda9b143978f319ab34230535833"},
      {6145, "f1323a8631446cc50536a9f705ee5cb619424d46887f3c376c695b70e0f0507f"},
      {7168, "61da957ec2499a95d6b8023e2b0e604ec7f6b50e80a9678b89d2628e99ada77a"},
  };
  for (const auto& c : cases) {
    Bytes input(c.len);
    for (size_t i = 0; i < c.len; ++i) input[i] = static_cast<uint8_t>(i % 251);
    EXPECT_EQ(HexEncode(Blake3(input)), std::string(c.hash)) << "len " << c.len;
    // Incremental updates in odd pieces give the same digest.
    Blake3Hasher h;
    for (size_t pos = 0; pos < c.len; pos += 77) {
      h.Update(ByteSpan(input).subspan(pos, std::min<size_t>(77, c.len - pos)));
    }
    EXPECT_EQ(h.Finalize(), Blake3(input));
  }
  Digest key;
  const std::string k = "whats the Elvish word for friend";
  for (size_t i = 0; i < 32; ++i) key[i] = static_cast<uint8_t>(k[i]);
  EXPECT_EQ(HexEncode(Blake3Keyed(key, {})),
            "92b2b75604ed3c761f9d6f62392c8a9227ad0ea3f09573e783f1498a4ed60d26");
  const uint8_t zero = 0;
  EXPECT_EQ(HexEncode(Blake3Keyed(key, ByteSpan(&zero, 1))),
            "6d7878dfff2f485635d39013278ae14f1454b8c0a3a2d34bc1ab38228a80c95b");
}

// Round constants: first and last published values of HorizenLabs poseidon2
// (poseidon2_instance_goldilocks.rs, RC8 and RC12), regenerated here with Grain.
TEST(Poseidon2Test, GrainRegeneratesPublishedConstants) {
  const auto rc8 = GeneratePoseidon2RoundConstants(8);
  ASSERT_EQ(rc8.size(), 30u);
  EXPECT_EQ(rc8[0][0], 0xdd5743e7f2a5a5d9ULL);
  EXPECT_EQ(rc8[0][1], 0xcb3a864e58ada44bULL);
  EXPECT_EQ(rc8[0][7], 0x5b20ad869fc0d033ULL);
  const auto rc12 = GeneratePoseidon2RoundConstants(12);
  EXPECT_EQ(rc12[0][0], 0x13dcf33aba214f46ULL);
  EXPECT_EQ(rc12[0][1], 0x30b3b654a1da6d83ULL);
  EXPECT_EQ(rc12[0][2], 0x1fc634ada6159b56ULL);
  // Partial rounds carry one constant.
  for (size_t r = 4; r < 26; ++r) {
    for (size_t i = 1; i < 12; ++i) EXPECT_EQ(rc12[r][i], 0u);
  }
}

// Known-answer tests for input [0, 1, ..., t-1]:
//  width 12: HorizenLabs poseidon2 plain_implementations/src/poseidon2/poseidon2.rs (kats);
//  width 8: Plonky3 goldilocks/src/poseidon2.rs test_poseidon2_width_8_range (HL constants).
TEST(Poseidon2Test, BatchesPermuteLikeOneAtATime) {
  // Eight on SIMD lanes, a scalar tail, and chunks of 2048 on all threads.
  for (const size_t n : {size_t{0}, size_t{1}, size_t{7}, size_t{8}, size_t{9}, size_t{23}, size_t{4099}}) {
    std::vector<Poseidon2<12>::State> batch(n), one(n);
    for (size_t k = 0; k < n; ++k) {
      for (size_t i = 0; i < 12; ++i) batch[k][i] = Fp(0x9E3779B97F4A7C15ULL * (k * 12 + i + 1));
      one[k] = batch[k];
      Poseidon2<12>::Permute(one[k]);
    }
    Poseidon2PermuteBatch12(batch);
    for (size_t k = 0; k < n; ++k) ASSERT_EQ(batch[k], one[k]) << "n " << n << " state " << k;
  }
}

TEST(Poseidon2Test, ReferenceVectors) {
  Poseidon2<12>::State s12;
  for (size_t i = 0; i < 12; ++i) s12[i] = Fp(i);
  Poseidon2<12>::Permute(s12);
  const uint64_t want12[12] = {0x01eaef96bdf1c0c1, 0x1f0d2cc525b2540c, 0x6282c1dfe1e0358d,
                               0xe780d721f698e1e6, 0x280c0b6f753d833b, 0x1b942dd5023156ab,
                               0x43f0df3fcccb8398, 0xe8e8190585489025, 0x56bdbf72f77ada22,
                               0x7911c32bf9dcd705, 0xec467926508fbe67, 0x6a50450ddf85a6ed};
  for (size_t i = 0; i < 12; ++i) EXPECT_EQ(s12[i].value(), want12[i]) << i;

  Poseidon2<8>::State s8;
  for (size_t i = 0; i < 8; ++i) s8[i] = Fp(i);
  Poseidon2<8>::Permute(s8);
  const uint64_t want8[8] = {14266028122062624699ULL, 5353147180106052723ULL,
                             15203350112844181434ULL, 17630919042639565165ULL,
                             16601551015858213987ULL, 10184091939013874068ULL,
                             16774100645754596496ULL, 12047415603622314780ULL};
  for (size_t i = 0; i < 8; ++i) EXPECT_EQ(s8[i].value(), want8[i]) << i;

  Poseidon2<8>::State z{};
  Poseidon2<8>::Permute(z);
  EXPECT_EQ(z[0].value(), 4214787979728720400ULL);
  EXPECT_EQ(z[7].value(), 14285409611125725709ULL);
}

TEST(Poseidon2Test, SpongeAndCompression) {
  std::vector<Fp> in(20);
  for (size_t i = 0; i < in.size(); ++i) in[i] = Fp(i);
  const HashOut a = Poseidon2Hash(in);
  in[19] += Fp::One();
  EXPECT_NE(Poseidon2Hash(in), a);
  // Length is domain-separated: a trailing zero changes the digest.
  std::vector<Fp> shorter(in.begin(), in.begin() + 8), longer = shorter;
  longer.push_back(Fp::Zero());
  EXPECT_NE(Poseidon2Hash(shorter), Poseidon2Hash(longer));
  const HashOut l = {Fp(1), Fp(2), Fp(3), Fp(4)}, r = {Fp(5), Fp(6), Fp(7), Fp(8)};
  EXPECT_NE(Poseidon2Compress(l, r), Poseidon2Compress(r, l));
}

}  // namespace
}  // namespace vp::stark

namespace vp::stark {
namespace {

TEST(Blake3Test, Batch8MatchesOneShot) {
  // Past 1024 bytes the inputs span several chunks (tree of 2, 3, 4, 5 and 9 chunks).
  for (size_t len : {size_t{0}, size_t{1}, size_t{63}, size_t{64}, size_t{65}, size_t{720}, size_t{1024},
                     size_t{1025}, size_t{1200}, size_t{2048}, size_t{3000}, size_t{4096}, size_t{5000},
                     size_t{8193}}) {
    std::vector<Bytes> inputs(8, Bytes(len));
    const uint8_t* ptrs[8];
    for (size_t lane = 0; lane < 8; ++lane) {
      for (size_t i = 0; i < len; ++i) inputs[lane][i] = static_cast<uint8_t>((i * 7 + lane * 31) % 251);
      ptrs[lane] = inputs[lane].data();
    }
    Digest out[8];
    Blake3Batch8(ptrs, len, out);
    for (size_t lane = 0; lane < 8; ++lane) EXPECT_EQ(out[lane], Blake3(inputs[lane])) << len << " " << lane;
    Digest key{};
    for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(3 * i + 1);
    Blake3Batch8(ptrs, len, out, &key);
    for (size_t lane = 0; lane < 8; ++lane) {
      EXPECT_EQ(out[lane], Blake3Keyed(key, inputs[lane])) << "keyed " << len << " " << lane;
    }
  }
}

TEST(MerkleTest, HashRowsMatchesHashLeafForWideRows) {
  // 146 columns plus a salt is 1200 bytes: wider than one BLAKE3 chunk (the tally AIR's rows).
  Digest key{};
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(3 * i + 1);
  for (size_t width : {size_t{1}, size_t{86}, size_t{146}, size_t{300}}) {
    const size_t n = 128;
    std::vector<std::vector<Fp>> cols(width, std::vector<Fp>(n));
    for (size_t c = 0; c < width; ++c) {
      for (size_t i = 0; i < n; ++i) cols[c][i] = Fp(c * 1000003 + i * 7919 + 0xFFFFFFFF00000000ULL);
    }
    std::vector<const std::vector<Fp>*> ptrs;
    for (const auto& c : cols) ptrs.push_back(&c);
    const DigestVector plain = HashRows(ptrs, n, nullptr), salted = HashRows(ptrs, n, &key);
    for (size_t i = 0; i < n; ++i) {
      std::vector<Fp> row(width);
      for (size_t c = 0; c < width; ++c) row[c] = cols[c][i];
      const Salt salt = DeriveSalt(key, i);
      EXPECT_EQ(plain[i], HashLeaf(row, nullptr)) << width << " " << i;
      EXPECT_EQ(salted[i], HashLeaf(row, &salt)) << width << " " << i;
    }
    // Coset-major columns (2^c cosets of n / 2^c): row i is element (i mod 2^c) n/2^c + i/2^c.
    // With 2^5 cosets a coset has 4 elements, fewer than a group of eight (the row-by-row path).
    for (unsigned log_cosets : {1u, 2u, 3u, 4u, 5u}) {
      const size_t coset = n >> log_cosets;
      const DigestVector grouped = HashRows(ptrs, n, &key, log_cosets);
      for (size_t i = 0; i < n; ++i) {
        const size_t at = (i % (size_t{1} << log_cosets)) * coset + (i >> log_cosets);
        std::vector<Fp> row(width);
        for (size_t c = 0; c < width; ++c) row[c] = cols[c][at];
        const Salt salt = DeriveSalt(key, i);
        EXPECT_EQ(grouped[i], HashLeaf(row, &salt)) << width << " " << log_cosets << " " << i;
      }
    }
  }
}

TEST(MerkleTest, SaltsArePseudorandomInTheRowIndex) {
  Digest key{}, other{};
  other[0] = 1;
  uint8_t le[8] = {5, 0, 0, 0, 0, 0, 0, 0};
  EXPECT_EQ(DeriveSalt(key, 5), Blake3Keyed(key, std::span<const uint8_t>(le, 8)));
  EXPECT_NE(DeriveSalt(key, 5), DeriveSalt(key, 6));
  EXPECT_NE(DeriveSalt(key, 5), DeriveSalt(other, 5));
}

TEST(Blake3Test, ColumnBatchMatchesByteHash) {
  // Eight rows given column-wise, with and without a 32-byte prefix, across chunk sizes.
  for (size_t width : {size_t{0}, size_t{1}, size_t{3}, size_t{8}, size_t{124}, size_t{125}, size_t{128}, size_t{300}}) {
    const size_t rows = 11, row0 = 3;
    std::vector<std::vector<uint64_t>> cols(width, std::vector<uint64_t>(rows));
    std::vector<const uint64_t*> ptrs;
    for (size_t c = 0; c < width; ++c) {
      for (size_t r = 0; r < rows; ++r) cols[c][r] = 0x0123456789ABCDEFULL * (c + 1) + r * 0x9E3779B97F4A7C15ULL;
      ptrs.push_back(cols[c].data());
    }
    uint8_t prefix_bytes[8][32];
    const uint8_t* prefixes[8];
    for (size_t lane = 0; lane < 8; ++lane) {
      for (size_t b = 0; b < 32; ++b) prefix_bytes[lane][b] = static_cast<uint8_t>(lane * 32 + b);
      prefixes[lane] = prefix_bytes[lane];
    }
    for (bool with_prefix : {false, true}) {
      Digest out[8];
      Blake3Batch8Columns(ptrs.data(), width, row0, with_prefix ? prefixes : nullptr, out);
      for (size_t lane = 0; lane < 8; ++lane) {
        std::vector<uint8_t> bytes;
        if (with_prefix) bytes.insert(bytes.end(), prefix_bytes[lane], prefix_bytes[lane] + 32);
        for (size_t c = 0; c < width; ++c) {
          for (size_t b = 0; b < 8; ++b) bytes.push_back(static_cast<uint8_t>(cols[c][row0 + lane] >> (8 * b)));
        }
        EXPECT_EQ(out[lane], Blake3(bytes)) << width << " " << with_prefix << " " << lane;
      }
    }
  }
}

}  // namespace
}  // namespace vp::stark

namespace vp::stark {
namespace {

TEST(MerkleTest, BatchedOpeningsVerifyAndRejectMisuse) {
  std::vector<Digest> leaves(64);
  for (size_t i = 0; i < leaves.size(); ++i) {
    const Fp row[2] = {Fp(i), Fp(i * i)};
    leaves[i] = HashLeaf(row, nullptr);
  }
  const MerkleTree t = MerkleTree::Build(leaves);
  for (const std::vector<size_t>& idx : std::vector<std::vector<size_t>>{
           {0}, {63}, {4, 5}, {1, 2, 3, 40}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}}) {
    std::vector<Digest> opened;
    for (size_t i : idx) opened.push_back(leaves[i]);
    const MerkleMultiProof p = t.Open(idx);
    EXPECT_TRUE(VerifyMultiProof(t.root(), 6, idx, opened, p).ok());
    // Wrong leaf, wrong index, wrong depth, missing or extra node.
    auto bad = opened;
    bad[0][0] ^= 1;
    EXPECT_FALSE(VerifyMultiProof(t.root(), 6, idx, bad, p).ok());
    EXPECT_FALSE(VerifyMultiProof(t.root(), 7, idx, opened, p).ok());
    if (!p.nodes.empty()) {
      auto shorter = p;
      shorter.nodes.pop_back();
      EXPECT_FALSE(VerifyMultiProof(t.root(), 6, idx, opened, shorter).ok());
    }
    auto longer = p;
    longer.nodes.push_back(Digest{});
    EXPECT_FALSE(VerifyMultiProof(t.root(), 6, idx, opened, longer).ok());
  }
  // A leaf presented at another position does not authenticate.
  const std::vector<size_t> at0 = {0}, at1 = {1};
  const std::vector<Digest> leaf0 = {leaves[0]};
  EXPECT_FALSE(VerifyMultiProof(t.root(), 6, at1, leaf0, t.Open(at0)).ok());
  // Unsorted or duplicate indices are refused.
  const std::vector<size_t> unsorted = {5, 4};
  const std::vector<Digest> two = {leaves[5], leaves[4]};
  EXPECT_FALSE(VerifyMultiProof(t.root(), 6, unsorted, two, MerkleMultiProof{}).ok());
  // A salt changes the leaf.
  const Fp row[1] = {Fp(1)};
  Salt s{};
  EXPECT_NE(HashLeaf(row, nullptr), HashLeaf(row, &s));
}

TEST(ChannelTest, TranscriptBindsEveryAbsorbAndProofOfWork) {
  Channel a("p"), b("p"), c("q");
  a.AbsorbU64(1);
  b.AbsorbU64(1);
  c.AbsorbU64(1);
  EXPECT_EQ(a.DrawFp2(), b.DrawFp2());
  EXPECT_NE(a.DrawU64(), c.DrawU64());
  b.AbsorbU64(2);
  EXPECT_NE(a.DrawU64(), b.DrawU64());
  Channel g("grind");
  const uint64_t nonce = g.Grind(12);
  EXPECT_TRUE(g.CheckPow(nonce, 12));
  EXPECT_FALSE(g.CheckPow(nonce + 1, 12) && g.CheckPow(nonce + 2, 12) && g.CheckPow(nonce + 3, 12));
  for (size_t i : g.DrawIndices(100, 64)) EXPECT_LT(i, 64u);
}

}  // namespace
}  // namespace vp::stark
