// Radix-2 number-theoretic transforms over Goldilocks: coefficients <-> evaluations on a
// multiplicative coset shift * <w_n>, both in natural order. Large transforms split their
// butterflies across threads (OpenMP); batches of columns run one column per thread.
//
//   std::vector<Fp> coeffs = values; Interpolate(coeffs);           // INTT on <w_n>
//   std::vector<Fp> lde = LowDegreeExtend(coeffs, 8 * n, Fp(7));    // 7 * <w_8n>
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "vp/stark/field.h"

namespace vp::stark {

// Evaluations of the polynomial with these coefficients on shift * <w_n>, n = size (a power
// of two), in place.
void Evaluate(std::span<Fp> coeffs, Fp shift = Fp::One());
// Inverse of Evaluate: values on shift * <w_n> become coefficients, in place.
void Interpolate(std::span<Fp> values, Fp shift = Fp::One());

// Evaluates coeffs (size <= domain_size) on shift * <w_domain_size>.
std::vector<Fp> LowDegreeExtend(std::span<const Fp> coeffs, size_t domain_size, Fp shift);

// The same evaluations grouped by coset: with m = coset_size (a power of two >= coeffs.size(),
// dividing domain_size), out[t * m + j] is the value at point t + (domain_size / m) * j of
// shift * <w_domain_size>, i.e. point j of the coset shift * w^t * <w_m>. The prover keeps
// its LDE columns in this order (no strided scatter, and row i+1 of the trace domain is the
// next element within a coset).
std::vector<Fp> LowDegreeExtendCosets(std::span<const Fp> coeffs, size_t coset_size,
                                      size_t domain_size, Fp shift);

// count zeroed columns of rows elements, allocated and zeroed by all threads: first touches
// of fresh pages are slow (microseconds each on this project's VM) and one thread zeroing a
// whole trace serializes them.
std::vector<std::vector<Fp>> ZeroColumns(size_t count, size_t rows);

// Applies Interpolate / LowDegreeExtend to each column, spreading columns over threads.
void InterpolateColumns(std::vector<std::vector<Fp>>& columns, Fp shift = Fp::One());
std::vector<std::vector<Fp>> LowDegreeExtendColumns(const std::vector<std::vector<Fp>>& coeffs,
                                                    size_t domain_size, Fp shift);

// num_cosets (optional) keeps only the first num_cosets cosets of each column.
std::vector<std::vector<Fp>> LowDegreeExtendColumnsCosets(const std::vector<std::vector<Fp>>& coeffs,
                                                          size_t coset_size, size_t domain_size, Fp shift,
                                                          size_t num_cosets = SIZE_MAX);

// Evaluations of each column (coefficients, any length) on the small coset shift * <w_m> (m a
// power of two), in natural order: the column is folded modulo x^m - shift^m (one
// multiplication per coefficient) and that remainder is evaluated (one transform of size m).
// The prover's composition uses it for the few points beyond its full cosets.
std::vector<std::vector<Fp>> EvaluateColumnsOnSmallCoset(const std::vector<std::vector<Fp>>& coeffs,
                                                         size_t m, Fp shift);

// Tests only: true routes every transform through the portable scalar loops, false through
// the 8-lane kernels (packed.h; the default where they are compiled for the CPU). Returns the
// previous setting. Not thread-safe: call before transforms start.
bool SetNttScalarForTesting(bool scalar);

// Product of two polynomials (coefficients, low degree first), by NTT when large.
std::vector<Fp> PolyMul(std::span<const Fp> a, std::span<const Fp> b);
// Coefficients of prod_i (x - roots[i]) (product tree, O(r log^2 r)).
std::vector<Fp> PolyFromRoots(std::span<const Fp> roots);

inline bool IsPowerOfTwo(size_t n) { return n != 0 && (n & (n - 1)) == 0; }
inline unsigned Log2(size_t n) {
  unsigned r = 0;
  while ((size_t{1} << r) < n) ++r;
  return r;
}

}  // namespace vp::stark
