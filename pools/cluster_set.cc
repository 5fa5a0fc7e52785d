#include <algorithm>
#include <set>

#include "config/cluster_names.h"
#include "pools/cluster.h"
#include "pools/outbound_clusters.h"

namespace infergate::pools {

namespace {

config::Diagnostic diagnostic(const config::ObjectMeta& meta, std::string resource,
                              std::string path, std::string message) {
  return config::Diagnostic{meta.source.file, meta.source.document, std::move(resource),
                            std::move(path), meta.source.line, std::move(message)};
}

Cluster pool_cluster(const config::Config& config, const config::InferencePool& pool,
                     EndpointRegistry& registry) {
  Cluster c;
  c.name = config::inference_pool_cluster_name(pool.meta.ns, pool.meta.name);
  c.protocol = pool.app_protocol == config::AppProtocol::H2c ? UpstreamProtocol::H2c
                                                             : UpstreamProtocol::Http1;
  c.endpoint_picker = pool.endpoint_picker;
  if (const auto& epp = pool.endpoint_picker) {
    const config::Service* svc = config.find_service(pool.meta.ns, epp->name);
    for (const auto& ep : config.endpoints) {
      if (!svc || !config::endpoint_selected(svc->selector, pool.meta.ns, ep)) continue;
      c.epp_target = endpoint_key(ep.address, ep.port.value_or(epp->port));
      break;
    }
    if (c.epp_target.empty()) c.epp_target = endpoint_key(epp->name + "." + pool.meta.ns, epp->port);
  }
  for (const auto& ep : config.endpoints) {
    if (!config::endpoint_selected(pool.selector, pool.meta.ns, ep)) continue;
    if (ep.port) {
      c.endpoints.push_back(registry.get_or_create(ep.address, *ep.port, ep.name, ep.labels));
      continue;
    }
    // GIE v1: every targetPort of every pod is a distinct endpoint (data-parallel ranks).
    for (uint16_t port : pool.target_ports)
      c.endpoints.push_back(registry.get_or_create(ep.address, port, ep.name, ep.labels));
  }
  const config::PickerSettings& picker = config.gateway.endpoint_picker.for_pool(pool.meta.ns, pool.meta.name);
  if (picker.outlier_detection) apply_outlier_detection(*picker.outlier_detection, c.outlier);
  c.epp = picker.ext_proc;
  if (const auto* policy = config.find_health_check_policy("InferencePool", pool.meta.ns, pool.meta.name))
    c.health_check = std::make_shared<const config::HealthCheck>(policy->check);
  else if (picker.health_check && picker.health_check->enabled)
    c.health_check = std::make_shared<const config::HealthCheck>(*picker.health_check);
  switch (picker.profile) {
    case config::PickerProfile::RoundRobin: c.lb = LbPolicy::RoundRobin; break;
    case config::PickerProfile::LeastRequest: c.lb = LbPolicy::LeastRequest; break;
    case config::PickerProfile::Infergate:
    case config::PickerProfile::InferenceExtension: {
      // blocksPerServer per endpoint, as the Inference Extension sizes its LRU; PrefixIndex
      // bounds it (kMaxEntries) and pays for pages only as records fill them.
      const size_t capacity = size_t{picker.prefix_blocks_per_server} * std::max<size_t>(1, c.endpoints.size());
      c.picker = std::make_shared<EndpointPicker>(picker, config, pool, registry.prefix_index(c.name, capacity));
      break;
    }
  }
  if (config.gateway.flow_control.enabled) {
    c.flow = std::make_shared<FlowPolicy>(config.gateway.flow_control, config, pool, registry.flow_queue(c.name));
    c.flow->queue->set_stale_after(config.gateway.model_server_metrics.stale_after.count());
  } else if (auto queue = registry.find_flow_queue(c.name)) {
    // Turned off with requests waiting: nothing would wake them any more.
    queue->dispatch_all();
  }
  return c;
}

void add_service_cluster(const config::Config& config, const std::string& ns,
                         const std::string& name, uint16_t port, EndpointRegistry& registry,
                         std::vector<Cluster>& out, std::set<std::string>& seen,
                         std::vector<config::Diagnostic>* errors) {
  std::string cluster_name = config::service_cluster_name(ns, name, port);
  if (!seen.insert(cluster_name).second) return;
  const config::Service* svc = config.find_service(ns, name);
  const config::ServicePort* sp = nullptr;
  if (svc) {
    for (const auto& p : svc->ports)
      if (p.port == port) sp = &p;
  }
  // An unresolved reference (the loader warned): no cluster, so the router answers 500 for
  // the share of requests that would have gone there, as the Gateway API requires.
  if (!svc || !sp) return;
  Cluster c;
  c.name = std::move(cluster_name);
  c.protocol = sp->app_protocol == "kubernetes.io/h2c" ? UpstreamProtocol::H2c
                                                       : UpstreamProtocol::Http1;
  if (const auto* policy = config.find_health_check_policy("Service", ns, name))
    c.health_check = std::make_shared<const config::HealthCheck>(policy->check);
  for (const auto& ep : config.endpoints) {
    if (!config::endpoint_selected(svc->selector, ns, ep) && !config::endpoint_of_service(ns, name, ep)) continue;
    uint16_t target = ep.port.value_or(sp->target_port);
    if (target == 0) {
      if (errors)
        errors->push_back(diagnostic(
            svc->meta, "Service/" + name, "spec.ports",
            "named targetPort \"" + sp->target_port_name + "\" cannot be resolved for endpoint \"" +
                ep.name + "\": give the endpoint a port"));
      continue;
    }
    c.endpoints.push_back(registry.get_or_create(ep.address, target, ep.name, ep.labels));
  }
  out.push_back(std::move(c));
}

}  // namespace

std::shared_ptr<const ClusterSet> ClusterSet::build(const config::Config& config,
                                                    EndpointRegistry& registry,
                                                    std::vector<config::Diagnostic>* errors) {
  auto set = std::make_shared<ClusterSet>();
  for (const auto& pool : config.pools) set->clusters_.push_back(pool_cluster(config, pool, registry));

  std::set<std::string> seen;
  for (const auto& route : config.routes) {
    for (const auto& rule : route.rules) {
      for (const auto& b : rule.backend_refs) {
        if (!b.is_inference_pool() && b.port)
          add_service_cluster(config, b.ns, b.name, *b.port, registry, set->clusters_, seen, errors);
      }
      for (const auto& f : rule.filters) {
        if (f.mirror && f.mirror->kind == "Service" && f.mirror->port)
          add_service_cluster(config, f.mirror->ns, f.mirror->name, *f.mirror->port, registry,
                              set->clusters_, seen, errors);
      }
    }
  }
  detail::add_outbound_clusters(config, registry, set->clusters_, seen, errors);
  for (Cluster& c : set->clusters_) c.load = registry.cluster_load(c.name);
  std::sort(set->clusters_.begin(), set->clusters_.end(),
            [](const Cluster& a, const Cluster& b) { return a.name < b.name; });
  return set;
}

const Cluster* ClusterSet::find(std::string_view name) const {
  auto it = std::lower_bound(clusters_.begin(), clusters_.end(), name,
                             [](const Cluster& c, std::string_view n) { return c.name < n; });
  return it != clusters_.end() && it->name == name ? &*it : nullptr;
}

}  // namespace infergate::pools
