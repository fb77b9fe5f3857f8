// Eight Goldilocks elements at once on GCC/Clang vector extensions, for the engine and for AIRs
// that evaluate packed rows (Air::EvaluateMainPacked). The arithmetic is the scalar Fp
// algorithm lane by lane (same canonical results), with the 64x64-bit product assembled from
// four 32x32-bit products, which x86-64 does in one instruction for all lanes (vpmuludq).
// Functions that use these helpers are compiled per instruction set with
// VP_STARK_SIMD_CLONES (AVX-512, AVX2, baseline). Elsewhere (other compilers, sanitizer
// builds, WebAssembly) the same code compiles once, with vectors lowered to what the target
// has; the NTT then takes its plain Fp loops instead.
//
//   Fp8 x = Fp8Load(a), y = Fp8Load(b);
//   Fp8Store(out, Fp8Mul(x, y));   // out[i] = a[i] * b[i], i < 8
#pragma once

#include <cstdint>
#include <cstring>

#include "vp/stark/field.h"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi"

namespace vp::stark {

// Aligned like uint64_t, not 64 bytes: the natural alignment of a 64-byte vector depends on
// the instruction set a function is compiled for (16 bytes without AVX), and the clones
// below share these values through memory, so no code may assume more.
typedef uint64_t Fp8 __attribute__((vector_size(64), aligned(8)));  // NOLINT: vector extension

// Function multiversioning: a clone per instruction set, picked at load time (GCC, x86-64).
// Sanitizer builds and other compilers get one plain copy.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define VP_STARK_SIMD_CLONES __attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
#define VP_STARK_HAVE_SIMD 1
#else
#define VP_STARK_SIMD_CLONES
#define VP_STARK_HAVE_SIMD 0
#endif

namespace packed_internal {
inline constexpr uint64_t kP = Fp::kModulus;
inline constexpr uint64_t kEps = Fp::kEpsilon;
inline constexpr uint64_t kLow32 = 0xFFFFFFFFULL;
}  // namespace packed_internal

[[gnu::always_inline]] inline Fp8 Fp8Load(const Fp* p) {
  Fp8 v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
[[gnu::always_inline]] inline void Fp8Store(Fp* p, Fp8 v) {
  std::memcpy(static_cast<void*>(p), &v, sizeof(v));
}
[[gnu::always_inline]] inline Fp8 Fp8Splat(Fp x) { return Fp8{} + x.value(); }

// The corrections below are vector selects (cond ? x + eps : x): under AVX-512 a compare into
// a mask register and one masked add. Adding epsilon is subtracting p modulo 2^64.
// Canonical inputs (every Fp8 here is): a + (b + eps) = a + b - p + 2^64 wraps exactly when
// a + b >= p, and is then the canonical sum; otherwise the sum is that minus eps. One compare
// and one masked subtract instead of two of each.
[[gnu::always_inline]] inline Fp8 Fp8Add(Fp8 a, Fp8 b) {
  using namespace packed_internal;  // NOLINT
  const Fp8 eps = Fp8{} + kEps;
  const Fp8 s = a + (b + eps);  // b < p: b + eps does not wrap
  return s < a ? s : s - eps;
}

[[gnu::always_inline]] inline Fp8 Fp8Sub(Fp8 a, Fp8 b) {
  using namespace packed_internal;  // NOLINT
  const Fp8 eps = Fp8{} + kEps;
  const Fp8 d = a - b;
  return a < b ? d - eps : d;  // the borrow added 2^64 = epsilon (mod p)
}

[[gnu::always_inline]] inline Fp8 Fp8Mul(Fp8 a, Fp8 b) {
  using namespace packed_internal;  // NOLINT
  const Fp8 eps = Fp8{} + kEps;
  const Fp8 alo = a & kLow32, ahi = a >> 32, blo = b & kLow32, bhi = b >> 32;
  const Fp8 ll = alo * blo, lh = alo * bhi, hl = ahi * blo, hh = ahi * bhi;
  const Fp8 mid = (ll >> 32) + (lh & kLow32) + (hl & kLow32);  // < 3 * 2^32
  const Fp8 lo = (mid << 32) | (ll & kLow32);
  const Fp8 hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
  // Fp::Reduce128: 2^64 = 2^32 - 1 and 2^96 = -1.
  const Fp8 hi_hi = hi >> 32, hi_lo = hi & kLow32;
  Fp8 t0 = lo - hi_hi;
  t0 = lo < hi_hi ? t0 - eps : t0;
  const Fp8 t1 = (hi_lo << 32) - hi_lo;
  Fp8 t2 = t0 + t1;
  t2 = t2 < t1 ? t2 + eps : t2;
  return t2 >= kP ? t2 + eps : t2;  // - p
}

// The first three radix-2 stages (half-sizes 1, 2, 4) of a bit-reversed-input transform on
// the eight elements of v; tw as in ntt.cc (tw[h + j] = w_2h^j). Same values as the scalar
// butterflies.
[[gnu::always_inline]] inline Fp8 Fp8FirstStages(Fp8 v, Fp8 t2, Fp8 t4) {
  // half-size 1: (v0 + v1, v0 - v1, ...)
  Fp8 x = __builtin_shufflevector(v, v, 0, 0, 2, 2, 4, 4, 6, 6);
  Fp8 y = __builtin_shufflevector(v, v, 1, 1, 3, 3, 5, 5, 7, 7);
  v = __builtin_shufflevector(Fp8Add(x, y), Fp8Sub(x, y), 0, 9, 2, 11, 4, 13, 6, 15);
  // half-size 2: t2 = (w^0, w^1, w^0, w^1, ...)
  x = __builtin_shufflevector(v, v, 0, 1, 0, 1, 4, 5, 4, 5);
  y = Fp8Mul(__builtin_shufflevector(v, v, 2, 3, 2, 3, 6, 7, 6, 7), t2);
  v = __builtin_shufflevector(Fp8Add(x, y), Fp8Sub(x, y), 0, 1, 10, 11, 4, 5, 14, 15);
  // half-size 4: t4 = (w^0 .. w^3, w^0 .. w^3)
  x = __builtin_shufflevector(v, v, 0, 1, 2, 3, 0, 1, 2, 3);
  y = Fp8Mul(__builtin_shufflevector(v, v, 4, 5, 6, 7, 4, 5, 6, 7), t4);
  return __builtin_shufflevector(Fp8Add(x, y), Fp8Sub(x, y), 0, 1, 2, 3, 12, 13, 14, 15);
}

// Fp8 as a field-like value type, so that AIR constraint templates written for Fp also
// evaluate eight rows at once (Air::EvaluateMainPacked). Lane j is row j.
struct PackedFp {
  Fp8 v;

  PackedFp() : v{} {}
  explicit PackedFp(Fp x) : v(Fp8Splat(x)) {}
  static PackedFp FromVector(Fp8 x) {
    PackedFp r;
    r.v = x;
    return r;
  }
  static PackedFp Load(const Fp* p) { return FromVector(Fp8Load(p)); }
  void Store(Fp* p) const { Fp8Store(p, v); }
  Fp Lane(size_t j) const { return Fp(v[j]); }

  [[gnu::always_inline]] friend PackedFp operator+(PackedFp a, PackedFp b) { return FromVector(Fp8Add(a.v, b.v)); }
  [[gnu::always_inline]] friend PackedFp operator-(PackedFp a, PackedFp b) { return FromVector(Fp8Sub(a.v, b.v)); }
  [[gnu::always_inline]] friend PackedFp operator*(PackedFp a, PackedFp b) { return FromVector(Fp8Mul(a.v, b.v)); }
  [[gnu::always_inline]] friend PackedFp operator+(PackedFp a, Fp b) { return FromVector(Fp8Add(a.v, Fp8Splat(b))); }
  [[gnu::always_inline]] friend PackedFp operator-(PackedFp a, Fp b) { return FromVector(Fp8Sub(a.v, Fp8Splat(b))); }
  [[gnu::always_inline]] friend PackedFp operator*(PackedFp a, Fp b) { return FromVector(Fp8Mul(a.v, Fp8Splat(b))); }
  [[gnu::always_inline]] PackedFp& operator+=(PackedFp b) { return *this = *this + b; }
  [[gnu::always_inline]] PackedFp& operator-=(PackedFp b) { return *this = *this - b; }
  [[gnu::always_inline]] PackedFp& operator*=(PackedFp b) { return *this = *this * b; }
};

// Eight extension elements (a + b u, u^2 = 7) as two PackedFp: lane j is row j. Same
// arithmetic as Fp2, lane by lane, for AIRs that evaluate auxiliary constraints packed
// (Air::EvaluateAuxPacked).
struct PackedFp2 {
  PackedFp c0, c1;

  PackedFp2() = default;
  explicit PackedFp2(PackedFp a) : c0(a) {}
  explicit PackedFp2(Fp2 a) : c0(a.c0()), c1(a.c1()) {}
  PackedFp2(PackedFp a, PackedFp b) : c0(a), c1(b) {}
  Fp2 Lane(size_t j) const { return Fp2(c0.Lane(j), c1.Lane(j)); }

  [[gnu::always_inline]] friend PackedFp2 operator+(PackedFp2 x, PackedFp2 y) { return {x.c0 + y.c0, x.c1 + y.c1}; }
  [[gnu::always_inline]] friend PackedFp2 operator-(PackedFp2 x, PackedFp2 y) { return {x.c0 - y.c0, x.c1 - y.c1}; }
  [[gnu::always_inline]] friend PackedFp2 operator*(PackedFp2 x, PackedFp2 y) {
    const PackedFp aa = x.c0 * y.c0, bb = x.c1 * y.c1;
    const PackedFp cross = (x.c0 + x.c1) * (y.c0 + y.c1) - aa - bb;
    return {aa + bb * Fp(Fp2::kW), cross};
  }
  [[gnu::always_inline]] friend PackedFp2 operator*(PackedFp2 x, PackedFp y) { return {x.c0 * y, x.c1 * y}; }
  [[gnu::always_inline]] friend PackedFp2 operator+(PackedFp2 x, Fp2 y) { return x + PackedFp2(y); }
  [[gnu::always_inline]] friend PackedFp2 operator+(Fp2 y, PackedFp2 x) { return x + PackedFp2(y); }
  [[gnu::always_inline]] friend PackedFp2 operator-(PackedFp2 x, Fp2 y) { return x - PackedFp2(y); }
  [[gnu::always_inline]] friend PackedFp2 operator-(Fp2 y, PackedFp2 x) { return PackedFp2(y) - x; }
  [[gnu::always_inline]] friend PackedFp2 operator*(PackedFp2 x, Fp2 y) { return x * PackedFp2(y); }
  [[gnu::always_inline]] friend PackedFp2 operator*(Fp2 y, PackedFp2 x) { return x * PackedFp2(y); }
  [[gnu::always_inline]] PackedFp2& operator+=(PackedFp2 y) { return *this = *this + y; }
  [[gnu::always_inline]] PackedFp2& operator*=(PackedFp2 y) { return *this = *this * y; }
};

}  // namespace vp::stark

#pragma GCC diagnostic pop
