// GET/POST /weights below the admin API: listing every rule's split, and turning a change of
// one rule's weights into a document that loads (HTTPRoute, the seed's rules-as-mapping quirk,
// VirtualService with Istio's weight rules, a subset added to a lone destination).
#include <gtest/gtest.h>

#include "config/config_store.h"
#include "config/loader.h"
#include "config/weights.h"
#include "tests/unit/config/test_util.h"

namespace infergate::config {
namespace {

constexpr const char* kBase = R"(apiVersion: infergate.dev/v1alpha1
kind: GatewayConfig
metadata: {name: g}
spec:
  endpoints:
  - {name: p1, address: 127.0.0.1, port: 9001, labels: {app: llm, version: v1, pool: old}}
  - {name: p2, address: 127.0.0.1, port: 9002, labels: {app: llm, version: v2, pool: new}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: llm-gateway}
spec:
  listeners: [{name: http, port: 8080, protocol: HTTP}]
---
apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: {name: llm}
spec: {selector: {matchLabels: {pool: old}}, targetPorts: [{number: 8000}]}
---
apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: {name: llm-new}
spec: {selector: {matchLabels: {pool: new}}, targetPorts: [{number: 8000}]}
---
apiVersion: v1
kind: Service
metadata: {name: llm-service}
spec:
  selector: {app: llm}
  ports: [{port: 8080, targetPort: 8000}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: llm-service}
spec:
  host: llm-service
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
)";

// The GKE seed's HTTPRoute, `rules:` as a mapping, as written.
constexpr const char* kGkeRoute = R"(apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: routes-to-llm
spec:
  parentRefs:
    - name: my-inference-gateway
      group: inference.networking.k8s.io
      kind: InferenceGateway
  rules:
    backendRefs:
    - name: llm
      group: inference.networking.k8s.io
      kind: InferencePool
      weight: 90
    - name: llm-new
      group: inference.networking.k8s.io
      kind: InferencePool
      weight: 10
)";

// The Istio seed's VirtualService: header v1 -> v1, otherwise v2 with a lone weight 10.
constexpr const char* kSeedVs = R"(apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata:
  name: llm-virtual-service
spec:
  hosts:
  - llm-service
  gateways:
  - llm-gateway
  http:
  - match:
    - headers:
        version:
          exact: v1
    route:
    - destination:
        host: llm-service
        subset: v1
  - route:
    - destination:
        host: llm-service
        subset: v2
      weight: 10
)";

struct Fixture {
  ConfigStore store;
  Config config;
  explicit Fixture(const std::string& extra) {
    store.set_base(split_manifests("files.yaml", std::string(kBase) + "---\n" + extra));
    LoadResult r = load_manifests(store.effective());
    EXPECT_TRUE(r.ok()) << testing::render(r.errors);
    if (r.config) config = std::move(*r.config);
  }
  // Applies the change, reloads, returns the new config (empty optional + error on failure).
  std::optional<Config> change(const WeightsChange& c, std::string* error) {
    auto m = patch_weights(config, store, c, error);
    if (!m) return std::nullopt;
    ConfigStore next = store;
    next.apply(std::move(*m), "POST /weights", "t");
    LoadResult r = load_manifests(next.effective());
    if (!r.ok()) {
      *error = testing::render(r.errors);
      return std::nullopt;
    }
    store = std::move(next);
    config = *r.config;
    return r.config;
  }
};

WeightsChange change_of(std::string name, std::vector<std::pair<std::string, uint32_t>> w) {
  WeightsChange c;
  c.name = std::move(name);
  c.weights = std::move(w);
  return c;
}

TEST(Weights, ListShowsEveryRuleWithEffectiveWeights) {
  Fixture f(std::string(kGkeRoute) + "---\n" + kSeedVs);
  auto rules = list_weights(f.config);
  ASSERT_EQ(rules.size(), 3u);
  EXPECT_EQ(rules[0].kind, "HTTPRoute");
  ASSERT_EQ(rules[0].backends.size(), 2u);
  EXPECT_EQ(rules[0].backends[0].name, "llm");
  EXPECT_EQ(rules[0].backends[0].kind, "InferencePool");
  EXPECT_EQ(rules[0].backends[1].weight, 10u);
  EXPECT_EQ(rules[2].kind, "VirtualService");
  EXPECT_EQ(rules[2].rule, 1u);
  ASSERT_EQ(rules[2].backends.size(), 1u);
  EXPECT_EQ(rules[2].backends[0].name, "v2");
  EXPECT_EQ(rules[2].backends[0].weight, 10u);      // as written
  EXPECT_EQ(rules[2].backends[0].effective, 100u);  // Istio: a lone destination gets it all
}

TEST(Weights, HttpRouteWithRulesAsAMapping) {
  Fixture f(kGkeRoute);
  std::string error;
  auto c = f.change(change_of("routes-to-llm", {{"llm", 50}, {"llm-new", 50}}), &error);
  ASSERT_TRUE(c) << error;
  ASSERT_EQ(c->routes[0].rules.size(), 1u);
  EXPECT_EQ(c->routes[0].rules[0].backend_refs[0].weight, 50u);
  EXPECT_EQ(c->routes[0].rules[0].backend_refs[1].weight, 50u);
  // Partial: the other backend keeps its weight.
  c = f.change(change_of("routes-to-llm", {{"llm-new", 100}}), &error);
  ASSERT_TRUE(c) << error;
  EXPECT_EQ(c->routes[0].rules[0].backend_refs[0].weight, 50u);
  EXPECT_EQ(c->routes[0].rules[0].backend_refs[1].weight, 100u);
  // Rollback in one step.
  c = f.change(change_of("routes-to-llm", {{"llm", 100}, {"llm-new", 0}}), &error);
  ASSERT_TRUE(c) << error;
  EXPECT_EQ(c->routes[0].rules[0].backend_refs[1].weight, 0u);
}

TEST(Weights, SeedVirtualServiceLoneDestinationBecomesASplit) {
  Fixture f(kSeedVs);
  WeightsChange ch = change_of("llm-virtual-service", {{"v1", 90}, {"v2", 10}});
  std::string error;
  EXPECT_FALSE(patch_weights(f.config, f.store, ch, &error));
  EXPECT_NE(error.find("say which with \"rule\""), std::string::npos) << error;
  EXPECT_NE(error.find("http[1]: v2"), std::string::npos) << error;
  ch.rule = 1;
  auto c = f.change(ch, &error);
  ASSERT_TRUE(c) << error;
  const auto& route = c->virtual_services[0].http[1].route;
  ASSERT_EQ(route.size(), 2u);
  EXPECT_EQ(route[0].destination.subset, "v2");
  EXPECT_EQ(route[0].effective_weight, 10u);
  EXPECT_EQ(route[1].destination.subset, "v1");
  EXPECT_EQ(route[1].effective_weight, 90u);
  // The header route is untouched.
  EXPECT_EQ(c->virtual_services[0].http[0].route.size(), 1u);
}

TEST(Weights, AddedSubsetWithoutTheOthersWeightKeepsWhatItHad) {
  Fixture f(kSeedVs);
  WeightsChange ch = change_of("llm-virtual-service", {{"v1", 90}});
  ch.rule = 1;
  std::string error;
  auto c = f.change(ch, &error);
  ASSERT_TRUE(c) << error;
  const auto& route = c->virtual_services[0].http[1].route;
  ASSERT_EQ(route.size(), 2u);
  EXPECT_EQ(route[0].effective_weight, 10u);  // its written 10
  EXPECT_EQ(route[1].effective_weight, 90u);
}

TEST(Weights, RuleByName) {
  Fixture f(R"(apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r}
spec:
  parentRefs: [{name: llm-gateway}]
  rules:
  - name: chat
    backendRefs: [{group: inference.networking.k8s.io, kind: InferencePool, name: llm}]
  - name: canary
    backendRefs:
    - {group: inference.networking.k8s.io, kind: InferencePool, name: llm, weight: 1}
    - {group: inference.networking.k8s.io, kind: InferencePool, name: llm-new, weight: 1}
)");
  WeightsChange ch = change_of("r", {{"llm", 3}});
  std::string error;
  EXPECT_FALSE(patch_weights(f.config, f.store, ch, &error)) << "llm is in both rules";
  ch.rule_name = "canary";
  auto c = f.change(ch, &error);
  ASSERT_TRUE(c) << error;
  EXPECT_EQ(c->routes[0].rules[1].backend_refs[0].weight, 3u);
  EXPECT_EQ(c->routes[0].rules[0].backend_refs[0].weight, 1u);
  // Naming a backend only one rule has picks that rule.
  c = f.change(change_of("r", {{"llm-new", 7}}), &error);
  ASSERT_TRUE(c) << error;
  EXPECT_EQ(c->routes[0].rules[1].backend_refs[1].weight, 7u);
}

TEST(Weights, ErrorsSayWhatIsWrong) {
  Fixture f(std::string(kGkeRoute) + "---\n" + kSeedVs);
  struct Bad {
    WeightsChange change;
    std::string message;
  };
  WeightsChange zero = change_of("routes-to-llm", {{"llm", 0}, {"llm-new", 0}});
  WeightsChange unknown = change_of("routes-to-llm", {{"llm-old", 5}});
  WeightsChange big = change_of("routes-to-llm", {{"llm", 2000000}});
  WeightsChange missing = change_of("nope", {{"llm", 1}});
  WeightsChange kind = change_of("routes-to-llm", {{"llm", 1}});
  kind.kind = "Gateway";
  WeightsChange rule = change_of("llm-virtual-service", {{"v2", 1}});
  rule.rule = 5;
  WeightsChange subset = change_of("llm-virtual-service", {{"v3", 1}});
  subset.rule = 1;
  WeightsChange none = change_of("routes-to-llm", {});
  const Bad cases[] = {
      {zero, "every backend would have weight 0"},
      {unknown, "no backendRef named \"llm-old\" (it has: llm, llm-new)"},
      {big, "must be between 0 and 1000000"},
      {missing, "no HTTPRoute or VirtualService default/nope"},
      {kind, "kind must be HTTPRoute or VirtualService"},
      {rule, "has 2 http entries; http[5] does not exist"},
      {subset, "has no subset \"v3\""},
      {none, "no weights given"},
  };
  for (const auto& c : cases) {
    std::string error;
    EXPECT_FALSE(patch_weights(f.config, f.store, c.change, &error)) << c.message;
    EXPECT_NE(error.find(c.message), std::string::npos) << "got: " << error;
  }
}

}  // namespace
}  // namespace infergate::config
