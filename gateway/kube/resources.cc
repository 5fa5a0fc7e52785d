#include "gateway/kube/resources.h"

#include <array>

namespace infergate::gateway::kube {

namespace {

// Order matters only for readability of /config_dump: cluster objects are loaded in this
// order, the way a manifest file would list them.
constexpr std::array kWatched{
    ApiResource{"gateway.networking.k8s.io", "v1", "gatewayclasses", "GatewayClass", false, true},
    ApiResource{"gateway.networking.k8s.io", "v1", "gateways", "Gateway", true, true},
    ApiResource{"gateway.networking.k8s.io", "v1", "httproutes", "HTTPRoute", true, true},
    ApiResource{"", "v1", "services", "Service", true, false},
    ApiResource{"discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", true, false},
    ApiResource{"", "v1", "pods", "Pod", true, false},
    ApiResource{"inference.networking.k8s.io", "v1", "inferencepools", "InferencePool", true, true},
    ApiResource{"inference.networking.x-k8s.io", "v1alpha2", "inferencepools", "InferencePool", true, true},
    ApiResource{"inference.networking.x-k8s.io", "v1alpha2", "inferencemodels", "InferenceModel", true, true},
    ApiResource{"inference.networking.x-k8s.io", "v1alpha2", "inferenceobjectives", "InferenceObjective", true, true},
    ApiResource{"inference.networking.k8s.io", "v1alpha2", "inferenceobjectives", "InferenceObjective", true, true},
    ApiResource{"inference.networking.x-k8s.io", "v1alpha2", "inferencemodelrewrites", "InferenceModelRewrite", true, true},
    ApiResource{"inference.networking.k8s.io", "v1alpha2", "inferencemodelrewrites", "InferenceModelRewrite", true, true},
    ApiResource{"networking.istio.io", "v1", "virtualservices", "VirtualService", true, false},
    ApiResource{"networking.istio.io", "v1", "destinationrules", "DestinationRule", true, false},
    ApiResource{"security.istio.io", "v1", "peerauthentications", "PeerAuthentication", true, false},
    ApiResource{"security.istio.io", "v1", "authorizationpolicies", "AuthorizationPolicy", true, false},
    ApiResource{"networking.gke.io", "v1", "healthcheckpolicies", "HealthCheckPolicy", true, false},
    ApiResource{"infergate.dev", "v1alpha1", "gatewayconfigs", "GatewayConfig", true, false},
    ApiResource{"infergate.dev", "v1alpha1", "rollouts", "Rollout", true, true},
};

constexpr ApiResource kLease{"coordination.k8s.io", "v1", "leases", "Lease", true, false};
constexpr ApiResource kSecret{"", "v1", "secrets", "Secret", true, false};

}  // namespace

std::span<const ApiResource> watched_resources() { return kWatched; }
const ApiResource& lease_resource() { return kLease; }
const ApiResource& secret_resource() { return kSecret; }

const ApiResource* find_resource(std::string_view group, std::string_view kind) {
  for (const auto& r : kWatched)
    if (r.group == group && r.kind == kind) return &r;
  return nullptr;
}

// Built by appending: GCC 12 at -O3 reports `"/" + std::string(view)` as a -Wrestrict
// overlap (a false positive, but -Werror).
std::string group_version_path(const ApiResource& r) {
  std::string p = r.group.empty() ? "/api/" : "/apis/";
  if (!r.group.empty()) p.append(r.group).append("/");
  return p.append(r.version);
}

std::string collection_path(const ApiResource& r, std::string_view ns) {
  std::string p = group_version_path(r);
  if (r.namespaced && !ns.empty()) p.append("/namespaces/").append(ns);
  return p.append("/").append(r.plural);
}

std::string object_path(const ApiResource& r, std::string_view ns, std::string_view name,
                        std::string_view subresource) {
  std::string p = collection_path(r, r.namespaced ? ns : std::string_view{});
  p.append("/").append(name);
  if (!subresource.empty()) p.append("/").append(subresource);
  return p;
}

}  // namespace infergate::gateway::kube
