// Goldilocks constants that are cheaper to compute once than to hard-code.
#include "vp/stark/field.h"

namespace vp::stark {

Fp Fp::RootOfUnity(uint32_t log_n) {
  // 7^((p-1)/2^32) has order exactly 2^32; square it down to the requested order.
  static const Fp kTop = Fp::Generator().Pow((kModulus - 1) >> kTwoAdicity);
  Fp r = kTop;
  for (uint32_t i = log_n; i < kTwoAdicity; ++i) r = r.Square();
  return r;
}

}  // namespace vp::stark
