#include "vp/http/router.h"

namespace vp::http {
namespace {

// "/a/b" -> {"a","b"}; "/" -> {""}; keeps empty segments so "/a//b" never equals "/a/b".
std::vector<std::string_view> Split(std::string_view path) {
  std::vector<std::string_view> out;
  path.remove_prefix(1);
  while (true) {
    size_t slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

bool IsParam(std::string_view seg) {
  return seg.size() > 2 && seg.front() == '{' && seg.back() == '}';
}

}  // namespace

StatusOr<size_t> Router::Add(std::string_view method, std::string_view pattern) {
  if (method.empty()) return InvalidArgumentError("router: empty method");
  if (pattern.empty() || pattern.front() != '/') {
    return InvalidArgumentError("router: pattern must start with '/'");
  }
  Route r;
  r.method = std::string(method);
  r.label = std::string(method) + " " + std::string(pattern);
  for (std::string_view seg : Split(pattern)) {
    if (seg.find('{') != std::string_view::npos && !IsParam(seg)) {
      return InvalidArgumentError("router: a {param} must be a whole segment: " + std::string(pattern));
    }
    r.segments.emplace_back(seg);
  }
  for (const Route& existing : routes_) {
    if (existing.label == r.label) return AlreadyExistsError("router: duplicate route " + r.label);
  }
  routes_.push_back(std::move(r));
  return routes_.size() - 1;
}

bool Router::MatchSegments(const Route& r, const std::vector<std::string_view>& parts,
                           std::vector<std::pair<std::string, std::string>>* params) {
  if (r.segments.size() != parts.size()) return false;
  for (size_t i = 0; i < parts.size(); ++i) {
    const std::string& seg = r.segments[i];
    if (IsParam(seg)) {
      if (parts[i].empty()) return false;
    } else if (seg != parts[i]) {
      return false;
    }
  }
  if (params != nullptr) {
    params->clear();
    for (size_t i = 0; i < parts.size(); ++i) {
      const std::string& seg = r.segments[i];
      if (IsParam(seg)) params->emplace_back(seg.substr(1, seg.size() - 2), std::string(parts[i]));
    }
  }
  return true;
}

RouteMatch Router::Match(std::string_view method, std::string_view path) const {
  RouteMatch m;
  if (path.empty() || path.front() != '/') return m;
  std::vector<std::string_view> parts = Split(path);
  for (size_t i = 0; i < routes_.size(); ++i) {
    const Route& r = routes_[i];
    if (r.method != method) continue;
    if (MatchSegments(r, parts, &m.params)) {
      m.kind = RouteMatch::kFound;
      m.index = i;
      return m;
    }
  }
  m.params.clear();
  for (const Route& r : routes_) {
    if (!MatchSegments(r, parts, nullptr)) continue;
    if (m.allowed.find(r.method) != std::string::npos) continue;
    if (!m.allowed.empty()) m.allowed += ", ";
    m.allowed += r.method;
  }
  if (!m.allowed.empty()) m.kind = RouteMatch::kMethodNotAllowed;
  return m;
}

}  // namespace vp::http
