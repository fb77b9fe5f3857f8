// Permutation AIR (a test statement for the randomized auxiliary trace and periodic columns):
// private columns x and y, where y is a permutation of x, proven with a running-product
// column z over challenges (gamma) drawn after the main commitment:
//   z_0 = 1,  z_{i+1} (gamma - y_i) = z_i (gamma - x_i),  z_{u-1} (gamma - x_{u-1}) = gamma - y_{u-1}.
// A third column k must equal the periodic cycle [3, 1, 4, 1, 5, 9, 2, 6].
// Public inputs: [u]. Nothing else about x or y is public, which makes it the statement of
// the zero-knowledge tests.
#pragma once

#include "vp/base/status.h"
#include "vp/stark/air.h"
#include "vp/stark/random.h"

namespace vp::stark {

class PermutationAir final : public Air {
 public:
  explicit PermutationAir(size_t rows) : rows_(rows) {}
  static StatusOr<PermutationAir> FromPublicInputs(std::span<const Fp> pub);
  // Random x and a random permutation of it as y.
  TraceColumns GenerateTrace(RandomSource& rng) const;

  std::string Name() const override { return "permutation"; }
  std::vector<Fp> PublicInputs() const override { return {Fp(rows_)}; }
  size_t TraceRows() const override { return rows_; }
  size_t MainWidth() const override { return 3; }
  std::vector<ConstraintInfo> MainConstraints() const override {
    return {{1, ConstraintDomain::kEveryRow}};
  }
  std::vector<std::vector<Fp>> PeriodicColumns() const override;
  void EvaluateMain(const Frame<Fp>& f, std::span<const Fp> p, std::span<Fp> out) const override {
    out[0] = f.current[2] - p[0];
  }
  void EvaluateMain(const Frame<Fp2>& f, std::span<const Fp2> p, std::span<Fp2> out) const override {
    out[0] = f.current[2] - p[0];
  }
  size_t AuxWidth() const override { return 1; }
  size_t NumAuxRandomElements() const override { return 1; }
  std::vector<ConstraintInfo> AuxConstraints() const override {
    return {{1, ConstraintDomain::kFirstRow},
            {2, ConstraintDomain::kTransition},
            {2, ConstraintDomain::kLastRow}};
  }
  ExtTraceColumns BuildAuxTrace(const TraceColumns& main, std::span<const Fp2> rand) const override;
  void EvaluateAux(const Frame<Fp2>& main, const Frame<Fp2>& aux, std::span<const Fp2> periodic,
                   std::span<const Fp2> rand, std::span<Fp2> out) const override;

 private:
  size_t rows_;
};

}  // namespace vp::stark
