#include "gateway/snapshot.h"

namespace infergate::gateway {

std::shared_ptr<const Snapshot> build_snapshot(std::shared_ptr<const config::Config> config, uint64_t version,
                                               std::string source, pools::EndpointRegistry& registry,
                                               metrics::Registry& metrics, std::vector<config::Diagnostic>* errors) {
  auto snap = std::make_shared<Snapshot>();
  snap->version = version;
  snap->source = std::move(source);
  snap->routes = routing::RouteTable::build(*config, errors);
  snap->clusters = pools::ClusterSet::build(*config, registry, errors);
  snap->models = routing::ModelRewriteTable::build(*config);
  snap->cluster_stats.reserve(snap->clusters->clusters().size());
  for (const auto& c : snap->clusters->clusters()) snap->cluster_stats.emplace_back(metrics, c.name);
  if (config->gateway.metrics.per_version)
    snap->version_stats = VersionStats::build(*config, *snap->routes, *snap->clusters, *snap->models, metrics);
  snap->config = std::move(config);
  return snap;
}

}  // namespace infergate::gateway
