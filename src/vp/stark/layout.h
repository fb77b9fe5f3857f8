// Shapes both sides derive from an AIR and proof options (internal to the engine): padded
// trace length, domains, composition segments, FRI layers, and the transcript preamble.
#pragma once

#include <cstddef>
#include <vector>

#include "vp/base/status.h"
#include "vp/stark/air.h"
#include "vp/stark/channel.h"
#include "vp/stark/options.h"
#include "vp/stark/proof.h"

namespace vp::stark {

struct StarkLayout {
  size_t u = 0;          // real rows
  size_t n = 0;          // padded trace length (power of two)
  unsigned log_n = 0;
  size_t lde = 0;        // LDE domain size N = n * blowup
  unsigned log_lde = 0;
  size_t eval = 0;       // constraint-evaluation domain size E
  size_t main_width = 0;
  size_t aux_width = 0;  // extension columns
  size_t num_aux_rand = 0;
  std::vector<ConstraintInfo> main_constraints, aux_constraints;
  std::vector<std::vector<Fp>> periodic;
  size_t composition_degree_bound = 0;  // D_H: number of coefficients of H
  size_t blinding = 0;                  // R_c: blinding degree of segments (zk)
  size_t segment_size = 0;              // s = n - R_c
  size_t num_segments = 0;              // D
  bool zk = false;
  size_t folding = 0;                   // f
  std::vector<size_t> fri_layer_sizes;  // domain size of each committed FRI layer
  size_t remainder_degree_bound = 0;    // coefficients in the remainder
  size_t composition_columns() const { return 2 * num_segments + (zk ? 2 : 0); }
};

// DEEP composition coefficients, one function for both sides so they cannot drift:
// powers[i] = gamma^i laid out as [main cur W][aux cur A][segments D][main next W]
// [aux next A][mask], and the constant terms const_a = sum over the current-row terms of
// gamma^i * f_i(z) and const_b = sum over the next-row terms of gamma^j * f_j(z*g), formed
// from the out-of-domain values in the proof.
struct DeepCoefficients {
  std::vector<Fp2> powers;
  Fp2 const_a = Fp2::Zero();
  Fp2 const_b = Fp2::Zero();
  Fp2 mask() const { return powers.back(); }
};
DeepCoefficients ComputeDeepCoefficients(Fp2 gamma, const StarkLayout& layout, const Proof& proof);

inline constexpr size_t kMaxLogTraceLength = 26;
inline Fp DomainOffset() { return Fp::Generator(); }

// Validates the AIR's declarations (widths, degrees, periodic lengths) against the options.
StatusOr<StarkLayout> ComputeLayout(const Air& air, const ProofOptions& options);

// Absorbs protocol id, version, options, AIR name, trace shape and public inputs.
Channel StartTranscript(const Air& air, const ProofOptions& options, const StarkLayout& layout);

// False for points of the trace domain, the LDE coset or the evaluation coset (where the
// DEEP quotients or the divisors would be undefined or leak trace values).
bool OodPointAllowed(Fp2 z, const StarkLayout& layout);
// Draws the out-of-domain point, redrawing while OodPointAllowed is false.
StatusOr<Fp2> DrawOodPoint(Channel& channel, const StarkLayout& layout);

// The divisor Z_d(x) of constraint domain d: vanishes exactly on the rows d constrains.
template <typename F>
F DivisorValue(ConstraintDomain d, F x, const StarkLayout& l) {
  const Fp g = Fp::RootOfUnity(l.log_n);
  auto excluded_product = [&](size_t from) {
    F prod = F(Fp::One());
    Fp gi = g.Pow(from);
    for (size_t j = from; j < l.n; ++j) {
      prod = prod * (x - gi);
      gi *= g;
    }
    return prod;
  };
  switch (d) {
    case ConstraintDomain::kEveryRow:
      return (x.Pow(l.n) - Fp::One()) * excluded_product(l.u).Inverse();
    case ConstraintDomain::kTransition:
      return (x.Pow(l.n) - Fp::One()) * excluded_product(l.u - 1).Inverse();
    case ConstraintDomain::kFirstRow:
      return x - Fp::One();
    case ConstraintDomain::kLastRow:
      return x - g.Pow(l.u - 1);
  }
  return F(Fp::One());
}

// Positions of a query in each FRI layer: p_0 = position, p_{k+1} = p_k mod (size_k / f).
inline size_t FoldPosition(size_t p, size_t layer_size, size_t folding) {
  return p % (layer_size / folding);
}

// Value of the folded polynomial at x^f from the f values P(x * zeta^t), t < f.
Fp2 FoldValues(std::span<const Fp2> values, Fp x_inv, Fp2 beta);

}  // namespace vp::stark
