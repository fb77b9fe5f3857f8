// AIR registry.
#include "vp/stark/airs/registry.h"

#include <string>

#include "vp/stark/airs/fibonacci.h"
#include "vp/stark/airs/permutation.h"
#include "vp/stark/airs/poseidon2_chain.h"

namespace vp::stark {

StatusOr<std::unique_ptr<Air>> MakeAir(std::string_view name, std::span<const Fp> pub) {
  if (name == "fibonacci") {
    ASSIGN_OR_RETURN(FibonacciAir a, FibonacciAir::FromPublicInputs(pub));
    return std::unique_ptr<Air>(new FibonacciAir(a));
  }
  if (name == "poseidon2-chain") {
    ASSIGN_OR_RETURN(Poseidon2ChainAir a, Poseidon2ChainAir::FromPublicInputs(pub));
    return std::unique_ptr<Air>(new Poseidon2ChainAir(a));
  }
  if (name == "permutation") {
    ASSIGN_OR_RETURN(PermutationAir a, PermutationAir::FromPublicInputs(pub));
    return std::unique_ptr<Air>(new PermutationAir(a));
  }
  return InvalidArgumentError("unknown AIR '" + std::string(name) + "'");
}

}  // namespace vp::stark
