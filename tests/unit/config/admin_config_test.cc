// GatewayConfig spec.admin / spec.stats, the rule that keeps the admin API off the network
// without authentication, and the Kubernetes-ownership rule of admin changes
// (kubernetes_ownership.h): objects from the Kubernetes API are changed in the cluster.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "config/config_store.h"
#include "config/kubernetes_ownership.h"
#include "config/loader.h"
#include "config/weights.h"
#include "tests/unit/config/test_util.h"

namespace infergate::config {
namespace {

std::string gateway_config(const std::string& spec) {
  return "apiVersion: infergate.dev/v1alpha1\nkind: GatewayConfig\nmetadata: {name: g}\nspec:\n" + spec;
}

std::string temp_file(const std::string& name, const std::string& text) {
  const auto p = std::filesystem::temp_directory_path() / ("infergate-admin-config-" + name);
  std::ofstream(p) << text;
  return p.string();
}

TEST(AdminConfig, DefaultsAreLoopbackWithoutAuthAndNoStatsListener) {
  LoadResult r = load_string(gateway_config("  workers: 1\n"), "g.yaml");
  ASSERT_TRUE(r.ok()) << testing::render(r.errors);
  const auto& a = r.config->gateway.admin;
  EXPECT_EQ(a.address, "127.0.0.1");
  EXPECT_FALSE(a.auth.configured());
  EXPECT_EQ(a.limits.max_body_bytes, 64u * 1024);
  EXPECT_EQ(a.limits.max_nesting_depth, 32u);
  EXPECT_FALSE(r.config->gateway.stats.has_value());
}

TEST(AdminConfig, NonLoopbackWithoutAuthIsRefusedNamingTheSetting) {
  LoadResult r = load_string(gateway_config("  admin: {address: 0.0.0.0, port: 9901}\n"), "g.yaml");
  ASSERT_FALSE(r.ok());
  const std::string text = testing::render(r.errors);
  EXPECT_NE(text.find("spec.admin.auth"), std::string::npos) << text;
  EXPECT_NE(text.find("spec.admin.auth.tokenFile"), std::string::npos) << text;
  EXPECT_NE(text.find("kubectl port-forward"), std::string::npos) << text;
}

TEST(AdminConfig, TokenFileAuthAndStatsListenerParse) {
  const std::string tokens = temp_file("tokens", "ops:0123456789abcdef0123\n");
  LoadResult r = load_string(gateway_config("  admin:\n    address: 0.0.0.0\n    auth: {tokenFile: " + tokens +
                                            ", requireForReadOnly: false}\n"
                                            "    limits: {maxBodyBytes: 4096, maxNestingDepth: 8, "
                                            "requestsPerSecond: 2, burst: 3}\n"
                                            "  stats: {port: 15090}\n"),
                             "g.yaml");
  ASSERT_TRUE(r.ok()) << testing::render(r.errors);
  const auto& a = r.config->gateway.admin;
  EXPECT_EQ(a.auth.token_file, tokens);
  EXPECT_FALSE(a.auth.require_for_read_only);
  EXPECT_EQ(a.limits.max_body_bytes, 4096u);
  EXPECT_EQ(a.limits.burst, 3u);
  ASSERT_TRUE(r.config->gateway.stats.has_value());
  EXPECT_EQ(r.config->gateway.stats->address, "0.0.0.0");
  EXPECT_EQ(r.config->gateway.stats->port, 15090);
}

TEST(AdminConfig, PrincipalsNeedTlsCaFileAndIstioForm) {
  LoadResult r = load_string(gateway_config("  admin:\n    address: 0.0.0.0\n"
                                            "    auth: {allowedPrincipals: [cluster.local/ns/ops/sa/admin, nobody]}\n"),
                             "g.yaml");
  ASSERT_FALSE(r.ok());
  const std::string text = testing::render(r.errors);
  EXPECT_NE(text.find("spec.admin.tls.caFile"), std::string::npos) << text;
  EXPECT_NE(text.find("\"nobody\" is not an Istio principal"), std::string::npos) << text;
}

TEST(AdminConfig, LoopbackAddresses) {
  EXPECT_TRUE(is_loopback_address("127.0.0.1"));
  EXPECT_TRUE(is_loopback_address("127.1.2.3"));
  EXPECT_TRUE(is_loopback_address("::1"));
  EXPECT_TRUE(is_loopback_address("::ffff:127.0.0.1"));
  EXPECT_FALSE(is_loopback_address("0.0.0.0"));
  EXPECT_FALSE(is_loopback_address("::"));
  EXPECT_FALSE(is_loopback_address("10.0.0.1"));
  EXPECT_FALSE(is_loopback_address("localhost"));  // a name can resolve anywhere
}

// ---- Kubernetes ownership --------------------------------------------------------------

constexpr const char* kDocs = R"(apiVersion: infergate.dev/v1alpha1
kind: GatewayConfig
metadata: {name: g}
spec:
  endpoints:
  - {name: p1, address: 127.0.0.1, port: 9001, labels: {pool: old}}
  - {name: p2, address: 127.0.0.1, port: 9002, labels: {pool: new}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw}
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
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: llm-route, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules:
  - backendRefs:
    - {group: inference.networking.k8s.io, kind: InferencePool, name: llm, weight: 90}
    - {group: inference.networking.k8s.io, kind: InferencePool, name: llm-new, weight: 10}
)";

struct Owned {
  ConfigStore store;
  Config config;
  ResourceKey route;
  explicit Owned(bool from_cluster) {
    auto docs = split_manifests("cluster", kDocs);
    for (auto& m : docs)
      if (m.key.kind == "HTTPRoute") {
        route = m.key;
        if (from_cluster) m.origin = Manifest::Origin::Kubernetes;
      }
    store.set_base(docs);
    LoadResult r = load_manifests(store.effective());
    EXPECT_TRUE(r.ok()) << testing::render(r.errors);
    if (r.config) config = std::move(*r.config);
  }
};

TEST(KubernetesOwnership, FileObjectsStayChangeable) {
  Owned o(false);
  EXPECT_EQ(kubernetes_change_refusal(o.store, o.route, false), "");
  EXPECT_EQ(kubernetes_change_refusal(o.store, o.route, true), "");
  WeightsChange c;
  c.name = "llm-route";
  c.weights = {{"llm", 50}};
  EXPECT_EQ(kubernetes_weights_refusal(o.store, o.config, o.route, c), "");
}

TEST(KubernetesOwnership, ClusterObjectsAreRefusedWithTheKubectlCommand) {
  Owned o(true);
  const std::string apply = kubernetes_change_refusal(o.store, o.route, false);
  EXPECT_NE(apply.find("comes from the Kubernetes API"), std::string::npos) << apply;
  EXPECT_NE(apply.find("kubectl edit httproute.gateway.networking.k8s.io llm-route -n default"), std::string::npos)
      << apply;
  const std::string del = kubernetes_change_refusal(o.store, o.route, true);
  EXPECT_NE(del.find("kubectl delete httproute.gateway.networking.k8s.io llm-route -n default"), std::string::npos)
      << del;

  WeightsChange c;
  c.name = "llm-route";
  c.weights = {{"llm", 50}, {"llm-new", 50}};
  const std::string w = kubernetes_weights_refusal(o.store, o.config, o.route, c);
  EXPECT_NE(w.find("kubectl patch httproute llm-route -n default --type=json -p "
                   "'[{\"op\":\"add\",\"path\":\"/spec/rules/0/backendRefs/0/weight\",\"value\":50},"
                   "{\"op\":\"add\",\"path\":\"/spec/rules/0/backendRefs/1/weight\",\"value\":50}]'"),
            std::string::npos)
      << w;
}

TEST(KubernetesOwnership, AnAdminOverlayOfAFileObjectIsNotKubernetes) {
  Owned o(false);
  auto docs = split_manifests("POST /config", std::string(kDocs).substr(std::string(kDocs).rfind("apiVersion")));
  ASSERT_EQ(docs.size(), 1u);
  o.store.apply(docs[0], "POST /config", "t");
  EXPECT_EQ(kubernetes_change_refusal(o.store, o.route, false), "");
}

}  // namespace
}  // namespace infergate::config
