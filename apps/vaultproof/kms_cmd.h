#pragma once

#include <CLI/CLI.hpp>

namespace vp::app {

// `vaultproof kms init|measure|status|rotate|verify-audit`: operator commands for the kms.
void AddKmsCommands(CLI::App& app, int* exit_code);

}  // namespace vp::app
