#pragma once
// The one place that names upstream clusters. routing/ puts these names in BackendRef and
// pools/ builds clusters under the same names, so the two only ever meet through this file.
//   InferencePool ns/name          -> "inferencepool/<ns>/<name>"
//   Service ns/name, service port P -> "service/<ns>/<name>/<P>"
//   Istio destination (VirtualService)  -> "outbound|<P>|<subset>|<name>.<ns>.svc.cluster.local"
//     (Envoy/Istio's own naming; subset "" for the whole Service)

#include <cstdint>
#include <string>
#include <string_view>

namespace infergate::config {

std::string inference_pool_cluster_name(std::string_view ns, std::string_view name);
std::string service_cluster_name(std::string_view ns, std::string_view name, uint16_t port);
std::string outbound_cluster_name(uint16_t port, std::string_view subset, std::string_view fqdn);

}  // namespace infergate::config
