// The `vaultproof eth ...` commands: each reads its input, calls vp::eth, and returns the
// one JSON object the command prints. Errors come back as Status; main prints them as
// {"error": CODE, "message": ...} on stderr and exits 2. The contract is in the README.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli_io.h"
#include "vp/base/bytes.h"
#include "vp/base/secure.h"

namespace vp::app {

// Adds the `eth` subcommand tree to app; the chosen command's outcome is written to
// *exit_code (0, or 2 after printing an error) when it runs.
void AddEthCommands(CLI::App& app, int* exit_code);

// The operations behind the commands (also used by `eth batch` and `demo`).
StatusOr<nlohmann::json> EthAddress(ByteSpan private_key);
StatusOr<nlohmann::json> EthSignTx(ByteSpan private_key, std::string_view tx_json);
StatusOr<nlohmann::json> EthSignMessage(ByteSpan private_key, ByteSpan message);
StatusOr<nlohmann::json> EthSignTypedData(ByteSpan private_key, std::string_view typed_data_json);
StatusOr<nlohmann::json> EthDecodeTx(std::string_view raw_hex);
StatusOr<nlohmann::json> EthDerive(std::string_view mnemonic, std::string_view passphrase, std::string_view path);

// Runs one JSON line of `eth batch` and returns the output line's object (a result or
// {"error","message"}); never fails as a whole.
nlohmann::json EthBatchLine(std::string_view line);

}  // namespace vp::app
