#include "config/model.h"

namespace infergate::config {

const Service* Config::find_service(std::string_view ns, std::string_view name) const {
  for (const auto& s : services)
    if (s.meta.ns == ns && s.meta.name == name) return &s;
  return nullptr;
}

const InferencePool* Config::find_pool(std::string_view ns, std::string_view name) const {
  for (const auto& p : pools)
    if (p.meta.ns == ns && p.meta.name == name) return &p;
  return nullptr;
}

const HealthCheckPolicy* Config::find_health_check_policy(std::string_view kind, std::string_view ns,
                                                          std::string_view name) const {
  for (const auto& p : health_check_policies)
    if (p.target_kind == kind && p.meta.ns == ns && p.target_name == name) return &p;
  return nullptr;
}

const DestinationRule* Config::find_destination_rule(std::string_view service_ns,
                                                     std::string_view service_name) const {
  for (const auto& r : destination_rules)
    if (!r.service_name.empty() && r.service_ns == service_ns && r.service_name == service_name)
      return &r;
  return nullptr;
}

const DestinationRuleSubset* Config::find_subset(std::string_view service_ns,
                                                 std::string_view service_name,
                                                 std::string_view subset,
                                                 const DestinationRule** rule) const {
  for (const auto& r : destination_rules) {
    if (r.service_name.empty() || r.service_ns != service_ns || r.service_name != service_name)
      continue;
    for (const auto& s : r.subsets) {
      if (s.name != subset) continue;
      if (rule) *rule = &r;
      return &s;
    }
  }
  return nullptr;
}

IstioTrafficPolicy merged_traffic_policy(const DestinationRule& rule,
                                         const DestinationRuleSubset* subset) {
  IstioTrafficPolicy out = rule.traffic_policy.value_or(IstioTrafficPolicy{});
  if (!subset || !subset->traffic_policy) return out;
  const IstioTrafficPolicy& s = *subset->traffic_policy;
  if (s.load_balancer) out.load_balancer = s.load_balancer;
  if (s.connection_pool) out.connection_pool = s.connection_pool;
  if (s.outlier_detection) out.outlier_detection = s.outlier_detection;
  if (s.tls) out.tls = s.tls;
  return out;
}

const TlsSecret* Config::find_secret(std::string_view ns, std::string_view name) const {
  for (const auto& s : secrets)
    if (s.ns == ns && s.name == name) return &s;
  return nullptr;
}

const CertificateFiles* Config::find_certificate_files(std::string_view name) const {
  for (const auto& c : gateway.tls.certificates)
    if (c.name == name) return &c;
  return nullptr;
}

namespace {

// object_age.h's order (oldest first, no timestamp = newest, then name), for a kind that
// keeps no ObjectMeta.
bool older(const PeerAuthentication& a, const PeerAuthentication& b) {
  if (a.creation_timestamp.empty() != b.creation_timestamp.empty())
    return !a.creation_timestamp.empty();
  if (a.creation_timestamp != b.creation_timestamp)
    return a.creation_timestamp < b.creation_timestamp;
  return a.name < b.name;
}

void keep_oldest(const PeerAuthentication*& slot, const PeerAuthentication& candidate) {
  if (!slot || older(candidate, *slot)) slot = &candidate;
}

}  // namespace

MtlsMode effective_mtls(const Config& config, uint16_t port, const PeerAuthentication** decided_by) {
  const WorkloadIdentity& w = config.gateway.workload;
  const std::string& ns = w.ns.empty() ? config.gateway.meta.ns : w.ns;
  const PeerAuthentication* mesh = nullptr;
  const PeerAuthentication* namespace_wide = nullptr;
  const PeerAuthentication* workload = nullptr;
  for (const auto& pa : config.peer_authentications) {
    if (!pa.has_selector) {
      if (pa.ns == w.root_namespace) keep_oldest(mesh, pa);
      else if (pa.ns == ns) keep_oldest(namespace_wide, pa);
    } else if (pa.ns == ns && pa.ns != w.root_namespace && selector_matches(pa.selector, w.labels)) {
      keep_oldest(workload, pa);
    }
  }
  MtlsMode mode = MtlsMode::Unset;
  const PeerAuthentication* by = nullptr;
  for (const PeerAuthentication* level : {mesh, namespace_wide, workload}) {
    if (level && level->mode != MtlsMode::Unset) {
      mode = level->mode;
      by = level;
    }
  }
  if (workload) {
    auto it = workload->port_level.find(port);
    if (it != workload->port_level.end() && it->second != MtlsMode::Unset) {
      mode = it->second;
      by = workload;
    }
  }
  if (decided_by) *decided_by = by;
  return mode;
}

bool selector_matches(const Labels& selector, const Labels& labels) {
  if (selector.empty()) return false;
  for (const auto& [k, v] : selector) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  return true;
}

bool endpoint_selected(const Labels& selector, std::string_view ns, const Endpoint& ep) {
  if (!ep.service.empty()) return false;
  if (!ep.ns.empty() && ep.ns != ns) return false;
  return selector_matches(selector, ep.labels);
}

bool endpoint_of_service(std::string_view ns, std::string_view name, const Endpoint& ep) {
  return !ep.service.empty() && ep.ns == ns && ep.service == name;
}

}  // namespace infergate::config
