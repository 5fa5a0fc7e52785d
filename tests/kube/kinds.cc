#include "tests/kube/kinds.h"

#include <algorithm>

namespace infergate::testing::kube {
namespace {

std::vector<ResourceKind> build() {
  const std::vector<std::string> core{"v1"};
  const std::vector<std::string> gateway{"v1", "v1beta1"};
  const std::vector<std::string> gie{"v1", "v1alpha2"};
  const std::vector<std::string> gie_x{"v1alpha2"};
  const std::vector<std::string> istio_net{"v1", "v1beta1", "v1alpha3"};
  const std::vector<std::string> istio_sec{"v1", "v1beta1"};
  const std::vector<std::string> ours{"v1alpha1"};
  const std::string gw = "gateway.networking.k8s.io";
  const std::string inf = "inference.networking.k8s.io";
  const std::string infx = "inference.networking.x-k8s.io";
  return {
      {"", core, "namespaces", "namespace", "Namespace", false, false, {"ns"}},
      {"", core, "pods", "pod", "Pod", true, true, {"po"}},
      {"", core, "services", "service", "Service", true, true, {"svc"}},
      {"", core, "secrets", "secret", "Secret", true, false, {}},
      {"", core, "configmaps", "configmap", "ConfigMap", true, false, {"cm"}},
      {"", core, "serviceaccounts", "serviceaccount", "ServiceAccount", true, false, {"sa"}},
      {"discovery.k8s.io", {"v1"}, "endpointslices", "endpointslice", "EndpointSlice", true, false, {}},
      {"coordination.k8s.io", {"v1"}, "leases", "lease", "Lease", true, false, {}},
      {gw, gateway, "gatewayclasses", "gatewayclass", "GatewayClass", false, true, {"gc"}},
      {gw, gateway, "gateways", "gateway", "Gateway", true, true, {"gtw"}},
      {gw, gateway, "httproutes", "httproute", "HTTPRoute", true, true, {}},
      {inf, gie, "inferencepools", "inferencepool", "InferencePool", true, true, {"infpool"}},
      {inf, gie, "inferenceobjectives", "inferenceobjective", "InferenceObjective", true, true, {}},
      {inf, gie, "inferencemodelrewrites", "inferencemodelrewrite", "InferenceModelRewrite", true, true, {}},
      {infx, gie_x, "inferencepools", "inferencepool", "InferencePool", true, true, {}},
      {infx, gie_x, "inferencemodels", "inferencemodel", "InferenceModel", true, true, {}},
      {infx, gie_x, "inferenceobjectives", "inferenceobjective", "InferenceObjective", true, true, {}},
      {infx, gie_x, "inferencemodelrewrites", "inferencemodelrewrite", "InferenceModelRewrite", true, true, {}},
      {"networking.istio.io", istio_net, "virtualservices", "virtualservice", "VirtualService", true, true, {"vs"}},
      {"networking.istio.io", istio_net, "destinationrules", "destinationrule", "DestinationRule", true, true, {"dr"}},
      {"security.istio.io", istio_sec, "peerauthentications", "peerauthentication", "PeerAuthentication", true, true, {"pa"}},
      {"security.istio.io", istio_sec, "authorizationpolicies", "authorizationpolicy", "AuthorizationPolicy", true, true, {"ap"}},
      {"networking.gke.io", {"v1"}, "healthcheckpolicies", "healthcheckpolicy", "HealthCheckPolicy", true, false, {}},
      {"infergate.dev", ours, "gatewayconfigs", "gatewayconfig", "GatewayConfig", true, true, {}},
      {"infergate.dev", ours, "rollouts", "rollout", "Rollout", true, true, {}},
      {"apiextensions.k8s.io", {"v1"}, "customresourcedefinitions", "customresourcedefinition",
       "CustomResourceDefinition", false, false, {"crd", "crds"}},
  };
}

bool has_version(const ResourceKind& k, const std::string& v) {
  return std::find(k.versions.begin(), k.versions.end(), v) != k.versions.end();
}

}  // namespace

const std::vector<ResourceKind>& resource_kinds() {
  static const std::vector<ResourceKind> kinds = build();
  return kinds;
}

const ResourceKind* find_kind(const std::string& group, const std::string& version,
                              const std::string& resource) {
  const ResourceKind* k = find_kind(group, resource);
  return k != nullptr && has_version(*k, version) ? k : nullptr;
}

const ResourceKind* find_kind(const std::string& group, const std::string& resource) {
  for (const auto& k : resource_kinds()) {
    if (k.group == group && k.resource == resource) return &k;
  }
  return nullptr;
}

const ResourceKind* find_kind_of(const std::string& api_version, const std::string& kind) {
  const auto slash = api_version.find('/');
  const std::string group = slash == std::string::npos ? "" : api_version.substr(0, slash);
  const std::string version = slash == std::string::npos ? api_version : api_version.substr(slash + 1);
  for (const auto& k : resource_kinds()) {
    if (k.group == group && k.kind == kind && has_version(k, version)) return &k;
  }
  return nullptr;
}

std::vector<GroupVersions> api_groups() {
  std::vector<GroupVersions> out;
  for (const auto& k : resource_kinds()) {
    if (k.group.empty()) continue;
    auto it = std::find_if(out.begin(), out.end(), [&](const GroupVersions& g) { return g.group == k.group; });
    if (it == out.end()) out.push_back({k.group, k.versions});
  }
  return out;
}

}  // namespace infergate::testing::kube
