// Router: method + path pattern ("/v1/api-keys/{id}/disable") to a route index. Patterns
// are split into segments once at registration; matching is a segment compare, no regex.
// A path that matches some pattern under another method is 405 with the allowed methods.
//
//   Router r;
//   size_t ping = *r.Add("GET", "/v1/ping");
//   RouteMatch m = r.Match("GET", "/v1/ping");   // m.kind == kFound, m.index == ping
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vp/base/status.h"

namespace vp::http {

struct RouteMatch {
  enum Kind { kFound, kNotFound, kMethodNotAllowed } kind = kNotFound;
  size_t index = 0;
  std::vector<std::pair<std::string, std::string>> params;
  std::string allowed;  // "GET, POST" for kMethodNotAllowed
};

class Router {
 public:
  // Registers a route and returns its index (0, 1, ...). A pattern must start with '/';
  // a {param} is a whole segment; the same method+pattern twice is kAlreadyExists.
  StatusOr<size_t> Add(std::string_view method, std::string_view pattern);

  // Trailing slashes matter ("/v1/ping/" is not "/v1/ping"); empty segments never match a
  // {param}. HEAD is not implied by GET.
  RouteMatch Match(std::string_view method, std::string_view path) const;

  size_t size() const { return routes_.size(); }
  // "GET /v1/ping": the label used in metrics and logs.
  const std::string& Label(size_t index) const { return routes_[index].label; }

 private:
  struct Route {
    std::string method;
    std::string label;
    std::vector<std::string> segments;  // "{id}" kept with braces
  };
  static bool MatchSegments(const Route& r, const std::vector<std::string_view>& parts,
                            std::vector<std::pair<std::string, std::string>>* params);
  std::vector<Route> routes_;
};

}  // namespace vp::http
