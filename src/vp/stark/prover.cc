// STARK prover. The protocol, step by step, is described in docs/proof_format.md; the
// verifier (verifier.cc) mirrors every step in the same order.
#include "vp/stark/prover.h"

#include <algorithm>
#include <chrono>
#include <memory>

#include "vp/stark/layout.h"
#include "vp/stark/merkle.h"
#include "vp/stark/ntt.h"

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
// and the Merkle tree over LDE rows.
struct Committed {
  std::vector<std::vector<Fp>> coeffs;
  std::vector<std::vector<Fp>> lde;
  std::vector<Salt> salts;
  std::unique_ptr<MerkleTree> tree;
};

Committed Commit(std::vector<std::vector<Fp>> coeffs, const StarkLayout& l, RandomSource& rng) {
  Committed c;
  c.lde = LowDegreeExtendColumns(coeffs, l.lde, DomainOffset());
  c.coeffs = std::move(coeffs);
  if (l.zk) {
    c.salts.resize(l.lde);
    for (auto& s : c.salts) s = rng.NextSalt();
  }
  std::vector<const std::vector<Fp>*> cols;
  for (const auto& col : c.lde) cols.push_back(&col);
  c.tree = std::make_unique<MerkleTree>(MerkleTree::Build(HashRows(cols, l.lde, c.salts)));
  return c;
}

// Pads real rows to n (random rows in zk mode, zeros otherwise) and interpolates.
std::vector<std::vector<Fp>> PadAndInterpolate(std::vector<std::vector<Fp>> cols,
                                               const StarkLayout& l, RandomSource& rng) {
  for (auto& col : cols) {
    const size_t real = col.size();
    col.resize(l.n);
    for (size_t i = real; i < l.n; ++i) col[i] = l.zk ? rng.NextFp() : Fp::Zero();
  }
  InterpolateColumns(cols);
  return cols;
}

TreeOpening OpenRows(const Committed& c, std::span<const size_t> positions) {
  TreeOpening o;
  for (size_t p : positions) {
    std::vector<Fp> row(c.lde.size());
    for (size_t j = 0; j < c.lde.size(); ++j) row[j] = c.lde[j][p];
    o.rows.push_back(std::move(row));
    if (!c.salts.empty()) o.salts.push_back(c.salts[p]);
  }
  o.proof = c.tree->Open(positions);
  return o;
}

Fp2 EvalExt(const std::vector<Fp>& re, const std::vector<Fp>& im, Fp2 z) {
  return EvaluatePolynomial<Fp, Fp2>(re, z) + kU * EvaluatePolynomial<Fp, Fp2>(im, z);
}

std::vector<size_t> SortedUnique(std::vector<size_t> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
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
    aux = Commit(PadAndInterpolate(std::move(split), l, rng), l, rng);
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
  // Trace values on the evaluation coset: a strided view of the LDE when E <= N.
  std::vector<std::vector<Fp>> main_e_owned, aux_e_owned;
  const std::vector<std::vector<Fp>>* main_e = &main.lde;
  const std::vector<std::vector<Fp>>* aux_e = &aux.lde;
  size_t stride = 1;
  if (E <= l.lde) {
    stride = l.lde / E;
  } else {
    main_e_owned = LowDegreeExtendColumns(main.coeffs, E, offset);
    main_e = &main_e_owned;
    if (has_aux) {
      aux_e_owned = LowDegreeExtendColumns(aux.coeffs, E, offset);
      aux_e = &aux_e_owned;
    }
  }
  // Divisor inverses per constraint domain.
  std::vector<std::vector<Fp>> zinv(kNumConstraintDomains, std::vector<Fp>(E));
  {
    const Fp g = Fp::RootOfUnity(l.log_n);
    const Fp we = Fp::RootOfUnity(Log2(E));
    const size_t period = E / l.n;  // x^n repeats with this period on the coset
    std::vector<Fp> vanish_inv(period);
    {
      const Fp wp = we.Pow(l.n);
      Fp xn = offset.Pow(l.n);
      for (size_t i = 0; i < period; ++i) {
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
    const std::vector<Fp> prod_every = LowDegreeExtend(PolyFromRoots(excluded_roots), E, offset);
    const Fp g_last = g.Pow(l.u - 1);
    const long long chunk = 1 << 12;
    const long long num_chunks = (static_cast<long long>(E) + chunk - 1) / chunk;
#pragma omp parallel for schedule(static) if (num_chunks > 1)
    for (long long cidx = 0; cidx < num_chunks; ++cidx) {
      const auto begin = static_cast<size_t>(cidx * chunk);
      const size_t end = std::min(begin + static_cast<size_t>(chunk), E);
      Fp x = offset * we.Pow(begin);
      for (size_t i = begin; i < end; ++i, x *= we) {
        const Fp vinv = vanish_inv[i % period];
        zinv[0][i] = prod_every[i] * vinv;
        zinv[1][i] = prod_every[i] * (x - g_last) * vinv;
        zinv[2][i] = x - Fp::One();
        zinv[3][i] = x - g_last;
      }
    }
    BatchInverse(std::span<Fp>(zinv[2]));
    BatchInverse(std::span<Fp>(zinv[3]));
  }
  // Periodic columns on the evaluation coset.
  std::vector<std::vector<Fp>> periodic_tables;
  for (const auto& cycle : l.periodic) {
    std::vector<Fp> coeffs = cycle;
    Interpolate(coeffs);
    const size_t len = cycle.size();
    periodic_tables.push_back(LowDegreeExtend(coeffs, E * len / l.n, offset.Pow(l.n / len)));
  }
  std::vector<Fp> h_re(E), h_im(E);
  std::vector<uint64_t> alpha_re(num_main_c), alpha_im(num_main_c);
  std::vector<size_t> main_domain(num_main_c);
  for (size_t k = 0; k < num_main_c; ++k) {
    alpha_re[k] = alpha_pows[k].c0().value();
    alpha_im[k] = alpha_pows[k].c1().value();
    main_domain[k] = static_cast<size_t>(l.main_constraints[k].domain);
  }
  {
    const long long e_ll = static_cast<long long>(E);
    const size_t next_shift = E / l.n;
#pragma omp parallel if (E >= 4096)
    {
      std::vector<Fp> cur(l.main_width), nxt(l.main_width), per(periodic_tables.size());
      std::vector<Fp> out_main(num_main_c);
      std::vector<Fp2> cur2, nxt2, acur, anxt, per2, out_aux(num_aux_c);
      if (has_aux) {
        cur2.resize(l.main_width);
        nxt2.resize(l.main_width);
        acur.resize(l.aux_width);
        anxt.resize(l.aux_width);
        per2.resize(periodic_tables.size());
      }
#pragma omp for schedule(static)
      for (long long ii = 0; ii < e_ll; ++ii) {
        const auto i = static_cast<size_t>(ii);
        const size_t j = (i + next_shift) % E;
        for (size_t c = 0; c < l.main_width; ++c) {
          cur[c] = (*main_e)[c][i * stride];
          nxt[c] = (*main_e)[c][j * stride];
        }
        for (size_t k = 0; k < periodic_tables.size(); ++k) {
          per[k] = periodic_tables[k][i % periodic_tables[k].size()];
        }
        air.EvaluateMain(Frame<Fp>{cur, nxt}, per, out_main);
        DotAccumulator dre[kNumConstraintDomains], dim[kNumConstraintDomains];
        for (size_t k = 0; k < num_main_c; ++k) {
          const size_t d = main_domain[k];
          dre[d].Add(alpha_re[k], out_main[k].value());
          dim[d].Add(alpha_im[k], out_main[k].value());
        }
        Fp2 acc[kNumConstraintDomains];
        for (size_t d = 0; d < kNumConstraintDomains; ++d) acc[d] = Fp2(dre[d].Reduce(), dim[d].Reduce());
        if (has_aux) {
          for (size_t c = 0; c < l.main_width; ++c) {
            cur2[c] = cur[c];
            nxt2[c] = nxt[c];
          }
          for (size_t c = 0; c < l.aux_width; ++c) {
            acur[c] = Fp2((*aux_e)[2 * c][i * stride], (*aux_e)[2 * c + 1][i * stride]);
            anxt[c] = Fp2((*aux_e)[2 * c][j * stride], (*aux_e)[2 * c + 1][j * stride]);
          }
          for (size_t k = 0; k < per.size(); ++k) per2[k] = per[k];
          air.EvaluateAux(Frame<Fp2>{cur2, nxt2}, Frame<Fp2>{acur, anxt}, per2, aux_rand, out_aux);
          for (size_t k = 0; k < num_aux_c; ++k) {
            acc[static_cast<size_t>(l.aux_constraints[k].domain)] += alpha_pows[num_main_c + k] * out_aux[k];
          }
        }
        Fp2 h = Fp2::Zero();
        for (size_t d = 0; d < kNumConstraintDomains; ++d) h += acc[d] * zinv[d][i];
        h_re[i] = h.c0();
        h_im[i] = h.c1();
      }
    }
  }
  zinv.clear();
  main_e_owned.clear();
  aux_e_owned.clear();
  std::vector<std::vector<Fp>> h_parts = {std::move(h_re), std::move(h_im)};
  InterpolateColumns(h_parts, offset);
  for (const auto& part : h_parts) {
    for (size_t i = l.composition_degree_bound; i < E; ++i) {
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
  proof.ood_main_current.resize(l.main_width);
  proof.ood_main_next.resize(l.main_width);
  {
    const long long w = static_cast<long long>(l.main_width);
#pragma omp parallel for schedule(dynamic, 1) if (l.n >= 1024)
    for (long long cc = 0; cc < w; ++cc) {
      const auto c = static_cast<size_t>(cc);
      proof.ood_main_current[c] = EvaluatePolynomial<Fp, Fp2>(main.coeffs[c], z);
      proof.ood_main_next[c] = EvaluatePolynomial<Fp, Fp2>(main.coeffs[c], zg);
    }
  }
  for (size_t c = 0; c < l.aux_width; ++c) {
    proof.ood_aux_current.push_back(EvalExt(aux.coeffs[2 * c], aux.coeffs[2 * c + 1], z));
    proof.ood_aux_next.push_back(EvalExt(aux.coeffs[2 * c], aux.coeffs[2 * c + 1], zg));
  }
  for (size_t k = 0; k < D; ++k) {
    proof.ood_composition.push_back(EvalExt(comp.coeffs[2 * k], comp.coeffs[2 * k + 1], z));
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
    const long long chunk = 1 << 10;
    const long long num_chunks = (static_cast<long long>(l.n) + chunk - 1) / chunk;
#pragma omp parallel for schedule(static) if (num_chunks > 1)
    for (long long cidx = 0; cidx < num_chunks; ++cidx) {
      const auto begin = static_cast<size_t>(cidx * chunk);
      const size_t end = std::min(begin + static_cast<size_t>(chunk), l.n);
      for (size_t i = begin; i < end; ++i) {
        Fp2 sa = Fp2::Zero(), sb = Fp2::Zero();
        for (size_t c = 0; c < W; ++c) {
          const Fp v = main.coeffs[c][i];
          sa += gp[c] * v;
          sb += gp[W + A + D + c] * v;
        }
        for (size_t c = 0; c < A; ++c) {
          const Fp2 v(aux.coeffs[2 * c][i], aux.coeffs[2 * c + 1][i]);
          sa += gp[W + c] * v;
          sb += gp[2 * W + A + D + c] * v;
        }
        for (size_t k = 0; k < D; ++k) {
          sa += gp[W + A + k] * Fp2(comp.coeffs[2 * k][i], comp.coeffs[2 * k + 1][i]);
        }
        sums[0][i] = sa.c0();
        sums[1][i] = sa.c1();
        sums[2][i] = sb.c0();
        sums[3][i] = sb.c1();
      }
    }
  }
  const std::vector<std::vector<Fp>> sums_lde = LowDegreeExtendColumns(sums, l.lde, offset);
  sums.clear();
  std::vector<Fp2> deep(l.lde);
  {
    const Fp wn = Fp::RootOfUnity(l.log_lde);
    const long long total = static_cast<long long>(l.lde);
    const long long chunk = 1 << 12;
    const long long num_chunks = (total + chunk - 1) / chunk;
#pragma omp parallel if (num_chunks > 1)
    {
      std::vector<Fp2> inv_a(static_cast<size_t>(chunk)), inv_b(static_cast<size_t>(chunk));
#pragma omp for schedule(static)
      for (long long cidx = 0; cidx < num_chunks; ++cidx) {
        const auto begin = static_cast<size_t>(cidx * chunk);
        const size_t end = std::min(begin + static_cast<size_t>(chunk), l.lde);
        Fp x = offset * wn.Pow(begin);
        for (size_t i = begin; i < end; ++i) {
          inv_a[i - begin] = Fp2(x) - z;
          inv_b[i - begin] = Fp2(x) - zg;
          x *= wn;
        }
        BatchInverse(std::span<Fp2>(inv_a.data(), end - begin));
        BatchInverse(std::span<Fp2>(inv_b.data(), end - begin));
        for (size_t i = begin; i < end; ++i) {
          const Fp2 sa(sums_lde[0][i], sums_lde[1][i]), sb(sums_lde[2][i], sums_lde[3][i]);
          Fp2 v = (sa - const_a) * inv_a[i - begin] + (sb - const_b) * inv_b[i - begin];
          if (l.zk) v += gamma_mask * Fp2(comp.lde[2 * D][i], comp.lde[2 * D + 1][i]);
          deep[i] = v;
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
    std::vector<Digest> digests(leaves);
    {
      const long long nl = static_cast<long long>(leaves);
#pragma omp parallel if (nl >= 2048)
      {
        std::vector<Fp> row(2 * f);
#pragma omp for schedule(static)
        for (long long ii = 0; ii < nl; ++ii) {
          const auto i = static_cast<size_t>(ii);
          for (size_t tt = 0; tt < f; ++tt) {
            row[2 * tt] = current[i + tt * leaves].c0();
            row[2 * tt + 1] = current[i + tt * leaves].c1();
          }
          digests[i] = HashLeaf(row, nullptr);
        }
      }
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

}  // namespace vp::stark
