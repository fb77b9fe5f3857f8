// `vaultproof api-key create|list|disable`: manage API keys straight in the store (no
// running gateway needed), e.g. to bootstrap the first admin key. `create` prints
// {"keyId","secret",...} once; the secret is never stored and cannot be shown again.
#pragma once

#include <CLI/CLI.hpp>

namespace vp::app {

void AddApiKeyCommands(CLI::App& app, int* exit_code);

}  // namespace vp::app
