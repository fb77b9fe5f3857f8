// STARK prover. The protocol, step by step, is described in docs/proof_format.md; the
// verifier (verifier.cc) mirrors every step in the same order.
#include "vp/stark/prover.h"

#include <algorithm>
#include <chrono>
#include <climits>
#include <memory>

#include "vp/stark/layout.h"
#include "vp/stark/merkle.h"
#include "vp/stark/ntt.h"
#include "vp/stark/packed.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

// GCC notes once per file that 64-byte vectors would be passed differently without AVX-512;
// no function here takes or returns one by value (packed.h's helpers are always inlined).
#pragma GCC diagnostic ignored "-Wpsabi"

namespace vp::stark {
namespace {

using Clock = std::chrono::steady_clock;
double MsSince(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

const Fp2 kU(Fp::Zero(), Fp::One());  // the extension generator u, u^2 = 7

// Sum of 64x64-bit products with one reduction at the end (value = hi * 2^128 + lo).
struct DotAccumulator {
  unsigned __int128 lo = 0;
  uint64_t hi = 0;
  void Add(uint64_t a, uint64_t b) {
    const unsigned __int128 p = static_cast<unsigned __int128>(a) * b;
    lo += p;
    hi += lo < p ? 1 : 0;
  }
  Fp Reduce() const {
    static const Fp kTwo128 = Fp(Fp::kEpsilon) * Fp(Fp::kEpsilon);  // 2^128 mod p
    return Fp(Fp::Reduce128(lo)) + Fp(hi) * kTwo128;
  }
};

// A committed table: coefficients (kept for out-of-domain evaluation), LDE columns, salts
// and the Merkle tree over LDE rows. The LDE columns are grouped by coset of the trace
// domain (LowDegreeExtendCosets): LDE point i is element At(i) of each column.
struct Committed {
  std::vector<std::vector<Fp>> coeffs;
  std::vector<std::vector<Fp>> lde;
  size_t coset_size = 0;
  unsigned log_cosets = 0;
  bool salted = false;
  Digest salt_key{};  // secret: salts are DeriveSalt(salt_key, row)
  std::unique_ptr<MerkleTree> tree;
  size_t At(size_t i) const {
    return (i & ((size_t{1} << log_cosets) - 1)) * coset_size + (i >> log_cosets);
  }
};

Committed Commit(std::vector<std::vector<Fp>> coeffs, const StarkLayout& l, RandomSource& rng) {
  Committed c;
  c.coset_size = l.n;
  c.log_cosets = l.log_lde - l.log_n;
  c.lde = LowDegreeExtendColumnsCosets(coeffs, l.n, l.lde, DomainOffset());
  c.coeffs = std::move(coeffs);
  if (l.zk) {
    c.salted = true;
    c.salt_key = rng.NextSalt();
  }
  std::vector<const std::vector<Fp>*> cols;
  for (const auto& col : c.lde) cols.push_back(&col);
  c.tree = std::make_unique<MerkleTree>(
      MerkleTree::Build(HashRows(cols, l.lde, c.salted ? &c.salt_key : nullptr, c.log_cosets)));
  return c;
}

// Pads real rows to n (random rows in zk mode, zeros otherwise) and interpolates, into
// columns of its own (the caller keeps the trace), copied column by column on all threads: a
// serial copy would fault in the fresh pages one by one.
std::vector<std::vector<Fp>> PadAndInterpolate(const TraceColumns& trace, const StarkLayout& l,
                                               RandomSource& rng) {
  std::vector<std::vector<Fp>> cols = ZeroColumns(trace.size(), l.n);
  for (size_t c = 0; c < trace.size(); ++c) {
    for (size_t i = trace[c].size(); i < l.n; ++i) cols[c][i] = l.zk ? rng.NextFp() : Fp::Zero();
  }
  const long long m = static_cast<long long>(trace.size());
#pragma omp parallel for schedule(static) if (m > 1 && l.n >= 4096)
  for (long long c = 0; c < m; ++c) {
    const auto& src = trace[static_cast<size_t>(c)];
    std::copy(src.begin(), src.end(), cols[static_cast<size_t>(c)].begin());
  }
  InterpolateColumns(cols);
  return cols;
}

TreeOpening OpenRows(const Committed& c, std::span<const size_t> positions) {
  TreeOpening o;
  for (size_t p : positions) {
    std::vector<Fp> row(c.lde.size());
    const size_t at = c.At(p);
    for (size_t j = 0; j < c.lde.size(); ++j) row[j] = c.lde[j][at];
    o.rows.push_back(std::move(row));
    if (c.salted) o.salts.push_back(DeriveSalt(c.salt_key, p));
  }
  o.proof = c.tree->Open(positions);
  return o;
}

// x^0 .. x^(count-1).
std::vector<Fp2> Powers(Fp2 x, size_t count) {
  std::vector<Fp2> out(count);
  Fp2 p = Fp2::One();
  for (auto& e : out) {
    e = p;
    p *= x;
  }
  return out;
}

// sum_i coeffs[i] * pows[i] (pows at least as long as coeffs).
Fp2 DotPowers(const std::vector<Fp>& coeffs, const std::vector<Fp2>& pows) {
  DotAccumulator re, im;
  for (size_t i = 0; i < coeffs.size(); ++i) {
    re.Add(coeffs[i].value(), pows[i].c0().value());
    im.Add(coeffs[i].value(), pows[i].c1().value());
  }
  return Fp2(re.Reduce(), im.Reduce());
}

// The extension-valued polynomial re + u * im at the point whose powers are pows.
Fp2 DotPowersExt(const std::vector<Fp>& re, const std::vector<Fp>& im, const std::vector<Fp2>& pows) {
  return DotPowers(re, pows) + kU * DotPowers(im, pows);
}

std::vector<size_t> SortedUnique(std::vector<size_t> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

// At most E / n = 16 evaluation cosets (constraint degrees are at most 16).
constexpr size_t kMaxCompositionCosets = 16;

// The inverse of the Vandermonde matrix V[i][k] = nodes[i]^k (nodes distinct), row-major
// (element k * K + i), by Gauss-Jordan elimination; K is at most kMaxCompositionCosets.
std::vector<Fp> InverseVandermonde(std::span<const Fp> nodes) {
  const size_t K = nodes.size();
  std::vector<Fp> a(K * K), inv(K * K, Fp::Zero());
  for (size_t i = 0; i < K; ++i) {
    Fp x = Fp::One();
    for (size_t k = 0; k < K; ++k, x *= nodes[i]) a[i * K + k] = x;
    inv[i * K + i] = Fp::One();
  }
  for (size_t col = 0; col < K; ++col) {
    size_t pivot = col;
    while (a[pivot * K + col].IsZero()) ++pivot;  // exists: V is invertible
    for (size_t k = 0; k < K; ++k) {
      std::swap(a[col * K + k], a[pivot * K + k]);
      std::swap(inv[col * K + k], inv[pivot * K + k]);
    }
    const Fp scale = a[col * K + col].Inverse();
    for (size_t k = 0; k < K; ++k) {
      a[col * K + k] *= scale;
      inv[col * K + k] *= scale;
    }
    for (size_t row = 0; row < K; ++row) {
      if (row == col || a[row * K + col].IsZero()) continue;
      const Fp f = a[row * K + col];
      for (size_t k = 0; k < K; ++k) {
        a[row * K + k] -= f * a[col * K + k];
        inv[row * K + k] -= f * inv[col * K + k];
      }
    }
  }
  return inv;
}

// Inputs of the composition loop (step 3 of Prove), shared by all threads.
struct ComposeContext {
  const Air* air = nullptr;
  const StarkLayout* l = nullptr;
  // Evaluation coset te of the trace (and aux) columns is coset coset_of[te] of the
  // coset-major columns *main_of[te] (*aux_of[te]): the committed LDE or an extension.
  std::vector<const std::vector<std::vector<Fp>>*> main_of, aux_of;
  std::vector<size_t> coset_of;
  size_t e_cosets = 1;    // evaluation point i = te + e_cosets * p
  // Points k >= full_points are the m_x points of the small coset (step 3 of Prove): point j
  // of it is point j * x_stride of evaluation coset x_coset, its frame element j (current)
  // and m_x + j (next row) of *main_x and *aux_x.
  std::vector<size_t> eval_coset;  // block b of points (b * n .. b * n + n - 1) is coset eval_coset[b]
  size_t full_points = 0, m_x = 0, x_stride = 1, x_coset = 0;
  const std::vector<std::vector<Fp>>* main_x = nullptr;
  const std::vector<std::vector<Fp>>* aux_x = nullptr;
  const std::vector<std::vector<Fp>>* periodic_tables = nullptr;
  const std::vector<std::vector<Fp>>* zinv = nullptr;  // coset-major
  const std::vector<uint64_t>* alpha_re = nullptr;
  const std::vector<uint64_t>* alpha_im = nullptr;
  const std::vector<size_t>* main_domain = nullptr;
  const std::vector<Fp2>* alpha_pows = nullptr;
  std::span<const Fp2> aux_rand;
  bool packed_aux = false;  // aux constraints through Air::EvaluateAuxPacked
  Fp* h_re = nullptr;  // coset-major, like zinv
  Fp* h_im = nullptr;
};

// Per-thread buffers of the composition loop.
struct ComposeScratch {
  std::vector<Fp> cur, nxt, per, out_main;
  std::vector<Fp2> cur2, nxt2, acur, anxt, per2, out_aux;
  std::vector<PackedFp> pcur, pnxt, pper, pout;
  std::vector<PackedFp2> pacur, panxt, paout;
  std::vector<Fp> trans;  // main outputs of eight rows, constraint-major
  ComposeScratch(const ComposeContext& cx, bool packed) {
    const StarkLayout& l = *cx.l;
    const size_t np = cx.periodic_tables->size();
    cur.resize(l.main_width);
    nxt.resize(l.main_width);
    per.resize(np);
    out_main.resize(l.main_constraints.size());
    if (l.aux_width > 0) {
      cur2.resize(l.main_width);
      nxt2.resize(l.main_width);
      acur.resize(l.aux_width);
      anxt.resize(l.aux_width);
      per2.resize(np);
      out_aux.resize(l.aux_constraints.size());
    }
    trans.resize(8 * l.main_constraints.size());
    if (packed) {
      pcur.resize(l.main_width);
      pnxt.resize(l.main_width);
      pper.resize(np);
      pout.resize(l.main_constraints.size());
      if (cx.packed_aux) {
        pacur.resize(l.aux_width);
        panxt.resize(l.aux_width);
        paout.resize(l.aux_constraints.size());
      }
    }
  }
};

// Where the frame of point k (coset-major) is: columns *main and *aux, the current row at
// element at and the next at at_next; and the point's index in the evaluation domain (for
// periodic columns).
struct PointRef {
  const std::vector<std::vector<Fp>>* main;
  const std::vector<std::vector<Fp>>* aux;
  size_t at, at_next, domain_index;
};

PointRef Locate(const ComposeContext& cx, size_t k) {
  if (k >= cx.full_points) {
    const size_t j = k - cx.full_points;
    return {cx.main_x, cx.aux_x, j, cx.m_x + j, cx.x_coset + cx.e_cosets * j * cx.x_stride};
  }
  const size_t n = cx.l->n;
  const size_t te = cx.eval_coset[k / n], p = k % n;
  // The current and next rows are adjacent within one coset.
  const size_t base = cx.coset_of[te] * n;
  return {cx.main_of[te], cx.aux_of[te], base + p, base + (p + 1 == n ? 0 : p + 1), te + cx.e_cosets * p};
}

// Adds the auxiliary constraints of the point whose main frame is in sc.cur / sc.nxt and
// periodic values in sc.per to the per-domain sums acc.
void AddAux(const ComposeContext& cx, ComposeScratch& sc, size_t k, Fp2* acc) {
  const StarkLayout& l = *cx.l;
  const PointRef pt = Locate(cx, k);
  const size_t at = pt.at, at_next = pt.at_next;
  const auto& aux_e = *pt.aux;
  for (size_t c = 0; c < l.main_width; ++c) {
    sc.cur2[c] = sc.cur[c];
    sc.nxt2[c] = sc.nxt[c];
  }
  for (size_t c = 0; c < l.aux_width; ++c) {
    sc.acur[c] = Fp2(aux_e[2 * c][at], aux_e[2 * c + 1][at]);
    sc.anxt[c] = Fp2(aux_e[2 * c][at_next], aux_e[2 * c + 1][at_next]);
  }
  for (size_t q = 0; q < sc.per.size(); ++q) sc.per2[q] = sc.per[q];
  cx.air->EvaluateAux(Frame<Fp2>{sc.cur2, sc.nxt2}, Frame<Fp2>{sc.acur, sc.anxt}, sc.per2,
                      cx.aux_rand, sc.out_aux);
  const size_t num_main_c = l.main_constraints.size();
  for (size_t q = 0; q < sc.out_aux.size(); ++q) {
    acc[static_cast<size_t>(l.aux_constraints[q].domain)] += (*cx.alpha_pows)[num_main_c + q] * sc.out_aux[q];
  }
}

// Writes H at point k (coset-major) from the per-domain sums acc (main and aux constraints).
void WriteH(const ComposeContext& cx, size_t k, const Fp2* acc) {
  Fp2 h = Fp2::Zero();
  for (size_t d = 0; d < kNumConstraintDomains; ++d) h += acc[d] * (*cx.zinv)[d][k];
  cx.h_re[k] = h.c0();
  cx.h_im[k] = h.c1();
}

void FinishPoint(const ComposeContext& cx, ComposeScratch& sc, size_t k, Fp2* acc) {
  if (cx.l->aux_width > 0) AddAux(cx, sc, k, acc);
  WriteH(cx, k, acc);
}

// Loads the main frame and periodic values of point k into sc.cur / sc.nxt / sc.per.
void LoadRow(const ComposeContext& cx, ComposeScratch& sc, size_t k) {
  const StarkLayout& l = *cx.l;
  const PointRef pt = Locate(cx, k);
  const auto& main_e = *pt.main;
  for (size_t c = 0; c < l.main_width; ++c) {
    sc.cur[c] = main_e[c][pt.at];
    sc.nxt[c] = main_e[c][pt.at_next];
  }
  const auto& tables = *cx.periodic_tables;
  for (size_t q = 0; q < tables.size(); ++q) sc.per[q] = tables[q][pt.domain_index % tables[q].size()];
}

// Eight consecutive points of one coset through Air::EvaluateMain row by row, with the
// alpha-combination of the main constraints packed (sc.pout holds the outputs transposed).
VP_STARK_SIMD_CLONES void ComposeRows8(const ComposeContext& cx, ComposeScratch& sc, size_t k) {
  const StarkLayout& l = *cx.l;
  const size_t num_main_c = sc.out_main.size();
  Fp2 aux_acc[8][kNumConstraintDomains];
  for (size_t j = 0; j < 8; ++j) {
    LoadRow(cx, sc, k + j);
    cx.air->EvaluateMain(Frame<Fp>{sc.cur, sc.nxt}, sc.per, sc.out_main);
    for (size_t q = 0; q < num_main_c; ++q) sc.trans[q * 8 + j] = sc.out_main[q];
    for (size_t d = 0; d < kNumConstraintDomains; ++d) aux_acc[j][d] = Fp2::Zero();
    if (l.aux_width > 0) AddAux(cx, sc, k + j, aux_acc[j]);
  }
  PackedFp are[kNumConstraintDomains], aim[kNumConstraintDomains];
  const auto& dom = *cx.main_domain;
  for (size_t q = 0; q < num_main_c; ++q) {
    const size_t d = dom[q];
    const PackedFp v = PackedFp::Load(sc.trans.data() + q * 8);
    are[d] += v * Fp((*cx.alpha_re)[q]);
    aim[d] += v * Fp((*cx.alpha_im)[q]);
  }
  for (size_t j = 0; j < 8; ++j) {
    Fp2 acc[kNumConstraintDomains];
    for (size_t d = 0; d < kNumConstraintDomains; ++d) {
      acc[d] = Fp2(are[d].Lane(j), aim[d].Lane(j)) + aux_acc[j][d];
    }
    WriteH(cx, k + j, acc);
  }
}

// One evaluation point (coset-major index k), row by row through Air::EvaluateMain.
void ComposeRow(const ComposeContext& cx, ComposeScratch& sc, size_t k) {
  LoadRow(cx, sc, k);
  cx.air->EvaluateMain(Frame<Fp>{sc.cur, sc.nxt}, sc.per, sc.out_main);
  DotAccumulator dre[kNumConstraintDomains], dim[kNumConstraintDomains];
  const auto& dom = *cx.main_domain;
  for (size_t q = 0; q < sc.out_main.size(); ++q) {
    const size_t d = dom[q];
    dre[d].Add((*cx.alpha_re)[q], sc.out_main[q].value());
    dim[d].Add((*cx.alpha_im)[q], sc.out_main[q].value());
  }
  Fp2 acc[kNumConstraintDomains];
  for (size_t d = 0; d < kNumConstraintDomains; ++d) acc[d] = Fp2(dre[d].Reduce(), dim[d].Reduce());
  FinishPoint(cx, sc, k, acc);
}

constexpr size_t kComposePrefetch = 32;

// Rows p + 1 .. p + 8 of a coset column of n elements (p a multiple of 8): the next rows of
// eight points, the last wrapping to the coset's first element when p + 8 == n.
[[gnu::always_inline]] inline PackedFp LoadNext8(const Fp* col, size_t p, size_t n) {
  if (p + 8 != n) return PackedFp::Load(col + p + 1);
  Fp tmp[8];
  for (size_t j = 0; j < 7; ++j) tmp[j] = col[p + 1 + j];
  tmp[7] = col[0];
  return PackedFp::Load(tmp);
}

// Eight consecutive points of one coset (k a multiple of 8, n >= 8) through
// Air::EvaluateMainPacked; the alpha-combination is packed too. Same values as ComposeRow.
VP_STARK_SIMD_CLONES void ComposePacked8(const ComposeContext& cx, ComposeScratch& sc, size_t k) {
  const StarkLayout& l = *cx.l;
  const PointRef pt = Locate(cx, k);
  const bool small = k >= cx.full_points;  // the small coset: next rows stored apart
  const size_t p = k % l.n, base = pt.at - p;
  const auto& main_e = *pt.main;
  for (size_t c = 0; c < l.main_width; ++c) {
    if (small) {
      sc.pcur[c] = PackedFp::Load(main_e[c].data() + pt.at);
      sc.pnxt[c] = PackedFp::Load(main_e[c].data() + pt.at_next);
      continue;
    }
    const Fp* col = main_e[c].data() + base;
    // One stream per column, too many for the hardware prefetchers (as in HashRows).
    if (p + kComposePrefetch < l.n) __builtin_prefetch(col + p + kComposePrefetch);
    sc.pcur[c] = PackedFp::Load(col + p);
    sc.pnxt[c] = LoadNext8(col, p, l.n);
  }
  const auto& tables = *cx.periodic_tables;
  for (size_t q = 0; q < tables.size(); ++q) {
    Fp tmp[8];
    for (size_t j = 0; j < 8; ++j) tmp[j] = tables[q][Locate(cx, k + j).domain_index % tables[q].size()];
    sc.pper[q] = PackedFp::Load(tmp);
  }
  cx.air->EvaluateMainPacked(Frame<PackedFp>{sc.pcur, sc.pnxt}, sc.pper, sc.pout);
  PackedFp are[kNumConstraintDomains], aim[kNumConstraintDomains];
  const auto& dom = *cx.main_domain;
  for (size_t q = 0; q < sc.pout.size(); ++q) {
    const size_t d = dom[q];
    are[d] += sc.pout[q] * Fp((*cx.alpha_re)[q]);
    aim[d] += sc.pout[q] * Fp((*cx.alpha_im)[q]);
  }
  if (cx.packed_aux) {
    const auto& aux_e = *pt.aux;
    for (size_t c = 0; c < l.aux_width; ++c) {
      if (small) {
        const Fp* re = aux_e[2 * c].data();
        const Fp* im = aux_e[2 * c + 1].data();
        sc.pacur[c] = PackedFp2(PackedFp::Load(re + pt.at), PackedFp::Load(im + pt.at));
        sc.panxt[c] = PackedFp2(PackedFp::Load(re + pt.at_next), PackedFp::Load(im + pt.at_next));
        continue;
      }
      const Fp* re = aux_e[2 * c].data() + base;
      const Fp* im = aux_e[2 * c + 1].data() + base;
      sc.pacur[c] = PackedFp2(PackedFp::Load(re + p), PackedFp::Load(im + p));
      sc.panxt[c] = PackedFp2(LoadNext8(re, p, l.n), LoadNext8(im, p, l.n));
    }
    cx.air->EvaluateAuxPacked(Frame<PackedFp>{sc.pcur, sc.pnxt}, Frame<PackedFp2>{sc.pacur, sc.panxt},
                              sc.pper, cx.aux_rand, sc.paout);
    const size_t num_main_c = sc.pout.size();
    for (size_t q = 0; q < sc.paout.size(); ++q) {
      const size_t d = static_cast<size_t>(l.aux_constraints[q].domain);
      const PackedFp2 v = sc.paout[q] * (*cx.alpha_pows)[num_main_c + q];
      are[d] += v.c0;
      aim[d] += v.c1;
    }
    for (size_t j = 0; j < 8; ++j) {
      Fp2 acc[kNumConstraintDomains];
      for (size_t d = 0; d < kNumConstraintDomains; ++d) acc[d] = Fp2(are[d].Lane(j), aim[d].Lane(j));
      WriteH(cx, k + j, acc);
    }
    return;
  }
  for (size_t j = 0; j < 8; ++j) {
    if (l.aux_width > 0) {
      for (size_t c = 0; c < l.main_width; ++c) {
        sc.cur[c] = sc.pcur[c].Lane(j);
        sc.nxt[c] = sc.pnxt[c].Lane(j);
      }
      for (size_t q = 0; q < tables.size(); ++q) sc.per[q] = sc.pper[q].Lane(j);
    }
    Fp2 acc[kNumConstraintDomains];
    for (size_t d = 0; d < kNumConstraintDomains; ++d) acc[d] = Fp2(are[d].Lane(j), aim[d].Lane(j));
    FinishPoint(cx, sc, k + j, acc);
  }
}

}  // namespace

StatusOr<Proof> Prove(const Air& air, const TraceColumns& trace, const ProofOptions& options,
                      RandomSource& rng, ProverStats* stats) {
  const auto t_start = Clock::now();
  ProverStats local_stats;
  ProverStats& st = stats != nullptr ? *stats : local_stats;
  ASSIGN_OR_RETURN(StarkLayout l, ComputeLayout(air, options));
  if (trace.size() != l.main_width) return InvalidArgumentError("prover: trace width does not match the AIR");
  for (const auto& col : trace) {
    if (col.size() != l.u) return InvalidArgumentError("prover: trace rows do not match the AIR");
  }
  st.trace_length = l.n;
  st.lde_size = l.lde;
  st.num_segments = l.num_segments;

  Proof proof;
  proof.options = options;
  proof.air_name = air.Name();
  proof.public_inputs = air.PublicInputs();
  proof.log_trace_length = static_cast<uint8_t>(l.log_n);
  Channel ch = StartTranscript(air, options, l);

  // 1. Main trace.
  auto t = Clock::now();
  Committed main = Commit(PadAndInterpolate(trace, l, rng), l, rng);
  proof.main_root = main.tree->root();
  ch.AbsorbDigest(proof.main_root);

  // 2. Auxiliary trace from challenges drawn after the main commitment.
  Committed aux;
  std::vector<Fp2> aux_rand;
  const bool has_aux = l.aux_width > 0;
  if (has_aux) {
    for (size_t i = 0; i < l.num_aux_rand; ++i) aux_rand.push_back(ch.DrawFp2());
    const ExtTraceColumns aux_cols = air.BuildAuxTrace(trace, aux_rand);
    if (aux_cols.size() != l.aux_width) return InvalidArgumentError("prover: aux trace width does not match the AIR");
    std::vector<std::vector<Fp>> split;
    for (const auto& col : aux_cols) {
      if (col.size() != l.u) return InvalidArgumentError("prover: aux trace rows do not match the AIR");
      std::vector<Fp> re(l.u), im(l.u);
      for (size_t i = 0; i < l.u; ++i) {
        re[i] = col[i].c0();
        im[i] = col[i].c1();
      }
      split.push_back(std::move(re));
      split.push_back(std::move(im));
    }
    aux = Commit(PadAndInterpolate(split, l, rng), l, rng);
    proof.has_aux = true;
    proof.aux_root = aux.tree->root();
    ch.AbsorbDigest(proof.aux_root);
  }
  st.trace_ms = MsSince(t);

  // 3. Composition polynomial H = sum_d (sum_{i in d} alpha^i C_i) / Z_d on the evaluation coset.
  t = Clock::now();
  const Fp2 alpha = ch.DrawFp2();
  const size_t num_main_c = l.main_constraints.size();
  const size_t num_aux_c = l.aux_constraints.size();
  std::vector<Fp2> alpha_pows(num_main_c + num_aux_c);
  {
    Fp2 a = Fp2::One();
    for (auto& p : alpha_pows) {
      p = a;
      a *= alpha;
    }
  }
  const size_t E = l.eval;
  const Fp offset = DomainOffset();
  const Fp we = Fp::RootOfUnity(Log2(E));
  // H has D_H coefficients. It is evaluated on K = floor(D_H / n) cosets of the trace domain
  // in the evaluation domain, and the D_H - K n coefficients left over (degree-7 constraints:
  // about 6.25 n with zk padding, so K = 6 of 8) on m_x points of one more coset: the smallest
  // power of two above them, at most n / 4, else on one more full coset. See the
  // interpolation below.
  const size_t D_H = l.composition_degree_bound;
  size_t K = D_H / l.n, m_x = 0;
  if (const size_t left = D_H - K * l.n; left > 0) {
    size_t m = 8;
    while (m <= left) m *= 2;  // above, so that H's degree is still checked on m - left coefficients
    if (K >= 1 && m <= l.n / 4) {
      m_x = m;
    } else {
      ++K;
    }
  }
  const size_t full_points = K * l.n;
  const size_t points = full_points + m_x;
  st.composition_cosets = K;
  st.composition_small_points = m_x;
  // Trace values on the evaluation coset, grouped by coset of the trace domain. With r =
  // E / N > 1, coset te = rho + r t of the evaluation domain (offset w_E^te <w_n>) is coset t
  // of offset w_E^rho <w_N>: rho = 0 is the committed LDE, and each other rho one extension
  // of N points. With E <= N, coset te is stored coset te * N / E. The K cosets H is
  // evaluated on, eval_coset[b] for b < K, are the committed ones first, then the others in
  // order (a prefix t < count of each rho's extension), so that as few as possible are
  // transformed; the small coset is the next one, x_coset.
  const size_t e_cosets = E / l.n;  // evaluation point i = te + e_cosets * p
  const size_t ext_ratio = E > l.lde ? E / l.lde : 1;
  std::vector<size_t> eval_coset;
  for (size_t te = 0; te < e_cosets; te += ext_ratio) eval_coset.push_back(te);
  for (size_t te = 0; te < e_cosets; ++te) {
    if (te % ext_ratio != 0) eval_coset.push_back(te);
  }
  const size_t x_coset = eval_coset[K < e_cosets ? K : 0];  // K < E / n when m_x > 0: D_H > K n
  eval_coset.resize(K);
  std::vector<std::vector<std::vector<Fp>>> main_ext, aux_ext;  // rho = 1 .. ext_ratio - 1
  std::vector<const std::vector<std::vector<Fp>>*> main_of(e_cosets, &main.lde), aux_of(e_cosets, &aux.lde);
  std::vector<size_t> coset_of(e_cosets);
  if (E <= l.lde) {
    for (size_t te = 0; te < e_cosets; ++te) coset_of[te] = te * (l.lde / E);
  } else {
    for (size_t rho = 1; rho < ext_ratio; ++rho) {
      const Fp shift = offset * we.Pow(rho);
      size_t count = 0;  // cosets rho + ext_ratio t used, t < count
      for (const size_t te : eval_coset) count += te % ext_ratio == rho ? size_t{1} : size_t{0};
      main_ext.push_back(LowDegreeExtendColumnsCosets(main.coeffs, l.n, l.lde, shift, count));
      if (has_aux) aux_ext.push_back(LowDegreeExtendColumnsCosets(aux.coeffs, l.n, l.lde, shift, count));
    }
    for (const size_t te : eval_coset) {
      const size_t rho = te % ext_ratio;
      coset_of[te] = te / ext_ratio;
      if (rho != 0) {
        main_of[te] = &main_ext[rho - 1];
        if (has_aux) aux_of[te] = &aux_ext[rho - 1];
      }
    }
  }
  // The small coset sigma <w_m_x>, sigma = offset w_E^x_coset: points j * (n / m_x) of
  // evaluation coset x_coset, where x^n = sigma^n differs from the full cosets' c_te.
  // Its frames come from the coefficients (folded modulo x^m_x - sigma^m_x): the trace columns
  // at sigma <w_m_x>, then at the next rows, sigma g <w_m_x>.
  const Fp sigma = offset * we.Pow(x_coset);
  std::vector<std::vector<Fp>> main_x, aux_x;
  if (m_x > 0) {
    const Fp g = Fp::RootOfUnity(l.log_n);
    auto frames = [&](const std::vector<std::vector<Fp>>& coeffs) {
      std::vector<std::vector<Fp>> cur = EvaluateColumnsOnSmallCoset(coeffs, m_x, sigma);
      const std::vector<std::vector<Fp>> nxt = EvaluateColumnsOnSmallCoset(coeffs, m_x, sigma * g);
      for (size_t c = 0; c < cur.size(); ++c) cur[c].insert(cur[c].end(), nxt[c].begin(), nxt[c].end());
      return cur;
    };
    main_x = frames(main.coeffs);
    if (has_aux) aux_x = frames(aux.coeffs);
  }
  // Divisor inverses per constraint domain, in coset-major order like the trace views:
  // element b * n + p belongs to evaluation point eval_coset[b] + e_cosets * p (then the
  // small coset).
  std::vector<std::vector<Fp>> zinv = ZeroColumns(kNumConstraintDomains, points);
  {
    const Fp g = Fp::RootOfUnity(l.log_n);
    // x^n - 1 depends only on the coset: x^n = (offset we^te)^n since (g^p)^n = 1.
    std::vector<Fp> vanish_inv(e_cosets);
    {
      const Fp wp = we.Pow(l.n);
      Fp xn = offset.Pow(l.n);
      for (size_t i = 0; i < e_cosets; ++i) {
        vanish_inv[i] = xn - Fp::One();
        xn *= wp;
      }
      BatchInverse(std::span<Fp>(vanish_inv));
    }
    // prod_{j=u}^{n-1} (x - g^j) on the coset, from its coefficients (product tree + NTT).
    std::vector<Fp> excluded_roots;  // g^j for j = u .. n-1
    {
      Fp gi = g.Pow(l.u);
      for (size_t j = l.u; j < l.n; ++j) {
        excluded_roots.push_back(gi);
        gi *= g;
      }
    }
    const std::vector<Fp> prod_every = LowDegreeExtendCosets(PolyFromRoots(excluded_roots), l.n, E, offset);
    const Fp g_last = g.Pow(l.u - 1);
    // Point k at x, pe its value of prod_every, vinv 1 / (x^n - 1) of its coset; the last two
    // divisors are inverted a range at a time afterwards (invert_range).
    auto set_point = [&](size_t k, Fp x, Fp pe, Fp vinv) {
      zinv[0][k] = pe * vinv;
      zinv[1][k] = pe * (x - g_last) * vinv;
      zinv[2][k] = x - Fp::One();
      zinv[3][k] = x - g_last;
    };
    auto invert_range = [&](size_t begin, size_t count) {
      BatchInverse(std::span<Fp>(zinv[2].data() + begin, count));
      BatchInverse(std::span<Fp>(zinv[3].data() + begin, count));
    };
    const long long chunk = static_cast<long long>(std::min<size_t>(size_t{1} << 12, l.n));
    const long long num_chunks = (static_cast<long long>(full_points) + chunk - 1) / chunk;
#pragma omp parallel for schedule(static) if (num_chunks > 1)
    for (long long cidx = 0; cidx < num_chunks; ++cidx) {
      // A chunk lies inside one coset (chunk divides n).
      const auto begin = static_cast<size_t>(cidx * chunk);
      const size_t end = std::min(begin + static_cast<size_t>(chunk), full_points);
      const size_t te = eval_coset[begin / l.n];
      Fp x = offset * we.Pow(te) * g.Pow(begin % l.n);
      const size_t pe_at = te * l.n + begin % l.n;  // point begin's element of prod_every
      for (size_t k = begin; k < end; ++k, x *= g) set_point(k, x, prod_every[pe_at + (k - begin)], vanish_inv[te]);
      // One inversion per chunk (and per thread), rather than one serial pass.
      invert_range(begin, end - begin);
    }
    if (m_x > 0) {
      const size_t stride = l.n / m_x;
      const Fp w_x = Fp::RootOfUnity(Log2(m_x));
      Fp x = sigma;
      for (size_t j = 0; j < m_x; ++j, x *= w_x) {
        set_point(full_points + j, x, prod_every[x_coset * l.n + j * stride], vanish_inv[x_coset]);
      }
      invert_range(full_points, m_x);
    }
  }
  // Periodic columns on the evaluation coset.
  std::vector<std::vector<Fp>> periodic_tables;
  for (const auto& cycle : l.periodic) {
    std::vector<Fp> coeffs = cycle;
    Interpolate(coeffs);
    const size_t len = cycle.size();
    periodic_tables.push_back(LowDegreeExtend(coeffs, E * len / l.n, offset.Pow(l.n / len)));
  }
  std::vector<std::vector<Fp>> h_parts = ZeroColumns(2, points);  // H's real and u parts, coset-major
  std::vector<uint64_t> alpha_re(num_main_c), alpha_im(num_main_c);
  std::vector<size_t> main_domain(num_main_c);
  for (size_t k = 0; k < num_main_c; ++k) {
    alpha_re[k] = alpha_pows[k].c0().value();
    alpha_im[k] = alpha_pows[k].c1().value();
    main_domain[k] = static_cast<size_t>(l.main_constraints[k].domain);
  }
  {
    ComposeContext cx;
    cx.air = &air;
    cx.l = &l;
    cx.main_of = main_of;
    cx.aux_of = aux_of;
    cx.coset_of = coset_of;
    cx.e_cosets = e_cosets;
    cx.full_points = full_points;
    cx.m_x = m_x;
    cx.x_stride = m_x > 0 ? l.n / m_x : 1;
    cx.x_coset = x_coset;
    cx.eval_coset = eval_coset;
    cx.main_x = &main_x;
    cx.aux_x = &aux_x;
    cx.periodic_tables = &periodic_tables;
    cx.zinv = &zinv;
    cx.alpha_re = &alpha_re;
    cx.alpha_im = &alpha_im;
    cx.main_domain = &main_domain;
    cx.alpha_pows = &alpha_pows;
    cx.aux_rand = aux_rand;
    cx.packed_aux = has_aux && air.HasPackedAux();
    cx.h_re = h_parts[0].data();
    cx.h_im = h_parts[1].data();
    // Eight points of a coset at a time (n is a power of two >= 4): packed rows when the AIR
    // evaluates them, else row by row with the combination packed.
    const bool by8 = l.n % 8 == 0;
    const bool packed = by8 && air.HasPackedMain();
    const size_t group = by8 ? 8 : 1;
    const long long num_groups = static_cast<long long>(points / group);
#pragma omp parallel if (E >= 4096)
    {
      ComposeScratch sc(cx, packed);
#pragma omp for schedule(static)
      for (long long gg = 0; gg < num_groups; ++gg) {
        const size_t k = static_cast<size_t>(gg) * group;
        if (packed) {
          ComposePacked8(cx, sc, k);
        } else if (by8) {
          ComposeRows8(cx, sc, k);
        } else {
          ComposeRow(cx, sc, k);
        }
      }
    }
  }
  zinv.clear();
  main_ext.clear();
  aux_ext.clear();
  main_x.clear();
  aux_x.clear();
  // On coset te (offset w_E^te <w_n>) x^n is the constant c_te = (offset w_E^te)^n, so there
  // H = sum_k x^{kn} H_k (H_k: coefficients kn .. kn + n - 1) agrees with G_te = sum_k c_te^k
  // H_k, of degree < n: interpolating each coset gives G_te, and the inverse of the K x K
  // Vandermonde matrix V[b][k] = c_{eval_coset[b]}^k gives back the H_k, coefficient by
  // coefficient, in place (H in natural coefficient order). The c_te are distinct.
  {
    std::vector<std::span<Fp>> cosets;
    std::vector<Fp> shifts;
    for (auto& part : h_parts) {
      for (size_t b = 0; b < K; ++b) {
        cosets.push_back(std::span<Fp>(part.data() + b * l.n, l.n));
        shifts.push_back(offset * we.Pow(eval_coset[b]));
      }
    }
    const long long count = static_cast<long long>(cosets.size());
#pragma omp parallel for schedule(dynamic, 1) if (l.n >= 1024)
    for (long long i = 0; i < count; ++i) {
      Interpolate(cosets[static_cast<size_t>(i)], shifts[static_cast<size_t>(i)]);
    }
    std::vector<Fp> nodes(K);
    for (size_t te = 0; te < K; ++te) nodes[te] = shifts[te].Pow(l.n);
    const std::vector<Fp> vinv = InverseVandermonde(nodes);  // vinv[k * K + te]
    const long long n_ll = static_cast<long long>(l.n);
#pragma omp parallel for schedule(static) if (K > 1 && l.n >= 1024)
    for (long long jj = 0; jj < n_ll; ++jj) {
      const auto j = static_cast<size_t>(jj);
      Fp g[2 * kMaxCompositionCosets];
      for (size_t part = 0; part < 2; ++part) {
        for (size_t te = 0; te < K; ++te) g[part * K + te] = h_parts[part][te * l.n + j];
      }
      for (size_t part = 0; part < 2; ++part) {
        for (size_t k = 0; k < K; ++k) {
          Fp acc = Fp::Zero();
          for (size_t te = 0; te < K; ++te) acc += vinv[k * K + te] * g[part * K + te];
          h_parts[part][k * l.n + j] = acc;
        }
      }
    }
    // With the small coset, H = sum_{k<K} x^{kn} H_k + x^{Kn} T, T of degree < D_H - K n
    // < m_x. Each full coset's interpolation is then G_te + c_te^K T, so the inversion above
    // gave H_k' = H_k + mu_k T with sum_k mu_k c_te^k = c_te^K. On the small coset x^n = d:
    // H = sum_k d^k H_k' + lambda T with lambda = d^K - sum_k mu_k d^k = prod_te (d - c_te),
    // not 0. So T's values there are (H - Q) / lambda, Q = sum_k d^k H_k' (formed on
    // coefficients and folded onto the small coset), T's coefficients their interpolation,
    // and H_k = H_k' - mu_k T. T's coefficients from D_H - K n on must be zero like H's above
    // D_H (the degree check below).
    if (m_x > 0) {
      const Fp d = sigma.Pow(l.n);
      std::vector<Fp> mu(K, Fp::Zero()), d_pows(K);
      Fp lambda = d.Pow(K);
      for (size_t k = 0; k < K; ++k) {
        for (size_t te = 0; te < K; ++te) mu[k] += vinv[k * K + te] * nodes[te].Pow(K);
        d_pows[k] = d.Pow(k);
        lambda -= mu[k] * d_pows[k];
      }
      const Fp lambda_inv = lambda.Inverse();
      std::vector<std::vector<Fp>> q = ZeroColumns(2, l.n);
#pragma omp parallel for schedule(static) if (l.n >= 1024)
      for (long long jj = 0; jj < n_ll; ++jj) {
        const auto j = static_cast<size_t>(jj);
        for (size_t part = 0; part < 2; ++part) {
          Fp acc = Fp::Zero();
          for (size_t k = 0; k < K; ++k) acc += d_pows[k] * h_parts[part][k * l.n + j];
          q[part][j] = acc;
        }
      }
      const std::vector<std::vector<Fp>> q_x = EvaluateColumnsOnSmallCoset(q, m_x, sigma);
      for (size_t part = 0; part < 2; ++part) {
        const std::span<Fp> t_x(h_parts[part].data() + full_points, m_x);
        for (size_t j = 0; j < m_x; ++j) t_x[j] = (t_x[j] - q_x[part][j]) * lambda_inv;
        Interpolate(t_x, sigma);
        for (size_t k = 0; k < K; ++k) {
          for (size_t tt = 0; tt < m_x; ++tt) h_parts[part][k * l.n + tt] -= mu[k] * t_x[tt];
        }
      }
    }
  }
  for (const auto& part : h_parts) {
    for (size_t i = l.composition_degree_bound; i < points; ++i) {
      if (!part[i].IsZero()) {
        st.composition_degree_ok = false;
        break;
      }
    }
  }
  // Segments H_k (degree < s) with zk blinding H_k' = H_k + x^s rho_k - rho_{k-1}, which
  // keeps sum_k x^{k s} H_k' = H while making each segment's openings uniformly random.
  const size_t D = l.num_segments, s = l.segment_size;
  std::vector<std::vector<Fp>> comp_coeffs(l.composition_columns(), std::vector<Fp>(l.n));
  for (size_t k = 0; k < D; ++k) {
    for (size_t tt = 0; tt < s; ++tt) {
      const size_t idx = k * s + tt;
      if (idx >= l.composition_degree_bound) break;
      comp_coeffs[2 * k][tt] = h_parts[0][idx];
      comp_coeffs[2 * k + 1][tt] = h_parts[1][idx];
    }
  }
  h_parts.clear();
  if (l.zk) {
    for (size_t k = 0; k + 1 < D; ++k) {
      for (size_t tt = 0; tt < l.blinding; ++tt) {
        const Fp2 r = rng.NextFp2();
        comp_coeffs[2 * k][s + tt] += r.c0();
        comp_coeffs[2 * k + 1][s + tt] += r.c1();
        comp_coeffs[2 * (k + 1)][tt] -= r.c0();
        comp_coeffs[2 * (k + 1) + 1][tt] -= r.c1();
      }
    }
    // Mask polynomial for the DEEP/FRI phase.
    for (size_t tt = 0; tt < l.n; ++tt) {
      comp_coeffs[2 * D][tt] = rng.NextFp();
      comp_coeffs[2 * D + 1][tt] = rng.NextFp();
    }
  }
  Committed comp = Commit(std::move(comp_coeffs), l, rng);
  proof.composition_root = comp.tree->root();
  ch.AbsorbDigest(proof.composition_root);
  st.composition_ms = MsSince(t);

  // 4. Out-of-domain evaluations.
  t = Clock::now();
  ASSIGN_OR_RETURN(const Fp2 z, DrawOodPoint(ch, l));
  const Fp g = Fp::RootOfUnity(l.log_n);
  const Fp2 zg = z * g;
  // Every column has n coefficients: tables of z^i and (zg)^i turn each evaluation into two
  // dot products with one reduction each (independent multiplications, unlike Horner).
  const std::vector<Fp2> z_pows = Powers(z, l.n), zg_pows = Powers(zg, l.n);
  proof.ood_main_current.resize(l.main_width);
  proof.ood_main_next.resize(l.main_width);
  proof.ood_aux_current.resize(l.aux_width);
  proof.ood_aux_next.resize(l.aux_width);
  proof.ood_composition.resize(D);
  {
    // Tasks: main columns (two points each), aux columns (two points), segments (one).
    const size_t tasks = l.main_width + l.aux_width + D;
    const long long w = static_cast<long long>(tasks);
#pragma omp parallel for schedule(dynamic, 1) if (l.n >= 1024)
    for (long long cc = 0; cc < w; ++cc) {
      const auto c = static_cast<size_t>(cc);
      if (c < l.main_width) {
        proof.ood_main_current[c] = DotPowers(main.coeffs[c], z_pows);
        proof.ood_main_next[c] = DotPowers(main.coeffs[c], zg_pows);
      } else if (c < l.main_width + l.aux_width) {
        const size_t a = c - l.main_width;
        proof.ood_aux_current[a] = DotPowersExt(aux.coeffs[2 * a], aux.coeffs[2 * a + 1], z_pows);
        proof.ood_aux_next[a] = DotPowersExt(aux.coeffs[2 * a], aux.coeffs[2 * a + 1], zg_pows);
      } else {
        const size_t k = c - l.main_width - l.aux_width;
        proof.ood_composition[k] = DotPowersExt(comp.coeffs[2 * k], comp.coeffs[2 * k + 1], z_pows);
      }
    }
  }
  for (Fp2 v : proof.ood_main_current) ch.AbsorbFp2(v);
  for (Fp2 v : proof.ood_main_next) ch.AbsorbFp2(v);
  for (Fp2 v : proof.ood_aux_current) ch.AbsorbFp2(v);
  for (Fp2 v : proof.ood_aux_next) ch.AbsorbFp2(v);
  for (Fp2 v : proof.ood_composition) ch.AbsorbFp2(v);
  st.ood_ms = MsSince(t);

  // 5. DEEP composition: sum gamma^i (f_i(x) - f_i(z)) / (x - z) over main, aux and
  // segments, plus the next-row terms over (x - zg), plus gamma^last * mask(x).
  t = Clock::now();
  const Fp2 gamma = ch.DrawFp2();
  const size_t W = l.main_width, A = l.aux_width;
  // Coefficient layout: [main cur W][aux cur A][segments D][main next W][aux next A][mask].
  const DeepCoefficients coeffs = ComputeDeepCoefficients(gamma, l, proof);
  const std::vector<Fp2>& gp = coeffs.powers;
  const Fp2 const_a = coeffs.const_a, const_b = coeffs.const_b;
  const Fp2 gamma_mask = coeffs.mask();
  // The column sums are linear, so they are formed once on coefficients (n per column)
  // and extended together, instead of per LDE point (N per column).
  std::vector<std::vector<Fp>> sums(4, std::vector<Fp>(l.n));  // A.re, A.im, B.re, B.im
  {
    // Each sum as terms (base-field column, extension coefficient): an extension column
    // re + u im with coefficient c is the terms (re, c) and (im, c u); then every sum is
    // two dot products per coefficient index, reduced once.
    struct Term {
      const Fp* col;
      uint64_t c0, c1;
    };
    std::vector<Term> terms_a, terms_b;
    auto add_base = [](std::vector<Term>& terms, const std::vector<Fp>& col, Fp2 c) {
      terms.push_back({col.data(), c.c0().value(), c.c1().value()});
    };
    auto add_ext = [&](std::vector<Term>& terms, const std::vector<Fp>& re, const std::vector<Fp>& im, Fp2 c) {
      add_base(terms, re, c);
      add_base(terms, im, c * kU);
    };
    for (size_t c = 0; c < W; ++c) {
      add_base(terms_a, main.coeffs[c], gp[c]);
      add_base(terms_b, main.coeffs[c], gp[W + A + D + c]);
    }
    for (size_t c = 0; c < A; ++c) {
      add_ext(terms_a, aux.coeffs[2 * c], aux.coeffs[2 * c + 1], gp[W + c]);
      add_ext(terms_b, aux.coeffs[2 * c], aux.coeffs[2 * c + 1], gp[2 * W + A + D + c]);
    }
    for (size_t k = 0; k < D; ++k) add_ext(terms_a, comp.coeffs[2 * k], comp.coeffs[2 * k + 1], gp[W + A + k]);
    const long long chunk = 1 << 10;
    const long long num_chunks = (static_cast<long long>(l.n) + chunk - 1) / chunk;
#pragma omp parallel for schedule(static) if (num_chunks > 1)
    for (long long cidx = 0; cidx < num_chunks; ++cidx) {
      const auto begin = static_cast<size_t>(cidx * chunk);
      const size_t end = std::min(begin + static_cast<size_t>(chunk), l.n);
      for (size_t i = begin; i < end; ++i) {
        DotAccumulator a_re, a_im, b_re, b_im;
        for (const Term& tm : terms_a) {
          const uint64_t v = tm.col[i].value();
          a_re.Add(tm.c0, v);
          a_im.Add(tm.c1, v);
        }
        for (const Term& tm : terms_b) {
          const uint64_t v = tm.col[i].value();
          b_re.Add(tm.c0, v);
          b_im.Add(tm.c1, v);
        }
        sums[0][i] = a_re.Reduce();
        sums[1][i] = a_im.Reduce();
        sums[2][i] = b_re.Reduce();
        sums[3][i] = b_im.Reduce();
      }
    }
  }
  // Same coset-major layout as the committed columns: element k is LDE point
  // (k / n) + cosets * (k % n).
  const std::vector<std::vector<Fp>> sums_lde = LowDegreeExtendColumnsCosets(sums, l.n, l.lde, offset);
  sums.clear();
  std::vector<Fp2> deep(l.lde);
  {
    const Fp wn = Fp::RootOfUnity(l.log_lde);
    const size_t cosets = l.lde / l.n;
    const Fp w_trace = wn.Pow(cosets);  // step between consecutive elements of a coset
    const long long total = static_cast<long long>(l.lde);
    const long long chunk = static_cast<long long>(std::min<size_t>(size_t{1} << 12, l.n));
    const long long num_chunks = (total + chunk - 1) / chunk;
#pragma omp parallel if (num_chunks > 1)
    {
      std::vector<Fp2> inv_a(static_cast<size_t>(chunk)), inv_b(static_cast<size_t>(chunk));
#pragma omp for schedule(static)
      for (long long cidx = 0; cidx < num_chunks; ++cidx) {
        // A chunk lies inside one coset (chunk divides n).
        const auto begin = static_cast<size_t>(cidx * chunk);
        const size_t end = std::min(begin + static_cast<size_t>(chunk), l.lde);
        const size_t coset = begin / l.n, p0 = begin % l.n;
        Fp x = offset * wn.Pow(coset) * w_trace.Pow(p0);
        for (size_t k = begin; k < end; ++k) {
          inv_a[k - begin] = Fp2(x) - z;
          inv_b[k - begin] = Fp2(x) - zg;
          x *= w_trace;
        }
        BatchInverse(std::span<Fp2>(inv_a.data(), end - begin));
        BatchInverse(std::span<Fp2>(inv_b.data(), end - begin));
        for (size_t k = begin; k < end; ++k) {
          const Fp2 sa(sums_lde[0][k], sums_lde[1][k]), sb(sums_lde[2][k], sums_lde[3][k]);
          Fp2 v = (sa - const_a) * inv_a[k - begin] + (sb - const_b) * inv_b[k - begin];
          if (l.zk) v += gamma_mask * Fp2(comp.lde[2 * D][k], comp.lde[2 * D + 1][k]);
          deep[coset + cosets * (p0 + (k - begin))] = v;
        }
      }
    }
  }
  st.deep_ms = MsSince(t);

  // 6. FRI commit phase.
  t = Clock::now();
  const size_t f = l.folding;
  std::vector<std::vector<Fp2>> layers;
  std::vector<std::unique_ptr<MerkleTree>> layer_trees;
  std::vector<Fp2> current = std::move(deep);
  Fp layer_offset = offset;
  for (size_t k = 0; k < l.fri_layer_sizes.size(); ++k) {
    const size_t m = current.size();
    const size_t leaves = m / f;
    // Leaf i holds (re, im) of current[i + t * leaves] for t < f: as 2f columns, the rows
    // hash eight at a time.
    DigestVector digests;
    {
      std::vector<std::vector<Fp>> leaf_cols(2 * f, std::vector<Fp>(leaves));
      for (size_t tt = 0; tt < f; ++tt) {
        const Fp2* src = current.data() + tt * leaves;
        Fp* re = leaf_cols[2 * tt].data();
        Fp* im = leaf_cols[2 * tt + 1].data();
        for (size_t i = 0; i < leaves; ++i) {
          re[i] = src[i].c0();
          im[i] = src[i].c1();
        }
      }
      std::vector<const std::vector<Fp>*> cols;
      for (const auto& col : leaf_cols) cols.push_back(&col);
      digests = HashRows(cols, leaves, nullptr);
    }
    layer_trees.push_back(std::make_unique<MerkleTree>(MerkleTree::Build(std::move(digests))));
    proof.fri_roots.push_back(layer_trees.back()->root());
    ch.AbsorbDigest(proof.fri_roots.back());
    const Fp2 beta = ch.DrawFp2();
    std::vector<Fp2> next(leaves);
    {
      const Fp w_inv = Fp::RootOfUnity(Log2(m)).Inverse();
      const Fp zeta_inv = Fp::RootOfUnity(Log2(f)).Inverse();
      std::vector<Fp> zeta_inv_pows(f);
      Fp zp = Fp::One();
      for (auto& e : zeta_inv_pows) {
        e = zp;
        zp *= zeta_inv;
      }
      const Fp f_inv = Fp(f).Inverse();
      const Fp off_inv = layer_offset.Inverse();
      const long long chunk = 1 << 10;
      const long long num_chunks = (static_cast<long long>(leaves) + chunk - 1) / chunk;
#pragma omp parallel for schedule(static) if (num_chunks > 1)
      for (long long cidx = 0; cidx < num_chunks; ++cidx) {
        const auto begin = static_cast<size_t>(cidx * chunk);
        const size_t end = std::min(begin + static_cast<size_t>(chunk), leaves);
        Fp x_inv = off_inv * w_inv.Pow(begin);
        for (size_t i = begin; i < end; ++i, x_inv *= w_inv) {
          Fp2 acc = Fp2::Zero();
          for (size_t tt = 0; tt < f; ++tt) {
            const Fp2 r = beta * (x_inv * zeta_inv_pows[tt]);
            Fp2 pw = Fp2::One(), sum = Fp2::Zero();
            for (size_t jj = 0; jj < f; ++jj) {
              sum += pw;
              pw *= r;
            }
            acc += current[i + tt * leaves] * sum;
          }
          next[i] = acc * f_inv;
        }
      }
    }
    layers.push_back(std::move(current));
    current = std::move(next);
    layer_offset = layer_offset.Pow(f);
  }
  {
    std::vector<std::vector<Fp>> parts(2, std::vector<Fp>(current.size()));
    for (size_t i = 0; i < current.size(); ++i) {
      parts[0][i] = current[i].c0();
      parts[1][i] = current[i].c1();
    }
    InterpolateColumns(parts, layer_offset);
    for (size_t i = 0; i < l.remainder_degree_bound; ++i) {
      proof.fri_remainder.emplace_back(parts[0][i], parts[1][i]);
    }
  }
  for (Fp2 c : proof.fri_remainder) ch.AbsorbFp2(c);
  st.fri_ms = MsSince(t);

  // 7. Grinding, then queries.
  t = Clock::now();
  proof.pow_nonce = ch.Grind(options.grinding_bits);
  ch.AbsorbU64(proof.pow_nonce);
  st.pow_ms = MsSince(t);
  t = Clock::now();
  const std::vector<size_t> positions = SortedUnique(ch.DrawIndices(options.num_queries, l.lde));
  proof.main_opening = OpenRows(main, positions);
  if (has_aux) proof.aux_opening = OpenRows(aux, positions);
  proof.composition_opening = OpenRows(comp, positions);
  std::vector<size_t> pos = positions;
  for (size_t k = 0; k < layers.size(); ++k) {
    const size_t m = layers[k].size();
    const size_t leaves = m / f;
    std::vector<size_t> leaf_idx;
    for (size_t p : pos) leaf_idx.push_back(FoldPosition(p, m, f));
    leaf_idx = SortedUnique(std::move(leaf_idx));
    TreeOpening o;
    for (size_t li : leaf_idx) {
      std::vector<Fp> row(2 * f);
      for (size_t tt = 0; tt < f; ++tt) {
        row[2 * tt] = layers[k][li + tt * leaves].c0();
        row[2 * tt + 1] = layers[k][li + tt * leaves].c1();
      }
      o.rows.push_back(std::move(row));
    }
    o.proof = layer_trees[k]->Open(leaf_idx);
    proof.fri_openings.push_back(std::move(o));
    pos = std::move(leaf_idx);
  }
  st.query_ms = MsSince(t);
  st.total_ms = MsSince(t_start);
  return proof;
}

void KeepFreedMemoryForProving() {
#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__)
  // Every block comes from the one main heap: no mmap (glibc's threshold cannot exceed
  // 32 MiB, and digest vectors of 2^21 leaves are 64 MiB), no per-thread arenas (OpenMP
  // threads allocate half the LDE columns; their arenas would map and unmap them), and the
  // heap is trimmed only above 2 GiB of free memory at its top. Measured, 2^18-row chain,
  // repeated proofs: 4.1-4.6 s with one arena, 5.0-5.6 s with per-thread arenas.
  mallopt(M_ARENA_MAX, 1);
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, INT_MAX);
#endif
}

}  // namespace vp::stark
