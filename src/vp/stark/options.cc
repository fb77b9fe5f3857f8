// Proof option validation and security estimates.
#include "vp/stark/options.h"

#include <algorithm>
#include <cmath>

namespace vp::stark {

Status ProofOptions::Validate() const {
  if (log_blowup < 1 || log_blowup > 6) return InvalidArgumentError("options: log_blowup must be 1..6");
  if (num_queries < 1 || num_queries > 128) return InvalidArgumentError("options: num_queries must be 1..128");
  if (grinding_bits > 32) return InvalidArgumentError("options: grinding_bits must be <= 32");
  if (log_folding_factor < 1 || log_folding_factor > 4) {
    return InvalidArgumentError("options: log_folding_factor must be 1..4");
  }
  if (log_remainder_max > 10) return InvalidArgumentError("options: log_remainder_max must be <= 10");
  return OkStatus();
}

double ProofOptions::ConjecturedSecurityBits(unsigned log_lde_size) const {
  const double query_bits = static_cast<double>(num_queries) * log_blowup + grinding_bits;
  const double field_bits = 128.0 - static_cast<double>(log_lde_size) - 1.0;
  const double hash_bits = 128.0;
  return std::floor(std::min({query_bits, field_bits, hash_bits}));
}

double ProofOptions::ProvenSecurityBits(unsigned log_lde_size) const {
  const double m = 3.0;
  const double rho = 1.0 / std::pow(2.0, log_blowup);
  const double alpha = std::sqrt(rho) * (1.0 + 1.0 / (2.0 * m));
  const double query_bits = -static_cast<double>(num_queries) * std::log2(alpha) + grinding_bits;
  const double n = std::pow(2.0, log_lde_size);
  const double commit_err_log2 =
      std::log2(std::pow(m + 0.5, 7) / (3.0 * std::pow(rho, 1.5)) * n * n);
  const double commit_bits = 128.0 - commit_err_log2;
  return std::floor(std::max(0.0, std::min({query_bits, commit_bits, 128.0})));
}

}  // namespace vp::stark
