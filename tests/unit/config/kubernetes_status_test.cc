// Desired Gateway API / GIE status computed from a loaded configuration (config/kubernetes_status.h),
// and the merge rules that keep the status writer from writing what did not change.
#include <gtest/gtest.h>

#include "config/kubernetes_status.h"
#include "config/loader.h"
#include "tests/unit/config/test_util.h"

namespace infergate::config {
namespace {

using nlohmann::json;

constexpr const char* kController = "infergate.dev/gateway-controller";
constexpr const char* kNow = "2026-12-07T15:00:00Z";

const char* kCluster = R"(
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: infer, generation: 3}
spec:
  gatewayClassName: infergate
  listeners:
  - {name: http, port: 8080, protocol: HTTP}
  - {name: extra, port: 8081, protocol: HTTP}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: other-gw, namespace: infer}
spec:
  gatewayClassName: someone-else
  listeners:
  - {name: http, port: 9090, protocol: HTTP}
---
apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: {name: llm, namespace: infer, generation: 2}
spec:
  selector: {matchLabels: {app: llm}}
  targetPorts: [{number: 8000}]
---
apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: {name: llm-epp, namespace: infer}
spec:
  selector: {matchLabels: {app: llm}}
  targetPorts: [{number: 8000}]
  endpointPickerRef: {name: missing-epp, port: {number: 9002}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: good, namespace: infer, generation: 5}
spec:
  parentRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: gw, sectionName: http}]
  rules:
  - backendRefs: [{group: inference.networking.k8s.io, kind: InferencePool, name: llm}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: missing, namespace: infer}
spec:
  parentRefs: [{name: gw, namespace: infer}]
  rules:
  - backendRefs:
    - {group: inference.networking.k8s.io, kind: InferencePool, name: llm-epp}
    - {group: inference.networking.k8s.io, kind: InferencePool, name: nope}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: foreign, namespace: infer}
spec:
  parentRefs: [{name: other-gw}]
  rules:
  - backendRefs: [{group: inference.networking.k8s.io, kind: InferencePool, name: llm}]
)";

ResourceKey route_key(const std::string& name) { return {"gateway.networking.k8s.io", "HTTPRoute", "infer", name}; }
ResourceKey pool_key(const std::string& name) { return {"inference.networking.k8s.io", "InferencePool", "infer", name}; }
ResourceKey gateway_key(const std::string& name) { return {"gateway.networking.k8s.io", "Gateway", "infer", name}; }

const json* find_condition(const json& conditions, const std::string& type) {
  for (const auto& c : conditions)
    if (c["type"] == type) return &c;
  return nullptr;
}

Diagnostic error_at(std::string path, std::string message) {
  Diagnostic d;
  d.file = "cluster";
  d.path = std::move(path);
  d.message = std::move(message);
  return d;
}

RejectedObject rejected_route(const std::string& name, json parent_refs, Diagnostic error) {
  RejectedObject r;
  r.key = route_key(name);
  r.object = json{{"apiVersion", "gateway.networking.k8s.io/v1"},
                  {"kind", "HTTPRoute"},
                  {"metadata", {{"name", name}, {"namespace", "infer"}, {"generation", 7}}},
                  {"spec",
                   {{"parentRefs", std::move(parent_refs)},
                    {"rules", json::array({json{{"backendRefs", json::array({json{{"kind", "InferencePool"},
                                                                                  {"name", "llm-epp"}}})}}})}}}};
  error.resource = "HTTPRoute/" + name;
  r.errors.push_back(std::move(error));
  return r;
}

class KubernetesStatusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    loaded_ = load_string(kCluster, "cluster");
    ASSERT_TRUE(loaded_.ok()) << testing::render(loaded_.errors);
    in_.config = &*loaded_.config;
    in_.warnings = loaded_.warnings;
    in_.controller_name = kController;
    in_.gateway_classes = {GatewayClassRef{"infergate", 4}};
    in_.default_addresses = {GatewayAddress{"IPAddress", "10.0.0.7"}};
    in_.now = kNow;
  }

  const json& status(const ResourceKey& key) {
    auto it = out_.status.find(key);
    EXPECT_NE(it, out_.status.end()) << key.to_string();
    static const json kNull;
    return it == out_.status.end() ? kNull : it->second;
  }

  LoadResult loaded_;
  StatusInput in_;
  DesiredStatuses out_;
};

TEST_F(KubernetesStatusTest, GatewayClassOfOursIsAccepted) {
  out_ = compute_statuses(in_);
  const json& s = status(ResourceKey{"gateway.networking.k8s.io", "GatewayClass", "", "infergate"});
  ASSERT_EQ(s["conditions"].size(), 1u);
  EXPECT_EQ(s["conditions"][0]["type"], "Accepted");
  EXPECT_EQ(s["conditions"][0]["status"], "True");
  EXPECT_EQ(s["conditions"][0]["reason"], "Accepted");
  EXPECT_EQ(s["conditions"][0]["observedGeneration"], 4);
  EXPECT_EQ(s["conditions"][0]["lastTransitionTime"], kNow);
}

TEST_F(KubernetesStatusTest, GatewayListenersCountAttachedRoutes) {
  out_ = compute_statuses(in_);
  const json& s = status(gateway_key("gw"));
  EXPECT_EQ((*find_condition(s["conditions"], "Accepted"))["status"], "True");
  EXPECT_EQ((*find_condition(s["conditions"], "Programmed"))["reason"], "Programmed");
  EXPECT_EQ((*find_condition(s["conditions"], "Programmed"))["observedGeneration"], 3);
  EXPECT_EQ(s["addresses"], json::parse(R"([{"type":"IPAddress","value":"10.0.0.7"}])"));
  ASSERT_EQ(s["listeners"].size(), 2u);
  const json& http = s["listeners"][0];
  EXPECT_EQ(http["name"], "http");
  EXPECT_EQ(http["attachedRoutes"], 2);  // good (sectionName http) and missing (every listener)
  EXPECT_EQ(s["listeners"][1]["attachedRoutes"], 1);
  EXPECT_EQ(http["supportedKinds"], json::parse(R"([{"group":"gateway.networking.k8s.io","kind":"HTTPRoute"}])"));
  for (const char* type : {"Accepted", "Programmed", "ResolvedRefs"}) {
    const json* c = find_condition(http["conditions"], type);
    ASSERT_NE(c, nullptr) << type;
    EXPECT_EQ((*c)["status"], "True");
    EXPECT_EQ((*c)["reason"], type);
  }
  EXPECT_EQ(out_.status.count(gateway_key("other-gw")), 0u) << "a Gateway of another class is not ours";
}

TEST_F(KubernetesStatusTest, AListenerWhosePortIsNotOpenIsPending) {
  // Listeners open at start: one added later is not Programmed until a restart, and neither is
  // its Gateway, whatever the configuration says.
  in_.open_ports = {8080, 9090};
  out_ = compute_statuses(in_);
  const json& s = status(gateway_key("gw"));
  const json* gateway_programmed = find_condition(s["conditions"], "Programmed");
  ASSERT_NE(gateway_programmed, nullptr);
  EXPECT_EQ((*gateway_programmed)["status"], "False");
  EXPECT_EQ((*gateway_programmed)["reason"], "Pending");
  ASSERT_EQ(s["listeners"].size(), 2u);
  EXPECT_EQ((*find_condition(s["listeners"][0]["conditions"], "Programmed"))["status"], "True");
  EXPECT_EQ((*find_condition(s["listeners"][1]["conditions"], "Programmed"))["reason"], "Pending");
  in_.open_ports = {8080, 8081};
  out_ = compute_statuses(in_);
  EXPECT_EQ((*find_condition(status(gateway_key("gw"))["conditions"], "Programmed"))["status"], "True");
}

TEST_F(KubernetesStatusTest, GatewaySpecAddressesWin) {
  const char* yaml = R"(
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: infer}
spec:
  gatewayClassName: infergate
  addresses: [{value: 192.0.2.1}]
  listeners: [{name: http, port: 8080, protocol: HTTP}]
)";
  auto loaded = load_string(yaml, "gw");
  ASSERT_TRUE(loaded.ok()) << testing::render(loaded.errors);
  in_.config = &*loaded.config;
  out_ = compute_statuses(in_);
  EXPECT_EQ(status(gateway_key("gw"))["addresses"], json::parse(R"([{"type":"IPAddress","value":"192.0.2.1"}])"));
}

TEST_F(KubernetesStatusTest, GoodRouteIsAcceptedWithResolvedRefs) {
  out_ = compute_statuses(in_);
  const json& s = status(route_key("good"));
  ASSERT_EQ(s["parents"].size(), 1u);
  const json& p = s["parents"][0];
  EXPECT_EQ(p["controllerName"], kController);
  // As written: no namespace was written, so none is echoed.
  EXPECT_EQ(p["parentRef"], json::parse(R"({"group":"gateway.networking.k8s.io","kind":"Gateway","name":"gw",
                                            "sectionName":"http"})"));
  const json* accepted = find_condition(p["conditions"], "Accepted");
  const json* resolved = find_condition(p["conditions"], "ResolvedRefs");
  ASSERT_TRUE(accepted && resolved);
  EXPECT_EQ((*accepted)["status"], "True");
  EXPECT_EQ((*accepted)["reason"], "Accepted");
  EXPECT_EQ((*accepted)["observedGeneration"], 5);
  EXPECT_EQ((*resolved)["status"], "True");
  EXPECT_EQ((*resolved)["reason"], "ResolvedRefs");
}

TEST_F(KubernetesStatusTest, RouteToMissingPoolHasBackendNotFound) {
  out_ = compute_statuses(in_);
  const json& p = status(route_key("missing"))["parents"][0];
  EXPECT_EQ(p["parentRef"]["namespace"], "infer");
  EXPECT_EQ((*find_condition(p["conditions"], "Accepted"))["status"], "True");
  const json& resolved = *find_condition(p["conditions"], "ResolvedRefs");
  EXPECT_EQ(resolved["status"], "False");
  EXPECT_EQ(resolved["reason"], "BackendNotFound");
  const std::string message = resolved["message"];
  EXPECT_NE(message.find("spec.rules[0].backendRefs[1]: InferencePool \"infer/nope\" is not defined"), std::string::npos)
      << message;
  EXPECT_EQ(message.find("llm-epp"), std::string::npos) << message;
}

TEST_F(KubernetesStatusTest, RouteOfAnotherControllerGetsNoStatus) {
  out_ = compute_statuses(in_);
  EXPECT_EQ(out_.status.count(route_key("foreign")), 0u);
}

TEST_F(KubernetesStatusTest, RejectedRouteIsNotAccepted) {
  in_.rejected.push_back(rejected_route(
      "bad-kind", json::array({json{{"name", "gw"}}}),
      error_at("spec.rules[0].backendRefs[0].kind",
                 "\"Foo\" is not one of: Service, InferencePool")));
  in_.rejected.push_back(rejected_route(
      "no-listener", json::array({json{{"name", "gw"}, {"sectionName", "nope"}}, json{{"name", "other-gw"}}}),
      error_at("spec.parentRefs[0]",
                 "Gateway \"infer/gw\" has no listener named \"nope\"")));
  out_ = compute_statuses(in_);

  const json& bad = status(route_key("bad-kind"))["parents"][0];
  EXPECT_EQ(bad["parentRef"], json::parse(R"({"name":"gw"})"));
  const json& accepted = *find_condition(bad["conditions"], "Accepted");
  EXPECT_EQ(accepted["status"], "False");
  EXPECT_EQ(accepted["reason"], "UnsupportedValue");
  EXPECT_EQ(accepted["observedGeneration"], 7);
  EXPECT_EQ(accepted["message"], "spec.rules[0].backendRefs[0].kind: \"Foo\" is not one of: Service, InferencePool");
  const json& resolved = *find_condition(bad["conditions"], "ResolvedRefs");
  EXPECT_EQ(resolved["status"], "False");
  EXPECT_EQ(resolved["reason"], "InvalidKind");

  const json& nl = status(route_key("no-listener"));
  ASSERT_EQ(nl["parents"].size(), 1u) << "other-gw is not ours: " << nl.dump();
  EXPECT_EQ((*find_condition(nl["parents"][0]["conditions"], "Accepted"))["reason"], "NoMatchingParent");
  EXPECT_EQ(find_condition(nl["parents"][0]["conditions"], "ResolvedRefs"), nullptr);
}

TEST_F(KubernetesStatusTest, RejectedGatewayOfOursIsInvalid) {
  RejectedObject g;
  g.key = gateway_key("broken");
  g.object = json{{"metadata", {{"name", "broken"}, {"namespace", "infer"}, {"generation", 2}}},
                  {"spec", {{"gatewayClassName", "infergate"}}}};
  g.errors.push_back(error_at("spec.listeners", "duplicate listener name \"http\""));
  in_.rejected.push_back(g);
  g.key = gateway_key("theirs");
  g.object["spec"]["gatewayClassName"] = "someone-else";
  in_.rejected.push_back(g);
  out_ = compute_statuses(in_);
  const json& s = status(gateway_key("broken"));
  EXPECT_EQ((*find_condition(s["conditions"], "Accepted"))["reason"], "Invalid");
  EXPECT_EQ((*find_condition(s["conditions"], "Programmed"))["status"], "False");
  EXPECT_EQ(out_.status.count(gateway_key("theirs")), 0u);
}

TEST_F(KubernetesStatusTest, InferencePoolParentsAreOurGateways) {
  in_.rejected.push_back(rejected_route("bad", json::array({json{{"name", "gw"}}}),
                                        error_at("spec.rules[0].matches", "bad")));
  out_ = compute_statuses(in_);
  const json& llm = status(pool_key("llm"));
  ASSERT_EQ(llm["parents"].size(), 1u) << "the foreign route's other-gw is not a parent: " << llm.dump();
  const json& p = llm["parents"][0];
  EXPECT_EQ(p["parentRef"], json::parse(R"({"group":"gateway.networking.k8s.io","kind":"Gateway","name":"gw",
                                            "namespace":"infer"})"));
  EXPECT_EQ((*find_condition(p["conditions"], "Accepted"))["reason"], "Accepted");
  EXPECT_EQ((*find_condition(p["conditions"], "Accepted"))["observedGeneration"], 2);
  EXPECT_EQ((*find_condition(p["conditions"], "ResolvedRefs"))["status"], "True");

  // llm-epp: reached by the accepted route "missing"; its picker Service is not there.
  const json& epp = status(pool_key("llm-epp"))["parents"][0];
  EXPECT_EQ((*find_condition(epp["conditions"], "Accepted"))["status"], "True");
  EXPECT_EQ((*find_condition(epp["conditions"], "ResolvedRefs"))["reason"], "InvalidExtensionRef");
}

TEST_F(KubernetesStatusTest, PoolReachedOnlyByRejectedRoutesIsNotAccepted) {
  const char* yaml = R"(
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: infer}
spec:
  gatewayClassName: infergate
  listeners: [{name: http, port: 8080, protocol: HTTP}]
---
apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: {name: llm-epp, namespace: infer}
spec:
  selector: {matchLabels: {app: llm}}
  targetPorts: [{number: 8000}]
)";
  auto loaded = load_string(yaml, "c");
  ASSERT_TRUE(loaded.ok()) << testing::render(loaded.errors);
  in_.config = &*loaded.config;
  in_.rejected.push_back(rejected_route("bad", json::array({json{{"name", "gw"}}}),
                                        error_at("spec.rules[0].matches", "bad")));
  out_ = compute_statuses(in_);
  const json& p = status(pool_key("llm-epp"))["parents"][0];
  EXPECT_EQ((*find_condition(p["conditions"], "Accepted"))["status"], "False");
  EXPECT_EQ((*find_condition(p["conditions"], "Accepted"))["reason"], "HTTPRouteNotAccepted");
}

TEST_F(KubernetesStatusTest, TransitionTimeKeptWhileStatusUnchanged) {
  out_ = compute_statuses(in_);
  json current = status(route_key("missing"));
  for (auto& c : current["parents"][0]["conditions"]) c["lastTransitionTime"] = "2026-01-01T00:00:00Z";

  in_.now = "2026-12-07T16:00:00Z";
  DesiredStatuses later = compute_statuses(in_);
  json merged = merge_transition_times(current, later.status[route_key("missing")]);
  for (const auto& c : merged["parents"][0]["conditions"]) EXPECT_EQ(c["lastTransitionTime"], "2026-01-01T00:00:00Z");
  EXPECT_TRUE(same_status(current, merged));
  EXPECT_TRUE(same_status(current, status_to_write(later, route_key("missing"), current)));

  // ResolvedRefs flips to True: only it gets the new time.
  current["parents"][0]["conditions"][1]["status"] = "True";
  merged = merge_transition_times(current, later.status[route_key("missing")]);
  EXPECT_EQ(merged["parents"][0]["conditions"][0]["lastTransitionTime"], "2026-01-01T00:00:00Z");
  EXPECT_EQ(merged["parents"][0]["conditions"][1]["lastTransitionTime"], "2026-12-07T16:00:00Z");
  EXPECT_FALSE(same_status(current, merged));
}

TEST_F(KubernetesStatusTest, GenerationChangeIsAChange) {
  out_ = compute_statuses(in_);
  json current = status(route_key("good"));
  current["parents"][0]["conditions"][0]["observedGeneration"] = 4;
  EXPECT_FALSE(same_status(current, status_to_write(out_, route_key("good"), current)));
}

DesiredStatuses ours_only() {
  DesiredStatuses d;
  d.controller_name = kController;
  return d;
}

TEST_F(KubernetesStatusTest, OtherControllersParentsAreKeptAndOursRemovedWhenGone) {
  out_ = compute_statuses(in_);
  json theirs = json::parse(R"({"parentRef":{"name":"other-gw"},"controllerName":"example.com/other",
                                "conditions":[{"type":"Accepted","status":"True","reason":"Accepted"}]})");
  json current{{"parents", json::array({theirs})}};
  json out = status_to_write(out_, route_key("good"), current);
  ASSERT_EQ(out["parents"].size(), 2u);
  EXPECT_EQ(out["parents"][0], theirs);
  EXPECT_EQ(out["parents"][1]["controllerName"], kController);

  // The route no longer names a Gateway of ours: our entry goes, theirs stays.
  json gone = status_to_write(ours_only(), route_key("good"), out);
  EXPECT_EQ(gone, current);
  // A route we never wrote: nothing to write.
  EXPECT_TRUE(same_status(current, status_to_write(out_, route_key("foreign"), current)));
  EXPECT_TRUE(status_to_write(out_, route_key("foreign"), json()).is_null());
}

TEST_F(KubernetesStatusTest, PoolParentsOfOtherGatewaysAreKept) {
  out_ = compute_statuses(in_);
  json theirs = json::parse(R"({"parentRef":{"group":"gateway.networking.k8s.io","kind":"Gateway",
                                "name":"other-gw","namespace":"infer"},"conditions":[]})");
  json current{{"parents", json::array({theirs})}};
  json out = status_to_write(out_, pool_key("llm"), current);
  ASSERT_EQ(out["parents"].size(), 2u);
  EXPECT_EQ(out["parents"][0], theirs);
  EXPECT_EQ(out["parents"][1]["parentRef"]["name"], "gw");
}

TEST_F(KubernetesStatusTest, V1Alpha2PoolReportsUnderParent) {
  const char* yaml = R"(
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: infer}
spec:
  gatewayClassName: infergate
  listeners: [{name: http, port: 8080, protocol: HTTP}]
---
apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferencePool
metadata: {name: old, namespace: infer}
spec:
  selector: {app: llm}
  targetPortNumber: 8000
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: infer}
spec:
  parentRefs: [{name: gw}]
  rules:
  - backendRefs: [{group: inference.networking.x-k8s.io, kind: InferencePool, name: old}]
)";
  auto loaded = load_string(yaml, "c");
  ASSERT_TRUE(loaded.ok()) << testing::render(loaded.errors);
  in_.config = &*loaded.config;
  out_ = compute_statuses(in_);
  const json& s = status(ResourceKey{"inference.networking.x-k8s.io", "InferencePool", "infer", "old"});
  ASSERT_TRUE(s.contains("parent")) << s.dump();
  EXPECT_EQ(s["parent"][0]["parentRef"]["name"], "gw");
}

TEST(KubernetesMetadata, GenerationIsRead) {
  auto loaded = load_string(R"(
apiVersion: v1
kind: Service
metadata: {name: s, generation: 12}
spec: {selector: {app: x}, ports: [{port: 80}]}
)", "s");
  ASSERT_TRUE(loaded.ok()) << testing::render(loaded.errors);
  EXPECT_EQ(loaded.config->services[0].meta.generation, 12);
}

}  // namespace
}  // namespace infergate::config
