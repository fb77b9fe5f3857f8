// Metrics: the Prometheus text a scrape sees.
#include "vp/http/metrics.h"

#include <gtest/gtest.h>

namespace vp::http {
namespace {

TEST(Metrics, RendersCountersHistogramsAndGauges) {
  Metrics m({"GET /v1/ping"});
  m.ObserveRequest(0, 200, 0.0003);
  m.ObserveRequest(0, 200, 0.002);
  m.ObserveRequest(m.unmatched_route(), 404, 0.0001);
  m.Count("vp_rate_limited_total", "scope", "key");
  m.Observe("vp_store_latency_seconds", "op", "audit_commit", 0.004);
  m.AddGauge("vp_connections", "Open connections.", [] { return 3.0; });
  EXPECT_EQ(m.RequestCount(0, 200), 2u);
  std::string t = m.Render();
  EXPECT_NE(t.find("vp_http_requests_total{route=\"GET /v1/ping\",status=\"200\"} 2\n"), std::string::npos) << t;
  EXPECT_NE(t.find("vp_http_requests_total{route=\"unmatched\",status=\"404\"} 1\n"), std::string::npos);
  EXPECT_NE(t.find("vp_http_request_duration_seconds_bucket{route=\"GET /v1/ping\",status=\"2xx\",le=\"0.0005\"} 1\n"),
            std::string::npos) << t;
  EXPECT_NE(t.find("vp_http_request_duration_seconds_bucket{route=\"GET /v1/ping\",status=\"2xx\",le=\"+Inf\"} 2\n"),
            std::string::npos);
  EXPECT_NE(t.find("vp_rate_limited_total{scope=\"key\"} 1\n"), std::string::npos);
  EXPECT_NE(t.find("vp_store_latency_seconds_count{op=\"audit_commit\"} 1\n"), std::string::npos);
  EXPECT_NE(t.find("vp_connections 3\n"), std::string::npos);
}

TEST(Metrics, MultiLabelSeriesAndGaugeFamilies) {
  Metrics m({});
  m.Count("vp_jobs_finished_total", Labels({{"queue", "tx.broadcast"}, {"outcome", "succeeded"}}));
  m.Count("vp_jobs_finished_total", Labels({{"queue", "tx.broadcast"}, {"outcome", "succeeded"}}), 2);
  m.Observe("vp_job_duration_seconds", Labels({{"queue", "q\"x"}, {"outcome", "retry"}}), 0.02);
  m.AddGaugeFamily("vp_jobs", "Jobs by queue and state.", [] {
    return Metrics::GaugeSeries{{Labels({{"queue", "a"}, {"state", "queued"}}), 4}, {Labels({{"queue", "a"}, {"state", "dead"}}), 1}};
  });
  std::string t = m.Render();
  EXPECT_NE(t.find("vp_jobs_finished_total{queue=\"tx.broadcast\",outcome=\"succeeded\"} 3\n"), std::string::npos) << t;
  EXPECT_NE(t.find("vp_job_duration_seconds_count{queue=\"q\\\"x\",outcome=\"retry\"} 1\n"), std::string::npos) << t;
  EXPECT_NE(t.find("# TYPE vp_jobs gauge\nvp_jobs{queue=\"a\",state=\"queued\"} 4\nvp_jobs{queue=\"a\",state=\"dead\"} 1\n"),
            std::string::npos) << t;
}

TEST(Metrics, EscapesLabelValues) {
  EXPECT_EQ(PrometheusEscape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
}

}  // namespace
}  // namespace vp::http
