#pragma once
// Internal to routing/: a VirtualService turned into Routes (one per http[] match, as Istio
// makes one Envoy route per match) with their compiled matches and the listeners and
// hostnames they apply to. RouteTable::build places the entries in its host groups.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/diagnostic.h"
#include "config/model.h"
#include "routing/istio_match.h"
#include "routing/route_table.h"

namespace infergate::routing::detail {

struct VsRouteEntry {
  std::unique_ptr<CompiledVsMatch> match;      // route_index and vs_index set
  std::vector<const config::Listener*> listeners;  // where it applies (gateways, match.port)
};

// Appends the routes of `vs` (config.virtual_services[vs_index]) to *routes and their
// entries, in Istio order, to *entries. Problems (an unresolved destination in a hand-built
// Config, a bad regex) go to *errors; the affected match is left out.
void build_virtual_service_routes(const config::Config& config, size_t vs_index,
                                  std::vector<Route>* routes, std::vector<VsRouteEntry>* entries,
                                  std::vector<config::Diagnostic>* errors);

// Hostnames (lower-case; "" = any host) that `vs`'s hosts stand for, without duplicates.
std::vector<std::string> virtual_service_hostnames(const config::Config& config,
                                                   const config::VirtualService& vs);

// Istio's retry policy for an http[] entry (see Route::retry).
std::optional<config::RetryPolicy> istio_retry_policy(const std::optional<config::IstioRetry>& r);

// The consistent-hash policy DestinationRules give a resolved destination, if any.
std::optional<HashPolicy> istio_hash_policy(const config::Config& config,
                                            const config::IstioDestination& d);

}  // namespace infergate::routing::detail
