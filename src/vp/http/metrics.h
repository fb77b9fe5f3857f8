// Metrics: a small hand-written Prometheus exporter (text format 0.0.4). Request counts
// by route and status and latency histograms by route and status class are preallocated
// per route, so the hot path is a few relaxed atomic increments; labeled counters and
// histograms for rarer events (rate-limit refusals, auth failures, store latency, job
// durations) sit behind a mutex. Gauges are read through callbacks at scrape time.
//
//   Metrics m({"GET /v1/ping", "POST /v1/echo"});
//   m.ObserveRequest(route_index, 200, 0.0004);
//   m.Count("vp_rate_limited_total", "scope", "key");
//   std::string text = m.Render();
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vp::http {

class Histogram {
 public:
  static constexpr std::array<double, 14> kBounds = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                     0.025,  0.05,    0.1,    0.25,  0.5,    1.0,  5.0};
  void Observe(double seconds);
  // Appends "<name>_bucket{labels,le=...} n" lines, _sum and _count.
  void Render(std::string& out, std::string_view name, std::string_view labels) const;
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }

 private:
  std::array<std::atomic<uint64_t>, kBounds.size()> buckets_{};
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_ns_{0};
};

// `queue="q",outcome="ok"`: label pairs rendered for the multi-label calls below.
std::string Labels(std::initializer_list<std::pair<std::string_view, std::string_view>> pairs);

class Metrics {
 public:
  // One slot per route label, plus one for requests no route matched ("unmatched").
  explicit Metrics(std::vector<std::string> route_labels);

  size_t unmatched_route() const { return routes_.size() - 1; }
  void ObserveRequest(size_t route, unsigned status, double seconds);

  // A labeled counter: name{label="value"} += 1. Names must be valid metric names.
  void Count(std::string_view name, std::string_view label, std::string_view value, uint64_t n = 1);
  // A labeled histogram (store latency by operation, job durations by queue).
  void Observe(std::string_view name, std::string_view label, std::string_view value, double seconds);
  // A gauge read when rendering.
  void AddGauge(std::string name, std::string help, std::function<double()> read);

  // Several labels: `labels` comes from Labels() (rendered and escaped once).
  void Count(std::string_view name, const std::string& labels, uint64_t n = 1);
  void Observe(std::string_view name, const std::string& labels, double seconds);
  // A labeled gauge family read when rendering: (Labels(...), value) pairs.
  using GaugeSeries = std::vector<std::pair<std::string, double>>;
  void AddGaugeFamily(std::string name, std::string help, std::function<GaugeSeries()> read);

  uint64_t RequestCount(size_t route, unsigned status) const;
  std::string Render() const;

 private:
  struct Route {
    std::string label;
    std::array<std::atomic<uint64_t>, 600> by_status{};
    std::array<Histogram, 6> by_class;  // index status/100 (1xx..5xx)
  };
  std::vector<std::unique_ptr<Route>> routes_;
  mutable std::mutex mu_;
  // name -> rendered label set (Labels()) -> series
  std::map<std::string, std::map<std::string, uint64_t>> counters_;
  std::map<std::string, std::map<std::string, std::unique_ptr<Histogram>>> histograms_;
  std::vector<std::tuple<std::string, std::string, std::function<double()>>> gauges_;
  std::vector<std::tuple<std::string, std::string, std::function<GaugeSeries()>>> families_;
};

// Escapes a label value for the text format (\\, \", \n).
std::string PrometheusEscape(std::string_view v);

}  // namespace vp::http
