// Builds an AIR from its name and public inputs (what a proof carries), so a verifier can
// check a proof given only the proof bytes and the expected AIR name.
//
//   ASSIGN_OR_RETURN(std::unique_ptr<Air> air, MakeAir("poseidon2-chain", proof.public_inputs));
#pragma once

#include <memory>
#include <span>
#include <string_view>

#include "vp/base/status.h"
#include "vp/stark/air.h"

namespace vp::stark {

// kInvalidArgument for an unknown name or malformed public inputs.
StatusOr<std::unique_ptr<Air>> MakeAir(std::string_view name, std::span<const Fp> public_inputs);

}  // namespace vp::stark
