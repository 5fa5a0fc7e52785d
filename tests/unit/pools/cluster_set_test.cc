// ClusterSet::build: which clusters exist, which endpoints (and ports) they hold, and that
// endpoint state is shared across clusters and snapshots.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "config/loader.h"
#include "pools/cluster.h"

namespace infergate::pools {
namespace {

// Three pods: two v1 without a port of their own, one v2 with port 18003 (a simulator).
const std::string kBase = R"(apiVersion: infergate.dev/v1alpha1
kind: GatewayConfig
metadata: {name: gc}
spec:
  endpoints:
  - {name: p1, address: 10.0.0.1, labels: {app: m, version: v1}}
  - {name: p2, address: 10.0.0.2, labels: {app: m, version: v1}}
  - {name: p3, address: 127.0.0.1, port: 18003, labels: {app: m, version: v2}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  listeners: [{name: http, port: 8080, protocol: HTTP}]
---
apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: {name: pool}
spec:
  selector: {matchLabels: {app: m}}
  targetPorts: [{number: 8000}, {number: 8001}]
  appProtocol: kubernetes.io/h2c
  endpointPickerRef: {name: epp, port: {number: 9002}, failureMode: FailOpen}
---
apiVersion: v1
kind: Service
metadata: {name: v1}
spec:
  selector: {app: m, version: v1}
  ports:
  - {name: http, port: 80, targetPort: 8000}
  - {name: grpc, port: 81, targetPort: 9000, appProtocol: kubernetes.io/h2c}
  - {name: unused, port: 82, targetPort: 9100}
---
apiVersion: v1
kind: Service
metadata: {name: v2}
spec:
  selector: {app: m, version: v2}
  ports: [{port: 80, targetPort: 8000}]
---
apiVersion: v1
kind: Service
metadata: {name: not-referenced}
spec:
  selector: {app: m}
  ports: [{port: 80}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r}
spec:
  parentRefs: [{name: gw}]
  rules:
  - backendRefs:
    - {name: pool, group: inference.networking.k8s.io, kind: InferencePool, weight: 90}
    - {name: v2, port: 80, weight: 10}
  - matches: [{path: {type: PathPrefix, value: /grpc}}]
    backendRefs: [{name: v1, port: 81}]
    filters:
    - type: RequestMirror
      requestMirror: {backendRef: {name: v1, port: 80}}
)";

config::Config load(const std::string& yaml) {
  config::LoadResult r = config::load_string(yaml, "pools.yaml");
  std::string why;
  for (const auto& e : r.errors) why += e.to_string() + "\n";
  EXPECT_TRUE(r.ok()) << why;
  return r.config ? *r.config : config::Config{};
}

std::set<std::string> keys(const Cluster& c) {
  std::set<std::string> out;
  for (const auto& e : c.endpoints) out.insert(e->key());
  return out;
}

TEST(ClusterSet, OneClusterPerPoolAndPerReferencedServicePort) {
  EndpointRegistry reg;
  std::vector<config::Diagnostic> errors;
  auto set = ClusterSet::build(load(kBase), reg, &errors);
  EXPECT_TRUE(errors.empty());
  std::vector<std::string> names;
  for (const auto& c : set->clusters()) names.push_back(c.name);
  // Sorted by name; the unreferenced Service and port 82 have none.
  EXPECT_EQ(names, (std::vector<std::string>{"inferencepool/default/pool", "service/default/v1/80",
                                             "service/default/v1/81", "service/default/v2/80"}));
  EXPECT_EQ(set->find("service/default/not-referenced/80"), nullptr);
  EXPECT_EQ(set->find("service/default/v1/82"), nullptr);
  EXPECT_EQ(set->find(""), nullptr);
  EXPECT_EQ(set->find("zzz"), nullptr);
}

TEST(ClusterSet, PoolHasEveryTargetPortOfEveryPodUnlessThePodHasItsOwnPort) {
  EndpointRegistry reg;
  auto set = ClusterSet::build(load(kBase), reg, nullptr);
  const Cluster* pool = set->find("inferencepool/default/pool");
  ASSERT_NE(pool, nullptr);
  EXPECT_EQ(keys(*pool), (std::set<std::string>{"10.0.0.1:8000", "10.0.0.1:8001", "10.0.0.2:8000",
                                                "10.0.0.2:8001", "127.0.0.1:18003"}));
  EXPECT_EQ(pool->protocol, UpstreamProtocol::H2c);
  ASSERT_TRUE(pool->endpoint_picker.has_value());
  EXPECT_EQ(pool->endpoint_picker->name, "epp");
  EXPECT_EQ(pool->endpoint_picker->failure_mode, config::FailureMode::FailOpen);
  for (const auto& e : pool->endpoints) EXPECT_EQ(e->labels.at("app"), "m");
}

TEST(ClusterSet, ServiceClustersUseTargetPortAndAppProtocol) {
  EndpointRegistry reg;
  auto set = ClusterSet::build(load(kBase), reg, nullptr);
  const Cluster* v1 = set->find("service/default/v1/80");
  ASSERT_NE(v1, nullptr);
  EXPECT_EQ(keys(*v1), (std::set<std::string>{"10.0.0.1:8000", "10.0.0.2:8000"}));
  EXPECT_EQ(v1->protocol, UpstreamProtocol::Http1);
  EXPECT_FALSE(v1->endpoint_picker.has_value());
  const Cluster* grpc = set->find("service/default/v1/81");
  ASSERT_NE(grpc, nullptr);
  EXPECT_EQ(keys(*grpc), (std::set<std::string>{"10.0.0.1:9000", "10.0.0.2:9000"}));
  EXPECT_EQ(grpc->protocol, UpstreamProtocol::H2c);
  const Cluster* v2 = set->find("service/default/v2/80");
  ASSERT_NE(v2, nullptr);
  EXPECT_EQ(keys(*v2), (std::set<std::string>{"127.0.0.1:18003"}));  // the pod's own port
}

TEST(ClusterSet, ClustersSelectingTheSamePodPortShareItsState) {
  EndpointRegistry reg;
  auto set = ClusterSet::build(load(kBase), reg, nullptr);
  const Cluster* pool = set->find("inferencepool/default/pool");
  const Cluster* v1 = set->find("service/default/v1/80");
  ASSERT_NE(pool, nullptr);
  ASSERT_NE(v1, nullptr);
  auto in_pool = reg.find("10.0.0.1", 8000);
  ASSERT_NE(in_pool, nullptr);
  int seen = 0;
  for (const auto& e : pool->endpoints) seen += e == in_pool;
  for (const auto& e : v1->endpoints) seen += e == in_pool;
  EXPECT_EQ(seen, 2);
}

TEST(ClusterSet, StateSurvivesARebuildFromTheSameRegistry) {
  EndpointRegistry reg;
  auto first = ClusterSet::build(load(kBase), reg, nullptr);
  auto state = reg.find("127.0.0.1", 18003);
  ASSERT_NE(state, nullptr);
  state->active_requests = 7;
  state->times_ejected = 1;
  auto second = ClusterSet::build(load(kBase), reg, nullptr);
  const Cluster* v2 = second->find("service/default/v2/80");
  ASSERT_NE(v2, nullptr);
  ASSERT_EQ(v2->endpoints.size(), 1u);
  EXPECT_EQ(v2->endpoints[0], state);
  EXPECT_EQ(v2->endpoints[0]->active_requests.load(), 7);
  // Nothing was replaced, so nothing is left to prune while both snapshots live.
  EXPECT_EQ(reg.prune(), 0u);
  first.reset();
  second.reset();
  state.reset();
  EXPECT_EQ(reg.prune(), 7u);  // 5 pool endpoints + 2 Service-only ports (9000)
}

TEST(ClusterSet, NamedTargetPortNeedsAnEndpointPort) {
  const std::string yaml = R"(apiVersion: infergate.dev/v1alpha1
kind: GatewayConfig
metadata: {name: gc}
spec:
  endpoints:
  - {name: with-port, address: 10.0.0.1, port: 18001, labels: {app: m}}
  - {name: without, address: 10.0.0.2, labels: {app: m}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  listeners: [{name: http, port: 8080, protocol: HTTP}]
---
apiVersion: v1
kind: Service
metadata: {name: named}
spec:
  selector: {app: m}
  ports: [{port: 80, targetPort: http}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r}
spec:
  parentRefs: [{name: gw}]
  rules: [{backendRefs: [{name: named, port: 80}]}]
)";
  EndpointRegistry reg;
  std::vector<config::Diagnostic> errors;
  auto set = ClusterSet::build(load(yaml), reg, &errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].resource, "Service/named");
  EXPECT_NE(errors[0].message.find("\"without\""), std::string::npos) << errors[0].message;
  EXPECT_EQ(errors[0].file, "pools.yaml");
  EXPECT_GT(errors[0].line, 0);
  const Cluster* c = set->find("service/default/named/80");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(keys(*c), (std::set<std::string>{"10.0.0.1:18001"}));
}

TEST(ClusterSet, AMissingServiceGetsNoClusterAndNoCrash) {
  config::Config c;
  config::HttpRoute r;
  r.meta.name = "r";
  config::HttpRouteRule rule;
  config::BackendRef b;
  b.name = "ghost";
  b.ns = "default";
  b.port = 80;
  rule.backend_refs.push_back(b);
  r.rules.push_back(rule);
  c.routes.push_back(r);
  EndpointRegistry reg;
  std::vector<config::Diagnostic> errors;
  auto set = ClusterSet::build(c, reg, &errors);
  // An unresolved backendRef (the loader warned) has no cluster: the router answers 500.
  EXPECT_TRUE(errors.empty());
  EXPECT_TRUE(set->clusters().empty());
  EXPECT_EQ(ClusterSet::build(c, reg, nullptr)->clusters().size(), 0u);
}

// A pool of `endpoints` pods with their own ports, the default picker (prefix affinity on).
std::string pool_of(int endpoints) {
  std::string yaml = "apiVersion: infergate.dev/v1alpha1\nkind: GatewayConfig\nmetadata: {name: gc}\nspec:\n  endpoints:\n";
  for (int i = 0; i < endpoints; ++i) {
    yaml += "  - {name: e";
    yaml += std::to_string(i);
    yaml += ", address: 10.0.0.1, port: ";
    yaml += std::to_string(20000 + i);
    yaml += ", labels: {app: big}}\n";
  }
  yaml += R"(---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  listeners: [{name: http, port: 8080, protocol: HTTP}]
---
apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: {name: big}
spec:
  selector: {matchLabels: {app: big}}
  targetPorts: [{number: 8000}]
)";
  return yaml;
}

TEST(ClusterSet, PrefixIndexIsSizedPerEndpointUpToABound) {
  EndpointRegistry reg;
  auto small = ClusterSet::build(load(pool_of(4)), reg, nullptr);
  const Cluster* pool = small->find("inferencepool/default/big");
  ASSERT_NE(pool, nullptr);
  ASSERT_NE(pool->picker, nullptr);
  EXPECT_EQ(pool->picker->index().capacity(), 4u * 31250u);  // blocksPerServer x endpoints
  // 200 x 31,250 entries would be a 50 MB table (5,000 endpoints: 1.25 GB): bounded.
  EndpointRegistry reg2;
  auto big = ClusterSet::build(load(pool_of(200)), reg2, nullptr);
  pool = big->find("inferencepool/default/big");
  ASSERT_NE(pool, nullptr);
  ASSERT_NE(pool->picker, nullptr);
  EXPECT_EQ(pool->picker->index().capacity(), size_t{1} << 22);
}

TEST(ClusterSet, EmptyConfig) {
  EndpointRegistry reg;
  auto set = ClusterSet::build(config::Config{}, reg, nullptr);
  ASSERT_NE(set, nullptr);
  EXPECT_TRUE(set->clusters().empty());
  EXPECT_EQ(reg.size(), 0u);
}

}  // namespace
}  // namespace infergate::pools
