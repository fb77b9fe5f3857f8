// `vaultproof serve`: the gateway (vp::http::Gateway) with its flags. Settings come from
// defaults < --config FILE (TOML) < VAULTPROOF_* environment < --listen / --data-dir.
#pragma once

#include <CLI/CLI.hpp>

namespace vp::app {

// Adds `serve`; its exit status (0 after a clean shutdown, 2 on error) goes to *exit_code.
void AddServeCommands(CLI::App& app, int* exit_code);

}  // namespace vp::app
