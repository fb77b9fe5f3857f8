// What every `vaultproof` command shares: one JSON object on stdout on success, the error
// envelope {"error": CODE, "message"} on stderr and exit 2 on failure, and the readers of
// stdin and secret files. JSON is printed with invalid UTF-8 replaced, never thrown on.
//
//   cmd->callback([=] { EmitJson(exit_code, [&]() -> StatusOr<nlohmann::json> { ... }); });
#pragma once

#include <nlohmann/json.hpp>

#include <iostream>
#include <string>

#include "vp/base/secure.h"
#include "vp/base/status.h"

namespace vp::app {

// Prints {"error": CODE, "message"} on stderr.
void PrintError(const Status& status);
// Prints one JSON object on stdout.
void PrintJson(const nlohmann::json& value);

// Runs fn and prints its JSON (stdout, *exit_code = 0) or its error (stderr, *exit_code = 2).
template <typename Fn>
void EmitJson(int* exit_code, Fn&& fn) {
  StatusOr<nlohmann::json> out = fn();
  if (!out.ok()) {
    PrintError(out.status());
    *exit_code = 2;
    return;
  }
  PrintJson(*out);
  *exit_code = 0;
}

// Reads a whole file into locked memory (at most max_bytes, else kResourceExhausted).
StatusOr<SecureBuffer> ReadSecretFile(const std::string& path, size_t max_bytes = 64 * 1024);
// Reads all of stdin (at most max_bytes, else kResourceExhausted).
StatusOr<std::string> ReadStdin(size_t max_bytes);

}  // namespace vp::app
