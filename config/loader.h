#pragma once
// Loading Kubernetes-style multi-document YAML into the validated model (config/model.h).
//
// Policy (every rule produces a Diagnostic naming file, document, resource, field path, line):
//  - YAML syntax errors: error at the offending line.
//  - Unknown apiVersion/kind: error naming both. Exceptions:
//      * kinds users keep next to their routes but we do not act on (Deployment, Namespace,
//        ConfigMap, ServiceAccount, Secrets without TLS material, argoproj Application, ...)
//        -> warning "ignored";
//      * Istio Gateway -> warning "not yet supported" (never an error).
//  - Unknown fields: error in our own GatewayConfig (typos must not pass silently); warning in
//    foreign kinds (Kubernetes would ignore/prune them, so a manifest that works in a cluster
//    still loads).
//  - Wrong types, out-of-range numbers, missing required fields, bad durations, invalid
//    regular expressions (RE2): error with the field path.
//  - Two resources of one kind with the same namespace/name: error.
//  - HTTPRoute backendRef to a missing Service/InferencePool, or to a Service port the Service
//    does not have: warning, as the Gateway API accepts it (ResolvedRefs=False): requests that
//    would go there get 500; a RequestMirror to one is skipped. parentRef to a missing Gateway:
//    error; but a parentRef of a foreign
//    kind (e.g. GKE's `InferenceGateway`) whose parent is not defined: warning, and the route
//    attaches to every listener.
//  - A Service or InferencePool whose selector matches no endpoint: warning.
//  - Istio VirtualService / DestinationRule (networking.istio.io v1, v1beta1, v1alpha3): what
//    Istio's validation rejects is an error, what it warns about a warning. A destination or
//    rule `host` names a Service here ("name" in the resource's namespace, "name.ns",
//    "name.ns.svc", "name.ns.svc.cluster.local"); a destination whose Service, port or subset
//    is not defined is an error (istioctl analyze: ReferencedResourceNotFound). A gateway the
//    VirtualService names that is not a Gateway here: warning, and it attaches to every
//    listener. A lone destination's weight other than 100: warning (it gets all traffic).
//  - GIE InferenceModel (inference.networking.x-k8s.io/v1alpha2), InferenceObjective
//    (x-k8s.io v1alpha2; inference.networking.k8s.io v1alpha2, v1) and InferenceModelRewrite
//    (v1alpha2 in either group): what GIE's CRD schema and CEL rules reject is an error
//    (missing modelName, unknown criticality, weights outside 1..1000000, weights on some
//    targetModels only, a match type other than Exact, a rewrite rule without targets). A
//    poolRef to an InferencePool not defined in the resource's namespace, of another kind, or
//    of a group other than the two inference groups: error. Two InferenceModels with one
//    modelName on one pool: warning, the oldest (creationTimestamp, then name) claims it, as
//    in GIE. A model matched again by a later rewrite rule (same resource or an older one on
//    the same pool): warning, the first stays in force.
//  - GKE HealthCheckPolicy (networking.gke.io/v1): what maps onto the gateway's HTTP/1.1 check
//    is kept (config/model/health_check.h); check types other than HTTP, named ports and
//    PROXY_V1 are errors, as is a targetRef other than an InferencePool or a Service of the
//    policy's namespace, or a second policy on one target. A target not defined: warning.
//  - Seed quirk: HTTPRoute `spec.rules` written as a single mapping instead of a list is
//    accepted as one rule, with a warning naming its line.
// Any error rejects the whole input: `config` is then empty. Never throws, never crashes.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/diagnostic.h"
#include "config/manifests.h"
#include "config/model.h"

namespace infergate::config {

struct LoadResult {
  std::optional<Config> config;  // set only when there are no errors
  std::vector<Diagnostic> errors;
  std::vector<Diagnostic> warnings;
  bool ok() const { return errors.empty() && config.has_value(); }
};

// A file, or a directory: every *.yaml / *.yml directly in it (not recursive), sorted by name.
LoadResult load_path(const std::string& path);

// One YAML text; `file_name` is what diagnostics call it.
LoadResult load_string(std::string_view yaml, std::string_view file_name);

// Several named texts loaded as one configuration (references may cross files).
LoadResult load_documents(const std::vector<std::pair<std::string, std::string>>& named_texts);

// Manifests (config/manifests.h) loaded as one configuration: what the three above do after
// splitting, and what a ConfigStore's effective() set is loaded with.
LoadResult load_manifests(const std::vector<Manifest>& manifests);
// The same, with endpoints read from the Kubernetes API (config/kubernetes_endpoints.h) added
// to the static ones before validation.
LoadResult load_manifests(const std::vector<Manifest>& manifests, const std::vector<Endpoint>& cluster_endpoints);

}  // namespace infergate::config
