// The gateway's request and response as handlers see them: plain structs, free of the
// transport (Beast), so routing, auth and the envelope are testable without sockets.
//
//   Response r = JsonData(nlohmann::json{{"pong", true}});   // 200 {"data":{"pong":true}}
//   std::string_view sig = req.Header("authorization");
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vp::http {

struct Request {
  std::string method;     // "GET", upper case as sent
  std::string target;     // path + "?" + query, exactly as sent
  std::string path;       // before '?'
  std::string query;      // after '?', exactly as sent (no decoding), "" when absent
  // Header names in lower case; values as sent. Few enough that a linear scan wins.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string remote_ip;
  std::string request_id;
  std::chrono::steady_clock::time_point received_at{};
  // Filled by the router: {name} captures of the matched pattern, and the pattern itself.
  std::vector<std::pair<std::string, std::string>> params;
  std::string_view route;  // "GET /v1/ping"; "" when no route matched
  size_t route_index = 0;

  // The first header named 'lower_name' (already lower case), or "" when absent.
  std::string_view Header(std::string_view lower_name) const {
    for (const auto& [k, v] : headers) {
      if (k == lower_name) return v;
    }
    return {};
  }
  bool HasHeader(std::string_view lower_name) const {
    for (const auto& [k, v] : headers) {
      if (k == lower_name) return true;
    }
    return false;
  }
  std::string_view Param(std::string_view name) const {
    for (const auto& [k, v] : params) {
      if (k == name) return v;
    }
    return {};
  }
};

struct Response {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
  // false asks the transport to close the connection after writing (e.g. after 413).
  bool keep_alive = true;

  void SetHeader(std::string name, std::string value) {
    for (auto& [k, v] : headers) {
      if (k == name) {
        v = std::move(value);
        return;
      }
    }
    headers.emplace_back(std::move(name), std::move(value));
  }
};

}  // namespace vp::http
