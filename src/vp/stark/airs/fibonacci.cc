// Fibonacci AIR.
#include "vp/stark/airs/fibonacci.h"

namespace vp::stark {

StatusOr<FibonacciAir> FibonacciAir::FromPublicInputs(std::span<const Fp> pub) {
  if (pub.size() != 4) return InvalidArgumentError("fibonacci: expected 4 public inputs");
  const uint64_t rows = pub[0].value();
  if (rows < 2 || rows > (uint64_t{1} << 24)) return InvalidArgumentError("fibonacci: rows out of range");
  return FibonacciAir(static_cast<size_t>(rows), pub[1], pub[2], pub[3]);
}

Fp FibonacciAir::Compute(size_t rows, Fp a0, Fp b0) {
  Fp a = a0, b = b0;
  for (size_t i = 1; i < rows; ++i) {
    const Fp t = a + b;
    a = b;
    b = t;
  }
  return b;
}

TraceColumns FibonacciAir::GenerateTrace() const {
  TraceColumns t(2, std::vector<Fp>(rows_));
  t[0][0] = a0_;
  t[1][0] = b0_;
  for (size_t i = 1; i < rows_; ++i) {
    t[0][i] = t[1][i - 1];
    t[1][i] = t[0][i - 1] + t[1][i - 1];
  }
  return t;
}

std::vector<ConstraintInfo> FibonacciAir::MainConstraints() const {
  return {{1, ConstraintDomain::kTransition}, {1, ConstraintDomain::kTransition},
          {1, ConstraintDomain::kFirstRow},   {1, ConstraintDomain::kFirstRow},
          {1, ConstraintDomain::kLastRow}};
}

}  // namespace vp::stark
