// Iterative radix-2 NTT: bit-reversal permutation followed by Cooley-Tukey butterflies,
// with per-size twiddle tables cached for the life of the process. Butterflies of the stages
// with half-size >= 8 run eight at a time (packed.h) where that is compiled for the CPU.
#include "vp/stark/ntt.h"

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <utility>

#include "vp/stark/packed.h"

// GCC notes once per file that 64-byte vectors would be passed differently without AVX-512;
// no function here takes or returns one by value (packed.h's helpers are always inlined).
#pragma GCC diagnostic ignored "-Wpsabi"

namespace vp::stark {
namespace {

constexpr size_t kParallelThreshold = size_t{1} << 13;

// Twiddles for a transform of size n: tw[h + j] = w_{2h}^j for each half-size h.
const std::vector<Fp>& Twiddles(unsigned log_n, bool inverse) {
  static std::mutex mu;
  static std::map<std::pair<unsigned, bool>, std::unique_ptr<std::vector<Fp>>> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto& slot = cache[{log_n, inverse}];
  if (!slot) {
    const size_t n = size_t{1} << log_n;
    auto tw = std::make_unique<std::vector<Fp>>(n);
    for (unsigned s = 0; s < log_n; ++s) {
      const size_t h = size_t{1} << s;
      Fp w = Fp::RootOfUnity(s + 1);
      if (inverse) w = w.Inverse();
      Fp x = Fp::One();
      for (size_t j = 0; j < h; ++j) {
        (*tw)[h + j] = x;
        x *= w;
      }
    }
    slot = std::move(tw);
  }
  return *slot;
}

const std::vector<uint32_t>& BitReversal(unsigned log_n);  // cached, defined below

void BitReverse(std::span<Fp> v) {
  const size_t n = v.size();
  if (n >= 2 && n <= (size_t{1} << 22)) {
    // The cached table the LDE uses, instead of a bit-reversed counter per element.
    const std::vector<uint32_t>& rev = BitReversal(Log2(n));
    for (size_t i = 0; i < n; ++i) {
      if (i < rev[i]) std::swap(v[i], v[rev[i]]);
    }
    return;
  }
  for (size_t i = 0, j = 0; i < n; ++i) {
    if (i < j) std::swap(v[i], v[j]);
    // increment j as a bit-reversed counter
    size_t bit = n >> 1;
    while (bit != 0 && (j & bit) != 0) {
      j ^= bit;
      bit >>= 1;
    }
    j |= bit;
  }
}

// dst[rev(i)] = src[i] for n = 2^log_n >= 64, out of place, in tiles of 8 x 8 elements: with
// i = (a, m, c) as top 3, middle log_n - 6 and low 3 bits, rev(i) = (rev(c), rev(m), rev(a)),
// so for each m the eight runs src[(a, m, 0..7)] (one cache line each) land in the eight runs
// dst[(rev(c), rev(m), 0..7)]. An element-by-element permutation of a 2^16-element column
// touches a new cache line per element (5% of a tally segment's profile went there).
void BitReverseCopy(const Fp* src, Fp* dst, unsigned log_n) {
  static constexpr size_t kRev3[8] = {0, 4, 2, 6, 1, 5, 3, 7};
  const std::vector<uint32_t>& rev_mid = BitReversal(log_n - 6);
  const unsigned hs = log_n - 3;
  const size_t mids = size_t{1} << (log_n - 6);
  for (size_t m = 0; m < mids; ++m) {
    const size_t rm = size_t{rev_mid[m]} << 3;
    for (size_t a = 0; a < 8; ++a) {
      const Fp* row = src + (a << hs) + (m << 3);
      const size_t ra = rm | kRev3[a];
      for (size_t c = 0; c < 8; ++c) dst[(kRev3[c] << hs) | ra] = row[c];
    }
  }
}

bool g_scalar = VP_STARK_HAVE_SIMD == 0;

// count butterflies (lo[j], hi[j]) <- (lo[j] + t[j] hi[j], lo[j] - t[j] hi[j]); with kSimd,
// eight at a time (count is then a multiple of 8).
template <bool kSimd>
[[gnu::always_inline]] inline void Run(Fp* lo, Fp* hi, const Fp* t, size_t count) {
  if constexpr (kSimd) {
    for (size_t j = 0; j < count; j += 8) {
      const Fp8 x = Fp8Load(lo + j);
      const Fp8 y = Fp8Mul(Fp8Load(hi + j), Fp8Load(t + j));
      Fp8Store(lo + j, Fp8Add(x, y));
      Fp8Store(hi + j, Fp8Sub(x, y));
    }
  } else {
    for (size_t j = 0; j < count; ++j) {
      const Fp x = lo[j];
      const Fp y = hi[j] * t[j];
      lo[j] = x + y;
      hi[j] = x - y;
    }
  }
}

// Every stage whose butterflies stay inside [d, d + block) (block a power of two >= 2), the
// input read from src (which may be d).
template <bool kSimd>
[[gnu::always_inline]] inline void BlockStages(Fp* d, const Fp* src, const Fp* tw, size_t block) {
  if constexpr (kSimd) {
    if (block >= 16) {
      // Half-sizes 1, 2, 4 inside each group of eight, in registers.
      const Fp t2[8] = {tw[2], tw[3], tw[2], tw[3], tw[2], tw[3], tw[2], tw[3]};
      const Fp t4[8] = {tw[4], tw[5], tw[6], tw[7], tw[4], tw[5], tw[6], tw[7]};
      const Fp8 t2v = Fp8Load(t2), t4v = Fp8Load(t4);
      for (size_t i = 0; i < block; i += 8) Fp8Store(d + i, Fp8FirstStages(Fp8Load(src + i), t2v, t4v));
      for (size_t h = 8; h < block; h *= 2) {
        for (size_t b = 0; b < block; b += 2 * h) Run<true>(d + b, d + b + h, tw + h, h);
      }
      return;
    }
  }
  for (size_t i = 0; i < block; i += 2) {  // stage 0: twiddle 1
    const Fp x = src[i], y = src[i + 1];
    d[i] = x + y;
    d[i + 1] = x - y;
  }
  for (size_t h = 2; h < block; h *= 2) {
    for (size_t b = 0; b < block; b += 2 * h) Run<false>(d + b, d + b + h, tw + h, h);
  }
}

// One stage of half-size h over the blocks of 2h in [begin, end).
template <bool kSimd>
[[gnu::always_inline]] inline void Stage(Fp* d, const Fp* t, size_t h, size_t begin, size_t end) {
  for (size_t b = begin; b < end; b += 2 * h) Run<kSimd>(d + b, d + b + h, t, h);
}

VP_STARK_SIMD_CLONES void BlockStagesSimd(Fp* d, const Fp* src, const Fp* tw, size_t block) {
  BlockStages<true>(d, src, tw, block);
}
VP_STARK_SIMD_CLONES void StageSimd(Fp* d, const Fp* t, size_t h, size_t begin, size_t end) {
  Stage<true>(d, t, h, begin, end);
}
VP_STARK_SIMD_CLONES void RunSimd(Fp* lo, Fp* hi, const Fp* t, size_t count) {
  Run<true>(lo, hi, t, count);
}
VP_STARK_SIMD_CLONES void MulSimd(Fp* a, const Fp* b, size_t count) {
  for (size_t i = 0; i < count; i += 8) Fp8Store(a + i, Fp8Mul(Fp8Load(a + i), Fp8Load(b + i)));
}

// a[i] *= b[i].
void MulInPlace(Fp* a, const Fp* b, size_t count) {
  const size_t vec = g_scalar ? 0 : count & ~size_t{7};
  if (vec != 0) MulSimd(a, b, vec);
  for (size_t i = vec; i < count; ++i) a[i] *= b[i];
}

// Butterflies of a transform whose input is already in bit-reversed order: in place, or from
// src into d (the first pass reads src, so no separate copy pass).
void TransformBitReversed(Fp* d, size_t n, const std::vector<Fp>& tw, const Fp* src = nullptr) {
  if (src == nullptr) src = d;
  if (n <= 1) {
    if (n == 1) d[0] = src[0];
    return;
  }
  [[maybe_unused]] const bool parallel = n >= kParallelThreshold;
  const bool simd = !g_scalar && n >= 16;
  // Cache blocking: all stages whose butterflies stay inside a block of kBlock elements run
  // block by block (one pass over memory); the remaining stages make one pass each.
  constexpr size_t kBlock = size_t{1} << 11;
  const size_t block = std::min(n, kBlock);
  const long long num_blocks = static_cast<long long>(n / block);
#pragma omp parallel for schedule(static) if (parallel)
  for (long long bb = 0; bb < num_blocks; ++bb) {
    Fp* b = d + static_cast<size_t>(bb) * block;
    const Fp* from = src + static_cast<size_t>(bb) * block;
    if (simd) {
      BlockStagesSimd(b, from, tw.data(), block);
    } else {
      BlockStages<false>(b, from, tw.data(), block);
    }
  }
  for (size_t h = block; h < n; h *= 2) {
    const size_t span = 2 * h;
    if (n / span >= 2) {
      const long long groups = static_cast<long long>(n / span);
#pragma omp parallel for schedule(static) if (parallel)
      for (long long g = 0; g < groups; ++g) {
        const size_t b = static_cast<size_t>(g) * span;
        if (simd) {
          StageSimd(d, tw.data() + h, h, b, b + span);
        } else {
          Stage<false>(d, tw.data() + h, h, b, b + span);
        }
      }
    } else {
      // the last stage: split the j range
      const long long parts = 64;
      const size_t step = h / static_cast<size_t>(parts);
      const Fp* t = tw.data() + h;
#pragma omp parallel for schedule(static) if (parallel)
      for (long long pidx = 0; pidx < parts; ++pidx) {
        const size_t j0 = static_cast<size_t>(pidx) * step;
        if (simd && step % 8 == 0) {
          RunSimd(d + j0, d + j0 + h, t + j0, step);
        } else {
          Run<false>(d + j0, d + j0 + h, t + j0, step);
        }
      }
    }
  }
}

void Transform(std::span<Fp> v, bool inverse) {
  const size_t n = v.size();
  if (n <= 1) return;
  const unsigned log_n = Log2(n);
  const std::vector<Fp>& tw = Twiddles(log_n, inverse);
  if (log_n >= 6 && log_n <= 20) {
    // Permuted into a per-thread scratch column, which the first butterfly pass reads.
    thread_local std::vector<Fp> scratch;
    if (scratch.size() < n) scratch.resize(n);
    BitReverseCopy(v.data(), scratch.data(), log_n);
    TransformBitReversed(v.data(), n, tw, scratch.data());
    return;
  }
  BitReverse(v);
  TransformBitReversed(v.data(), n, tw);
}

// Bit-reversal permutation table for size 2^log_n, cached.
const std::vector<uint32_t>& BitReversal(unsigned log_n) {
  static std::mutex mu;
  static std::map<unsigned, std::unique_ptr<std::vector<uint32_t>>> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto& slot = cache[log_n];
  if (!slot) {
    const size_t n = size_t{1} << log_n;
    auto rev = std::make_unique<std::vector<uint32_t>>(n);
    for (size_t i = 1; i < n; ++i) {
      (*rev)[i] = static_cast<uint32_t>(((*rev)[i >> 1] >> 1) | ((i & 1) << (log_n - 1)));
    }
    slot = std::move(rev);
  }
  return *slot;
}

// v[i] *= first * base^i, eight independent lanes at a time (lane j starts at first * base^j
// and steps by base^8) where packed.h is compiled for the CPU.
VP_STARK_SIMD_CLONES void ScalePowersSimd(Fp* v, size_t count, const Fp* lanes, Fp base8) {
  Fp8 x = Fp8Load(lanes);
  const Fp8 step = Fp8Splat(base8);
  for (size_t i = 0; i < count; i += 8) {
    Fp8Store(v + i, Fp8Mul(Fp8Load(v + i), x));
    x = Fp8Mul(x, step);
  }
}

void ScaleByPowers(std::span<Fp> v, Fp base, Fp first) {
  const size_t vec = g_scalar ? 0 : v.size() & ~size_t{7};
  Fp x = first;
  if (vec != 0) {
    Fp lanes[8];
    for (auto& lane : lanes) {
      lane = x;
      x *= base;
    }
    ScalePowersSimd(v.data(), vec, lanes, base.Pow(8));
    x = first * base.Pow(vec);
  }
  for (size_t i = vec; i < v.size(); ++i) {
    v[i] *= x;
    x *= base;
  }
}

}  // namespace

void Evaluate(std::span<Fp> coeffs, Fp shift) {
  if (shift != Fp::One()) ScaleByPowers(coeffs, shift, Fp::One());
  Transform(coeffs, /*inverse=*/false);
}

void Interpolate(std::span<Fp> values, Fp shift) {
  const size_t n = values.size();
  if (n == 0) return;
  Transform(values, /*inverse=*/true);
  const Fp n_inv = Fp(n).Inverse();
  ScaleByPowers(values, shift.Inverse(), n_inv);
}

namespace {

// The per-point factors of ExtendIntoCosets for cosets of m points of shift * <w_N>, in
// bit-reversed order: scale[rev(i)] = shift^i and step[rev(i)] = w_N^i. They depend only on
// (m, N, shift), so a batch of columns computes them once: two chains of m dependent
// multiplications, otherwise paid again by every column.
struct CosetFactors {
  std::vector<Fp> scale, step;
  CosetFactors(size_t m, size_t domain_size, Fp shift) : scale(m), step(m) {
    const std::vector<uint32_t>& rev = BitReversal(Log2(m));
    const Fp w = Fp::RootOfUnity(Log2(domain_size));
    Fp sp = Fp::One(), wp = Fp::One();
    for (size_t i = 0; i < m; ++i) {
      scale[rev[i]] = sp;
      step[rev[i]] = wp;
      sp *= shift;
      wp *= w;
    }
  }
};

// Writes the evaluations of coeffs (size <= m) on the N/m cosets shift * w_N^t * <w_m> into
// out[t * m .. (t + 1) * m), t < N/m (and t < num_cosets), each coset in natural order. Point
// t + (N/m) j of the domain shift * <w_N> is point j of coset t.
void ExtendIntoCosets(std::span<const Fp> coeffs, size_t m, size_t domain_size, const CosetFactors& f,
                      Fp* out, size_t num_cosets = SIZE_MAX) {
  const size_t cosets = std::min(domain_size / m, num_cosets);
  const unsigned log_m = Log2(m);
  // coeffs[i] * (shift w^t)^i = (coeffs[i] * shift^i) * (w^i)^t: scale once by shift^i, then
  // each coset multiplies by the running powers w^(i t). Kept in bit-reversed order (the
  // scaling is elementwise, so it commutes with the permutation): each coset then starts
  // from a plain copy.
  std::vector<Fp> base(m);
  {
    const std::vector<uint32_t>& rev = BitReversal(log_m);
    if (coeffs.size() == m && log_m >= 6) {
      BitReverseCopy(coeffs.data(), base.data(), log_m);
    } else {
      for (size_t i = 0; i < std::min(coeffs.size(), m); ++i) base[rev[i]] = coeffs[i];
    }
    MulInPlace(base.data(), f.scale.data(), m);
  }
  const std::vector<Fp>& tw = Twiddles(log_m, /*inverse=*/false);
  for (size_t t = 0; t < cosets; ++t) {
    Fp* dst = out + t * m;
    TransformBitReversed(dst, m, tw, base.data());
    if (t + 1 < cosets) MulInPlace(base.data(), f.step.data(), m);
  }
}

}  // namespace

std::vector<Fp> LowDegreeExtend(std::span<const Fp> coeffs, size_t domain_size, Fp shift) {
  std::vector<Fp> out(domain_size);
  size_t m = 1;  // smallest power of two >= coeffs.size()
  while (m < coeffs.size()) m *= 2;
  if (m >= domain_size || m < 64) {
    for (size_t i = 0; i < coeffs.size() && i < domain_size; ++i) out[i] = coeffs[i];
    Evaluate(out, shift);
    return out;
  }
  // One size-m transform per coset (less work, and each fits in cache), then interleave.
  const size_t cosets = domain_size / m;
  const std::vector<Fp> by_coset = LowDegreeExtendCosets(coeffs, m, domain_size, shift);
  for (size_t t = 0; t < cosets; ++t) {
    const Fp* src = by_coset.data() + t * m;
    for (size_t p = 0; p < m; ++p) out[t + cosets * p] = src[p];
  }
  return out;
}

std::vector<Fp> LowDegreeExtendCosets(std::span<const Fp> coeffs, size_t coset_size,
                                      size_t domain_size, Fp shift) {
  std::vector<Fp> out(domain_size);
  ExtendIntoCosets(coeffs, coset_size, domain_size, CosetFactors(coset_size, domain_size, shift), out.data());
  return out;
}

std::vector<std::vector<Fp>> LowDegreeExtendColumnsCosets(const std::vector<std::vector<Fp>>& coeffs,
                                                          size_t coset_size, size_t domain_size, Fp shift,
                                                          size_t num_cosets) {
  std::vector<std::vector<Fp>> out(coeffs.size());
  const size_t kept = std::min(domain_size / coset_size, num_cosets);
  if (kept == 0) return out;  // no coset asked for: nothing to scale or transform
  const long long m = static_cast<long long>(coeffs.size());
  const CosetFactors factors(coset_size, domain_size, shift);
#pragma omp parallel for schedule(dynamic, 1) if (m > 1 && domain_size >= 1024)
  for (long long c = 0; c < m; ++c) {
    const auto i = static_cast<size_t>(c);
    out[i].resize(kept * coset_size);
    ExtendIntoCosets(coeffs[i], coset_size, domain_size, factors, out[i].data(), num_cosets);
  }
  return out;
}

namespace {

// out[r] += sum over whole blocks q of a[q m + r] * c^q (m a multiple of 8), eight lanes at a
// time; returns the number of blocks folded.
VP_STARK_SIMD_CLONES size_t FoldBlocksSimd(const Fp* a, size_t len, size_t m, Fp c, Fp* out) {
  size_t q = 0;
  Fp cq = Fp::One();
  for (; (q + 1) * m <= len; ++q, cq *= c) {
    const Fp8 f = Fp8Splat(cq);
    const Fp* src = a + q * m;
    for (size_t r = 0; r < m; r += 8) {
      Fp8Store(out + r, Fp8Add(Fp8Load(out + r), Fp8Mul(Fp8Load(src + r), f)));
    }
  }
  return q;
}

// out (m elements) = a folded modulo x^m - c: out[r] = sum_q a[q m + r] c^q.
void FoldModulo(std::span<const Fp> a, size_t m, Fp c, Fp* out) {
  std::fill(out, out + m, Fp::Zero());
  size_t q = 0;
  if (!g_scalar && m % 8 == 0) q = FoldBlocksSimd(a.data(), a.size(), m, c, out);
  Fp cq = c.Pow(q);
  for (size_t i = q * m; i < a.size(); i += m, cq *= c) {
    for (size_t r = 0; r < m && i + r < a.size(); ++r) out[r] += a[i + r] * cq;
  }
}

}  // namespace

std::vector<std::vector<Fp>> EvaluateColumnsOnSmallCoset(const std::vector<std::vector<Fp>>& coeffs,
                                                         size_t m, Fp shift) {
  std::vector<std::vector<Fp>> out(coeffs.size(), std::vector<Fp>(m));
  const Fp c = shift.Pow(m);
  const long long count = static_cast<long long>(coeffs.size());
#pragma omp parallel for schedule(dynamic, 1) if (count > 1 && !coeffs.empty() && coeffs[0].size() >= 4096)
  for (long long cc = 0; cc < count; ++cc) {
    const auto i = static_cast<size_t>(cc);
    FoldModulo(coeffs[i], m, c, out[i].data());
    Evaluate(out[i], shift);
  }
  return out;
}

bool SetNttScalarForTesting(bool scalar) {
  const bool previous = g_scalar;
  g_scalar = scalar;
  return previous;
}

std::vector<std::vector<Fp>> ZeroColumns(size_t count, size_t rows) {
  std::vector<std::vector<Fp>> out(count);
  const long long m = static_cast<long long>(count);
#pragma omp parallel for schedule(static) if (m > 1 && rows >= 4096)
  for (long long c = 0; c < m; ++c) out[static_cast<size_t>(c)].resize(rows);
  return out;
}

void InterpolateColumns(std::vector<std::vector<Fp>>& columns, Fp shift) {
  const long long m = static_cast<long long>(columns.size());
#pragma omp parallel for schedule(dynamic, 1) if (m > 1 && !columns.empty() && columns[0].size() >= 1024)
  for (long long c = 0; c < m; ++c) Interpolate(columns[static_cast<size_t>(c)], shift);
}

std::vector<std::vector<Fp>> LowDegreeExtendColumns(const std::vector<std::vector<Fp>>& coeffs,
                                                    size_t domain_size, Fp shift) {
  std::vector<std::vector<Fp>> out(coeffs.size());
  const long long m = static_cast<long long>(coeffs.size());
#pragma omp parallel for schedule(dynamic, 1) if (m > 1 && domain_size >= 1024)
  for (long long c = 0; c < m; ++c) {
    const auto i = static_cast<size_t>(c);
    out[i] = LowDegreeExtend(coeffs[i], domain_size, shift);
  }
  return out;
}

std::vector<Fp> PolyMul(std::span<const Fp> a, std::span<const Fp> b) {
  if (a.empty() || b.empty()) return {};
  const size_t out_len = a.size() + b.size() - 1;
  if (std::min(a.size(), b.size()) <= 32) {
    std::vector<Fp> out(out_len);
    for (size_t i = 0; i < a.size(); ++i) {
      for (size_t j = 0; j < b.size(); ++j) out[i + j] += a[i] * b[j];
    }
    return out;
  }
  size_t n = 1;
  while (n < out_len) n *= 2;
  std::vector<Fp> fa(n), fb(n);
  std::copy(a.begin(), a.end(), fa.begin());
  std::copy(b.begin(), b.end(), fb.begin());
  Evaluate(fa);
  Evaluate(fb);
  for (size_t i = 0; i < n; ++i) fa[i] *= fb[i];
  Interpolate(fa);
  fa.resize(out_len);
  return fa;
}

std::vector<Fp> PolyFromRoots(std::span<const Fp> roots) {
  if (roots.empty()) return {Fp::One()};
  if (roots.size() == 1) return {-roots[0], Fp::One()};
  const size_t mid = roots.size() / 2;
  return PolyMul(PolyFromRoots(roots.subspan(0, mid)), PolyFromRoots(roots.subspan(mid)));
}

}  // namespace vp::stark
