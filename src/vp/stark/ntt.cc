// Iterative radix-2 NTT: bit-reversal permutation followed by Cooley-Tukey butterflies,
// with per-size twiddle tables cached for the life of the process.
#include "vp/stark/ntt.h"

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <utility>

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

void BitReverse(std::span<Fp> v, unsigned log_n) {
  const size_t n = v.size();
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
  (void)log_n;
}

inline void Butterflies(Fp* d, const Fp* t, size_t h, size_t begin, size_t end) {
  // blocks of 2h starting at multiples of 2h in [begin, end)
  for (size_t b = begin; b < end; b += 2 * h) {
    Fp* lo = d + b;
    Fp* hi = lo + h;
    for (size_t j = 0; j < h; ++j) {
      const Fp x = lo[j];
      const Fp y = hi[j] * t[j];
      lo[j] = x + y;
      hi[j] = x - y;
    }
  }
}

void Transform(std::span<Fp> v, bool inverse) {
  const size_t n = v.size();
  if (n <= 1) return;
  const unsigned log_n = Log2(n);
  const std::vector<Fp>& tw = Twiddles(log_n, inverse);
  BitReverse(v, log_n);
  Fp* d = v.data();
  [[maybe_unused]] const bool parallel = n >= kParallelThreshold;
  // Cache blocking: all stages whose butterflies stay inside a block of kBlock elements run
  // block by block (one pass over memory); the remaining stages make one pass each.
  constexpr size_t kBlock = size_t{1} << 11;
  const size_t block = std::min(n, kBlock);
  const long long num_blocks = static_cast<long long>(n / block);
#pragma omp parallel for schedule(static) if (parallel)
  for (long long bb = 0; bb < num_blocks; ++bb) {
    const size_t begin = static_cast<size_t>(bb) * block;
    // stage 0: twiddle 1
    for (size_t i = begin; i < begin + block; i += 2) {
      const Fp x = d[i], y = d[i + 1];
      d[i] = x + y;
      d[i + 1] = x - y;
    }
    for (size_t h = 2; h < block; h *= 2) Butterflies(d, tw.data() + h, h, begin, begin + block);
  }
  for (size_t h = block; h < n; h *= 2) {
    const size_t span = 2 * h;
    if (n / span >= 2) {
      const long long groups = static_cast<long long>(n / span);
#pragma omp parallel for schedule(static) if (parallel)
      for (long long g = 0; g < groups; ++g) {
        const size_t b = static_cast<size_t>(g) * span;
        Butterflies(d, tw.data() + h, h, b, b + span);
      }
    } else {
      // the last stage: split the j range
      const long long parts = 64;
      const size_t step = h / static_cast<size_t>(parts);
      const Fp* t = tw.data() + h;
#pragma omp parallel for schedule(static) if (parallel)
      for (long long pidx = 0; pidx < parts; ++pidx) {
        const size_t j0 = static_cast<size_t>(pidx) * step;
        for (size_t j = j0; j < j0 + step; ++j) {
          const Fp x = d[j];
          const Fp y = d[j + h] * t[j];
          d[j] = x + y;
          d[j + h] = x - y;
        }
      }
    }
  }
}

void ScaleByPowers(std::span<Fp> v, Fp base, Fp first) {
  Fp x = first;
  for (auto& e : v) {
    e *= x;
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

std::vector<Fp> LowDegreeExtend(std::span<const Fp> coeffs, size_t domain_size, Fp shift) {
  std::vector<Fp> out(domain_size);
  size_t m = 1;  // smallest power of two >= coeffs.size()
  while (m < coeffs.size()) m *= 2;
  if (m >= domain_size || m < 64) {
    for (size_t i = 0; i < coeffs.size() && i < domain_size; ++i) out[i] = coeffs[i];
    Evaluate(out, shift);
    return out;
  }
  // The domain shift * <w_N> is the union of the cosets shift * w_N^t * <w_m>, t < N/m: one
  // size-m transform per coset (less work, and each fits in cache). Point t + (N/m) j of the
  // domain is point j of coset t.
  const size_t cosets = domain_size / m;
  const Fp w = Fp::RootOfUnity(Log2(domain_size));
  // coeffs[i] * (shift w^t)^i = (coeffs[i] * shift^i) * (w^i)^t: scale once by shift^i, then
  // each coset multiplies by the running powers w^(i t).
  std::vector<Fp> base(m), step(m);
  {
    Fp sp = Fp::One(), wp = Fp::One();
    for (size_t i = 0; i < m; ++i) {
      base[i] = i < coeffs.size() ? coeffs[i] * sp : Fp::Zero();
      step[i] = wp;
      sp *= shift;
      wp *= w;
    }
  }
  std::vector<Fp> tmp(m);
  for (size_t t = 0; t < cosets; ++t) {
    for (size_t i = 0; i < m; ++i) tmp[i] = base[i];
    Transform(tmp, /*inverse=*/false);
    for (size_t p = 0; p < m; ++p) out[t + cosets * p] = tmp[p];
    for (size_t i = 0; i < m; ++i) base[i] *= step[i];
  }
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
