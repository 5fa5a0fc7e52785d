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
  return out;
}

bool selector_matches(const Labels& selector, const Labels& labels) {
  if (selector.empty()) return false;
  for (const auto& [k, v] : selector) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  return true;
}

}  // namespace infergate::config
