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

// The name of the object a cluster stands for, as a user wrote it in a backendRef or a
// destination host: the InferencePool's or Service's metadata.name (for outbound clusters the
// first label of the host). The name itself for anything else.
std::string_view cluster_object_name(std::string_view cluster);
// True for the clusters of InferencePools.
bool is_inference_pool_cluster(std::string_view cluster);

}  // namespace infergate::config
