// Fibonacci AIR: columns (a, b), a' = b, b' = a + b over u rows, a_0 and b_0 given, and the
// claimed b at the last row. Public inputs: [u, a0, b0, result]. The smallest real AIR; the
// engine's tests lean on it.
//
//   FibonacciAir air(64, Fp(1), Fp(1), FibonacciAir::Compute(64, Fp(1), Fp(1)));
//   Prove(air, air.GenerateTrace(), options, rng);
#pragma once

#include "vp/base/status.h"
#include "vp/stark/air.h"

namespace vp::stark {

class FibonacciAir final : public Air {
 public:
  FibonacciAir(size_t rows, Fp a0, Fp b0, Fp result) : rows_(rows), a0_(a0), b0_(b0), result_(result) {}
  static StatusOr<FibonacciAir> FromPublicInputs(std::span<const Fp> pub);
  static Fp Compute(size_t rows, Fp a0, Fp b0);
  TraceColumns GenerateTrace() const;

  std::string Name() const override { return "fibonacci"; }
  std::vector<Fp> PublicInputs() const override { return {Fp(rows_), a0_, b0_, result_}; }
  size_t TraceRows() const override { return rows_; }
  size_t MainWidth() const override { return 2; }
  std::vector<ConstraintInfo> MainConstraints() const override;
  void EvaluateMain(const Frame<Fp>& f, std::span<const Fp> p, std::span<Fp> out) const override {
    Eval(f, p, out);
  }
  void EvaluateMain(const Frame<Fp2>& f, std::span<const Fp2> p, std::span<Fp2> out) const override {
    Eval(f, p, out);
  }

 private:
  template <typename F>
  void Eval(const Frame<F>& f, std::span<const F> periodic, std::span<F> out) const {
    (void)periodic;
    out[0] = f.next[0] - f.current[1];
    out[1] = f.next[1] - (f.current[0] + f.current[1]);
    out[2] = f.current[0] - a0_;
    out[3] = f.current[1] - b0_;
    out[4] = f.current[1] - result_;
  }
  size_t rows_;
  Fp a0_, b0_, result_;
};

}  // namespace vp::stark
