// Validates our text exposition with Prometheus' own parser and linter
// (`promtool check metrics`, Debian package "prometheus"); skipped without it.

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "metrics/registry.h"

namespace infergate::metrics {
namespace {

bool have_promtool() { return std::system("command -v promtool >/dev/null 2>&1") == 0; }

struct Result {
  int exit_code = -1;
  std::string output;
};

Result promtool_check(const std::string& exposition) {
  const std::string dir = ::testing::TempDir();
  const std::string in = dir + "/metrics_promtool_in_" + std::to_string(::getpid()) + ".txt";
  const std::string out = in + ".out";
  std::ofstream(in) << exposition;
  const int status = std::system(("promtool check metrics < '" + in + "' > '" + out + "' 2>&1").c_str());
  Result r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::stringstream ss;
  ss << std::ifstream(out).rdbuf();
  r.output = ss.str();
  std::remove(in.c_str());
  std::remove(out.c_str());
  return r;
}

void populate(Registry& r) {
  const std::vector<std::string> versions = {"v1", "v2"};
  for (const std::string& v : versions) {
    r.counter("infergate_requests_total", "Requests by route, version and code.",
              {{"route", "llm-route"}, {"version", v}, {"code", "200"}})
        .inc(10);
    r.histogram("inference_objective_request_duration_seconds", "Request latency in seconds.",
                kGieLatencyBucketsSeconds, {{"model_name", "llama"}, {"target_model_name", "llama-" + v}})
        .observe(0.3);
  }
  r.counter("infergate_weird_labels_total", "Label values with \\ \" and newlines.\nSecond line.",
            {{"value", "quote\" backslash\\ newline\n end"}, {"utf8", "h\xc3\xa9llo \xff"}})
      .inc();
  r.gauge("inference_pool_average_kv_cache_utilization", "Average KV cache use.", {{"name", "llm"}}).set(0.42);
  r.gauge("infergate_connections", "Open downstream connections.").add(-3);
  const Histogram upstream = r.histogram("envoy_cluster_upstream_rq_time", "Upstream request time.",
                                         kEnvoyLatencyBucketsMs, {{"envoy_cluster_name", "llm"}});
  std::thread([&] {
    set_thread_shard(1);
    for (double v : {0.1, 3.0, 70.0, 5e6}) upstream.observe(v);
  }).join();
}

TEST(Promtool, PrometheusTextPassesCheckMetrics) {
  if (!have_promtool()) GTEST_SKIP() << "promtool not installed (apt-get install prometheus)";
  Registry r(2);
  populate(r);
  const Result res = promtool_check(r.prometheus_text());
  EXPECT_EQ(res.exit_code, 0) << res.output << "\n--- exposition ---\n" << r.prometheus_text();
}

TEST(Promtool, EmptyRegistryPassesCheckMetrics) {
  if (!have_promtool()) GTEST_SKIP() << "promtool not installed (apt-get install prometheus)";
  Registry r(1);
  const Result res = promtool_check(r.prometheus_text());
  EXPECT_EQ(res.exit_code, 0) << res.output;
}

// The check must be able to fail: a malformed exposition is rejected.
TEST(Promtool, RejectsMalformedText) {
  if (!have_promtool()) GTEST_SKIP() << "promtool not installed (apt-get install prometheus)";
  const Result res = promtool_check("# TYPE x counter\nx{a=\"unterminated} 1\n");
  EXPECT_NE(res.exit_code, 0) << res.output;
}

}  // namespace
}  // namespace infergate::metrics
