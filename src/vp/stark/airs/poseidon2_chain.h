// Poseidon2 hash chain: proves y = H^N(x) where H(v) = Permute8(v || 0^4)[0..4] (width-8
// Poseidon2 as a truncated sponge of one block) and x, y are 4 field elements.
//
// Layout: one permutation per row, 86 columns holding every S-box output of that row's
// permutation (4 full rounds x 8, 22 partial rounds x 1, 4 full rounds x 8). The state
// between S-boxes is affine in earlier columns, so each column has one degree-7 constraint
// recomputing its S-box input. Row i's first-round inputs come from row i-1's output
// (transition) or from x (first row, degree 1 because the verifier computes them); the last
// row's output equals y. Public inputs: [N, x0..x3, y0..y3]. See docs/stark_design.md.
//
//   Poseidon2ChainAir air = Poseidon2ChainAir::ForInput(n, x);   // computes y
//   Prove(air, air.GenerateTrace(), options, rng);
#pragma once

#include <array>

#include "vp/base/status.h"
#include "vp/stark/air.h"
#include "vp/stark/poseidon2.h"

namespace vp::stark {

class Poseidon2ChainAir final : public Air {
 public:
  static constexpr size_t kWidth = 8 * 4 + kPoseidon2PartialRounds + 8 * 4;  // 86

  Poseidon2ChainAir(size_t length, const HashOut& x, const HashOut& y);
  static Poseidon2ChainAir ForInput(size_t length, const HashOut& x);
  static StatusOr<Poseidon2ChainAir> FromPublicInputs(std::span<const Fp> pub);
  // y = H^length(x), natively.
  static HashOut Compute(size_t length, const HashOut& x);
  static HashOut HashOnce(const HashOut& x);
  TraceColumns GenerateTrace() const;
  const HashOut& output() const { return y_; }

  std::string Name() const override { return "poseidon2-chain"; }
  std::vector<Fp> PublicInputs() const override;
  size_t TraceRows() const override { return length_; }
  size_t MainWidth() const override { return kWidth; }
  std::vector<ConstraintInfo> MainConstraints() const override;
  void EvaluateMain(const Frame<Fp>& f, std::span<const Fp>, std::span<Fp> out) const override {
    Eval(f, out);
  }
  void EvaluateMain(const Frame<Fp2>& f, std::span<const Fp2>, std::span<Fp2> out) const override {
    Eval(f, out);
  }
  bool HasPackedMain() const override { return true; }
  void EvaluateMainPacked(const Frame<PackedFp>& f, std::span<const PackedFp>,
                          std::span<PackedFp> out) const override;

 private:
  // Inlined into each caller, so that the packed form is compiled per instruction set.
  template <typename F>
  [[gnu::always_inline]] inline void Eval(const Frame<F>& f, std::span<F> out) const;
  VP_STARK_SIMD_CLONES void EvalPacked(const Frame<PackedFp>& f, std::span<PackedFp> out) const;
  size_t length_;
  HashOut x_, y_;
  std::array<Fp, 8> first_row_sbox_;  // S-box outputs of round 1 for input x
};

template <typename F>
inline void Poseidon2ChainAir::Eval(const Frame<F>& fr, std::span<F> out) const {
  using P = Poseidon2<8>;
  const auto& c = P::GetConstants();
  const auto& cur = fr.current;
  size_t o = 0;
  std::array<F, 8> s;
  for (size_t i = 0; i < 8; ++i) s[i] = cur[i];
  P::ExternalLinear(s);
  size_t col = 8;
  for (size_t r = 1; r < 4; ++r) {
    for (size_t i = 0; i < 8; ++i) {
      out[o++] = cur[col] - Pow7(s[i] + c.full[r][i]);
      s[i] = cur[col++];
    }
    P::ExternalLinear(s);
  }
  for (size_t r = 0; r < kPoseidon2PartialRounds; ++r) {
    out[o++] = cur[col] - Pow7(s[0] + c.partial[r]);
    s[0] = cur[col++];
    P::InternalLinear(s);
  }
  for (size_t r = 4; r < 8; ++r) {
    for (size_t i = 0; i < 8; ++i) {
      out[o++] = cur[col] - Pow7(s[i] + c.full[r][i]);
      s[i] = cur[col++];
    }
    P::ExternalLinear(s);
  }
  // Transition: next row's first-round S-boxes take (out[0..4] || 0) as input.
  std::array<F, 8> in = {s[0], s[1], s[2], s[3], F(), F(), F(), F()};
  P::ExternalLinear(in);
  for (size_t i = 0; i < 8; ++i) out[o++] = fr.next[i] - Pow7(in[i] + c.full[0][i]);
  for (size_t i = 0; i < 8; ++i) out[o++] = cur[i] - first_row_sbox_[i];
  for (size_t i = 0; i < 4; ++i) out[o++] = s[i] - y_[i];
}

}  // namespace vp::stark
