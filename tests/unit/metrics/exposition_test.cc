#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "metrics/registry.h"
#include "metrics/text_format.h"

namespace infergate::metrics {
namespace {

// A small registry every format test renders.
void populate(Registry& r) {
  r.counter("b_requests_total", "Requests.", {{"route", "r1"}, {"code", "200"}}).inc(3);
  r.gauge("a_inflight", "In flight.").add(2);
  const Histogram h = r.histogram("c_latency_seconds", "Latency.", std::vector<double>{0.1, 1.0}, {{"route", "r1"}});
  h.observe(0.25);
  h.observe(0.5);
  h.observe(3);
}

TEST(Exposition, PrometheusTextFormat) {
  Registry r(2);
  populate(r);
  EXPECT_EQ(r.prometheus_text(),
            "# HELP a_inflight In flight.\n"
            "# TYPE a_inflight gauge\n"
            "a_inflight 2\n"
            "# HELP b_requests_total Requests.\n"
            "# TYPE b_requests_total counter\n"
            "b_requests_total{code=\"200\",route=\"r1\"} 3\n"
            "# HELP c_latency_seconds Latency.\n"
            "# TYPE c_latency_seconds histogram\n"
            "c_latency_seconds_bucket{route=\"r1\",le=\"0.1\"} 0\n"
            "c_latency_seconds_bucket{route=\"r1\",le=\"1\"} 2\n"
            "c_latency_seconds_bucket{route=\"r1\",le=\"+Inf\"} 3\n"
            "c_latency_seconds_sum{route=\"r1\"} 3.75\n"
            "c_latency_seconds_count{route=\"r1\"} 3\n");
}

TEST(Exposition, OpenMetricsTextFormat) {
  Registry r(2);
  populate(r);
  EXPECT_EQ(r.openmetrics_text(),
            "# HELP a_inflight In flight.\n"
            "# TYPE a_inflight gauge\n"
            "a_inflight 2\n"
            "# HELP b_requests Requests.\n"
            "# TYPE b_requests counter\n"
            "b_requests_total{code=\"200\",route=\"r1\"} 3\n"
            "# HELP c_latency_seconds Latency.\n"
            "# TYPE c_latency_seconds histogram\n"
            "c_latency_seconds_bucket{route=\"r1\",le=\"0.1\"} 0\n"
            "c_latency_seconds_bucket{route=\"r1\",le=\"1\"} 2\n"
            "c_latency_seconds_bucket{route=\"r1\",le=\"+Inf\"} 3\n"
            "c_latency_seconds_sum{route=\"r1\"} 3.75\n"
            "c_latency_seconds_count{route=\"r1\"} 3\n"
            "# EOF\n");
}

TEST(Exposition, OpenMetricsCountersWithAndWithoutTotalShareAFamily) {
  Registry r(1);
  r.counter("upstream_rq_total", "All requests.").inc(5);
  r.counter("upstream_rq", "By code.", {{"code", "200"}}).inc(4);
  r.counter("retries", "").inc();
  EXPECT_EQ(r.openmetrics_text(),
            "# TYPE retries counter\n"
            "retries_total 1\n"
            "# HELP upstream_rq By code.\n"
            "# TYPE upstream_rq counter\n"
            "upstream_rq_total{code=\"200\"} 4\n"
            "upstream_rq_total 5\n"
            "# EOF\n");
}

TEST(Exposition, EscapesLabelValuesAndHelp) {
  Registry r(1);
  r.gauge("g", "Help with \\ backslash\nnewline and \"quote\".", {{"v", "a\\b\"c\nd"}, {"bad", "x\xff"}}).set(1.5);
  EXPECT_EQ(r.prometheus_text(),
            "# HELP g Help with \\\\ backslash\\nnewline and \"quote\".\n"
            "# TYPE g gauge\n"
            "g{bad=\"x\xEF\xBF\xBD\",v=\"a\\\\b\\\"c\\nd\"} 1.5\n");
  EXPECT_EQ(r.openmetrics_text(),
            "# HELP g Help with \\\\ backslash\\nnewline and \\\"quote\\\".\n"
            "# TYPE g gauge\n"
            "g{bad=\"x\xEF\xBF\xBD\",v=\"a\\\\b\\\"c\\nd\"} 1.5\n"
            "# EOF\n");
}

TEST(Exposition, SpecialFloatsAndLargeBounds) {
  Registry r(1);
  r.gauge("g_inf", "h").set(std::numeric_limits<double>::infinity());
  r.gauge("g_nan", "h").set(std::nan(""));
  r.histogram("h_ms", "h", std::vector<double>{0.5, 3600000}).observe(1);
  const std::string text = r.prometheus_text();
  EXPECT_NE(text.find("g_inf +Inf\n"), std::string::npos);
  EXPECT_NE(text.find("g_nan NaN\n"), std::string::npos);
  EXPECT_NE(text.find("h_ms_bucket{le=\"3.6e+06\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("h_ms_bucket{le=\"0.5\"} 0\n"), std::string::npos);
}

// Prometheus and its Go clients write floats as strconv.FormatFloat(v, 'g', -1, 64); `le`
// labels must come out the same or one histogram's series from two exporters do not line up.
TEST(Exposition, FloatsAreWrittenTheWayGoWritesThem) {
  auto text = [](double v) {
    std::string out;
    detail::append_double(out, v);
    return out;
  };
  EXPECT_EQ(text(0), "0");
  EXPECT_EQ(text(1), "1");
  EXPECT_EQ(text(-2.5), "-2.5");
  EXPECT_EQ(text(0.1), "0.1");
  EXPECT_EQ(text(0.0001), "0.0001");
  EXPECT_EQ(text(0.00001), "1e-05");
  EXPECT_EQ(text(-2.5e-7), "-2.5e-07");
  EXPECT_EQ(text(100000), "100000");
  EXPECT_EQ(text(123456.7), "123456.7");
  EXPECT_EQ(text(1e6), "1e+06");
  EXPECT_EQ(text(1234567.8), "1.2345678e+06");
  EXPECT_EQ(text(3.6e6), "3.6e+06");
  EXPECT_EQ(text(1e100), "1e+100");
  EXPECT_EQ(text(std::numeric_limits<double>::max()), "1.7976931348623157e+308");
  EXPECT_EQ(text(std::numeric_limits<double>::denorm_min()), "5e-324");
  EXPECT_EQ(text(-std::numeric_limits<double>::infinity()), "-Inf");
}

TEST(Exposition, EnvoyStatsGaugesAreWholeNumbersLikeEnvoys) {
  Registry r(1);
  r.gauge("big", "h").set(3.6e6);
  r.gauge("neg", "h").set(-7);
  r.gauge("frac", "h").set(0.25);
  EXPECT_EQ(r.envoy_stats_text(), "big: 3600000\nfrac: 0.25\nneg: -7\n");
  EXPECT_NE(r.prometheus_text().find("big 3.6e+06\n"), std::string::npos);
}

TEST(Exposition, EnvoyStatsText) {
  Registry r(2);
  r.counter("envoy_cluster_upstream_rq_total", "h", {{"envoy_cluster_name", "llm"}}, "cluster.llm.upstream_rq_total")
      .inc(3);
  r.gauge("envoy_http_downstream_rq_active", "h", {{"envoy_http_conn_manager_prefix", "ingress"}},
          "http.ingress.downstream_rq_active")
      .add(2);
  r.counter("b_requests_total", "h", {{"route", "r1"}, {"code", "200"}}).inc(7);
  r.counter("plain_total", "h").inc();
  const Histogram h = r.histogram("envoy_cluster_upstream_rq_time", "h", std::vector<double>{1, 2, 5, 10},
                                  {{"envoy_cluster_name", "llm"}}, "cluster.llm.upstream_rq_time");
  for (int i = 0; i < 4; ++i) h.observe(0.5);
  for (int i = 0; i < 4; ++i) h.observe(1.5);
  for (int i = 0; i < 2; ++i) h.observe(20);
  r.histogram("idle_ms", "h", std::vector<double>{1});
  EXPECT_EQ(r.envoy_stats_text(),
            "b_requests_total{code=\"200\",route=\"r1\"}: 7\n"
            "cluster.llm.upstream_rq_total: 3\n"
            "http.ingress.downstream_rq_active: 2\n"
            "plain_total: 1\n"
            "cluster.llm.upstream_rq_time: P0(nan,0) P25(nan,0.625) P50(nan,1.25) P75(nan,1.875) P90(nan,10) "
            "P95(nan,10) P99(nan,10) P99.5(nan,10) P99.9(nan,10) P100(nan,10)\n"
            "idle_ms: No recorded values\n");
}

TEST(Exposition, ResetShowsInEveryFormat) {
  Registry r(1);
  populate(r);
  r.reset_counters();
  const std::string text = r.prometheus_text();
  EXPECT_NE(text.find("b_requests_total{code=\"200\",route=\"r1\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("c_latency_seconds_count{route=\"r1\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("a_inflight 2\n"), std::string::npos);
}

}  // namespace
}  // namespace infergate::metrics
