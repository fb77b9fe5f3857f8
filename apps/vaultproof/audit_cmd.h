// `vaultproof audit verify --data-dir D [--db URL] [--public-key HEX]...`: checks the whole
// audit chain and every signed digest (docs/audit_log.md, section 4) and prints one JSON
// report. Exit 0: intact; 1: tampering found (the report names the first finding);
// 2: error (unreadable store, missing or exposed key file, bad flags).
#pragma once

#include <CLI/CLI.hpp>

namespace vp::app {

void AddAuditCommands(CLI::App& app, int* exit_code);

}  // namespace vp::app
