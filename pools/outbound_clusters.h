#pragma once
// Internal to pools/: the Istio clusters ("outbound|<port>|<subset>|<fqdn>") VirtualServices
// route and mirror to. Endpoints: those the Service selects (its selector) that also carry
// every label of the DestinationRule subset; ports as for Service clusters (targetPort, or
// the endpoint's own port). Traffic policy: the subset's merged over its rule's (Istio's
// merge), or the oldest rule of the Service for subset-less destinations:
//  - loadBalancer simple / consistentHash -> Cluster::lb (hash keys travel on the routes);
//  - connectionPool -> Cluster::limits;
//  - outlierDetection -> Cluster::outlier (consecutive5xxErrors default 5, interval 10 s,
//    baseEjectionTime 30 s, maxEjectionPercent 10 as in Envoy); without one, none at all.
// Protocol: H2c for appProtocol kubernetes.io/h2c, grpc or http2, or a port named
// grpc/http2[-*] (Istio's protocol selection); else HTTP/1.1.

#include <set>
#include <string>
#include <vector>

#include "config/diagnostic.h"
#include "config/model.h"
#include "pools/cluster.h"

namespace infergate::pools::detail {

void add_outbound_clusters(const config::Config& config, EndpointRegistry& registry,
                           std::vector<Cluster>& out, std::set<std::string>& seen,
                           std::vector<config::Diagnostic>* errors);

}  // namespace infergate::pools::detail
