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

// h * c for a value h of a row (base or extension field; base-field lanes take two
// multiplications when packed) and a constant c.
inline Fp2 MulMain(Fp h, Fp2 c) { return c * h; }
inline Fp2 MulMain(Fp2 h, Fp2 c) { return h * c; }
[[gnu::always_inline]] inline stark::PackedFp2 MulMain(stark::PackedFp h, Fp2 c) {
  return {h * c.c0(), h * c.c1()};
}

// enc(id, h) = id + beta h0 + beta^2 h1 + beta^3 h2 + beta^4 h3 (+ beta^5 S + beta^6 M in
// version 2), for one row (E = Fp2) or eight (E = PackedFp2).
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
template <typename E, typename H, typename B>
[[gnu::always_inline]] inline E Encode(E id, const H& h, const B& start, const B& size, Fp2 beta5,
                                       Fp2 beta6, Fp2 beta) {
  return Encode(id, h, beta) + MulMain(start, beta5) + MulMain(size, beta6);
}

// Up to eight rows of the trace at once: row rows[j] (j < count) holds the permutation of
// in[j], its 12 inputs and 118 S-box outputs written to columns kIn.. and kSbox..; out[j] is
// its output. Lanes past count compute zeros and are not written.
VP_STARK_SIMD_CLONES void FillRowsEight(stark::TraceColumns& t, const size_t* rows, size_t count,
                                        const std::array<Fp, 12>* in, HashOut* out) {
  using P = stark::Poseidon2<12>;
  using stark::PackedFp;
  const auto& c = P::GetConstants();
  std::array<PackedFp, 12> s;
  Fp lanes[8];
  for (size_t i = 0; i < 12; ++i) {
    for (size_t j = 0; j < 8; ++j) lanes[j] = j < count ? in[j][i] : Fp::Zero();
    s[i] = PackedFp::Load(lanes);
    for (size_t j = 0; j < count; ++j) t[TallyAir::kIn + i][rows[j]] = lanes[j];
  }
  auto put = [&](size_t col, const PackedFp& v) {
    v.Store(lanes);
    for (size_t j = 0; j < count; ++j) t[col][rows[j]] = lanes[j];
  };
  P::ExternalLinear(s);
  size_t col = TallyAir::kSbox;
  for (size_t r = 0; r < 4; ++r) {
    for (size_t i = 0; i < 12; ++i) {
      s[i] = stark::Pow7(s[i] + PackedFp(c.full[r][i]));
      put(col++, s[i]);
    }
    P::ExternalLinear(s);
  }
  for (size_t r = 0; r < stark::kPoseidon2PartialRounds; ++r) {
    s[0] = stark::Pow7(s[0] + PackedFp(c.partial[r]));
    put(col++, s[0]);
    P::InternalLinear(s);
  }
  for (size_t r = 4; r < 8; ++r) {
    for (size_t i = 0; i < 12; ++i) {
      s[i] = stark::Pow7(s[i] + PackedFp(c.full[r][i]));
      put(col++, s[i]);
    }
    P::ExternalLinear(s);
  }
  for (size_t j = 0; j < count; ++j) out[j] = HashOut{s[0].Lane(j), s[1].Lane(j), s[2].Lane(j), s[3].Lane(j)};
}

}  // namespace

TallyAir::TallyAir(const TallyAir& other)
    : stark::Air(other),
      pub_(other.pub_),
      version_(other.version_),
      k_(other.k_),
      offset_(other.offset_),
      size_(other.size_),
      e_(other.e_),
      blocks_(other.blocks_),
      roots_(other.roots_),
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

std::string TallyAir::Name() const { return std::string(TallyAirName(version_)); }

StatusOr<TallyAir> TallyAir::FromPublicInputs(std::span<const Fp> pub) {
  if (pub.empty()) return InvalidArgumentError("tally: too few public inputs");
  TallyAir air;
  const uint64_t version = pub[0].value();
  if (version != 1 && version != 2) {
    return InvalidArgumentError("tally: unsupported public input version " + std::to_string(version));
  }
  air.version_ = static_cast<uint32_t>(version);
  // Version 1: [1, k, offset, m, e, config, root, ...]; version 2: [2, k, offset, F, e,
  // config, F x (m_j, root_j), ...].
  if (pub.size() < 4 + 3 + 4 + 4 + 2 + 1) return InvalidArgumentError("tally: too few public inputs");
  const uint64_t k = pub[1].value();
  if (k < 2 || k > kMaxChoices) return InvalidArgumentError("tally: number of choices must be 2..16");
  air.k_ = static_cast<uint32_t>(k);
  air.offset_ = pub[2].value();
  if (air.offset_ >= kMaxTreeSize) return InvalidArgumentError("tally: segment offset must lie below 2^32");
  const uint64_t num_blocks = version == 1 ? 1 : pub[3].value();
  if (num_blocks == 0 || num_blocks > kMaxSegmentLeaves) return InvalidArgumentError("tally: a segment has 1 to 2^20 blocks");
  for (size_t i = 0; i < 3; ++i) air.e_[i] = pub[4 + i];
  if (air.e_[0].value() >= (uint64_t{1} << 56) || air.e_[1].value() >= (uint64_t{1} << 56) ||
      air.e_[2].value() >= (uint64_t{1} << 16)) {
    return InvalidArgumentError("tally: election id limbs out of range");
  }
  const size_t blocks_at = 4 + 3 + 4;
  const size_t per_block = version == 1 ? 4 : 5;
  if ((pub.size() - blocks_at) / per_block < num_blocks) return InvalidArgumentError("tally: public inputs too short for the blocks");
  for (uint64_t j = 0; j < num_blocks; ++j) {
    const size_t at = blocks_at + per_block * j;
    HashOut r;
    for (size_t i = 0; i < 4; ++i) r[i] = pub[at + (per_block - 4) + i];
    air.blocks_.push_back(version == 1 ? pub[3].value() : pub[at].value());
    air.roots_.push_back(r);
  }
  ASSIGN_OR_RETURN(air.size_, BlocksLeaves(air.offset_, air.blocks_));
  if (air.size_ > kMaxTreeSize - air.offset_) return InvalidArgumentError("tally: the segment ends past 2^32");
  const size_t counts_at = blocks_at + per_block * num_blocks;
  if (pub.size() < counts_at + k + 1) return InvalidArgumentError("tally: public inputs too short for the counts");
  uint64_t total = 0;
  for (size_t j = 0; j < k; ++j) {
    const uint64_t c = pub[counts_at + j].value();
    if (c > air.size_) return InvalidArgumentError("tally: a count exceeds the segment size");
    air.counts_.push_back(c);
    total += c;
  }
  const uint64_t num_excluded = pub[counts_at + k].value();
  if (pub.size() - (counts_at + k + 1) != num_excluded) {
    return InvalidArgumentError("tally: excluded count does not match the excluded indices");
  }
  if (total + num_excluded != air.size_) {
    return InvalidArgumentError("tally: counts plus exclusions do not add up to the segment size");
  }
  for (size_t i = counts_at + k + 1; i < pub.size(); ++i) {
    const uint64_t idx = pub[i].value();
    if (idx < air.offset_ || idx - air.offset_ >= air.size_) {
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
  if (version_ >= 2) {
    add(5 + 6 + 8 + 4, 2, ConstraintDomain::kEveryRow);
    add(4, 1, ConstraintDomain::kFirstRow);
    add(3, 2, ConstraintDomain::kTransition);
    add(1, 4, ConstraintDomain::kTransition);
    add(1, 3, ConstraintDomain::kTransition);
    add(1, 2, ConstraintDomain::kTransition);
    add(2, 3, ConstraintDomain::kTransition);
    add(5, 2, ConstraintDomain::kTransition);
    add(4, 3, ConstraintDomain::kTransition);
    add(2, 1, ConstraintDomain::kLastRow);
    return cs;
  }
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
  std::vector<ConstraintInfo> cs = {{1, ConstraintDomain::kFirstRow}, {4, ConstraintDomain::kTransition},
                                    {4, ConstraintDomain::kLastRow},  {1, ConstraintDomain::kFirstRow},
                                    {3, ConstraintDomain::kTransition}, {3, ConstraintDomain::kLastRow}};
  if (version_ >= 2) {
    cs.push_back({1, ConstraintDomain::kFirstRow});
    cs.push_back({2, ConstraintDomain::kTransition});
    cs.push_back({1, ConstraintDomain::kLastRow});
  }
  return cs;
}

stark::TraceColumns TallyAir::GenerateTrace(std::span<const LeafWitness> leaves, stark::RandomSource& rng,
                                            std::vector<uint8_t>* opens) const {
  const size_t rows = TraceRows();
  stark::TraceColumns t = stark::ZeroColumns(MainWidth(), rows);
  // The random source is drawn from in leaf order (the masks of excluded leaves) and version
  // 1's running counts are prefix sums: both first, serially; then the rows, which are
  // independent for commitments and leaves and level by level for tree nodes, on all threads.
  // Block j starts at leaf S_j of the segment and row sum_{i<j} (3 m_i - 1); its heap (node
  // h of the block at 2 S_j + h) holds its nodes and leaves.
  const size_t total = static_cast<size_t>(size_);
  const size_t nb = blocks_.size();
  const bool v2 = version_ >= 2;
  std::vector<size_t> block_start(nb), block_row(nb);
  std::vector<uint32_t> block_of(total);
  {
    size_t leaf = 0, row = 0;
    for (size_t j = 0; j < nb; ++j) {
      block_start[j] = leaf;
      block_row[j] = row;
      for (size_t i = 0; i < blocks_[j]; ++i) block_of[leaf + i] = static_cast<uint32_t>(j);
      leaf += blocks_[j];
      row += 3 * blocks_[j] - 1;
    }
  }
  std::vector<std::array<Fp, 5>> masks(total);
  // Version 1: counts after leaf i, choice j at i * k_ + j.
  std::vector<uint64_t> running(v2 ? 0 : total * k_);
  {
    std::vector<uint64_t> counts(k_, 0);
    for (size_t i = 0; i < total; ++i) {
      if (leaves[i].excluded) {
        for (auto& v : masks[i]) v = rng.NextFp();
      } else if (!v2 && leaves[i].choice < k_) {
        ++counts[leaves[i].choice];
      }
      if (!v2) std::copy(counts.begin(), counts.end(), running.begin() + static_cast<std::ptrdiff_t>(i * k_));
    }
  }
  auto set_block = [&](size_t row, size_t j) {
    if (!v2) return;
    t[StartColumn()][row] = Fp(static_cast<uint64_t>(block_start[j]));
    t[SizeColumn()][row] = Fp(blocks_[j]);
  };
  std::vector<HashOut> heap(2 * total);
  if (opens != nullptr) opens->assign(total, 1);
  // Eight leaves at a time: their C rows, then their L rows, as packed permutations.
  const long long num_groups = static_cast<long long>((total + 7) / 8);
#pragma omp parallel for schedule(static) if (total >= 256)
  for (long long gg = 0; gg < num_groups; ++gg) {
    const size_t first = static_cast<size_t>(gg) * 8, count = std::min<size_t>(8, total - first);
    std::array<std::array<Fp, 12>, 8> cin{}, lin{};
    size_t crow[8], lrow[8];
    HashOut cout[8], lout[8];
    for (size_t j = 0; j < count; ++j) {
      const size_t i = first + j;
      const size_t blk = block_of[i], local = i - block_start[blk];
      const LeafWitness& leaf = leaves[i];
      crow[j] = block_row[blk] + 2 * local;
      lrow[j] = crow[j] + 1;
      std::array<Fp, 12>& in = cin[j];
      in[0] = CommitTag();
      for (size_t q = 0; q < 3; ++q) in[1 + q] = e_[q];
      if (leaf.excluded) {
        for (size_t q = 5; q < 10; ++q) in[q] = masks[i][q - 5];
        t[kX][crow[j]] = Fp::One();
      } else {
        const std::vector<Fp> r = BytesToLimbs(leaf.random);
        in[4] = Fp(leaf.choice);
        for (size_t q = 0; q < 5; ++q) in[5 + q] = r[q];
        if (!v2 && leaf.choice < k_) t[kB + leaf.choice][crow[j]] = Fp::One();
      }
      lin[j][0] = LeafTag();
      for (size_t q = 0; q < 4; ++q) lin[j][1 + q] = leaf.commitment[q];
      t[kIsC][crow[j]] = Fp::One();
      t[kIsL][lrow[j]] = Fp::One();
      t[kId][crow[j]] = t[kId][lrow[j]] = Fp(static_cast<uint64_t>(blocks_[blk] + local));
      if (!v2) {
        for (size_t q = 0; q < k_; ++q) {
          t[kB + k_ + q][crow[j]] = t[kB + k_ + q][lrow[j]] = Fp(running[i * k_ + q]);
        }
      }
      set_block(crow[j], blk);
      set_block(lrow[j], blk);
    }
    FillRowsEight(t, crow, count, cin.data(), cout);
    FillRowsEight(t, lrow, count, lin.data(), lout);
    for (size_t j = 0; j < count; ++j) {
      const size_t i = first + j, blk = block_of[i];
      heap[2 * block_start[blk] + blocks_[blk] + (i - block_start[blk])] = lout[j];
      if (opens != nullptr && !leaves[i].excluded && cout[j] != leaves[i].commitment) (*opens)[i] = 0;
    }
    for (auto& in : cin) in.fill(Fp::Zero());  // the randoms' limbs
  }
  // Node h of a block of m leaves (heap order, children 2h and 2h + 1) is the block's row
  // 2m + (m - 1 - h). Height by height, every block's nodes of that height [m >> height,
  // 2m >> height) depend only on the height below. Version 1's node rows carry the running
  // counts after the leaves.
  const uint64_t max_m = *std::max_element(blocks_.begin(), blocks_.end());
  std::vector<std::pair<uint32_t, uint32_t>> work;  // (block, node)
  for (uint64_t height = 1; (uint64_t{1} << height) <= max_m; ++height) {
    work.clear();
    for (size_t j = 0; j < nb; ++j) {
      const uint64_t lo = blocks_[j] >> height;
      for (uint64_t h = lo; h < 2 * lo; ++h) work.emplace_back(static_cast<uint32_t>(j), static_cast<uint32_t>(h));
    }
    // Eight nodes of this height at a time.
    const long long groups = static_cast<long long>((work.size() + 7) / 8);
#pragma omp parallel for schedule(static) if (work.size() >= 256)
    for (long long gg = 0; gg < groups; ++gg) {
      const size_t first = static_cast<size_t>(gg) * 8, count = std::min<size_t>(8, work.size() - first);
      std::array<std::array<Fp, 12>, 8> nin{};
      size_t nrow[8];
      HashOut nout[8];
      for (size_t j = 0; j < count; ++j) {
        const auto [blk, node] = work[first + j];
        const size_t m = blocks_[blk];
        nrow[j] = block_row[blk] + 2 * m + (m - 1 - node);
        const HashOut* bheap = heap.data() + 2 * block_start[blk];
        nin[j][0] = NodeTag();
        for (size_t q = 0; q < 4; ++q) {
          nin[j][1 + q] = bheap[2 * node][q];
          nin[j][5 + q] = bheap[2 * node + 1][q];
        }
        t[kId][nrow[j]] = Fp(static_cast<uint64_t>(node));
        if (!v2) {
          const uint64_t* totals = running.data() + (block_start[blk] + m - 1) * k_;
          for (size_t q = 0; q < k_; ++q) t[kB + k_ + q][nrow[j]] = Fp(totals[q]);
        }
        set_block(nrow[j], blk);
      }
      FillRowsEight(t, nrow, count, nin.data(), nout);
      for (size_t j = 0; j < count; ++j) {
        const auto [blk, node] = work[first + j];
        heap[2 * block_start[blk] + node] = nout[j];
      }
    }
  }
  return t;
}

stark::ExtTraceColumns TallyAir::BuildAuxTrace(const stark::TraceColumns& main,
                                               std::span<const Fp2> rand) const {
  const Fp2 alpha = rand[0], beta = rand[1], gamma = rand[2];
  const Fp2 beta5 = beta.Pow(5), beta6 = beta5 * beta;
  const size_t rows = TraceRows();
  const bool v2 = version_ >= 2;
  stark::ExtTraceColumns aux(AuxWidth(), std::vector<Fp2>(rows));
  std::vector<Fp2> num(rows), den(rows), q(rows);
  // Version 2: 1 / (delta - choice) on counted C rows (0 elsewhere).
  std::vector<Fp2> pick(v2 ? rows : 0);
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
      const Fp bs = v2 ? main[StartColumn()][r] : Fp::Zero();
      const Fp bm = v2 ? main[SizeColumn()][r] : Fp::Zero();
      // Output reads only the row's last twelve S-box columns.
      for (size_t col = kSbox + kNumSbox - 12; col < kSbox + kNumSbox; ++col) row_vals[col] = main[col][r];
      const std::array<Fp, 4> out = Output<Fp>(row_vals);
      num[r] = is_c ? Fp2::One() : alpha - Encode(Fp2(id), out, bs, bm, beta5, beta6, beta);
      if (!is_c && !is_l) {
        std::array<Fp, 4> left, right;
        for (size_t j = 0; j < 4; ++j) {
          left[j] = main[kIn + 1 + j][r];
          right[j] = main[kIn + 5 + j][r];
        }
        den[r] = (alpha - Encode(Fp2(id + id), left, bs, bm, beta5, beta6, beta)) *
                 (alpha - Encode(Fp2(id + id + Fp::One()), right, bs, bm, beta5, beta6, beta));
      } else {
        den[r] = Fp2::One();
      }
      // The leaf's index in the segment (version 1: its heap id).
      q[r] = main[kX][r] == Fp::One() ? gamma - (v2 ? bs + id - bm : id) : Fp2::One();
      if (v2) pick[r] = is_c && main[kX][r] != Fp::One() ? rand[3] - main[kIn + 4][r] : Fp2::Zero();
    }
  }
  stark::BatchInverse(std::span<Fp2>(den));
  aux[0][0] = Fp2::One();
  aux[1][0] = Fp2::One();
  for (size_t r = 0; r + 1 < rows; ++r) {
    aux[0][r + 1] = aux[0][r] * num[r] * den[r];
    aux[1][r + 1] = aux[1][r] * q[r];
  }
  if (v2) {
    // Zeros stay zero under BatchInverse (rows that are not counted C rows).
    stark::BatchInverse(std::span<Fp2>(pick));
    aux[2][0] = Fp2::Zero();
    for (size_t r = 0; r + 1 < rows; ++r) aux[2][r + 1] = aux[2][r] + pick[r];
  }
  return aux;
}

TallyAir::Products TallyAir::PublicProducts(std::span<const Fp2> rand) const {
  const std::array<Fp2, 4> key = {rand[0], rand[1], rand[2], rand.size() > 3 ? rand[3] : Fp2::Zero()};
  if (cache_ready_.load(std::memory_order_acquire) && cache_rand_ == key) return cache_value_;
  std::lock_guard<std::mutex> lock(cache_mu_);
  if (cache_ready_.load(std::memory_order_relaxed) && cache_rand_ == key) return cache_value_;
  const Fp2 alpha = rand[0], beta = rand[1], gamma = rand[2];
  const Fp2 beta5 = beta.Pow(5), beta6 = beta5 * beta;
  const bool v2 = version_ >= 2;
  Products p{Fp2::One(), Fp2::One(), Fp2::Zero()};
  uint64_t start = 0;
  for (size_t j = 0; j < roots_.size(); ++j) {
    const Fp bs = v2 ? Fp(start) : Fp::Zero(), bm = v2 ? Fp(blocks_[j]) : Fp::Zero();
    p.roots *= alpha - Encode(Fp2::One(), roots_[j], bs, bm, beta5, beta6, beta);
    start += blocks_[j];
  }
  for (const uint64_t e : excluded_) p.excluded *= gamma - Fp(v2 ? e - offset_ : size_ + (e - offset_));
  if (v2) {
    for (size_t j = 0; j < counts_.size(); ++j) {
      p.choices += Fp2(Fp(counts_[j])) * (rand[3] - Fp(static_cast<uint64_t>(j))).Inverse();
    }
  }
  cache_ready_.store(false, std::memory_order_relaxed);
  cache_rand_ = key;
  cache_value_ = p;
  cache_ready_.store(true, std::memory_order_release);
  return p;
}

template <typename E, typename F>
inline void TallyAir::EvalAux(const stark::Frame<F>& main, const stark::Frame<E>& aux,
                              std::span<const Fp2> rand, std::span<E> out) const {
  const Fp2 alpha = rand[0], beta = rand[1], gamma = rand[2];
  const Fp2 beta5 = beta.Pow(5), beta6 = beta5 * beta;
  const E one(Fp2::One());
  const auto& cur = main.current;
  const E is_c(cur[kIsC]), is_l(cur[kIsL]), x(cur[kX]), id(cur[kId]);
  const E is_n = one - is_c - is_l;
  // Version 1 has no block columns: S = M = 0 in the encoding.
  const bool v2 = version_ >= 2;
  const F bs = v2 ? cur[StartColumn()] : F(), bm = v2 ? cur[SizeColumn()] : F();
  const std::array<F, 4> output = Output<F>(cur);
  std::array<F, 4> left, right;
  for (size_t j = 0; j < 4; ++j) {
    left[j] = cur[kIn + 1 + j];
    right[j] = cur[kIn + 5 + j];
  }
  const E num = is_c + (one - is_c) * (alpha - Encode(id, output, bs, bm, beta5, beta6, beta));
  const E den = is_n * (alpha - Encode(id + id, left, bs, bm, beta5, beta6, beta)) *
                    (alpha - Encode(id + id + one, right, bs, bm, beta5, beta6, beta)) +
                (one - is_n);
  const Products pub = PublicProducts(rand);
  const E z = aux.current[0], z_next = aux.next[0];
  out[0] = z - one;
  out[1] = z_next * den - z * num;
  out[2] = z * num - pub.roots * den;
  // The leaf's index in the segment, S + id - M (version 1: its heap id).
  const E leaf_index = v2 ? id + MulMain(bs - bm, Fp2::One()) : id;
  const E q = x * (gamma - leaf_index) + (one - x);
  const E w = aux.current[1], w_next = aux.next[1];
  out[3] = w - one;
  out[4] = w_next - w * q;
  out[5] = w * q - pub.excluded;
  if (v2) {
    // Counted C rows add 1 / (delta - choice); the last row (a root) adds nothing.
    const E v = aux.current[2], v_next = aux.next[2];
    const E choice(cur[kIn + 4]);
    out[6] = v;
    out[7] = (v_next - v) * (E(rand[3]) - choice) - is_c * (one - x);
    out[8] = v - pub.choices;
  }
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
