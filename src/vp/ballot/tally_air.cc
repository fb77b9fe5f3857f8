// The tally AIR (docs/tally_proof.md).
#include "vp/ballot/tally_air.h"

#include <algorithm>
#include <string>

#include "vp/ballot/bulletin.h"
#include "vp/ballot/tally.h"
#include "vp/stark/ntt.h"

#pragma GCC diagnostic ignored "-Wpsabi"

namespace vp::ballot {
namespace {

using stark::ConstraintDomain;
using stark::ConstraintInfo;
using stark::Fp;
using stark::Fp2;

constexpr uint64_t kPublicInputVersion = 1;

bool IsPowerOfTwo(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

// h * c for a value h of a row (base or extension field; base-field lanes take two
// multiplications when packed) and a constant c.
inline Fp2 MulMain(Fp h, Fp2 c) { return c * h; }
inline Fp2 MulMain(Fp2 h, Fp2 c) { return h * c; }
[[gnu::always_inline]] inline stark::PackedFp2 MulMain(stark::PackedFp h, Fp2 c) {
  return {h * c.c0(), h * c.c1()};
}

// enc(id, h) = id + beta h0 + beta^2 h1 + beta^3 h2 + beta^4 h3, for one row (E = Fp2) or
// eight (E = PackedFp2).
template <typename E, typename H>
[[gnu::always_inline]] inline E Encode(E id, const H& h, Fp2 beta) {
  E acc = id;
  Fp2 pw = beta;
  for (size_t i = 0; i < 4; ++i) {
    acc += MulMain(h[i], pw);
    pw *= beta;
  }
  return acc;
}

}  // namespace

TallyAir::TallyAir(const TallyAir& other)
    : stark::Air(other),
      pub_(other.pub_),
      k_(other.k_),
      offset_(other.offset_),
      m_(other.m_),
      e_(other.e_),
      root_(other.root_),
      counts_(other.counts_),
      excluded_(other.excluded_) {}

void TallyAir::EvaluateMainPacked(const stark::Frame<stark::PackedFp>& f,
                                  std::span<const stark::PackedFp>,
                                  std::span<stark::PackedFp> out) const {
  EvalPacked(f, out);
}

VP_STARK_SIMD_CLONES void TallyAir::EvalPacked(const stark::Frame<stark::PackedFp>& f,
                                              std::span<stark::PackedFp> out) const {
  Eval(f, out);
}

std::string TallyAir::Name() const { return std::string(kTallyAirName); }

StatusOr<TallyAir> TallyAir::FromPublicInputs(std::span<const Fp> pub) {
  constexpr size_t kFixed = 4 + 3 + 4 + 4;  // version, k, offset, m; e; config; root
  if (pub.size() < kFixed + 2 + 1) return InvalidArgumentError("tally: too few public inputs");
  if (pub[0].value() != kPublicInputVersion) {
    return InvalidArgumentError("tally: unsupported public input version " +
                                std::to_string(pub[0].value()));
  }
  TallyAir air;
  const uint64_t k = pub[1].value();
  if (k < 2 || k > kMaxChoices) return InvalidArgumentError("tally: number of choices must be 2..16");
  air.k_ = static_cast<uint32_t>(k);
  air.offset_ = pub[2].value();
  air.m_ = pub[3].value();
  if (!IsPowerOfTwo(air.m_) || air.m_ > kMaxSegmentLeaves) {
    return InvalidArgumentError("tally: segment size must be a power of two <= 2^20");
  }
  if (air.offset_ % air.m_ != 0 || air.offset_ >= kMaxTreeSize ||
      air.offset_ + air.m_ > kMaxTreeSize) {
    return InvalidArgumentError("tally: segment offset must be a multiple of its size inside 2^32");
  }
  for (size_t i = 0; i < 3; ++i) air.e_[i] = pub[4 + i];
  if (air.e_[0].value() >= (uint64_t{1} << 56) || air.e_[1].value() >= (uint64_t{1} << 56) ||
      air.e_[2].value() >= (uint64_t{1} << 16)) {
    return InvalidArgumentError("tally: election id limbs out of range");
  }
  for (size_t i = 0; i < 4; ++i) air.root_[i] = pub[11 + i];
  const size_t counts_at = kFixed;
  if (pub.size() < counts_at + k + 1) return InvalidArgumentError("tally: public inputs too short for the counts");
  uint64_t total = 0;
  for (size_t j = 0; j < k; ++j) {
    const uint64_t c = pub[counts_at + j].value();
    if (c > air.m_) return InvalidArgumentError("tally: a count exceeds the segment size");
    air.counts_.push_back(c);
    total += c;
  }
  const uint64_t num_excluded = pub[counts_at + k].value();
  if (pub.size() - (counts_at + k + 1) != num_excluded) {
    return InvalidArgumentError("tally: excluded count does not match the excluded indices");
  }
  if (total + num_excluded != air.m_) {
    return InvalidArgumentError("tally: counts plus exclusions do not add up to the segment size");
  }
  for (size_t i = counts_at + k + 1; i < pub.size(); ++i) {
    const uint64_t idx = pub[i].value();
    if (idx < air.offset_ || idx >= air.offset_ + air.m_) {
      return InvalidArgumentError("tally: an excluded index lies outside the segment");
    }
    if (!air.excluded_.empty() && idx <= air.excluded_.back()) {
      return InvalidArgumentError("tally: excluded indices must be strictly increasing");
    }
    air.excluded_.push_back(idx);
  }
  air.pub_.assign(pub.begin(), pub.end());
  return air;
}

std::vector<ConstraintInfo> TallyAir::MainConstraints() const {
  std::vector<ConstraintInfo> cs;
  auto add = [&](size_t n, unsigned degree, ConstraintDomain d) {
    for (size_t i = 0; i < n; ++i) cs.push_back({degree, d});
  };
  add(kNumSbox, 7, ConstraintDomain::kEveryRow);
  add(5 + 2 * size_t{k_} + 2 + 6 + 8 + 4, 2, ConstraintDomain::kEveryRow);
  add(2 + k_, 1, ConstraintDomain::kFirstRow);
  add(3, 2, ConstraintDomain::kTransition);
  add(1, 3, ConstraintDomain::kTransition);
  add(2, 2, ConstraintDomain::kTransition);
  add(k_, 1, ConstraintDomain::kTransition);
  add(4, 3, ConstraintDomain::kTransition);
  add(1 + 4 + k_, 1, ConstraintDomain::kLastRow);
  return cs;
}

std::vector<ConstraintInfo> TallyAir::AuxConstraints() const {
  return {{1, ConstraintDomain::kFirstRow}, {4, ConstraintDomain::kTransition},
          {4, ConstraintDomain::kLastRow},  {1, ConstraintDomain::kFirstRow},
          {3, ConstraintDomain::kTransition}, {3, ConstraintDomain::kLastRow}};
}

stark::TraceColumns TallyAir::GenerateTrace(std::span<const LeafWitness> leaves,
                                            stark::RandomSource& rng) const {
  using P = stark::Poseidon2<12>;
  const size_t m = static_cast<size_t>(m_);
  const size_t rows = TraceRows();
  stark::TraceColumns t = stark::ZeroColumns(MainWidth(), rows);
  // Heap hashes: node j (1 <= j < 2m); leaves at m + i.
  std::vector<HashOut> heap(2 * m);
  const auto& c = P::GetConstants();
  auto fill_row = [&](size_t row, const std::array<Fp, 12>& in) {
    std::array<Fp, 12> s = in;
    for (size_t i = 0; i < 12; ++i) t[kIn + i][row] = in[i];
    P::ExternalLinear(s);
    size_t col = kSbox;
    for (size_t r = 0; r < 4; ++r) {
      for (size_t i = 0; i < 12; ++i) {
        s[i] = stark::Pow7(s[i] + c.full[r][i]);
        t[col++][row] = s[i];
      }
      P::ExternalLinear(s);
    }
    for (size_t r = 0; r < stark::kPoseidon2PartialRounds; ++r) {
      s[0] = stark::Pow7(s[0] + c.partial[r]);
      t[col++][row] = s[0];
      P::InternalLinear(s);
    }
    for (size_t r = 4; r < 8; ++r) {
      for (size_t i = 0; i < 12; ++i) {
        s[i] = stark::Pow7(s[i] + c.full[r][i]);
        t[col++][row] = s[i];
      }
      P::ExternalLinear(s);
    }
    return HashOut{s[0], s[1], s[2], s[3]};
  };
  // The random source is drawn from in leaf order (the masks of excluded leaves) and the
  // running counts are prefix sums: both first, serially; then the rows, which are
  // independent for commitments and leaves and level by level for tree nodes, on all threads.
  std::vector<std::array<Fp, 5>> masks(m);
  std::vector<uint64_t> running(m * k_);  // counts after leaf i, choice j at i * k_ + j
  {
    std::vector<uint64_t> counts(k_, 0);
    for (size_t i = 0; i < m; ++i) {
      if (leaves[i].excluded) {
        for (auto& v : masks[i]) v = rng.NextFp();
      } else {
        ++counts[leaves[i].choice];
      }
      std::copy(counts.begin(), counts.end(), running.begin() + static_cast<std::ptrdiff_t>(i * k_));
    }
  }
  const long long num_leaves = static_cast<long long>(m);
#pragma omp parallel for schedule(static) if (m >= 256)
  for (long long ii = 0; ii < num_leaves; ++ii) {
    const auto i = static_cast<size_t>(ii);
    const LeafWitness& leaf = leaves[i];
    const size_t rc = 2 * i, rl = 2 * i + 1;
    std::array<Fp, 12> in{};
    in[0] = CommitTag();
    for (size_t j = 0; j < 3; ++j) in[1 + j] = e_[j];
    if (leaf.excluded) {
      for (size_t j = 5; j < 10; ++j) in[j] = masks[i][j - 5];
      t[kX][rc] = Fp::One();
    } else {
      const std::vector<Fp> r = BytesToLimbs(leaf.random);
      in[4] = Fp(leaf.choice);
      for (size_t j = 0; j < 5; ++j) in[5 + j] = r[j];
      t[kB + leaf.choice][rc] = Fp::One();
    }
    fill_row(rc, in);
    t[kIsC][rc] = Fp::One();
    std::array<Fp, 12> lin{};
    lin[0] = LeafTag();
    for (size_t j = 0; j < 4; ++j) lin[1 + j] = leaf.commitment[j];
    heap[m + i] = fill_row(rl, lin);
    t[kIsL][rl] = Fp::One();
    t[kId][rc] = t[kId][rl] = Fp(m_ + i);
    for (size_t j = 0; j < k_; ++j) {
      t[kB + k_ + j][rc] = t[kB + k_ + j][rl] = Fp(running[i * k_ + j]);
    }
  }
  // Node j (heap order, children 2j and 2j + 1) is row 2m + (m - 1 - j); a level's nodes
  // [lo, 2 lo) depend only on the level below.
  const uint64_t* totals = running.data() + (m - 1) * k_;
  for (size_t lo = m / 2; lo >= 1; lo /= 2) {
    const long long count = static_cast<long long>(lo);
#pragma omp parallel for schedule(static) if (lo >= 256)
    for (long long jj = 0; jj < count; ++jj) {
      const size_t node = lo + static_cast<size_t>(jj), row = 2 * m + (m - 1 - node);
      std::array<Fp, 12> in{};
      in[0] = NodeTag();
      for (size_t j = 0; j < 4; ++j) {
        in[1 + j] = heap[2 * node][j];
        in[5 + j] = heap[2 * node + 1][j];
      }
      heap[node] = fill_row(row, in);
      t[kId][row] = Fp(node);
      for (size_t j = 0; j < k_; ++j) t[kB + k_ + j][row] = Fp(totals[j]);
    }
  }
  return t;
}

stark::ExtTraceColumns TallyAir::BuildAuxTrace(const stark::TraceColumns& main,
                                               std::span<const Fp2> rand) const {
  const Fp2 alpha = rand[0], beta = rand[1], gamma = rand[2];
  const size_t rows = TraceRows();
  stark::ExtTraceColumns aux(2, std::vector<Fp2>(rows));
  std::vector<Fp2> num(rows), den(rows), q(rows);
  // Per-row factors on all threads; the running products below are serial.
  const long long num_rows = static_cast<long long>(rows);
#pragma omp parallel if (rows >= 1024)
  {
    std::vector<Fp> row_vals(MainWidth());
#pragma omp for schedule(static)
    for (long long rr = 0; rr < num_rows; ++rr) {
      const auto r = static_cast<size_t>(rr);
      const bool is_c = main[kIsC][r] == Fp::One();
      const bool is_l = main[kIsL][r] == Fp::One();
      const Fp id = main[kId][r];
      // Output reads only the row's last twelve S-box columns.
      for (size_t col = kSbox + kNumSbox - 12; col < kSbox + kNumSbox; ++col) row_vals[col] = main[col][r];
      const std::array<Fp, 4> out = Output<Fp>(row_vals);
      num[r] = is_c ? Fp2::One() : alpha - Encode(Fp2(id), out, beta);
      if (!is_c && !is_l) {
        std::array<Fp, 4> left, right;
        for (size_t j = 0; j < 4; ++j) {
          left[j] = main[kIn + 1 + j][r];
          right[j] = main[kIn + 5 + j][r];
        }
        den[r] = (alpha - Encode(Fp2(id + id), left, beta)) *
                 (alpha - Encode(Fp2(id + id + Fp::One()), right, beta));
      } else {
        den[r] = Fp2::One();
      }
      q[r] = main[kX][r] == Fp::One() ? gamma - id : Fp2::One();
    }
  }
  stark::BatchInverse(std::span<Fp2>(den));
  aux[0][0] = Fp2::One();
  aux[1][0] = Fp2::One();
  for (size_t r = 0; r + 1 < rows; ++r) {
    aux[0][r + 1] = aux[0][r] * num[r] * den[r];
    aux[1][r + 1] = aux[1][r] * q[r];
  }
  return aux;
}

Fp2 TallyAir::ExcludedProduct(Fp2 gamma) const {
  if (cache_ready_.load(std::memory_order_acquire) && cache_gamma_ == gamma) return cache_value_;
  std::lock_guard<std::mutex> lock(cache_mu_);
  if (cache_ready_.load(std::memory_order_relaxed) && cache_gamma_ == gamma) return cache_value_;
  Fp2 prod = Fp2::One();
  for (const uint64_t e : excluded_) prod *= gamma - Fp(m_ + (e - offset_));
  cache_ready_.store(false, std::memory_order_relaxed);
  cache_gamma_ = gamma;
  cache_value_ = prod;
  cache_ready_.store(true, std::memory_order_release);
  return prod;
}

template <typename E, typename F>
inline void TallyAir::EvalAux(const stark::Frame<F>& main, const stark::Frame<E>& aux,
                              std::span<const Fp2> rand, std::span<E> out) const {
  const Fp2 alpha = rand[0], beta = rand[1], gamma = rand[2];
  const E one(Fp2::One());
  const auto& cur = main.current;
  const E is_c(cur[kIsC]), is_l(cur[kIsL]), x(cur[kX]), id(cur[kId]);
  const E is_n = one - is_c - is_l;
  const std::array<F, 4> output = Output<F>(cur);
  std::array<F, 4> left, right;
  for (size_t j = 0; j < 4; ++j) {
    left[j] = cur[kIn + 1 + j];
    right[j] = cur[kIn + 5 + j];
  }
  const E num = is_c + (one - is_c) * (alpha - Encode(id, output, beta));
  const E den = is_n * (alpha - Encode(id + id, left, beta)) *
                    (alpha - Encode(id + id + one, right, beta)) +
                (one - is_n);
  const Fp2 root_term = alpha - Encode(Fp2(Fp::One()), root_, beta);
  const E z = aux.current[0], z_next = aux.next[0];
  out[0] = z - one;
  out[1] = z_next * den - z * num;
  out[2] = z * num - root_term * den;
  const E q = x * (gamma - id) + (one - x);
  const E w = aux.current[1], w_next = aux.next[1];
  out[3] = w - one;
  out[4] = w_next - w * q;
  out[5] = w * q - ExcludedProduct(gamma);
}

void TallyAir::EvaluateAux(const stark::Frame<Fp2>& main, const stark::Frame<Fp2>& aux,
                           std::span<const Fp2> periodic, std::span<const Fp2> rand,
                           std::span<Fp2> out) const {
  (void)periodic;
  EvalAux<Fp2, Fp2>(main, aux, rand, out);
}

void TallyAir::EvaluateAuxPacked(const stark::Frame<stark::PackedFp>& main,
                                 const stark::Frame<stark::PackedFp2>& aux,
                                 std::span<const stark::PackedFp> periodic, std::span<const Fp2> rand,
                                 std::span<stark::PackedFp2> out) const {
  (void)periodic;
  EvalAuxPacked(main, aux, rand, out);
}

VP_STARK_SIMD_CLONES void TallyAir::EvalAuxPacked(const stark::Frame<stark::PackedFp>& main,
                                                 const stark::Frame<stark::PackedFp2>& aux,
                                                 std::span<const Fp2> rand,
                                                 std::span<stark::PackedFp2> out) const {
  EvalAux<stark::PackedFp2, stark::PackedFp>(main, aux, rand, out);
}

}  // namespace vp::ballot
