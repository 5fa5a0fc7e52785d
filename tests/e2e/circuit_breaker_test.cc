// DestinationRule connectionPool limits as Envoy's circuit breakers: over http2MaxRequests or
// tcp.maxConnections a request is answered at once with 503 and flag UO, counted, and the
// slots come back when requests finish (also across a reload while they run).
#include <csignal>

#include "tests/e2e/e2e_test.h"

namespace infergate::e2e {
namespace {

std::string limited(uint16_t port, uint16_t admin, uint16_t sim, const std::string& pool, int workers = 2) {
  return gateway_base_yaml(port, admin, static_cast<unsigned>(workers), {{"s", sim, "app: llm, version: v1"}},
                           "  accessLog: {path: /dev/stdout}\n") +
         "---\napiVersion: v1\nkind: Service\nmetadata: {name: llm}\nspec:\n  selector: {app: llm}\n"
         "  ports: [{port: 80, targetPort: 8000}]\n"
         "---\napiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: llm}\nspec:\n  host: llm\n"
         "  trafficPolicy:\n    connectionPool:\n" + pool +
         "  subsets: [{name: v1, labels: {version: v1}}]\n"
         "---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: llm}\nspec:\n"
         "  hosts: ['*']\n  gateways: [gw]\n  http:\n  - route: [{destination: {host: llm, subset: v1}}]\n"
         "    retries: {attempts: 0}\n";
}

// `n` slow requests at once; their statuses.
std::vector<int> concurrent(uint16_t port, int n) {
  std::vector<int> status(static_cast<size_t>(n));
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i)
    threads.emplace_back([&, i] { status[static_cast<size_t>(i)] = http_request(port, "POST", "/v1/chat/completions", {}, chat_body(1, false)).status; });
  for (auto& t : threads) t.join();
  return status;
}

TEST(CircuitBreaker, MaxRequestsRefusesTheRestWithUpstreamOverflow) {
  Modelsim sim({"--ttft-ms", "400"});
  Gateway gw([&](uint16_t port, uint16_t admin) {
    return limited(port, admin, sim.port(), "      http: {http2MaxRequests: 2}\n");
  });
  auto status = concurrent(gw.port(), 6);
  EXPECT_EQ(std::count(status.begin(), status.end(), 200), 2);
  EXPECT_EQ(std::count(status.begin(), status.end(), 503), 4);
  EXPECT_EQ(gw.stat_sum(".upstream_rq_pending_overflow"), 4);
  EXPECT_TRUE(gw.wait_log(" UO ", scaled(2000))) << gw.process().out();
  // The slots came back.
  status = concurrent(gw.port(), 2);
  EXPECT_EQ(std::count(status.begin(), status.end(), 200), 2);
}

TEST(CircuitBreaker, MaxConnectionsCapsTheClustersConnections) {
  Modelsim sim({"--ttft-ms", "400"});
  Gateway gw([&](uint16_t port, uint16_t admin) {
    // One worker: connections are pooled per worker, so a cluster capped at one connection
    // can only reuse it from the worker that opened it (as in Envoy).
    return limited(port, admin, sim.port(), "      tcp: {maxConnections: 1}\n", 1);
  });
  auto status = concurrent(gw.port(), 3);
  EXPECT_EQ(std::count(status.begin(), status.end(), 200), 1);
  EXPECT_EQ(std::count(status.begin(), status.end(), 503), 2);
  EXPECT_EQ(gw.stat_sum(".upstream_cx_overflow"), 2);
  // Keep-alive: the one connection is reused, nothing is refused one at a time.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(http_request(gw.port(), "GET", "/v1/models").status, 200);
}

TEST(CircuitBreaker, SlotsHeldAcrossAReloadAreStillCounted) {
  Modelsim sim({"--ttft-ms", "800"});
  Gateway gw([&](uint16_t port, uint16_t admin) {
    return limited(port, admin, sim.port(), "      http: {http2MaxRequests: 1}\n");
  });
  std::thread slow([&] { EXPECT_EQ(http_request(gw.port(), "POST", "/v1/chat/completions", {}, chat_body(1, false)).status, 200); });
  std::this_thread::sleep_for(milliseconds(200));
  // A reload while the request runs: the new snapshot sees the same count.
  gw.write_config(limited(gw.port(), gw.admin_port(), sim.port(), "      http: {http2MaxRequests: 1, maxRetries: 3}\n"));
  ASSERT_TRUE(gw.wait_stat_at_least("infergate.config.version", 2, scaled(3000)));
  EXPECT_EQ(http_request(gw.port(), "POST", "/v1/chat/completions", {}, chat_body(1, false)).status, 503);
  slow.join();
  EXPECT_EQ(http_request(gw.port(), "POST", "/v1/chat/completions", {}, chat_body(1, false)).status, 200);
}

}  // namespace
}  // namespace infergate::e2e
