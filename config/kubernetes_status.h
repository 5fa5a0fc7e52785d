#pragma once
// The `status` the gateway owes the cluster objects it serves, computed from what it serves:
// the loaded Config, the load's warnings and the cluster objects the Kubernetes source had to
// skip (rejected, with their errors). Pure: no I/O, no clock; the status writer
// (gateway/kube/status_writer.h) compares the result with what the API server holds and writes
// only the difference.
//
// Gateway API conventions (gateway.networking.k8s.io/v1):
//  - GatewayClass of ours (spec.controllerName = ours): Accepted=True/Accepted.
//  - Gateway of one of our classes: Accepted, Programmed; status.addresses; per listener its
//    supportedKinds, attachedRoutes (routes attached to it in the Config) and Accepted /
//    Programmed / ResolvedRefs. A rejected Gateway: Accepted=False/Invalid,
//    Programmed=False/Invalid, the errors as message, no listeners.
//  - HTTPRoute: one status.parents[] entry per parentRef naming a Gateway of ours (parentRef
//    echoed as written, controllerName ours). Accepted=True/Accepted when the route loaded;
//    False/NoMatchingParent when the error is that the Gateway has no such listener,
//    False/UnsupportedValue for any other error. ResolvedRefs=False/BackendNotFound when a
//    backendRef (or mirror) names a Service, Service port or InferencePool that is not
//    there (the loader's warning is the message), False/InvalidKind for a kind we do not
//    route to, True/ResolvedRefs otherwise. A rejected route that names no kind we refuse
//    carries Accepted only: nothing else about it is known.
//    Entries of other controllers are never produced, nor touched (status_to_write).
//  - InferencePool (GIE v1: status.parents[]; v1alpha2: status.parent[]): one entry per Gateway
//    of ours reached by a route of ours that has the pool as a backendRef. Accepted=True/
//    Accepted when an accepted route leads there, False/HTTPRouteNotAccepted when only rejected
//    ones do; ResolvedRefs=False/InvalidExtensionRef when its endpointPickerRef Service is
//    not there, True/ResolvedRefs otherwise.
//  - Rollout: not here (the rollout controller writes its status).
// Every condition carries observedGeneration (metadata.generation) and lastTransitionTime.
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/cluster_load.h"
#include "config/diagnostic.h"
#include "config/manifests.h"
#include "config/model.h"

namespace infergate::config {


struct GatewayClassRef {
  std::string name;
  int64_t generation = 0;
};

struct StatusInput {
  const Config* config = nullptr;          // what serves (never null)
  std::vector<Diagnostic> warnings;        // of the load that built `config`
  std::vector<RejectedObject> rejected;
  std::string controller_name;             // "infergate.dev/gateway-controller"
  std::vector<GatewayClassRef> gateway_classes;  // those whose spec.controllerName is ours
  // status.addresses of a Gateway without spec.addresses (e.g. the pod or Service IP the
  // gateway is reached at); empty = the Gateway reports none.
  std::vector<GatewayAddress> default_addresses;
  // Ports the process accepts connections on now. Listeners open at start only, so a listener
  // added later is Programmed=False/Pending until a restart. Empty = every listener is open.
  std::set<uint16_t> open_ports;
  std::string now;                         // RFC 3339 seconds: lastTransitionTime of new conditions
};

struct DesiredStatuses {
  std::map<ResourceKey, nlohmann::json> status;  // the object's whole `status` (ours)
  std::string controller_name;
  // Gateways of our classes (ns, name): pool parents naming one of them are ours to rewrite.
  std::set<std::pair<std::string, std::string>> gateways;
};

DesiredStatuses compute_statuses(const StatusInput& in);

// `desired` with each condition's lastTransitionTime taken from `current_status` where a
// condition of the same type (in the same listener / parent entry) has the same status: a
// condition's time says when it last changed, not when it was last written.
nlohmann::json merge_transition_times(const nlohmann::json& current_status, nlohmann::json desired);

// Equal but for lastTransitionTime (and the order of object keys).
bool same_status(const nlohmann::json& a, const nlohmann::json& b);

// The whole status to write to `key`, given what the API server holds (`current_status`, null
// when none): ours from `desired` (or none of ours when `key` has no entry, so entries we wrote
// earlier are removed), with entries of other controllers kept in place (HTTPRoute parents with
// another controllerName, InferencePool parents that are not Gateways of ours), transition times
// merged. When it is same_status as `current_status`, nothing needs writing.
nlohmann::json status_to_write(const DesiredStatuses& desired, const ResourceKey& key,
                               const nlohmann::json& current_status);

}  // namespace infergate::config
