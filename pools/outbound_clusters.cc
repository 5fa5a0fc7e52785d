#include "pools/outbound_clusters.h"

#include "config/istio_refs.h"

namespace infergate::pools::detail {

namespace {

bool carries(const config::Labels& wanted, const config::Labels& labels) {
  for (const auto& [k, v] : wanted) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  return true;
}

bool is_h2(const config::ServicePort& p) {
  const std::string& a = p.app_protocol;
  if (a == "kubernetes.io/h2c" || a == "grpc" || a == "http2") return true;
  const std::string& n = p.name;
  return n == "grpc" || n == "http2" || n.starts_with("grpc-") || n.starts_with("http2-");
}

void apply_policy(const config::IstioTrafficPolicy& tp, Cluster& c) {
  if (tp.load_balancer) {
    switch (tp.load_balancer->policy) {
      case config::IstioLbPolicy::LeastRequest: c.lb = LbPolicy::LeastRequest; break;
      case config::IstioLbPolicy::RoundRobin: c.lb = LbPolicy::RoundRobin; break;
      case config::IstioLbPolicy::Random: c.lb = LbPolicy::Random; break;
      case config::IstioLbPolicy::ConsistentHash: c.lb = LbPolicy::ConsistentHash; break;
    }
  }
  if (const auto& cp = tp.connection_pool) {
    c.limits.max_connections = cp->tcp_max_connections;
    c.limits.max_pending_requests = cp->http1_max_pending_requests;
    c.limits.max_requests = cp->http2_max_requests;
    c.limits.max_requests_per_connection = cp->max_requests_per_connection;
    c.limits.max_retries = cp->max_retries;
    c.limits.connect_timeout = cp->connect_timeout;
    c.limits.idle_timeout = cp->idle_timeout;
  }
  if (const auto& od = tp.outlier_detection) {
    apply_outlier_detection(*od, c.outlier);
  } else {
    c.outlier.consecutive_failures = 0;  // Envoy without outlier_detection ejects nobody
  }
}

void add_cluster(const config::Config& config, const config::IstioDestination& d,
                 EndpointRegistry& registry, std::vector<Cluster>& out,
                 std::set<std::string>& seen, std::vector<config::Diagnostic>* errors) {
  if (d.service_name.empty() || d.service_port == 0) return;  // unresolved: loader reported it
  std::string name = config::istio_cluster_name(d);
  if (!seen.insert(name).second) return;
  const config::Service* svc = config.find_service(d.service_ns, d.service_name);
  const config::ServicePort* sp = nullptr;
  if (svc)
    for (const auto& p : svc->ports)
      if (p.port == d.service_port) sp = &p;
  const config::DestinationRule* rule = nullptr;
  const config::DestinationRuleSubset* subset = nullptr;
  if (!d.subset.empty()) subset = config.find_subset(d.service_ns, d.service_name, d.subset, &rule);
  if (!svc || !sp || (!d.subset.empty() && !subset)) {
    // The loader rejects such destinations; reaching here means a hand-built Config.
    if (errors)
      errors->push_back(config::Diagnostic{"", 0, "Service/" + d.service_name, "", 0,
                                           "cannot build cluster " + name});
    return;
  }
  if (!rule) rule = config.find_destination_rule(d.service_ns, d.service_name);
  Cluster c;
  c.name = std::move(name);
  c.protocol = is_h2(*sp) ? UpstreamProtocol::H2c : UpstreamProtocol::Http1;
  c.service_ns = d.service_ns;
  c.service_name = d.service_name;
  c.subset = d.subset;
  if (const auto* policy = config.find_health_check_policy("Service", d.service_ns, d.service_name))
    c.health_check = std::make_shared<const config::HealthCheck>(policy->check);
  apply_policy(rule ? config::merged_traffic_policy(*rule, subset) : config::IstioTrafficPolicy{},
               c);
  for (const auto& ep : config.endpoints) {
    if (!config::endpoint_selected(svc->selector, svc->meta.ns, ep) &&
        !config::endpoint_of_service(svc->meta.ns, svc->meta.name, ep))
      continue;
    if (subset && !carries(subset->labels, ep.labels)) continue;
    const uint16_t target = ep.port.value_or(sp->target_port);
    if (target == 0) {
      if (errors)
        errors->push_back(config::Diagnostic{
            svc->meta.source.file, svc->meta.source.document, "Service/" + svc->meta.name,
            "spec.ports", svc->meta.source.line,
            "named targetPort \"" + sp->target_port_name + "\" cannot be resolved for endpoint \"" +
                ep.name + "\": give the endpoint a port"});
      continue;
    }
    c.endpoints.push_back(registry.get_or_create(ep.address, target, ep.name, ep.labels));
  }
  out.push_back(std::move(c));
}

}  // namespace

void add_outbound_clusters(const config::Config& config, EndpointRegistry& registry,
                           std::vector<Cluster>& out, std::set<std::string>& seen,
                           std::vector<config::Diagnostic>* errors) {
  for (const auto& vs : config.virtual_services) {
    for (const auto& h : vs.http) {
      for (const auto& d : h.route) add_cluster(config, d.destination, registry, out, seen, errors);
      for (const auto& m : h.mirrors)
        add_cluster(config, m.destination, registry, out, seen, errors);
    }
  }
}

}  // namespace infergate::pools::detail

namespace infergate::pools {

void apply_outlier_detection(const config::IstioOutlierDetection& od, OutlierDetection& out) {
  // consecutiveGatewayErrors alone stands in for consecutive5xxErrors: every 5xx and
  // connect failure counts here, a superset of gateway errors.
  out.consecutive_failures = od.consecutive_5xx_errors.value_or(od.consecutive_gateway_errors.value_or(5));
  if (od.interval) out.interval_ms = od.interval->count();
  if (od.base_ejection_time) out.base_ejection_ms = od.base_ejection_time->count();
  // Istio passes maxEjectionPercent only when > 0; 0 leaves Envoy's 10 %.
  if (od.max_ejection_percent && *od.max_ejection_percent > 0) out.max_ejection_percent = *od.max_ejection_percent;
}

}  // namespace infergate::pools
