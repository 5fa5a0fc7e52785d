// Active HTTP health checks through the real gateway and real model servers (modelsim): a
// server whose /health fails is taken out of its InferencePool (while its /metrics scrape
// still succeeds: the two verdicts are independent), comes back once it passes again, and the
// counters and the admin /pools JSON say so. Configured both ways: GatewayConfig
// spec.endpointPicker.healthCheck and GKE's HealthCheckPolicy.
#include <map>
#include <string>

#include "tests/e2e/e2e_test.h"

namespace infergate::e2e {
namespace {

const std::string kStat = "cluster.inferencepool_default_pool.health_check.";

std::string chat(const std::string& prompt) {
  return R"({"model":"sim-model","messages":[{"role":"user","content":")" + prompt + R"("}],"max_tokens":2})";
}

std::vector<std::unique_ptr<Modelsim>> start_sims(size_t n) {
  std::vector<std::unique_ptr<Modelsim>> sims;
  for (size_t i = 0; i < n; ++i)
    sims.push_back(std::make_unique<Modelsim>(std::vector<std::string>{"--name", "sim-" + std::to_string(i)}));
  return sims;
}

GatewaySetup pool_of(const std::vector<std::unique_ptr<Modelsim>>& sims) {
  GatewaySetup s;
  s.workers = 2;
  for (size_t i = 0; i < sims.size(); ++i) s.endpoints.push_back(Upstream{"sim-" + std::to_string(i), sims[i]->port()});
  return s;
}

nlohmann::json pool_json(Gateway& gw) {
  auto j = nlohmann::json::parse(gw.admin("GET", "/pools").body, nullptr, false);
  return j.is_object() && j["pools"].size() == 1 ? j["pools"][0] : nlohmann::json();
}

// The /pools health_check object of endpoint `i` (null when none).
nlohmann::json endpoint_check(Gateway& gw, size_t i) {
  const auto p = pool_json(gw);
  if (p.is_null() || p["endpoints"].size() <= i) return nullptr;
  return p["endpoints"][i]["health_check"];
}

bool every_endpoint_checked(Gateway& gw, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const auto c = endpoint_check(gw, i);
    if (!c.is_object() || c["checks"].get<int>() < 1) return false;
  }
  return true;
}

bool set_health(Modelsim& sim, int status) {
  return http_request(sim.port(), "POST", "/modelsim/faults", {}, R"({"health_status": )" + std::to_string(status) + "}")
             .status == 200;
}

// `n` requests with distinct prompts (no prefix affinity); who answered them.
std::map<std::string, int> served_by(Gateway& gw, int n, const std::string& tag) {
  std::map<std::string, int> seen;
  for (int i = 0; i < n; ++i) {
    HttpResponse r = http_request(gw.port(), "POST", "/v1/chat/completions", {}, chat(tag + " " + std::to_string(i)));
    EXPECT_EQ(r.status, 200) << r.body;
    seen[r.header("x-modelsim-instance")]++;
  }
  return seen;
}

TEST(HealthChecks, AFailingHealthPathTakesAServerOutAndItComesBack) {
  auto sims = start_sims(3);
  GatewaySetup setup = pool_of(sims);
  setup.gateway_spec_extra =
      "  endpointPicker:\n"
      "    healthCheck: {path: /health, interval: 200ms, timeout: 500ms, healthyThreshold: 2, unhealthyThreshold: 2}\n";
  Gateway gw(setup);
  ASSERT_TRUE(wait_until([&] { return every_endpoint_checked(gw, 3); }, scaled(5000))) << pool_json(gw).dump();
  EXPECT_EQ(pool_json(gw)["health_check"]["path"], "/health");
  EXPECT_EQ(pool_json(gw)["health_check"]["origin"], "GatewayConfig spec.endpointPicker.healthCheck");
  EXPECT_EQ(gw.stat(kStat + "healthy"), 3);

  ASSERT_TRUE(set_health(*sims[1], 503));
  ASSERT_TRUE(wait_until([&] { return endpoint_check(gw, 1)["healthy"] == false; }, scaled(5000)))
      << pool_json(gw).dump();
  const auto ep = pool_json(gw)["endpoints"][1];
  EXPECT_EQ(ep["health_flags"], "/failed_active_hc");
  EXPECT_EQ(ep["health_check"]["last_failure"], "HTTP 503");
  EXPECT_GE(ep["health_check"]["consecutive_failures"].get<int>(), 2);
  EXPECT_EQ(ep["last_error"], "") << "its /metrics scrape still succeeds: only the health check failed";
  EXPECT_EQ(pool_json(gw)["ready"], 2);
  EXPECT_EQ(gw.stat(kStat + "healthy"), 2);
  EXPECT_GE(gw.stat(kStat + "failure"), 2);
  EXPECT_EQ(gw.stat(kStat + "network_failure"), 0);

  // Traffic stops going to it: every request is served by the other two.
  const auto during = served_by(gw, 30, "out");
  EXPECT_EQ(during.count("sim-1"), 0u) << "the unhealthy server was picked";
  int others = 0;
  for (const auto& [who, n] : during) others += who == "sim-0" || who == "sim-2" ? n : 0;
  EXPECT_EQ(others, 30);

  // It passes again: healthy after two passes in a row, and picked again.
  ASSERT_TRUE(set_health(*sims[1], 0));
  ASSERT_TRUE(wait_until([&] { return endpoint_check(gw, 1)["healthy"] == true; }, scaled(5000)))
      << pool_json(gw).dump();
  EXPECT_GE(endpoint_check(gw, 1)["consecutive_passes"].get<int>(), 2);
  EXPECT_EQ(pool_json(gw)["endpoints"][1]["health_flags"], "healthy");
  EXPECT_EQ(pool_json(gw)["ready"], 3);
  EXPECT_EQ(gw.stat(kStat + "healthy"), 3);
  const auto after = served_by(gw, 45, "back");
  EXPECT_GT(after.count("sim-1") ? after.at("sim-1") : 0, 3) << "the recovered server was not picked again";
  EXPECT_GT(gw.stat(kStat + "success"), 0);
  EXPECT_GE(gw.stat(kStat + "attempt"), gw.stat(kStat + "success") + gw.stat(kStat + "failure"));

  // Envoy's names on the Prometheus side as well.
  const std::string prom = gw.admin("GET", "/stats/prometheus").body;
  EXPECT_NE(prom.find("envoy_cluster_health_check_attempt{envoy_cluster_name=\"inferencepool/default/pool\"}"),
            std::string::npos)
      << prom.substr(0, 2000);
}

TEST(HealthChecks, AGkeHealthCheckPolicyChecksThePoolAndCountsNetworkFailures) {
  auto sims = start_sims(2);
  GatewaySetup setup = pool_of(sims);
  setup.extra_documents =
      "apiVersion: networking.gke.io/v1\nkind: HealthCheckPolicy\nmetadata: {name: hc}\nspec:\n"
      "  targetRef: {group: inference.networking.k8s.io, kind: InferencePool, name: pool}\n"
      "  default:\n    checkIntervalSec: 1\n    timeoutSec: 1\n    healthyThreshold: 1\n    unhealthyThreshold: 1\n"
      "    config:\n      type: HTTP\n      httpHealthCheck: {requestPath: /health}\n";
  Gateway gw(setup);
  ASSERT_TRUE(wait_until([&] { return every_endpoint_checked(gw, 2); }, scaled(5000))) << pool_json(gw).dump();
  EXPECT_EQ(endpoint_check(gw, 0)["origin"], "HealthCheckPolicy/default/hc");
  EXPECT_EQ(pool_json(gw)["health_check"]["interval_ms"], 1000);

  ASSERT_TRUE(set_health(*sims[0], 500));
  ASSERT_TRUE(wait_until([&] { return endpoint_check(gw, 0)["healthy"] == false; }, scaled(5000)))
      << pool_json(gw).dump();
  EXPECT_EQ(endpoint_check(gw, 0)["last_failure"], "HTTP 500");
  const auto during = served_by(gw, 20, "gke");
  EXPECT_EQ(during.count("sim-0"), 0u);
  EXPECT_EQ(during.count("sim-1") ? during.at("sim-1") : 0, 20);

  // A server that is gone: its checks get no response at all.
  sims[1]->process().kill_now();
  ASSERT_TRUE(wait_until([&] { return gw.stat(kStat + "network_failure") >= 1; }, scaled(5000)));
  ASSERT_TRUE(wait_until([&] { return endpoint_check(gw, 1)["healthy"] == false; }, scaled(5000)));
  EXPECT_NE(endpoint_check(gw, 1)["last_failure"].get<std::string>().find("connect"), std::string::npos)
      << endpoint_check(gw, 1).dump();
  EXPECT_EQ(gw.stat(kStat + "healthy"), 0);
  // Nothing left to pick: 503, as with no ready endpoint.
  EXPECT_EQ(http_request(gw.port(), "POST", "/v1/chat/completions", {}, chat("none")).status, 503);

  ASSERT_TRUE(set_health(*sims[0], 0));
  ASSERT_TRUE(wait_until([&] { return endpoint_check(gw, 0)["healthy"] == true; }, scaled(5000)));
  EXPECT_EQ(http_request(gw.port(), "POST", "/v1/chat/completions", {}, chat("again")).status, 200);
}

// A plain Service backend (no scraper, no picker): its HealthCheckPolicy is the only health
// signal, and the cluster's load balancer skips what fails it.
TEST(HealthChecks, AServicesPolicyKeepsItsClusterToPassingEndpoints) {
  auto sims = start_sims(2);
  Gateway gw([&](uint16_t port, uint16_t admin) {
    std::string y = gateway_base_yaml(port, admin, 1,
                                      {{"web-0", sims[0]->port(), "app: web"}, {"web-1", sims[1]->port(), "app: web"}});
    y += R"(---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8000}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web}
spec:
  parentRefs: [{name: gw}]
  rules: [{backendRefs: [{name: web, port: 80}]}]
---
apiVersion: networking.gke.io/v1
kind: HealthCheckPolicy
metadata: {name: web-hc}
spec:
  targetRef: {kind: Service, name: web}
  default:
    checkIntervalSec: 1
    timeoutSec: 1
    unhealthyThreshold: 1
    healthyThreshold: 1
    config: {type: HTTP, httpHealthCheck: {requestPath: /health}}
)";
    return y;
  });
  const std::string stat = "cluster.service_default_web_80.health_check.";
  ASSERT_TRUE(wait_until([&] { return gw.stat(stat + "success") >= 2; }, scaled(5000)));
  ASSERT_TRUE(set_health(*sims[0], 503));
  ASSERT_TRUE(wait_until([&] { return gw.stat(stat + "healthy") == 1; }, scaled(5000)));
  const auto clusters = gw.admin("GET", "/clusters").body;
  EXPECT_NE(clusters.find("service/default/web/80::127.0.0.1:" + std::to_string(sims[0]->port()) +
                          "::health_flags::/failed_active_hc"),
            std::string::npos)
      << clusters;
  const auto seen = served_by(gw, 20, "web");
  EXPECT_EQ(seen.count("sim-0"), 0u);
  EXPECT_EQ(seen.count("sim-1") ? seen.at("sim-1") : 0, 20);
}

}  // namespace
}  // namespace infergate::e2e
