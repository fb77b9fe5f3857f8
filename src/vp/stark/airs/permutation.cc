// Permutation AIR.
#include "vp/stark/airs/permutation.h"

#include <utility>

namespace vp::stark {

StatusOr<PermutationAir> PermutationAir::FromPublicInputs(std::span<const Fp> pub) {
  if (pub.size() != 1) return InvalidArgumentError("permutation: expected 1 public input");
  const uint64_t rows = pub[0].value();
  if (rows < 2 || rows > (uint64_t{1} << 24)) return InvalidArgumentError("permutation: rows out of range");
  return PermutationAir(static_cast<size_t>(rows));
}

std::vector<std::vector<Fp>> PermutationAir::PeriodicColumns() const {
  return {{Fp(3), Fp(1), Fp(4), Fp(1), Fp(5), Fp(9), Fp(2), Fp(6)}};
}

TraceColumns PermutationAir::GenerateTrace(RandomSource& rng) const {
  TraceColumns t(3, std::vector<Fp>(rows_));
  for (size_t i = 0; i < rows_; ++i) t[0][i] = rng.NextFp();
  t[1] = t[0];
  for (size_t i = rows_; i-- > 1;) {
    const size_t j = static_cast<size_t>(rng.NextU64() % (i + 1));
    std::swap(t[1][i], t[1][j]);
  }
  const auto cycle = PeriodicColumns()[0];
  for (size_t i = 0; i < rows_; ++i) t[2][i] = cycle[i % cycle.size()];
  return t;
}

ExtTraceColumns PermutationAir::BuildAuxTrace(const TraceColumns& main,
                                              std::span<const Fp2> rand) const {
  const Fp2 gamma = rand[0];
  ExtTraceColumns z(1, std::vector<Fp2>(rows_));
  std::vector<Fp2> den(rows_);
  for (size_t i = 0; i < rows_; ++i) den[i] = gamma - main[1][i];
  BatchInverse(std::span<Fp2>(den));
  z[0][0] = Fp2::One();
  for (size_t i = 0; i + 1 < rows_; ++i) z[0][i + 1] = z[0][i] * (gamma - main[0][i]) * den[i];
  return z;
}

void PermutationAir::EvaluateAux(const Frame<Fp2>& main, const Frame<Fp2>& aux,
                                 std::span<const Fp2> periodic, std::span<const Fp2> rand,
                                 std::span<Fp2> out) const {
  (void)periodic;
  const Fp2 gamma = rand[0];
  out[0] = aux.current[0] - Fp2::One();
  out[1] = aux.next[0] * (gamma - main.current[1]) - aux.current[0] * (gamma - main.current[0]);
  out[2] = aux.current[0] * (gamma - main.current[0]) - (gamma - main.current[1]);
}

}  // namespace vp::stark
