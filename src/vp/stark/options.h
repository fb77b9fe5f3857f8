// Proof options and the security they buy.
//
// Conjectured security (the usual STARK conjecture, as in ethSTARK and Winterfell):
//   min(queries * log2(blowup) + grinding_bits, field bound, hash bound)
// where the field bound is log2|F_p^2| - log2(LDE domain size) - 1 (challenges live in the
// quadratic extension) and the hash bound is 128 (BLAKE3-256 collisions).
// Proven security uses the Johnson-bound analysis of FRI/DEEP-ALI (ethSTARK paper, Thm 2,
// with proximity parameter m = 3): queries contribute -log2(sqrt(rho) * (1 + 1/(2m))) each,
// and the commit phase is bounded by |F|/((m + 1/2)^7 / (3 rho^1.5) * N^2).
//
//   ProofOptions o;                  // defaults: 100 conjectured bits
//   double bits = o.ConjecturedSecurityBits(log_lde_size);
#pragma once

#include <cstdint>
#include <string>

#include "vp/base/status.h"

namespace vp::stark {

struct ProofOptions {
  uint8_t log_blowup = 3;          // LDE domain = 2^log_blowup * trace length
  uint8_t num_queries = 28;
  uint8_t grinding_bits = 16;
  uint8_t log_folding_factor = 3;  // FRI folds 2^k values per step (k in 1..4)
  uint8_t log_remainder_max = 6;   // FRI stops when the degree bound is <= 2^k
  bool zero_knowledge = true;

  // Malformed options (out-of-range fields) are kInvalidArgument.
  Status Validate() const;

  double ConjecturedSecurityBits(unsigned log_lde_size) const;
  double ProvenSecurityBits(unsigned log_lde_size) const;

  friend bool operator==(const ProofOptions&, const ProofOptions&) = default;
};

}  // namespace vp::stark
