#include "vp/http/metrics.h"

#include <cstdio>
#include <tuple>

namespace vp::http {
namespace {

std::string FormatDouble(double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.9g", v);
  return buf;
}

}  // namespace

std::string PrometheusEscape(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void Histogram::Observe(double seconds) {
  if (!(seconds >= 0)) seconds = 0;
  for (size_t i = 0; i < kBounds.size(); ++i) {
    if (seconds <= kBounds[i]) {
      buckets_[i].fetch_add(1, std::memory_order_relaxed);
      break;
    }
  }
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(static_cast<uint64_t>(seconds * 1e9), std::memory_order_relaxed);
}

void Histogram::Render(std::string& out, std::string_view name, std::string_view labels) const {
  uint64_t cumulative = 0;
  std::string sep = labels.empty() ? "" : ",";
  for (size_t i = 0; i < kBounds.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    out += std::string(name) + "_bucket{" + std::string(labels) + sep + "le=\"" + FormatDouble(kBounds[i]) +
           "\"} " + std::to_string(cumulative) + "\n";
  }
  uint64_t n = count_.load(std::memory_order_relaxed);
  out += std::string(name) + "_bucket{" + std::string(labels) + sep + "le=\"+Inf\"} " + std::to_string(n) + "\n";
  std::string braces = labels.empty() ? "" : "{" + std::string(labels) + "}";
  out += std::string(name) + "_sum" + braces + " " +
         FormatDouble(static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9) + "\n";
  out += std::string(name) + "_count" + braces + " " + std::to_string(n) + "\n";
}

Metrics::Metrics(std::vector<std::string> route_labels) {
  route_labels.emplace_back("unmatched");
  for (std::string& l : route_labels) {
    auto r = std::make_unique<Route>();
    r->label = std::move(l);
    routes_.push_back(std::move(r));
  }
}

void Metrics::ObserveRequest(size_t route, unsigned status, double seconds) {
  if (route >= routes_.size()) route = unmatched_route();
  if (status >= 600) status = 599;
  Route& r = *routes_[route];
  r.by_status[status].fetch_add(1, std::memory_order_relaxed);
  r.by_class[status / 100].Observe(seconds);
}

uint64_t Metrics::RequestCount(size_t route, unsigned status) const {
  if (route >= routes_.size() || status >= 600) return 0;
  return routes_[route]->by_status[status].load(std::memory_order_relaxed);
}

void Metrics::Count(std::string_view name, std::string_view label, std::string_view value, uint64_t n) {
  Count(name, Labels({{label, value}}), n);
}

void Metrics::Observe(std::string_view name, std::string_view label, std::string_view value, double seconds) {
  Observe(name, Labels({{label, value}}), seconds);
}

std::string Labels(std::initializer_list<std::pair<std::string_view, std::string_view>> pairs) {
  std::string out;
  for (const auto& [k, v] : pairs) {
    if (!out.empty()) out += ',';
    out += std::string(k) + "=\"" + PrometheusEscape(v) + "\"";
  }
  return out;
}

void Metrics::Count(std::string_view name, const std::string& labels, uint64_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  counters_[std::string(name)][labels] += n;
}

void Metrics::Observe(std::string_view name, const std::string& labels, double seconds) {
  Histogram* h = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto& slot = histograms_[std::string(name)][labels];
    if (!slot) slot = std::make_unique<Histogram>();
    h = slot.get();
  }
  h->Observe(seconds);
}

void Metrics::AddGaugeFamily(std::string name, std::string help, std::function<GaugeSeries()> read) {
  std::lock_guard<std::mutex> lock(mu_);
  families_.emplace_back(std::move(name), std::move(help), std::move(read));
}

void Metrics::AddGauge(std::string name, std::string help, std::function<double()> read) {
  std::lock_guard<std::mutex> lock(mu_);
  gauges_.emplace_back(std::move(name), std::move(help), std::move(read));
}

std::string Metrics::Render() const {
  std::string out;
  out += "# HELP vp_http_requests_total HTTP requests by route and status.\n";
  out += "# TYPE vp_http_requests_total counter\n";
  for (const auto& r : routes_) {
    for (size_t s = 100; s < r->by_status.size(); ++s) {
      uint64_t n = r->by_status[s].load(std::memory_order_relaxed);
      if (n == 0) continue;
      out += "vp_http_requests_total{route=\"" + PrometheusEscape(r->label) + "\",status=\"" +
             std::to_string(s) + "\"} " + std::to_string(n) + "\n";
    }
  }
  out += "# HELP vp_http_request_duration_seconds Request latency by route and status class.\n";
  out += "# TYPE vp_http_request_duration_seconds histogram\n";
  for (const auto& r : routes_) {
    for (size_t c = 1; c < r->by_class.size(); ++c) {
      if (r->by_class[c].count() == 0) continue;
      std::string labels = "route=\"" + PrometheusEscape(r->label) + "\",status=\"" + std::to_string(c) + "xx\"";
      r->by_class[c].Render(out, "vp_http_request_duration_seconds", labels);
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [name, series] : counters_) {
    out += "# TYPE " + name + " counter\n";
    for (const auto& [labels, n] : series) out += name + "{" + labels + "} " + std::to_string(n) + "\n";
  }
  for (const auto& [name, series] : histograms_) {
    out += "# TYPE " + name + " histogram\n";
    for (const auto& [labels, h] : series) h->Render(out, name, labels);
  }
  for (const auto& [name, help, read] : gauges_) {
    out += "# HELP " + name + " " + help + "\n# TYPE " + name + " gauge\n";
    out += name + " " + FormatDouble(read()) + "\n";
  }
  for (const auto& [name, help, read] : families_) {
    out += "# HELP " + name + " " + help + "\n# TYPE " + name + " gauge\n";
    for (const auto& [labels, value] : read()) out += name + "{" + labels + "} " + FormatDouble(value) + "\n";
  }
  return out;
}

}  // namespace vp::http
