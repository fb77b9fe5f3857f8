// Strict JSON parsing for every input the project accepts (CLI stdin, HTTP bodies): on top
// of nlohmann's grammar it refuses a repeated key in any object (nlohmann silently keeps the
// last one, so two readers could see two different documents) and nesting deeper than
// max_depth (so hostile input cannot exhaust the stack of recursive consumers). Never throws.
//
//   ASSIGN_OR_RETURN(nlohmann::json doc, vp::ParseJsonStrict(body, "request body"));
#pragma once

#include <nlohmann/json.hpp>
#include <initializer_list>
#include <string>
#include <string_view>

#include "vp/base/status.h"

namespace vp {

inline constexpr int kJsonMaxDepth = 64;

// kInvalidArgument "<context>: not valid JSON" / "<context>: duplicate JSON key \"k\"" /
// "<context>: JSON nested deeper than N levels".
StatusOr<nlohmann::json> ParseJsonStrict(std::string_view text, std::string_view context,
                                         int max_depth = kJsonMaxDepth);

// The object holds every required key, the optional ones at will, and nothing else:
// kInvalidArgument "<what>: expected a JSON object" / "<what>: unknown key \"k\"" /
// "<what>: missing key \"k\"" otherwise (keys quoted as JSON, invalid UTF-8 replaced).
Status CheckJsonKeys(const nlohmann::json& doc, std::string_view what,
                     std::initializer_list<std::string_view> required,
                     std::initializer_list<std::string_view> optional = {});

// A string quoted as a JSON string for error messages, whatever bytes it holds.
std::string QuoteForMessage(std::string_view s);

}  // namespace vp
