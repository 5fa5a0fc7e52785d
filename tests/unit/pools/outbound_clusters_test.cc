// Istio clusters: one "outbound|port|subset|fqdn" per VirtualService destination and mirror,
// its endpoints narrowed by the DestinationRule subset, its traffic policy applied; and the
// load-balancing policies pick() offers them.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "config/loader.h"
#include "pools/cluster.h"
#include "pools_test_util.h"

namespace infergate::pools {
namespace {

const std::string kYaml = R"(apiVersion: infergate.dev/v1alpha1
kind: GatewayConfig
metadata: {name: gc}
spec:
  endpoints:
  - {name: v1-a, address: 10.0.0.1, labels: {app: llm, version: v1}}
  - {name: v1-b, address: 10.0.0.2, labels: {app: llm, version: v1}}
  - {name: v2-a, address: 127.0.0.1, port: 18003, labels: {app: llm, version: v2, gpu: h100}}
  - {name: other, address: 10.0.0.9, labels: {app: other, version: v1}}
---
apiVersion: v1
kind: Service
metadata: {name: llm}
spec:
  selector: {app: llm}
  ports:
  - {name: http, port: 80, targetPort: 8000}
  - {name: grpc-infer, port: 81, targetPort: 9000}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: llm}
spec:
  host: llm
  trafficPolicy:
    loadBalancer: {simple: ROUND_ROBIN}
    connectionPool:
      tcp: {maxConnections: 64, connectTimeout: 2s}
      http: {http1MaxPendingRequests: 8, http2MaxRequests: 256, maxRequestsPerConnection: 100}
  subsets:
  - name: v1
    labels: {version: v1}
    trafficPolicy:
      loadBalancer:
        consistentHash: {httpHeaderName: x-user}
      outlierDetection: {consecutive5xxErrors: 2, interval: 1s, baseEjectionTime: 10s, maxEjectionPercent: 50}
  - name: v2
    labels: {version: v2}
    trafficPolicy:
      loadBalancer: {simple: RANDOM}
  - name: big-gpu
    labels: {gpu: h100}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs}
spec:
  hosts: [llm]
  http:
  - match: [{headers: {version: {exact: v1}}}]
    route:
    - destination: {host: llm, subset: v1, port: {number: 80}}
  - route:
    - destination: {host: llm, subset: v2, port: {number: 80}}
      weight: 90
    - destination: {host: llm.default.svc.cluster.local, port: {number: 80}}
      weight: 10
    mirror: {host: llm, subset: big-gpu, port: {number: 81}}
)";

config::Config load() {
  config::LoadResult r = config::load_string(kYaml, "istio.yaml");
  for (const auto& e : r.errors) ADD_FAILURE() << e.to_string();
  return r.config ? *r.config : config::Config{};
}

std::set<std::string> keys(const Cluster& c) {
  std::set<std::string> out;
  for (const auto& e : c.endpoints) out.insert(e->key());
  return out;
}

TEST(OutboundClusters, OnePerDestinationAndMirrorWithSubsetEndpoints) {
  EndpointRegistry reg;
  std::vector<config::Diagnostic> errors;
  auto set = ClusterSet::build(load(), reg, &errors);
  EXPECT_TRUE(errors.empty());
  std::vector<std::string> names;
  for (const auto& c : set->clusters()) names.push_back(c.name);
  // Sorted by name (bytewise: "v" < "|").
  EXPECT_EQ(names, (std::vector<std::string>{
                       "outbound|80|v1|llm.default.svc.cluster.local",
                       "outbound|80|v2|llm.default.svc.cluster.local",
                       "outbound|80||llm.default.svc.cluster.local",
                       "outbound|81|big-gpu|llm.default.svc.cluster.local",
                   }));
  const Cluster* v1 = set->find("outbound|80|v1|llm.default.svc.cluster.local");
  ASSERT_NE(v1, nullptr);
  // The Service's selector and the subset's labels both apply: "other" has version v1 but
  // is not selected by the Service.
  EXPECT_EQ(keys(*v1), (std::set<std::string>{"10.0.0.1:8000", "10.0.0.2:8000"}));
  EXPECT_EQ(v1->service_name, "llm");
  EXPECT_EQ(v1->subset, "v1");
  const Cluster* v2 = set->find("outbound|80|v2|llm.default.svc.cluster.local");
  ASSERT_NE(v2, nullptr);
  EXPECT_EQ(keys(*v2), (std::set<std::string>{"127.0.0.1:18003"}));  // the pod's own port
  const Cluster* all = set->find("outbound|80||llm.default.svc.cluster.local");
  ASSERT_NE(all, nullptr);
  EXPECT_EQ(keys(*all), (std::set<std::string>{"10.0.0.1:8000", "10.0.0.2:8000", "127.0.0.1:18003"}));
  EXPECT_EQ(all->protocol, UpstreamProtocol::Http1);
  const Cluster* mirror = set->find("outbound|81|big-gpu|llm.default.svc.cluster.local");
  ASSERT_NE(mirror, nullptr);
  EXPECT_EQ(keys(*mirror), (std::set<std::string>{"127.0.0.1:18003"}));
  EXPECT_EQ(mirror->protocol, UpstreamProtocol::H2c);  // port named grpc-*: Istio's HTTP/2
  // Endpoint state is shared with every cluster selecting the same pod port.
  EXPECT_EQ(v2->endpoints[0], reg.find("127.0.0.1", 18003));
  EXPECT_EQ(mirror->endpoints[0], v2->endpoints[0]);
}

TEST(OutboundClusters, CarryTheirDestinationRulePolicy) {
  EndpointRegistry reg;
  auto set = ClusterSet::build(load(), reg, nullptr);
  const Cluster* all = set->find("outbound|80||llm.default.svc.cluster.local");
  const Cluster* v1 = set->find("outbound|80|v1|llm.default.svc.cluster.local");
  const Cluster* v2 = set->find("outbound|80|v2|llm.default.svc.cluster.local");
  const Cluster* gpu = set->find("outbound|81|big-gpu|llm.default.svc.cluster.local");
  ASSERT_TRUE(all && v1 && v2 && gpu);
  // The rule's policy; no outlierDetection = no ejection at all (as Envoy without one).
  EXPECT_EQ(all->lb, LbPolicy::RoundRobin);
  EXPECT_EQ(all->limits.max_connections, 64u);
  EXPECT_EQ(all->limits.connect_timeout, std::chrono::milliseconds(2000));
  EXPECT_EQ(all->limits.max_pending_requests, 8u);
  EXPECT_EQ(all->limits.max_requests, 256u);
  EXPECT_EQ(all->limits.max_requests_per_connection, 100u);
  EXPECT_EQ(all->outlier.consecutive_failures, 0u);
  // Subset v1 replaces the load balancer and adds outlier detection, keeps the pool limits.
  EXPECT_EQ(v1->lb, LbPolicy::ConsistentHash);
  EXPECT_EQ(v1->limits.max_connections, 64u);
  EXPECT_EQ(v1->outlier.consecutive_failures, 2u);
  EXPECT_EQ(v1->outlier.interval_ms, 1000);
  EXPECT_EQ(v1->outlier.base_ejection_ms, 10000);
  EXPECT_EQ(v1->outlier.max_ejection_percent, 50u);
  EXPECT_EQ(v2->lb, LbPolicy::Random);
  EXPECT_EQ(gpu->lb, LbPolicy::RoundRobin);  // a subset without a policy: the rule's
}

TEST(OutboundClusters, WithoutOutlierDetectionFailuresNeverEject) {
  EndpointRegistry reg;
  auto set = ClusterSet::build(load(), reg, nullptr);
  const Cluster* all = set->find("outbound|80||llm.default.svc.cluster.local");
  ASSERT_NE(all, nullptr);
  EndpointState& e = *all->endpoints[0];
  for (int i = 0; i < 50; ++i) all->report_result(e, false, 1000);
  EXPECT_FALSE(e.ejected(1000));
  EXPECT_EQ(e.failures.load(), 50u);
  // Subset v1 ejects after its 2 consecutive 5xx.
  const Cluster* v1 = set->find("outbound|80|v1|llm.default.svc.cluster.local");
  EndpointState& f = *v1->endpoints[1];
  v1->report_result(f, false, 1000);
  v1->report_result(f, false, 1000);
  EXPECT_TRUE(f.ejected(1000));
  EXPECT_EQ(f.ejected_until_ms.load(), 1000 + 10000);
}

TEST(LbPolicy, RoundRobinTakesTurnsAcrossCallers) {
  testing::TestCluster t(3);
  t.cluster.lb = LbPolicy::RoundRobin;
  std::map<size_t, int> seen;
  for (int i = 0; i < 300; ++i) ++seen[t.index_of(t.cluster.pick(42, nullptr, 0))];
  EXPECT_EQ(seen, (std::map<size_t, int>{{0, 100}, {1, 100}, {2, 100}}));
  // An ejected endpoint is skipped; the others still alternate.
  t.at(1).ejected_until_ms = 1000;
  std::map<size_t, int> after;
  for (int i = 0; i < 100; ++i) ++after[t.index_of(t.cluster.pick(i, nullptr, 0))];
  EXPECT_EQ(after, (std::map<size_t, int>{{0, 50}, {2, 50}}));
}

TEST(LbPolicy, RandomIsUniformAndIgnoresLoad) {
  testing::TestCluster t(4);
  t.cluster.lb = LbPolicy::Random;
  t.at(0).active_requests = 1000;  // least-request would avoid it; random does not
  std::map<size_t, int> seen;
  const int n = 40000;
  for (int i = 0; i < n; ++i) ++seen[t.index_of(t.cluster.pick(testing::draw(i), nullptr, 0))];
  for (size_t k = 0; k < 4; ++k) EXPECT_NEAR(seen[k], n / 4, n / 40) << k;
}

TEST(LbPolicy, ConsistentHashKeepsAKeyOnOneEndpointAndMovesFewOnEjection) {
  testing::TestCluster t(5);
  t.cluster.lb = LbPolicy::ConsistentHash;
  std::vector<size_t> before;
  for (uint64_t key = 0; key < 1000; ++key) {
    const EndpointState* a = t.cluster.pick(testing::draw(key), nullptr, 0);
    const EndpointState* b = t.cluster.pick(testing::draw(key), nullptr, 0);
    ASSERT_EQ(a, b);  // same hash, same endpoint, whatever the load
    before.push_back(t.index_of(a));
  }
  std::map<size_t, int> spread;
  for (size_t i : before) ++spread[i];
  for (size_t k = 0; k < 5; ++k) EXPECT_NEAR(spread[k], 200, 60) << k;
  // Eject endpoint 2: only its keys move.
  t.at(2).ejected_until_ms = 1000;
  for (uint64_t key = 0; key < 1000; ++key) {
    const size_t now = t.index_of(t.cluster.pick(testing::draw(key), nullptr, 0));
    if (before[key] != 2) EXPECT_EQ(now, before[key]) << key;
    else EXPECT_NE(now, 2u);
  }
  // A retry excluding the chosen endpoint goes elsewhere, deterministically.
  const EndpointState* first = t.cluster.pick(testing::draw(7), nullptr, 0);
  const EndpointState* retry = t.cluster.pick(testing::draw(7), first, 0);
  EXPECT_NE(first, retry);
  EXPECT_EQ(retry, t.cluster.pick(testing::draw(7), first, 0));
}

}  // namespace
}  // namespace infergate::pools
