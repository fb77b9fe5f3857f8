#include "vp/base/json.h"

#include <set>
#include <string>
#include <vector>

namespace vp {

StatusOr<nlohmann::json> ParseJsonStrict(std::string_view text, std::string_view context, int max_depth) {
  using nlohmann::json;
  const std::string ctx(context);
  try {
    std::vector<std::set<std::string, std::less<>>> open_objects;
    std::string duplicate;
    bool duplicate_found = false;
    bool too_deep = false;
    json::parser_callback_t track = [&](int depth, json::parse_event_t event, json& parsed) {
      switch (event) {
        case json::parse_event_t::object_start:
          open_objects.emplace_back();
          [[fallthrough]];
        case json::parse_event_t::array_start:
          if (depth >= max_depth) too_deep = true;
          break;
        case json::parse_event_t::object_end:
          if (!open_objects.empty()) open_objects.pop_back();
          break;
        case json::parse_event_t::key:
          if (!open_objects.empty() && parsed.is_string() && !duplicate_found &&
              !open_objects.back().insert(parsed.get<std::string>()).second) {
            duplicate = parsed.get<std::string>();
            duplicate_found = true;
          }
          break;
        default:
          break;
      }
      return true;
    };
    json doc = json::parse(text.begin(), text.end(), track, /*allow_exceptions=*/false);
    if (doc.is_discarded()) return InvalidArgumentError(ctx + ": not valid JSON");
    if (duplicate_found) {
      return InvalidArgumentError(ctx + ": duplicate JSON key " +
                                  json(duplicate).dump(-1, ' ', true, json::error_handler_t::replace));
    }
    if (too_deep) return InvalidArgumentError(ctx + ": JSON nested deeper than " + std::to_string(max_depth) + " levels");
    return doc;
  } catch (const std::exception& e) {
    return InvalidArgumentError(ctx + ": not valid JSON");
  }
}

std::string QuoteForMessage(std::string_view s) {
  return nlohmann::json(std::string(s)).dump(-1, ' ', true, nlohmann::json::error_handler_t::replace);
}

Status CheckJsonKeys(const nlohmann::json& doc, std::string_view what,
                     std::initializer_list<std::string_view> required,
                     std::initializer_list<std::string_view> optional) {
  if (!doc.is_object()) return InvalidArgumentError(std::string(what) + ": expected a JSON object");
  for (const auto& item : doc.items()) {
    bool known = false;
    for (std::string_view k : required) known = known || item.key() == k;
    for (std::string_view k : optional) known = known || item.key() == k;
    if (!known) return InvalidArgumentError(std::string(what) + ": unknown key " + QuoteForMessage(item.key()));
  }
  for (std::string_view k : required) {
    if (!doc.contains(std::string(k))) {
      return InvalidArgumentError(std::string(what) + ": missing key " + QuoteForMessage(k));
    }
  }
  return OkStatus();
}

}  // namespace vp
