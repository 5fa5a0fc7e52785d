#pragma once
// How Istio names resolve outside a cluster, shared by the loader (which reports what does
// not resolve), routing/ (virtual hosts of a VirtualService) and pools/ (cluster names).
//  - A host ("llm-service", "llm-service.team", "llm-service.team.svc",
//    "llm-service.team.svc.cluster.local") names the Service llm-service in the namespace it
//    spells, or for a short name the namespace of the resource that writes it (Istio reads
//    short names in the rule's namespace).
//  - A gateway ("gw", "team/gw", legacy "gw.team.svc.cluster.local") names a Gateway; "mesh"
//    is the mesh itself, i.e. every listener of ours.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/model.h"

namespace infergate::config {

// The Service `host` names, or nullptr (wildcards and other names name none).
const Service* resolve_istio_host(const Config& config, std::string_view host,
                                  std::string_view resource_ns);

// The names a client may use for Service ns/name, lower-case: "name.ns",
// "name.ns.svc", "name.ns.svc.cluster.local", and the short "name" when ns is `resource_ns`
// (as a sidecar's virtual host lists them).
std::vector<std::string> istio_service_hostnames(std::string_view ns, std::string_view name,
                                                 std::string_view resource_ns);

struct GatewayRef {
  std::string ns;
  std::string name;
  bool mesh = false;
};
GatewayRef istio_gateway_ref(std::string_view written, std::string_view resource_ns);

// Envoy/Istio cluster name "outbound|<port>|<subset>|<fqdn>" of a resolved destination.
std::string istio_cluster_name(const IstioDestination& d);

}  // namespace infergate::config
