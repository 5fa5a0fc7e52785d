#include "gateway/snapshot.h"

#include <map>
#include <mutex>

namespace infergate::gateway {

namespace {

// One gRPC channel per EPP target while any snapshot uses it: a reload keeps the connection.
std::shared_ptr<ext_proc::EppChannel> epp_channel(const std::string& target) {
  static std::mutex mu;
  static std::map<std::string, std::weak_ptr<ext_proc::EppChannel>> channels;
  std::lock_guard lock(mu);
  if (auto existing = channels[target].lock()) return existing;
  ext_proc::EppChannelOptions options;
  options.target = target;
  auto channel = ext_proc::EppChannel::create(std::move(options));
  channels[target] = channel;
  return channel;
}

}  // namespace

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
  for (const auto& c : snap->clusters->clusters()) {
    snap->cluster_stats.emplace_back(metrics, c.name);
    snap->epp_channels.push_back(c.endpoint_picker ? epp_channel(c.epp_target) : nullptr);
  }
  if (config->gateway.metrics.per_version)
    snap->version_stats = VersionStats::build(*config, *snap->routes, *snap->clusters, *snap->models, metrics);
  snap->config = std::move(config);
  return snap;
}

}  // namespace infergate::gateway
