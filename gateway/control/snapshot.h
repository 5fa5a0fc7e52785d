// The immutable snapshot a request runs on: config, route table, clusters and the
// statistics handles resolved for them. Built on the control thread, handed to each
// worker by a post to its io_context; an ActiveStream holds the snapshot it started
// with until it ends, so a swap never changes a request mid-flight.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config/diagnostic.h"
#include "config/model.h"
#include "gateway/control/token_budget_store.h"
#include "gateway/proxy/proxy_stats.h"
#include "gateway/proxy/version_stats.h"
#include "pools/cluster.h"
#include "pools/ext_proc/epp_client.h"
#include "routing/model_rewrite.h"
#include "routing/authorization.h"
#include "routing/local_rate_limit.h"
#include "routing/route_table.h"
#include "tls/client_context.h"

namespace infergate::gateway {

struct Snapshot {
  uint64_t version = 0;
  std::string source;  // what produced it: "file", "admin", ...
  std::shared_ptr<const config::Config> config;
  std::shared_ptr<const routing::RouteTable> routes;
  std::shared_ptr<const pools::ClusterSet> clusters;
  std::shared_ptr<const routing::ModelRewriteTable> models;  // InferenceModel / ...Rewrite per pool
  std::vector<ClusterStats> cluster_stats;  // parallel to clusters->clusters()
  std::shared_ptr<const VersionStats> version_stats;  // per route backend, model and adapter
  // The external endpoint picker of each InferencePool that names one (nullptr elsewhere),
  // parallel to clusters->clusters(). A channel is shared by every snapshot with that target.
  std::vector<std::shared_ptr<ext_proc::EppChannel>> epp_channels;
  // DestinationRule trafficPolicy.tls of each cluster (nullptr = plaintext), parallel to
  // clusters->clusters(); and every certificate file those and the listeners read.
  std::vector<std::shared_ptr<const tls::ClientContext>> upstream_tls;
  std::vector<std::string> tls_files;
  // GatewayConfig spec.localRateLimits: buckets shared by all workers (and carried over from
  // the previous snapshot for unchanged policies), and per policy its counters
  // [ok, rate_limited, shadow_limited].
  std::shared_ptr<routing::LocalRateLimiter> rate_limiter;
  // Istio AuthorizationPolicies that apply to this gateway, and per policy its counters
  // [allowed, denied, audit]; `authz_none_denied` counts denials because no ALLOW matched.
  std::shared_ptr<const routing::AuthorizationEngine> authz;
  std::vector<std::array<metrics::Counter, 3>> authz_stats;
  metrics::Counter authz_none_denied;
  std::vector<std::array<metrics::Counter, 3>> rate_limit_stats;
  // GatewayConfig spec.tokenBudgets: counts shared by all workers (carried over for unchanged
  // budgets), the Redis store of spec.tokenBudgetStore, and per budget its counters.
  TokenBudgetRuntime token_budgets;

  const ClusterStats* stats_for(const pools::Cluster* c) const {
    return &cluster_stats[static_cast<size_t>(c - clusters->clusters().data())];
  }
  const std::shared_ptr<const tls::ClientContext>& upstream_tls_for(const pools::Cluster* c) const {
    return upstream_tls[static_cast<size_t>(c - clusters->clusters().data())];
  }
  const std::shared_ptr<ext_proc::EppChannel>& epp_for(const pools::Cluster* c) const {
    return epp_channels[static_cast<size_t>(c - clusters->clusters().data())];
  }
};

// Builds a snapshot from a loaded config: route table, clusters (endpoint state shared
// with earlier snapshots through `registry`), cluster and per-version statistics. Problems go to
// *errors; a snapshot with errors must not be published.
std::shared_ptr<const Snapshot> build_snapshot(std::shared_ptr<const config::Config> config, uint64_t version,
                                               std::string source, pools::EndpointRegistry& registry,
                                               metrics::Registry& metrics, std::vector<config::Diagnostic>* errors,
                                               const Snapshot* previous = nullptr);

}  // namespace infergate::gateway
