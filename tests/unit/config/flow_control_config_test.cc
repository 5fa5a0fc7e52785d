// GatewayConfig spec.flowControl: off when absent, the Inference Extension's defaults when
// written empty, every field read, and each mistake reported with file, line, document and
// field path.
#include <gtest/gtest.h>

#include <string>

#include "config/loader.h"
#include "test_util.h"

namespace infergate::config {
namespace {

using testing::has_diagnostic;
using testing::line_of;
using testing::render;

const std::string& kHead = testing::kGatewayConfigHead;

LoadResult load(const std::string& spec) { return testing::load_gateway_spec(spec); }

TEST(FlowControlConfig, AbsentIsOffAndEmptyIsOnWithGiesDefaults) {
  LoadResult r = load("  workers: 1\n");
  ASSERT_TRUE(r.ok()) << render(r.errors);
  EXPECT_FALSE(r.config->gateway.flow_control.enabled);
  r = load("  flowControl: {}\n");
  ASSERT_TRUE(r.ok()) << render(r.errors);
  const FlowControlConfig& f = r.config->gateway.flow_control;
  EXPECT_TRUE(f.enabled);
  EXPECT_EQ(f.queue_depth_threshold, 5u);
  EXPECT_DOUBLE_EQ(f.kv_cache_util_threshold, 0.8);
  EXPECT_EQ(f.max_concurrency_per_endpoint, 0u);
  EXPECT_EQ(f.fairness, FlowFairness::RoundRobin);
  EXPECT_EQ(f.ordering, FlowOrdering::Fcfs);
  EXPECT_EQ(f.default_band.ttl, std::chrono::seconds(30));
  EXPECT_TRUE(f.bands.empty());
}

TEST(FlowControlConfig, EveryField) {
  LoadResult r = load(
      "  flowControl:\n"
      "    queueDepthThreshold: 3\n    kvCacheUtilThreshold: 0.9\n    maxConcurrencyPerEndpoint: 4\n"
      "    fairness: global-strict\n    ordering: edf\n    deadlineHeader: X-Deadline-Ms\n"
      "    maxRequests: 100\n    maxBytes: 1000000\n"
      "    defaultBand: {maxRequests: 50, maxBytes: 50000, ttl: 2s, deadline: 500ms}\n"
      "    bands:\n    - {priority: -1, maxRequests: 10, ttl: 1s}\n    - {priority: 10, maxBytes: 9000}\n");
  ASSERT_TRUE(r.ok()) << render(r.errors);
  const FlowControlConfig& f = r.config->gateway.flow_control;
  EXPECT_EQ(f.queue_depth_threshold, 3u);
  EXPECT_DOUBLE_EQ(f.kv_cache_util_threshold, 0.9);
  EXPECT_EQ(f.max_concurrency_per_endpoint, 4u);
  EXPECT_EQ(f.fairness, FlowFairness::GlobalStrict);
  EXPECT_EQ(f.ordering, FlowOrdering::Edf);
  EXPECT_EQ(f.deadline_header, "x-deadline-ms");
  EXPECT_EQ(f.max_requests, 100u);
  EXPECT_EQ(f.max_bytes, 1000000u);
  EXPECT_EQ(f.default_band.max_requests, 50u);
  EXPECT_EQ(f.default_band.deadline, std::chrono::milliseconds(500));
  ASSERT_EQ(f.bands.size(), 2u);
  EXPECT_EQ(f.bands[0].priority, 10);  // highest first
  EXPECT_EQ(f.bands[0].limits.max_bytes, 9000u);
  EXPECT_EQ(f.bands[0].limits.max_requests, 50u);  // from the default band
  EXPECT_EQ(f.bands[1].priority, -1);
  EXPECT_EQ(f.band(-1).ttl, std::chrono::seconds(1));
  EXPECT_EQ(f.band(7).ttl, std::chrono::seconds(2));  // not listed: the default band
  r = load("  flowControl: {enabled: false, fairness: roundRobin}\n");
  ASSERT_TRUE(r.ok()) << render(r.errors);
  EXPECT_FALSE(r.config->gateway.flow_control.enabled);
}

TEST(FlowControlConfig, MistakesNameFileLineDocumentAndField) {
  struct Case {
    std::string spec, needle, expected;
  };
  const Case cases[] = {
      {"  flowControl:\n    queueDepthThreshold: 0\n", "queueDepthThreshold", ""},
      {"  flowControl:\n    kvCacheUtilThreshold: 1.5\n", "kvCacheUtilThreshold", ""},
      {"  flowControl:\n    fairness: lottery\n", "fairness", ""},
      {"  flowControl:\n    ordering: lifo\n", "ordering", ""},
      {"  flowControl:\n    deadlineHeader: \"x deadline\"\n", "deadlineHeader",
       "spec.flowControl.deadlineHeader: must be an HTTP header name"},
      {"  flowControl:\n    defaultBand: {ttl: 0s}\n", "defaultBand",
       "spec.flowControl.defaultBand.ttl: must be more than 0 and at most 1h"},
      {"  flowControl:\n    bands:\n    - {maxRequests: 3}\n", "maxRequests", ""},
      {"  flowControl:\n    bands:\n    - {priority: 1}\n    - {priority: 1, ttl: 1s}\n", "priority: 1, ttl",
       "spec.flowControl.bands[1].priority: priority 1 already has a band at spec.flowControl.bands[0]"},
      {"  flowControl:\n    bands:\n    - {priority: 1, queue: 3}\n", "queue", ""},
      {"  flowControl:\n    maxRequests: 10\n    bands:\n    - {priority: 1, maxRequests: 11}\n", "bands", ""},
      {"  flowControl:\n    queueDepth: 5\n", "queueDepth",
       "spec.flowControl.queueDepth: unknown field \"queueDepth\" (known: enabled, queueDepthThreshold, "
       "kvCacheUtilThreshold, maxConcurrencyPerEndpoint, fairness, ordering, deadlineHeader, defaultBand, bands, "
       "maxRequests, maxBytes)"},
  };
  for (const Case& c : cases) {
    LoadResult r = load(c.spec);
    ASSERT_FALSE(r.ok()) << c.spec;
    const std::string all = render(r.errors);
    EXPECT_NE(all.find("gc.yaml:"), std::string::npos) << all;
    EXPECT_NE(all.find("document 1 (GatewayConfig/gc)"), std::string::npos) << all;
    EXPECT_NE(all.find("spec.flowControl"), std::string::npos) << all;
    if (c.expected.empty()) continue;
    const int line = line_of(kHead + c.spec, c.needle);
    EXPECT_TRUE(has_diagnostic(r.errors, "gc.yaml:" + std::to_string(line) + ": document 1 (GatewayConfig/gc): " +
                                             c.expected))
        << all;
  }
}

}  // namespace
}  // namespace infergate::config
