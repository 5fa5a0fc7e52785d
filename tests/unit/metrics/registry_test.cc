#include "metrics/registry.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <thread>
#include <vector>

namespace infergate::metrics {
namespace {

// Runs f on a fresh thread that writes to the given shard.
template <class F>
void on_shard(unsigned shard, F f) {
  std::thread t([&] {
    set_thread_shard(shard);
    f();
  });
  t.join();
}

TEST(Registry, CounterSumsAllShards) {
  Registry r(4);
  const Counter c = r.counter("requests_total", "Requests.");
  for (unsigned s = 0; s < 4; ++s) on_shard(s, [&] { c.inc(s + 1); });
  c.inc();
  EXPECT_EQ(c.value(), 1u + 2 + 3 + 4 + 1);
}

TEST(Registry, SameNameAndLabelsIsTheSameSeriesWhateverTheLabelOrder) {
  Registry r(2);
  const Counter a = r.counter("rq_total", "h", {{"route", "r1"}, {"code", "200"}});
  const Counter b = r.counter("rq_total", "other help", {{"code", "200"}, {"route", "r1"}});
  const Counter other = r.counter("rq_total", "h", {{"code", "500"}, {"route", "r1"}});
  a.inc(2);
  EXPECT_EQ(b.value(), 2u);
  EXPECT_EQ(other.value(), 0u);
}

TEST(Registry, ThreadOutsideTheShardRangeStillCountsExactly) {
  Registry r(2);
  const Counter c = r.counter("x_total", "h");
  on_shard(99, [&] { c.inc(5); });
  EXPECT_EQ(c.value(), 5u);
}

TEST(Registry, ZeroShardsMeansOne) {
  Registry r(0);
  EXPECT_EQ(r.shards(), 1u);
  r.counter("x_total", "h").inc();
  EXPECT_EQ(r.counter("x_total", "h").value(), 1u);
}

TEST(Registry, GaugeAddSubAcrossShardsAndSet) {
  Registry r(3);
  const Gauge g = r.gauge("active", "Active.");
  on_shard(1, [&] { g.add(5); });
  on_shard(2, [&] { g.sub(2); });
  g.add(1);
  EXPECT_DOUBLE_EQ(g.value(), 4);
  g.set(0.75);
  EXPECT_DOUBLE_EQ(g.value(), 0.75);
  on_shard(1, [&] { g.sub(1); });
  EXPECT_DOUBLE_EQ(g.value(), -0.25);
  g.set(-3);
  EXPECT_DOUBLE_EQ(g.value(), -3);
}

TEST(Registry, HistogramBucketsAreInclusiveUpperBounds) {
  Registry r(2);
  const std::vector<double> bounds = {1, 2, 5};
  const Histogram h = r.histogram("latency_seconds", "h", bounds);
  for (double v : {-3.0, 0.5, 1.0}) h.observe(v);               // le=1
  on_shard(1, [&] { for (double v : {1.0000001, 2.0}) h.observe(v); });  // le=2
  h.observe(5);                                                   // le=5
  for (double v : {5.000001, 100.0, std::numeric_limits<double>::infinity()}) h.observe(v);  // +Inf
  h.observe(std::nan(""));                                        // ignored
  const Histogram::Snapshot s = h.snapshot();
  EXPECT_EQ(s.bounds, bounds);
  EXPECT_EQ(s.cumulative, (std::vector<uint64_t>{3, 5, 6, 9}));
  EXPECT_EQ(s.count, 9u);
  EXPECT_TRUE(std::isinf(s.sum));
}

TEST(Registry, HistogramSumIsMergedOverShards) {
  Registry r(2);
  const Histogram h = r.histogram("size_bytes", "h", std::vector<double>{10, 100});
  h.observe(2.5);
  on_shard(1, [&] { h.observe(40); });
  const Histogram::Snapshot s = h.snapshot();
  EXPECT_DOUBLE_EQ(s.sum, 42.5);
  EXPECT_EQ(s.cumulative, (std::vector<uint64_t>{1, 2, 2}));
}

TEST(Registry, TrailingInfBoundIsDroppedAndEmptyBoundsAllowed) {
  Registry r(1);
  const double inf = std::numeric_limits<double>::infinity();
  const Histogram a = r.histogram("a_seconds", "h", std::vector<double>{1, inf});
  EXPECT_EQ(a.snapshot().bounds, std::vector<double>{1});
  const Histogram b = r.histogram("b_seconds", "h", std::vector<double>{});
  b.observe(3);
  EXPECT_EQ(b.snapshot().cumulative, std::vector<uint64_t>{1});
}

TEST(Registry, ResetCountersZeroesCountersAndHistogramsNotGauges) {
  Registry r(2);
  const Counter c = r.counter("c_total", "h");
  const Gauge g = r.gauge("g", "h");
  const Histogram h = r.histogram("h_seconds", "h", std::vector<double>{1});
  on_shard(1, [&] {
    c.inc(7);
    g.add(3);
    h.observe(0.5);
    h.observe(2);
  });
  c.inc();
  r.reset_counters();
  EXPECT_EQ(c.value(), 0u);
  EXPECT_DOUBLE_EQ(g.value(), 3);
  const Histogram::Snapshot s = h.snapshot();
  EXPECT_EQ(s.count, 0u);
  EXPECT_EQ(s.cumulative, (std::vector<uint64_t>{0, 0}));
  EXPECT_DOUBLE_EQ(s.sum, 0);
  c.inc(2);
  EXPECT_EQ(c.value(), 2u);
}

TEST(Registry, UnboundHandlesDoNothing) {
  const Counter c;
  const Gauge g;
  const Histogram h;
  c.inc();
  g.add(1);
  g.set(3);
  h.observe(1);
  EXPECT_FALSE(c.bound());
  EXPECT_EQ(c.value(), 0u);
  EXPECT_EQ(g.value(), 0);
  EXPECT_EQ(h.snapshot().count, 0u);
}

TEST(Registry, RejectsInvalidNames) {
  Registry r(1);
  EXPECT_THROW(r.counter("", "h"), std::invalid_argument);
  EXPECT_THROW(r.counter("1abc", "h"), std::invalid_argument);
  EXPECT_THROW(r.counter("a-b", "h"), std::invalid_argument);
  EXPECT_THROW(r.counter("ok_total", "h", {{"__reserved", "v"}}), std::invalid_argument);
  EXPECT_THROW(r.counter("ok_total", "h", {{"1a", "v"}}), std::invalid_argument);
  EXPECT_THROW(r.counter("ok_total", "h", {{"a:b", "v"}}), std::invalid_argument);
  EXPECT_THROW(r.counter("ok_total", "h", {{"a", "1"}, {"a", "2"}}), std::invalid_argument);
  EXPECT_THROW(r.histogram("h_seconds", "h", std::vector<double>{1}, {{"le", "1"}}), std::invalid_argument);
  EXPECT_THROW(r.counter("ok_total", "h", {}, "has space"), std::invalid_argument);
  EXPECT_THROW(r.counter("ok_total", "h", {}, "a:b"), std::invalid_argument);
  EXPECT_NO_THROW(r.counter("ns:sub_total", "h", {{"_x9", ""}}, "cluster.outbound|80||svc.upstream_rq_total"));
  EXPECT_NO_THROW(r.gauge("ok_gauge", "h", {{"a", "1"}}));
}

TEST(Registry, RejectsBadBuckets) {
  Registry r(1);
  const double nan = std::nan("");
  EXPECT_THROW(r.histogram("a_seconds", "h", std::vector<double>{1, 1}), std::invalid_argument);
  EXPECT_THROW(r.histogram("a_seconds", "h", std::vector<double>{2, 1}), std::invalid_argument);
  EXPECT_THROW(r.histogram("a_seconds", "h", std::vector<double>{1, nan}), std::invalid_argument);
  EXPECT_THROW(r.histogram("a_seconds", "h", std::vector<double>(300, 0.0)), std::invalid_argument);
  EXPECT_THROW(r.histogram("a_seconds", "h", exponential_buckets(1, 1.01, 257)), std::invalid_argument);
  EXPECT_NO_THROW(r.histogram("a_seconds", "h", exponential_buckets(1, 1.01, 256)));
}

TEST(Registry, SameNameWithOtherTypeOrBucketsThrows) {
  Registry r(1);
  r.counter("x_total", "h");
  EXPECT_THROW(r.gauge("x_total", "h"), std::invalid_argument);
  EXPECT_THROW(r.histogram("x_total", "h", std::vector<double>{1}), std::invalid_argument);
  r.histogram("lat_seconds", "h", std::vector<double>{1, 2});
  EXPECT_THROW(r.histogram("lat_seconds", "h", std::vector<double>{1, 3}), std::invalid_argument);
  EXPECT_NO_THROW(r.histogram("lat_seconds", "h", std::vector<double>{1, 2}, {{"a", "b"}}));
}

TEST(Registry, FamiliesWhoseSamplesCollideAreRejected) {
  Registry r(1);
  r.histogram("lat", "h", std::vector<double>{1});
  EXPECT_THROW(r.counter("lat_count", "h"), std::invalid_argument);
  EXPECT_THROW(r.gauge("lat_bucket", "h"), std::invalid_argument);
  r.counter("jobs_total", "h");
  EXPECT_THROW(r.gauge("jobs", "h"), std::invalid_argument);  // OpenMetrics family "jobs" is the counter's
  // Envoy exports both upstream_rq and upstream_rq_total: they share OpenMetrics family.
  r.counter("upstream_rq_total", "h");
  EXPECT_NO_THROW(r.counter("upstream_rq", "h", {{"code", "200"}}));
  EXPECT_THROW(r.histogram("upstream_rq", "h", std::vector<double>{1}), std::invalid_argument);
}

TEST(Registry, EnvoyNamesAreUniqueAndStable) {
  Registry r(1);
  const Counter a = r.counter("rq_total", "h", {{"cluster", "a"}}, "cluster.a.upstream_rq_total");
  EXPECT_THROW(r.counter("rq_total", "h", {{"cluster", "b"}}, "cluster.a.upstream_rq_total"), std::invalid_argument);
  EXPECT_THROW(r.counter("rq_total", "h", {{"cluster", "a"}}, "cluster.x.upstream_rq_total"), std::invalid_argument);
  // Asking again with the same or no Envoy name is the same series.
  r.counter("rq_total", "h", {{"cluster", "a"}}, "cluster.a.upstream_rq_total").inc();
  r.counter("rq_total", "h", {{"cluster", "a"}}).inc();
  EXPECT_EQ(a.value(), 2u);
  // A series created without one may be given one later.
  r.counter("rq_total", "h", {{"cluster", "c"}});
  EXPECT_NO_THROW(r.counter("rq_total", "h", {{"cluster", "c"}}, "cluster.c.upstream_rq_total"));
  EXPECT_NE(r.envoy_stats_text().find("cluster.c.upstream_rq_total: 0\n"), std::string::npos);
}

TEST(Buckets, ExponentialAndPresets) {
  EXPECT_EQ(exponential_buckets(1, 2, 4), (std::vector<double>{1, 2, 4, 8}));
  EXPECT_THROW(exponential_buckets(0, 2, 4), std::invalid_argument);
  EXPECT_THROW(exponential_buckets(1, 1, 4), std::invalid_argument);
  EXPECT_THROW(exponential_buckets(1, 2, 0), std::invalid_argument);
  ASSERT_EQ(kEnvoyLatencyBucketsMs.size(), 19u);
  EXPECT_EQ(kEnvoyLatencyBucketsMs.front(), 0.5);
  EXPECT_EQ(kEnvoyLatencyBucketsMs.back(), 3600000);
  ASSERT_EQ(kGieLatencyBucketsSeconds.size(), 35u);
  EXPECT_EQ(kGieLatencyBucketsSeconds.front(), 0.005);
  EXPECT_EQ(kGieLatencyBucketsSeconds.back(), 3600);
  Registry r(1);
  EXPECT_NO_THROW(r.histogram("a_ms", "h", kEnvoyLatencyBucketsMs));
  EXPECT_NO_THROW(r.histogram("b_seconds", "h", kGieLatencyBucketsSeconds));
}


TEST(Registry, SparseHistogramsAreHiddenUntilTheirFirstObservation) {
  Registry r(2);
  const std::vector<double> bounds = {0.1, 1};
  Histogram quiet = r.sparse_histogram("lat_seconds", "latency", bounds, {{"v", "a"}});
  Histogram busy = r.sparse_histogram("lat_seconds", "latency", bounds, {{"v", "b"}});
  busy.observe(0.5);
  std::string text = r.prometheus_text();
  EXPECT_EQ(text.find("v=\"a\""), std::string::npos) << text;
  EXPECT_NE(text.find("lat_seconds_bucket{v=\"b\",le=\"1\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("lat_seconds_bucket{v=\"b\",le=\"+Inf\"} 1"), std::string::npos) << text;
  EXPECT_EQ(r.envoy_stats_text().find("v=\"a\""), std::string::npos);
  quiet.observe(2);
  text = r.openmetrics_text();
  EXPECT_NE(text.find("lat_seconds_count{v=\"a\"} 1"), std::string::npos) << text;
  EXPECT_THROW(r.histogram("lat_seconds", "latency", bounds, {{"v", "c"}}), std::invalid_argument);
}

TEST(Registry, SparseCountersAreHiddenWhileZero) {
  Registry r(2);
  Counter quiet = r.sparse_counter("errs_total", "errors", {{"flag", "UF"}}, "errs.UF");
  Counter loud = r.sparse_counter("errs_total", "errors", {{"flag", "UH"}}, "errs.UH");
  loud.inc(3);
  const std::string text = r.prometheus_text();
  EXPECT_EQ(text.find("flag=\"UF\""), std::string::npos) << text;
  EXPECT_NE(text.find("errs_total{flag=\"UH\"} 3"), std::string::npos) << text;
  EXPECT_EQ(r.envoy_stats_text().find("errs.UF"), std::string::npos);
  EXPECT_NE(r.envoy_stats_text().find("errs.UH: 3"), std::string::npos);
  quiet.inc();
  EXPECT_NE(r.prometheus_text().find("errs_total{flag=\"UF\"} 1"), std::string::npos);
  EXPECT_THROW(r.counter("errs_total", "errors", {{"flag", "UC"}}), std::invalid_argument);
  r.counter("dense_total", "d");
  EXPECT_THROW(r.sparse_counter("dense_total", "d", {{"a", "b"}}), std::invalid_argument);
}

}  // namespace
}  // namespace infergate::metrics
