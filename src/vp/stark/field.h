// Goldilocks field F_p, p = 2^64 - 2^32 + 1, and its quadratic extension F_p[u]/(u^2 - 7).
// Elements are kept canonical (< p). The extension is where challenges live, so that
// Fiat-Shamir soundness is ~128 bits rather than the base field's 64.
//
//   Fp a(5), b = a.Inverse();      // a * b == Fp::One()
//   Fp2 z = Fp2(a, b) * a;          // extension times base
//   BatchInverse(values);          // one inversion for the whole vector
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace vp::stark {

class Fp {
 public:
  static constexpr uint64_t kModulus = 0xFFFFFFFF00000001ULL;
  static constexpr uint64_t kEpsilon = 0xFFFFFFFFULL;  // 2^64 mod p
  static constexpr uint32_t kTwoAdicity = 32;

  constexpr Fp() = default;
  // Reduces any 64-bit value.
  constexpr explicit Fp(uint64_t v) : v_(v >= kModulus ? v - kModulus : v) {}

  static constexpr Fp Zero() { return Fp(); }
  static constexpr Fp One() { return Fp(1); }
  // 7 generates the multiplicative group.
  static constexpr Fp Generator() { return Fp(7); }

  constexpr uint64_t value() const { return v_; }
  constexpr bool IsZero() const { return v_ == 0; }

  // Branch-free: carries of random operands are unpredictable, so no conditional jumps.
  friend constexpr Fp operator+(Fp a, Fp b) {
    uint64_t s = 0;
    const bool carry = __builtin_add_overflow(a.v_, b.v_, &s);
    s += (uint64_t{0} - static_cast<uint64_t>(carry)) & kEpsilon;  // 2^64 = epsilon (mod p)
    s -= (uint64_t{0} - static_cast<uint64_t>(s >= kModulus)) & kModulus;
    return FromCanonical(s);
  }
  friend constexpr Fp operator-(Fp a, Fp b) {
    uint64_t d = 0;
    const bool borrow = __builtin_sub_overflow(a.v_, b.v_, &d);
    d -= (uint64_t{0} - static_cast<uint64_t>(borrow)) & kEpsilon;  // d = a - b + 2^64
    return FromCanonical(d);
  }
  constexpr Fp operator-() const { return v_ == 0 ? Fp() : FromCanonical(kModulus - v_); }
  friend constexpr Fp operator*(Fp a, Fp b) {
    return FromCanonical(Reduce128(static_cast<unsigned __int128>(a.v_) * b.v_));
  }
  constexpr Fp& operator+=(Fp b) { return *this = *this + b; }
  constexpr Fp& operator-=(Fp b) { return *this = *this - b; }
  constexpr Fp& operator*=(Fp b) { return *this = *this * b; }
  friend constexpr bool operator==(Fp a, Fp b) { return a.v_ == b.v_; }
  friend constexpr bool operator!=(Fp a, Fp b) { return a.v_ != b.v_; }

  constexpr Fp Square() const { return *this * *this; }
  constexpr Fp Double() const { return *this + *this; }
  constexpr Fp Pow(uint64_t e) const {
    Fp r = One(), b = *this;
    while (e != 0) {
      if ((e & 1) != 0) r *= b;
      b = b.Square();
      e >>= 1;
    }
    return r;
  }
  // 0 maps to 0 (callers that care check IsZero first).
  constexpr Fp Inverse() const { return Pow(kModulus - 2); }

  // Primitive 2^log_n-th root of unity (log_n <= 32).
  static Fp RootOfUnity(uint32_t log_n);

  // Reduces a 128-bit value modulo p: 2^64 = 2^32 - 1 and 2^96 = -1.
  static constexpr uint64_t Reduce128(unsigned __int128 x) {
    const uint64_t lo = static_cast<uint64_t>(x);
    const uint64_t hi = static_cast<uint64_t>(x >> 64);
    const uint64_t hi_hi = hi >> 32;
    const uint64_t hi_lo = hi & kEpsilon;
    uint64_t t0 = 0;
    const bool borrow = __builtin_sub_overflow(lo, hi_hi, &t0);
    t0 -= (uint64_t{0} - static_cast<uint64_t>(borrow)) & kEpsilon;  // the borrow added 2^64
    const uint64_t t1 = hi_lo * kEpsilon;
    uint64_t t2 = 0;
    const bool carry = __builtin_add_overflow(t0, t1, &t2);
    t2 += (uint64_t{0} - static_cast<uint64_t>(carry)) & kEpsilon;
    t2 -= (uint64_t{0} - static_cast<uint64_t>(t2 >= kModulus)) & kModulus;
    return t2;
  }

 private:
  static constexpr Fp FromCanonical(uint64_t v) {
    Fp r;
    r.v_ = v;
    return r;
  }
  uint64_t v_ = 0;
};

// a + b*u with u^2 = 7 (7 is a quadratic non-residue mod p).
class Fp2 {
 public:
  static constexpr uint64_t kW = 7;

  constexpr Fp2() = default;
  constexpr Fp2(Fp a) : a_(a) {}  // NOLINT: base field embeds into the extension
  constexpr Fp2(Fp a, Fp b) : a_(a), b_(b) {}

  static constexpr Fp2 Zero() { return Fp2(); }
  static constexpr Fp2 One() { return Fp2(Fp::One()); }

  constexpr Fp c0() const { return a_; }
  constexpr Fp c1() const { return b_; }
  constexpr bool IsZero() const { return a_.IsZero() && b_.IsZero(); }
  constexpr bool IsBase() const { return b_.IsZero(); }

  friend constexpr Fp2 operator+(Fp2 x, Fp2 y) { return {x.a_ + y.a_, x.b_ + y.b_}; }
  friend constexpr Fp2 operator-(Fp2 x, Fp2 y) { return {x.a_ - y.a_, x.b_ - y.b_}; }
  constexpr Fp2 operator-() const { return {-a_, -b_}; }
  friend constexpr Fp2 operator*(Fp2 x, Fp2 y) {
    const Fp aa = x.a_ * y.a_, bb = x.b_ * y.b_;
    const Fp cross = (x.a_ + x.b_) * (y.a_ + y.b_) - aa - bb;
    return {aa + bb * Fp(kW), cross};
  }
  friend constexpr Fp2 operator*(Fp2 x, Fp y) { return {x.a_ * y, x.b_ * y}; }
  friend constexpr Fp2 operator*(Fp y, Fp2 x) { return {x.a_ * y, x.b_ * y}; }
  friend constexpr Fp2 operator+(Fp2 x, Fp y) { return {x.a_ + y, x.b_}; }
  friend constexpr Fp2 operator+(Fp y, Fp2 x) { return {x.a_ + y, x.b_}; }
  friend constexpr Fp2 operator-(Fp2 x, Fp y) { return {x.a_ - y, x.b_}; }
  friend constexpr Fp2 operator-(Fp y, Fp2 x) { return {y - x.a_, -x.b_}; }
  constexpr Fp2& operator+=(Fp2 y) { return *this = *this + y; }
  constexpr Fp2& operator-=(Fp2 y) { return *this = *this - y; }
  constexpr Fp2& operator*=(Fp2 y) { return *this = *this * y; }
  constexpr Fp2& operator*=(Fp y) { return *this = *this * y; }
  friend constexpr bool operator==(Fp2 x, Fp2 y) { return x.a_ == y.a_ && x.b_ == y.b_; }
  friend constexpr bool operator!=(Fp2 x, Fp2 y) { return !(x == y); }

  constexpr Fp2 Square() const { return *this * *this; }
  constexpr Fp2 Pow(uint64_t e) const {
    Fp2 r = One(), b = *this;
    while (e != 0) {
      if ((e & 1) != 0) r *= b;
      b = b.Square();
      e >>= 1;
    }
    return r;
  }
  // (a + bu)^-1 = (a - bu) / (a^2 - 7 b^2); 0 maps to 0.
  constexpr Fp2 Inverse() const {
    const Fp norm = a_.Square() - b_.Square() * Fp(kW);
    const Fp inv = norm.Inverse();
    return {a_ * inv, -(b_ * inv)};
  }

 private:
  Fp a_, b_;
};

// Replaces every element by its inverse with one field inversion (Montgomery's trick).
// Zero elements stay zero and do not poison the others.
template <typename F>
void BatchInverse(std::span<F> v) {
  if (v.empty()) return;
  std::vector<F> prefix(v.size());
  F acc = F::One();
  for (size_t i = 0; i < v.size(); ++i) {
    prefix[i] = acc;
    if (!v[i].IsZero()) acc *= v[i];
  }
  F inv = acc.Inverse();
  for (size_t i = v.size(); i-- > 0;) {
    if (v[i].IsZero()) continue;
    const F vi = v[i];
    v[i] = inv * prefix[i];
    inv *= vi;
  }
}

// Evaluates sum coeffs[i] x^i (Horner).
template <typename C, typename X>
X EvaluatePolynomial(std::span<const C> coeffs, X x) {
  X acc = X();
  for (size_t i = coeffs.size(); i-- > 0;) acc = acc * x + coeffs[i];
  return acc;
}

}  // namespace vp::stark
