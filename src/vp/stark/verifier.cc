// STARK verifier, the mirror of prover.cc.
#include "vp/stark/verifier.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "vp/stark/layout.h"
#include "vp/stark/merkle.h"
#include "vp/stark/ntt.h"

namespace vp::stark {
namespace {


Status Reject(const std::string& reason) { return InvalidArgumentError("stark: " + reason); }

std::vector<size_t> SortedUnique(std::vector<size_t> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

// Checks shape and authentication of one table's openings at `positions`.
Status CheckOpening(const TreeOpening& o, const Digest& root, unsigned log_leaves,
                    std::span<const size_t> positions, size_t width, bool salted,
                    const std::string& name) {
  if (o.rows.size() != positions.size()) return Reject(name + ": wrong number of opened rows");
  for (const auto& r : o.rows) {
    if (r.size() != width) return Reject(name + ": opened row has the wrong width");
  }
  if (o.salts.size() != (salted ? positions.size() : 0)) return Reject(name + ": wrong number of salts");
  std::vector<Digest> leaves(positions.size());
  for (size_t i = 0; i < positions.size(); ++i) {
    leaves[i] = HashLeaf(o.rows[i], salted ? &o.salts[i] : nullptr);
  }
  const Status s = VerifyMultiProof(root, log_leaves, positions, leaves, o.proof);
  if (!s.ok()) return Reject(name + ": Merkle authentication failed (" + s.message() + ")");
  return OkStatus();
}

}  // namespace

Status Verify(const Air& air, const Proof& proof, const VerifierConfig& config) {
  const ProofOptions& opt = proof.options;
  if (Status s = opt.Validate(); !s.ok()) return Reject(s.message());
  if (proof.air_name != air.Name()) {
    return Reject("proof is for AIR '" + proof.air_name + "', expected '" + air.Name() + "'");
  }
  if (proof.public_inputs != air.PublicInputs()) return Reject("public inputs do not match the statement");
  auto layout_or = ComputeLayout(air, opt);
  if (!layout_or.ok()) return Reject(layout_or.status().message());
  const StarkLayout& l = *layout_or;
  const double bits = opt.ConjecturedSecurityBits(l.log_lde);
  if (bits < config.min_conjectured_bits) {
    return Reject("security below minimum: " + std::to_string(static_cast<int>(bits)) + " < " +
                  std::to_string(static_cast<int>(config.min_conjectured_bits)) + " conjectured bits");
  }
  if (proof.log_trace_length != l.log_n) return Reject("trace shape does not match the AIR");
  const size_t W = l.main_width, A = l.aux_width, D = l.num_segments;
  if (proof.has_aux != (A > 0)) return Reject("aux commitment presence does not match the AIR");
  if (proof.ood_main_current.size() != W || proof.ood_main_next.size() != W ||
      proof.ood_aux_current.size() != A || proof.ood_aux_next.size() != A ||
      proof.ood_composition.size() != D) {
    return Reject("out-of-domain values have the wrong shape");
  }
  if (proof.fri_roots.size() != l.fri_layer_sizes.size() ||
      proof.fri_openings.size() != l.fri_layer_sizes.size()) {
    return Reject("FRI layer count does not match the options");
  }
  if (proof.fri_remainder.size() != l.remainder_degree_bound) return Reject("FRI remainder has the wrong size");

  // Transcript replay.
  Channel ch = StartTranscript(air, opt, l);
  ch.AbsorbDigest(proof.main_root);
  std::vector<Fp2> aux_rand;
  if (A > 0) {
    for (size_t i = 0; i < l.num_aux_rand; ++i) aux_rand.push_back(ch.DrawFp2());
    ch.AbsorbDigest(proof.aux_root);
  }
  const Fp2 alpha = ch.DrawFp2();
  ch.AbsorbDigest(proof.composition_root);
  auto z_or = DrawOodPoint(ch, l);
  if (!z_or.ok()) return Reject(z_or.status().message());
  const Fp2 z = *z_or;
  for (Fp2 v : proof.ood_main_current) ch.AbsorbFp2(v);
  for (Fp2 v : proof.ood_main_next) ch.AbsorbFp2(v);
  for (Fp2 v : proof.ood_aux_current) ch.AbsorbFp2(v);
  for (Fp2 v : proof.ood_aux_next) ch.AbsorbFp2(v);
  for (Fp2 v : proof.ood_composition) ch.AbsorbFp2(v);

  // Out-of-domain check: H(z) from the trace values equals sum_k z^{k s} H_k(z).
  {
    std::vector<Fp2> periodic;
    for (const auto& cycle : l.periodic) {
      std::vector<Fp> coeffs = cycle;
      Interpolate(coeffs);
      periodic.push_back(EvaluatePolynomial<Fp, Fp2>(coeffs, z.Pow(l.n / cycle.size())));
    }
    std::vector<Fp2> out_main(l.main_constraints.size()), out_aux(l.aux_constraints.size());
    air.EvaluateMain(Frame<Fp2>{proof.ood_main_current, proof.ood_main_next}, periodic, out_main);
    if (A > 0) {
      air.EvaluateAux(Frame<Fp2>{proof.ood_main_current, proof.ood_main_next},
                      Frame<Fp2>{proof.ood_aux_current, proof.ood_aux_next}, periodic, aux_rand,
                      out_aux);
    }
    Fp2 acc[kNumConstraintDomains] = {};
    Fp2 a = Fp2::One();
    for (size_t k = 0; k < out_main.size(); ++k, a *= alpha) {
      acc[static_cast<size_t>(l.main_constraints[k].domain)] += a * out_main[k];
    }
    for (size_t k = 0; k < out_aux.size(); ++k, a *= alpha) {
      acc[static_cast<size_t>(l.aux_constraints[k].domain)] += a * out_aux[k];
    }
    Fp2 h = Fp2::Zero();
    for (size_t d = 0; d < kNumConstraintDomains; ++d) {
      const Fp2 zd = DivisorValue<Fp2>(static_cast<ConstraintDomain>(d), z, l);
      if (zd.IsZero()) return Reject("out-of-domain point is a root of a divisor");
      h += acc[d] * zd.Inverse();
    }
    Fp2 from_segments = Fp2::Zero();
    const Fp2 zs = z.Pow(l.segment_size);
    Fp2 zp = Fp2::One();
    for (size_t k = 0; k < D; ++k, zp *= zs) from_segments += zp * proof.ood_composition[k];
    if (h != from_segments) return Reject("out-of-domain constraint check failed");
  }

  const Fp2 gamma = ch.DrawFp2();
  std::vector<Fp2> betas;
  for (const Digest& root : proof.fri_roots) {
    ch.AbsorbDigest(root);
    betas.push_back(ch.DrawFp2());
  }
  for (Fp2 c : proof.fri_remainder) ch.AbsorbFp2(c);
  if (!ch.CheckPow(proof.pow_nonce, opt.grinding_bits)) return Reject("proof-of-work nonce is invalid");
  ch.AbsorbU64(proof.pow_nonce);
  const std::vector<size_t> positions = SortedUnique(ch.DrawIndices(opt.num_queries, l.lde));

  // Openings of the committed tables.
  RETURN_IF_ERROR(CheckOpening(proof.main_opening, proof.main_root, l.log_lde, positions, W, l.zk,
                               "main trace"));
  if (A > 0) {
    RETURN_IF_ERROR(CheckOpening(proof.aux_opening, proof.aux_root, l.log_lde, positions, 2 * A,
                                 l.zk, "aux trace"));
  }
  RETURN_IF_ERROR(CheckOpening(proof.composition_opening, proof.composition_root, l.log_lde,
                               positions, l.composition_columns(), l.zk, "composition"));

  // DEEP values at the queried positions.
  const DeepCoefficients deep = ComputeDeepCoefficients(gamma, l, proof);
  const std::vector<Fp2>& gp = deep.powers;
  const Fp2 const_a = deep.const_a, const_b = deep.const_b;
  const Fp g = Fp::RootOfUnity(l.log_n);
  const Fp2 zg = z * g;
  const Fp offset = DomainOffset();
  const Fp w_lde = Fp::RootOfUnity(l.log_lde);
  std::vector<Fp2> values(positions.size());
  for (size_t qi = 0; qi < positions.size(); ++qi) {
    const Fp x = offset * w_lde.Pow(positions[qi]);
    const auto& mrow = proof.main_opening.rows[qi];
    const auto& crow = proof.composition_opening.rows[qi];
    Fp2 sa = Fp2::Zero(), sb = Fp2::Zero();
    for (size_t c = 0; c < W; ++c) {
      sa += gp[c] * mrow[c];
      sb += gp[W + A + D + c] * mrow[c];
    }
    for (size_t c = 0; c < A; ++c) {
      const auto& arow = proof.aux_opening.rows[qi];
      const Fp2 v(arow[2 * c], arow[2 * c + 1]);
      sa += gp[W + c] * v;
      sb += gp[2 * W + A + D + c] * v;
    }
    for (size_t k = 0; k < D; ++k) sa += gp[W + A + k] * Fp2(crow[2 * k], crow[2 * k + 1]);
    Fp2 v = (sa - const_a) * (Fp2(x) - z).Inverse() + (sb - const_b) * (Fp2(x) - zg).Inverse();
    if (l.zk) v += gp.back() * Fp2(crow[2 * D], crow[2 * D + 1]);
    values[qi] = v;
  }

  // FRI: each layer's opened leaf must contain the running value; fold to the next layer.
  const size_t f = l.folding;
  std::vector<size_t> pos = positions;
  Fp layer_offset = offset;
  for (size_t k = 0; k < l.fri_layer_sizes.size(); ++k) {
    const size_t m = l.fri_layer_sizes[k];
    const size_t leaves = m / f;
    std::vector<size_t> leaf_idx;
    for (size_t p : pos) leaf_idx.push_back(FoldPosition(p, m, f));
    const std::vector<size_t> unique_idx = SortedUnique(leaf_idx);
    const TreeOpening& o = proof.fri_openings[k];
    const std::string name = "FRI layer " + std::to_string(k);
    RETURN_IF_ERROR(CheckOpening(o, proof.fri_roots[k], Log2(leaves), unique_idx, 2 * f, false, name));
    const Fp w_inv = Fp::RootOfUnity(Log2(m)).Inverse();
    const Fp off_inv = layer_offset.Inverse();
    std::vector<Fp2> next_values(pos.size());
    for (size_t qi = 0; qi < pos.size(); ++qi) {
      const size_t li = leaf_idx[qi];
      const size_t row = static_cast<size_t>(
          std::lower_bound(unique_idx.begin(), unique_idx.end(), li) - unique_idx.begin());
      const size_t slot = pos[qi] / leaves;
      const auto& r = o.rows[row];
      if (Fp2(r[2 * slot], r[2 * slot + 1]) != values[qi]) {
        return Reject(k == 0 ? "DEEP composition value does not match FRI layer 0"
                             : name + ": value does not match the previous fold");
      }
      std::vector<Fp2> sib(f);
      for (size_t tt = 0; tt < f; ++tt) sib[tt] = Fp2(r[2 * tt], r[2 * tt + 1]);
      next_values[qi] = FoldValues(sib, off_inv * w_inv.Pow(li), betas[k]);
    }
    values = std::move(next_values);
    pos = std::move(leaf_idx);
    layer_offset = layer_offset.Pow(f);
  }
  // Remainder: direct evaluation.
  const size_t m_last = l.lde >> (l.fri_layer_sizes.size() * static_cast<size_t>(opt.log_folding_factor));
  const Fp w_last = Fp::RootOfUnity(Log2(m_last));
  for (size_t qi = 0; qi < pos.size(); ++qi) {
    const Fp2 x(layer_offset * w_last.Pow(pos[qi]));
    if (EvaluatePolynomial<Fp2, Fp2>(proof.fri_remainder, x) != values[qi]) {
      return Reject(l.fri_layer_sizes.empty() ? "DEEP composition value does not match the FRI remainder"
                                              : "FRI remainder does not match the last fold");
    }
  }
  return OkStatus();
}

Status VerifyBytes(const Air& air, ByteSpan proof_bytes, const VerifierConfig& config) {
  auto proof = DeserializeProof(proof_bytes);
  if (!proof.ok()) return Reject("malformed proof: " + proof.status().message());
  return Verify(air, *proof, config);
}

}  // namespace vp::stark
