// Endpoints from the Kubernetes API: a ready pod is what a static GatewayConfig endpoint is
// outside a cluster (its podIP and labels, selected by InferencePool and Service selectors of
// its namespace); an EndpointSlice gives the addresses of a Service without a selector.
//
// Only what may take a new request becomes an endpoint: a pod that is not Ready, is being
// deleted (deletionTimestamp) or has finished gets none, so the next snapshot stops sending
// to it while the requests it already has finish on the snapshot they started with.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <optional>
#include <vector>

#include "config/model/infergate.h"

namespace infergate::config {

// The endpoint of a Pod object; nullopt when it should get no new request (see above).
std::optional<Endpoint> pod_endpoint(const nlohmann::json& pod);

// The ready addresses of an EndpointSlice (discovery.k8s.io/v1) of a Service without a
// selector; the slice names its Service in the label kubernetes.io/service-name. A slice with
// one port gives it to each endpoint (it replaces the Service's targetPort); with several the
// Service's targetPort is used.
std::vector<Endpoint> endpoint_slice_endpoints(const nlohmann::json& slice);

}  // namespace infergate::config
