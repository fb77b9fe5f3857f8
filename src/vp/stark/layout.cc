// Layout derivation and the transcript preamble.
#include "vp/stark/layout.h"

#include <algorithm>
#include <string>

#include "vp/stark/ntt.h"
#include "vp/stark/proof.h"

namespace vp::stark {

StatusOr<StarkLayout> ComputeLayout(const Air& air, const ProofOptions& options) {
  RETURN_IF_ERROR(options.Validate());
  StarkLayout l;
  l.u = air.TraceRows();
  l.main_width = air.MainWidth();
  l.aux_width = air.AuxWidth();
  l.num_aux_rand = air.NumAuxRandomElements();
  l.main_constraints = air.MainConstraints();
  l.aux_constraints = air.AuxConstraints();
  l.periodic = air.PeriodicColumns();
  l.zk = options.zero_knowledge;
  if (l.u < 2) return InvalidArgumentError("air: at least 2 trace rows are required");
  if (l.main_width == 0 || l.main_width > 1024) return InvalidArgumentError("air: main width must be 1..1024");
  if (l.aux_width > 256 || l.num_aux_rand > 64) return InvalidArgumentError("air: aux shape out of range");
  if (l.main_constraints.empty()) return InvalidArgumentError("air: no constraints");
  if ((l.aux_width == 0) != l.aux_constraints.empty()) {
    return InvalidArgumentError("air: aux constraints need aux columns and vice versa");
  }
  const size_t q = options.num_queries;
  const size_t pad = l.zk ? 2 * q + 4 : 0;
  size_t n = 4;
  while (n < l.u + pad) n *= 2;
  if (l.zk && n < 2 * (q + 1)) n = 2 * (q + 1);
  while (!IsPowerOfTwo(n)) ++n;
  l.n = n;
  l.log_n = Log2(n);
  if (l.log_n > kMaxLogTraceLength) return InvalidArgumentError("air: trace too long");
  l.log_lde = l.log_n + options.log_blowup;
  l.lde = size_t{1} << l.log_lde;

  size_t max_coeffs = 1;
  auto account = [&](const std::vector<ConstraintInfo>& cs) -> Status {
    for (const auto& c : cs) {
      if (c.degree < 1 || c.degree > 16) return InvalidArgumentError("air: constraint degree must be 1..16");
      size_t zdeg = 1;
      if (c.domain == ConstraintDomain::kEveryRow) zdeg = l.u;
      if (c.domain == ConstraintDomain::kTransition) zdeg = l.u - 1;
      const size_t num = c.degree * (n - 1);
      const size_t coeffs = num >= zdeg ? num - zdeg + 1 : 1;
      max_coeffs = std::max(max_coeffs, coeffs);
    }
    return OkStatus();
  };
  RETURN_IF_ERROR(account(l.main_constraints));
  RETURN_IF_ERROR(account(l.aux_constraints));
  for (const auto& p : l.periodic) {
    if (p.empty() || !IsPowerOfTwo(p.size()) || p.size() > n) {
      return InvalidArgumentError("air: periodic column length must be a power of two <= trace length");
    }
  }
  l.composition_degree_bound = max_coeffs;
  size_t e = n;
  while (e < max_coeffs) e *= 2;
  l.eval = e;
  if (Log2(e) > 30) return InvalidArgumentError("air: constraint degree too high for this trace");
  l.blinding = l.zk ? q + 1 : 0;
  l.segment_size = n - l.blinding;
  l.num_segments = (max_coeffs + l.segment_size - 1) / l.segment_size;

  l.folding = size_t{1} << options.log_folding_factor;
  size_t d = n, m = l.lde;
  const size_t rem_max = size_t{1} << options.log_remainder_max;
  while (d > rem_max && d >= l.folding) {
    l.fri_layer_sizes.push_back(m);
    d /= l.folding;
    m /= l.folding;
  }
  l.remainder_degree_bound = d;
  return l;
}

Channel StartTranscript(const Air& air, const ProofOptions& o, const StarkLayout& l) {
  Channel ch(kProtocolId);
  ch.AbsorbU64(kProofVersion);
  const uint8_t opts[6] = {o.log_blowup, o.num_queries, o.grinding_bits, o.log_folding_factor,
                           o.log_remainder_max, static_cast<uint8_t>(o.zero_knowledge ? 1 : 0)};
  ch.AbsorbBytes(opts);
  const std::string name = air.Name();
  ch.AbsorbU64(name.size());
  ch.AbsorbBytes(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(name.data()), name.size()));
  ch.AbsorbU64(l.log_n);
  ch.AbsorbU64(l.u);
  ch.AbsorbU64(l.main_width);
  ch.AbsorbU64(l.aux_width);
  ch.AbsorbU64(l.main_constraints.size());
  ch.AbsorbU64(l.aux_constraints.size());
  const std::vector<Fp> pub = air.PublicInputs();
  ch.AbsorbU64(pub.size());
  for (Fp x : pub) ch.AbsorbFp(x);
  return ch;
}

bool OodPointAllowed(Fp2 z, const StarkLayout& l) {
  const Fp offset_inv = DomainOffset().Inverse();
  if (z.Pow(l.n) == Fp2::One()) return false;                    // in the trace domain
  if ((z * offset_inv).Pow(l.lde) == Fp2::One()) return false;   // in the LDE coset
  if ((z * offset_inv).Pow(l.eval) == Fp2::One()) return false;  // in the evaluation coset
  return true;
}

StatusOr<Fp2> DrawOodPoint(Channel& channel, const StarkLayout& l) {
  for (int attempt = 0; attempt < 64; ++attempt) {
    const Fp2 z = channel.DrawFp2();
    if (OodPointAllowed(z, l)) return z;
  }
  return InternalError("could not draw an out-of-domain point");
}

Fp2 FoldValues(std::span<const Fp2> values, Fp x_inv, Fp2 beta) {
  const size_t f = values.size();
  const Fp zeta_inv = Fp::RootOfUnity(Log2(f)).Inverse();
  Fp2 acc = Fp2::Zero();
  Fp step = x_inv;  // (x * zeta^t)^-1
  for (size_t t = 0; t < f; ++t) {
    const Fp2 r = beta * step;
    Fp2 pw = Fp2::One(), sum = Fp2::Zero();
    for (size_t j = 0; j < f; ++j) {
      sum += pw;
      pw *= r;
    }
    acc += values[t] * sum;
    step *= zeta_inv;
  }
  return acc * Fp(f).Inverse();
}

DeepCoefficients ComputeDeepCoefficients(Fp2 gamma, const StarkLayout& l, const Proof& proof) {
  const size_t W = l.main_width, A = l.aux_width, D = l.num_segments;
  DeepCoefficients d;
  d.powers.resize(2 * W + 2 * A + D + 1);
  Fp2 a = Fp2::One();
  for (auto& p : d.powers) {
    p = a;
    a *= gamma;
  }
  const auto& gp = d.powers;
  for (size_t c = 0; c < W; ++c) {
    d.const_a += gp[c] * proof.ood_main_current[c];
    d.const_b += gp[W + A + D + c] * proof.ood_main_next[c];
  }
  for (size_t c = 0; c < A; ++c) {
    d.const_a += gp[W + c] * proof.ood_aux_current[c];
    d.const_b += gp[2 * W + A + D + c] * proof.ood_aux_next[c];
  }
  for (size_t k = 0; k < D; ++k) d.const_a += gp[W + A + k] * proof.ood_composition[k];
  return d;
}

}  // namespace vp::stark
