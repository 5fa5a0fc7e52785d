// The cluster layer: pods and EndpointSlices as endpoints, namespaced selection, and the
// load that leaves out (only) the cluster objects that do not validate.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <set>

#include "config/cluster_load.h"
#include "config/kubernetes_endpoints.h"
#include "test_util.h"

namespace infergate::config {
namespace {

using nlohmann::json;

json pod(const std::string& ns, const std::string& name, const std::string& ip, bool ready, json labels) {
  json p = {{"apiVersion", "v1"},
            {"kind", "Pod"},
            {"metadata", {{"namespace", ns}, {"name", name}, {"labels", labels}}},
            {"status",
             {{"phase", "Running"},
              {"podIP", ip},
              {"conditions", json::array({{{"type", "Ready"}, {"status", ready ? "True" : "False"}}})}}}};
  return p;
}

TEST(KubernetesEndpoints, ReadyPodIsAnEndpointOfItsNamespace) {
  auto ep = pod_endpoint(pod("llm", "vllm-0", "10.1.0.7", true, {{"app", "vllm"}}));
  ASSERT_TRUE(ep);
  EXPECT_EQ(ep->address, "10.1.0.7");
  EXPECT_EQ(ep->name, "vllm-0");
  EXPECT_EQ(ep->ns, "llm");
  EXPECT_EQ(ep->labels.at("app"), "vllm");
  EXPECT_TRUE(endpoint_selected({{"app", "vllm"}}, "llm", *ep));
  EXPECT_FALSE(endpoint_selected({{"app", "vllm"}}, "other", *ep)) << "a selector only picks pods of its namespace";
  Endpoint static_ep;
  static_ep.labels = {{"app", "vllm"}};
  EXPECT_TRUE(endpoint_selected({{"app", "vllm"}}, "other", static_ep)) << "static endpoints stay namespace-free";
}

TEST(KubernetesEndpoints, NotReadyTerminatingFinishedOrAddresslessPodsGetNoRequest) {
  EXPECT_FALSE(pod_endpoint(pod("llm", "a", "10.1.0.7", false, {{"app", "vllm"}})));
  json terminating = pod("llm", "b", "10.1.0.8", true, {{"app", "vllm"}});
  terminating["metadata"]["deletionTimestamp"] = "2026-12-07T10:00:00Z";
  EXPECT_FALSE(pod_endpoint(terminating));
  json done = pod("llm", "c", "10.1.0.9", true, {{"app", "vllm"}});
  done["status"]["phase"] = "Succeeded";
  EXPECT_FALSE(pod_endpoint(done));
  json pending = pod("llm", "d", "", true, {{"app", "vllm"}});
  EXPECT_FALSE(pod_endpoint(pending));
  EXPECT_FALSE(pod_endpoint(json::array()));
  EXPECT_FALSE(pod_endpoint(json{{"metadata", 3}, {"status", "x"}}));
}

TEST(KubernetesEndpoints, EndpointSliceGivesReadyAddressesToItsServiceOnly) {
  json slice = {{"apiVersion", "discovery.k8s.io/v1"},
                {"kind", "EndpointSlice"},
                {"metadata", {{"namespace", "llm"}, {"name", "ext-abc"}, {"labels", {{"kubernetes.io/service-name", "ext"}}}}},
                {"ports", json::array({{{"name", "http"}, {"port", 8000}}})},
                {"endpoints",
                 json::array({{{"addresses", {"10.2.0.1"}}, {"conditions", {{"ready", true}}}},
                              {{"addresses", {"10.2.0.2"}}, {"conditions", {{"ready", false}}}},
                              {{"addresses", {"10.2.0.3"}}, {"conditions", {{"ready", true}, {"terminating", true}}}},
                              {{"addresses", {"10.2.0.4", "10.2.0.5"}}}})}};
  auto eps = endpoint_slice_endpoints(slice);
  ASSERT_EQ(eps.size(), 3u);
  EXPECT_EQ(eps[0].address, "10.2.0.1");
  EXPECT_EQ(eps[1].address, "10.2.0.4");
  EXPECT_EQ(eps[2].address, "10.2.0.5");
  EXPECT_EQ(eps[0].port, std::optional<uint16_t>(8000));
  EXPECT_TRUE(endpoint_of_service("llm", "ext", eps[0]));
  EXPECT_FALSE(endpoint_of_service("other", "ext", eps[0]));
  EXPECT_FALSE(endpoint_selected({{"kubernetes.io/service-name", "ext"}}, "llm", eps[0]))
      << "a slice's address belongs to its Service, not to label selectors";
}

Manifest cluster_doc(const std::string& kind, const std::string& group, const std::string& ns, const std::string& name,
                     const std::string& json_text) {
  Manifest m;
  m.key = ResourceKey{group, kind, ns, name};
  m.file = cluster_manifest_file(m.key);
  m.document = 1;
  m.text = json_text;
  m.origin = Manifest::Origin::Kubernetes;
  return m;
}

const char* kGateway = R"({"apiVersion":"gateway.networking.k8s.io/v1","kind":"Gateway","metadata":{"name":"gw","namespace":"default"},"spec":{"gatewayClassName":"infergate","listeners":[{"name":"http","port":8080,"protocol":"HTTP"}]}})";
const char* kService = R"({"apiVersion":"v1","kind":"Service","metadata":{"name":"svc","namespace":"default"},"spec":{"selector":{"app":"a"},"ports":[{"port":80,"targetPort":8000}]}})";
const char* kGoodRoute = R"({"apiVersion":"gateway.networking.k8s.io/v1","kind":"HTTPRoute","metadata":{"name":"good","namespace":"default"},"spec":{"parentRefs":[{"name":"gw"}],"rules":[{"backendRefs":[{"name":"svc","port":80}]}]}})";
const char* kBadRoute = R"({"apiVersion":"gateway.networking.k8s.io/v1","kind":"HTTPRoute","metadata":{"name":"bad","namespace":"default"},"spec":{"parentRefs":[{"name":"gw"}],"rules":[{"backendRefs":[{"name":"svc","port":80,"weight":-3}]}]}})";

ConfigStore cluster_store(std::vector<Manifest> docs, std::vector<Endpoint> eps = {}) {
  ConfigStore store;
  store.set_cluster(std::make_shared<const std::vector<Manifest>>(std::move(docs)),
                    std::make_shared<const std::vector<Endpoint>>(std::move(eps)));
  return store;
}

TEST(ClusterLoad, AnInvalidClusterObjectIsLeftOutAloneAndTheRestServes) {
  auto store = cluster_store({cluster_doc("Gateway", "gateway.networking.k8s.io", "default", "gw", kGateway),
                              cluster_doc("Service", "", "default", "svc", kService),
                              cluster_doc("HTTPRoute", "gateway.networking.k8s.io", "default", "bad", kBadRoute),
                              cluster_doc("HTTPRoute", "gateway.networking.k8s.io", "default", "good", kGoodRoute)});
  ClusterLoad l = load_store(store);
  ASSERT_TRUE(l.loaded.ok()) << testing::render(l.loaded.errors);
  ASSERT_EQ(l.rejected.size(), 1u);
  EXPECT_EQ(l.rejected[0].key.name, "bad");
  ASSERT_FALSE(l.rejected[0].errors.empty());
  EXPECT_NE(l.rejected[0].errors[0].to_string().find("kubernetes/HTTPRoute/default/bad"), std::string::npos)
      << l.rejected[0].errors[0].to_string();
  ASSERT_EQ(l.loaded.config->routes.size(), 1u);
  EXPECT_EQ(l.loaded.config->routes[0].meta.name, "good");
}

TEST(ClusterLoad, LeavingOneOutCascadesToWhatNeededIt) {
  // The InferenceModel's pool does not validate (no targetPorts); the model then points at a
  // pool that is not there, which is an error of its own: both are left out, the route stays.
  const char* bad_pool = R"({"apiVersion":"inference.networking.x-k8s.io/v1alpha2","kind":"InferencePool","metadata":{"name":"pool","namespace":"default"},"spec":{"selector":{"app":"a"},"extensionRef":{"name":"epp"}}})";
  const char* model = R"({"apiVersion":"inference.networking.x-k8s.io/v1alpha2","kind":"InferenceModel","metadata":{"name":"m","namespace":"default"},"spec":{"modelName":"m","poolRef":{"name":"pool"}}})";
  auto store = cluster_store({cluster_doc("Gateway", "gateway.networking.k8s.io", "default", "gw", kGateway),
                              cluster_doc("Service", "", "default", "svc", kService),
                              cluster_doc("InferencePool", "inference.networking.x-k8s.io", "default", "pool", bad_pool),
                              cluster_doc("InferenceModel", "inference.networking.x-k8s.io", "default", "m", model),
                              cluster_doc("HTTPRoute", "gateway.networking.k8s.io", "default", "good", kGoodRoute)});
  ClusterLoad l = load_store(store);
  ASSERT_TRUE(l.loaded.ok()) << testing::render(l.loaded.errors);
  std::set<std::string> left_out;
  for (const auto& r : l.rejected) left_out.insert(r.key.kind + "/" + r.key.name);
  EXPECT_EQ(left_out, (std::set<std::string>{"InferencePool/pool", "InferenceModel/m"})) << testing::render(l.loaded.warnings);
  EXPECT_EQ(l.loaded.config->routes.size(), 1u);
}

TEST(ClusterLoad, AFileErrorStillRejectsTheWholeChange) {
  ConfigStore store = cluster_store({cluster_doc("Service", "", "default", "svc", kService)});
  Manifest broken;
  broken.file = "gateway.yaml";
  broken.document = 1;
  broken.text = "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r}\nspec: {rules: [{backendRefs: [{name: svc, port: 80, weight: -1}]}]}\n";
  broken.key = ResourceKey{"gateway.networking.k8s.io", "HTTPRoute", "default", "r"};
  store.set_base({broken});
  ClusterLoad l = load_store(store);
  EXPECT_FALSE(l.loaded.ok());
  EXPECT_TRUE(l.rejected.empty());
}

TEST(ClusterLoad, AlsoCheckErrorsAreBlamedOnTheirObjects) {
  auto store = cluster_store({cluster_doc("Gateway", "gateway.networking.k8s.io", "default", "gw", kGateway),
                              cluster_doc("Service", "", "default", "svc", kService),
                              cluster_doc("HTTPRoute", "gateway.networking.k8s.io", "default", "good", kGoodRoute)});
  int calls = 0;
  ClusterLoad l = load_store(store, [&](const Config& c, std::vector<Diagnostic>* errors) {
    ++calls;
    for (const auto& r : c.routes)
      if (r.meta.name == "good") errors->push_back(Diagnostic{r.meta.source.file, 1, "HTTPRoute/good", "", 0, "refused by the route table"});
  });
  ASSERT_TRUE(l.loaded.ok());
  EXPECT_EQ(calls, 2);
  ASSERT_EQ(l.rejected.size(), 1u);
  EXPECT_EQ(l.rejected[0].errors[0].message, "refused by the route table");
  EXPECT_TRUE(l.loaded.config->routes.empty());
}

TEST(ClusterLoad, ClusterEndpointsAreSelectedByTheirNamespacesServices) {
  Endpoint mine;
  mine.name = "p1";
  mine.address = "10.0.0.1";
  mine.ns = "default";
  mine.labels = {{"app", "a"}};
  Endpoint elsewhere = mine;
  elsewhere.name = "p2";
  elsewhere.address = "10.0.0.2";
  elsewhere.ns = "other";
  auto store = cluster_store({cluster_doc("Service", "", "default", "svc", kService)}, {mine, elsewhere});
  ClusterLoad l = load_store(store);
  ASSERT_TRUE(l.loaded.ok()) << testing::render(l.loaded.errors);
  EXPECT_EQ(l.loaded.config->endpoints.size(), 2u);
  EXPECT_TRUE(l.loaded.warnings.empty()) << testing::render(l.loaded.warnings);
}

TEST(ConfigStoreCluster, ClusterLayerFollowsTheFilesAndIsShared) {
  ConfigStore store = cluster_store({cluster_doc("Service", "", "default", "svc", kService)});
  Manifest file;
  file.file = "a.yaml";
  file.text = "x";
  file.key = ResourceKey{"", "Service", "default", "from-file"};
  store.set_base({file});
  auto docs = store.effective();
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[0].file, "a.yaml");
  EXPECT_EQ(docs[1].origin, Manifest::Origin::Kubernetes);
  ConfigStore copy = store;
  EXPECT_TRUE(copy.same_cluster(store));
  copy.set_cluster(std::make_shared<const std::vector<Manifest>>(), nullptr);
  EXPECT_FALSE(copy.same_cluster(store));
  EXPECT_NE(store.find(ResourceKey{"", "Service", "default", "svc"}), nullptr);
}

}  // namespace
}  // namespace infergate::config
