// Poseidon2 hash-chain AIR.
#include "vp/stark/airs/poseidon2_chain.h"

#include "vp/stark/ntt.h"

// GCC notes once per file that 64-byte vectors would be passed differently without AVX-512;
// no function here takes or returns one by value (packed.h's helpers are always inlined).
#pragma GCC diagnostic ignored "-Wpsabi"

namespace vp::stark {

Poseidon2ChainAir::Poseidon2ChainAir(size_t length, const HashOut& x, const HashOut& y)
    : length_(length), x_(x), y_(y) {
  std::array<Fp, 8> in = {x[0], x[1], x[2], x[3], Fp(), Fp(), Fp(), Fp()};
  Poseidon2<8>::ExternalLinear(in);
  const auto& c = Poseidon2<8>::GetConstants();
  for (size_t i = 0; i < 8; ++i) first_row_sbox_[i] = Pow7(in[i] + c.full[0][i]);
}

HashOut Poseidon2ChainAir::HashOnce(const HashOut& x) {
  Poseidon2<8>::State s = {x[0], x[1], x[2], x[3], Fp(), Fp(), Fp(), Fp()};
  Poseidon2<8>::Permute(s);
  return {s[0], s[1], s[2], s[3]};
}

HashOut Poseidon2ChainAir::Compute(size_t length, const HashOut& x) {
  HashOut v = x;
  for (size_t i = 0; i < length; ++i) v = HashOnce(v);
  return v;
}

Poseidon2ChainAir Poseidon2ChainAir::ForInput(size_t length, const HashOut& x) {
  return Poseidon2ChainAir(length, x, Compute(length, x));
}

StatusOr<Poseidon2ChainAir> Poseidon2ChainAir::FromPublicInputs(std::span<const Fp> pub) {
  if (pub.size() != 9) return InvalidArgumentError("poseidon2-chain: expected 9 public inputs");
  const uint64_t n = pub[0].value();
  if (n < 2 || n > (uint64_t{1} << 24)) return InvalidArgumentError("poseidon2-chain: length out of range");
  return Poseidon2ChainAir(static_cast<size_t>(n), {pub[1], pub[2], pub[3], pub[4]},
                           {pub[5], pub[6], pub[7], pub[8]});
}

std::vector<Fp> Poseidon2ChainAir::PublicInputs() const {
  return {Fp(length_), x_[0], x_[1], x_[2], x_[3], y_[0], y_[1], y_[2], y_[3]};
}

void Poseidon2ChainAir::EvaluateMainPacked(const Frame<PackedFp>& f, std::span<const PackedFp>,
                                           std::span<PackedFp> out) const {
  EvalPacked(f, out);
}

VP_STARK_SIMD_CLONES void Poseidon2ChainAir::EvalPacked(const Frame<PackedFp>& f,
                                                       std::span<PackedFp> out) const {
  Eval(f, out);
}

std::vector<ConstraintInfo> Poseidon2ChainAir::MainConstraints() const {
  std::vector<ConstraintInfo> cs;
  for (size_t i = 0; i < kWidth - 8; ++i) cs.push_back({7, ConstraintDomain::kEveryRow});
  for (size_t i = 0; i < 8; ++i) cs.push_back({7, ConstraintDomain::kTransition});
  for (size_t i = 0; i < 8; ++i) cs.push_back({1, ConstraintDomain::kFirstRow});
  for (size_t i = 0; i < 4; ++i) cs.push_back({1, ConstraintDomain::kLastRow});
  return cs;
}

TraceColumns Poseidon2ChainAir::GenerateTrace() const {
  TraceColumns t = ZeroColumns(kWidth, length_);
  const auto& c = Poseidon2<8>::GetConstants();
  HashOut v = x_;
  for (size_t row = 0; row < length_; ++row) {
    Poseidon2<8>::State s = {v[0], v[1], v[2], v[3], Fp(), Fp(), Fp(), Fp()};
    size_t col = 0;
    Poseidon2<8>::ExternalLinear(s);
    for (size_t r = 0; r < 4; ++r) {
      for (size_t i = 0; i < 8; ++i) {
        s[i] = Pow7(s[i] + c.full[r][i]);
        t[col++][row] = s[i];
      }
      Poseidon2<8>::ExternalLinear(s);
    }
    for (size_t r = 0; r < kPoseidon2PartialRounds; ++r) {
      s[0] = Pow7(s[0] + c.partial[r]);
      t[col++][row] = s[0];
      Poseidon2<8>::InternalLinear(s);
    }
    for (size_t r = 4; r < 8; ++r) {
      for (size_t i = 0; i < 8; ++i) {
        s[i] = Pow7(s[i] + c.full[r][i]);
        t[col++][row] = s[i];
      }
      Poseidon2<8>::ExternalLinear(s);
    }
    v = {s[0], s[1], s[2], s[3]};
  }
  return t;
}

}  // namespace vp::stark
