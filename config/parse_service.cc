// Kubernetes v1 Service: selector and ports are what a data plane needs.
#include <absl/strings/numbers.h>

#include "config/parsers.h"

namespace infergate::config::detail {

std::optional<Service> parse_service(ParseContext& ctx, const MapView& doc) {
  Service svc;
  auto spec = parse_object(ctx, doc, &svc.meta);
  if (!spec) return std::nullopt;
  // Fields a cluster uses that have no meaning for static endpoints are accepted silently.
  spec->allow({"selector", "ports", "type", "clusterIP", "clusterIPs", "externalName",
               "externalTrafficPolicy", "internalTrafficPolicy", "sessionAffinity",
               "sessionAffinityConfig", "ipFamilies", "ipFamilyPolicy", "publishNotReadyAddresses",
               "loadBalancerIP", "loadBalancerSourceRanges", "externalIPs",
               "allocateLoadBalancerNodePorts", "healthCheckNodePort", "loadBalancerClass",
               "trafficDistribution"});
  if (auto sel = spec->labels("selector")) svc.selector = std::move(*sel);
  const size_t errors_before = ctx.error_count();
  for (const auto& [path, node] : spec->list("ports", true)) {
    MapView m(ctx, node, path);
    if (!m.valid()) continue;
    m.allow({"name", "port", "targetPort", "protocol", "appProtocol", "nodePort"});
    ServicePort sp;
    if (auto n = m.string("name")) sp.name = *n;
    auto port = m.integer("port", 1, 65535, true);
    if (!port) continue;
    sp.port = static_cast<uint16_t>(*port);
    sp.target_port = sp.port;
    if (const YAML::Node* t = m.find("targetPort")) {
      int64_t num = 0;
      if (t->IsScalar() && t->Tag() != "!" && absl::SimpleAtoi(t->Scalar(), &num)) {
        if (auto v = scalar_integer(ctx, *t, m.path_of("targetPort"), 1, 65535))
          sp.target_port = static_cast<uint16_t>(*v);
      } else if (auto s = scalar_string(ctx, *t, m.path_of("targetPort"))) {
        sp.target_port = 0;
        sp.target_port_name = *s;
      }
    }
    one_of(ctx, m, "protocol", {"TCP"});
    if (auto a = m.string("appProtocol")) sp.app_protocol = *a;
    for (const auto& other : svc.ports) {
      if (other.port == sp.port) ctx.error(node, m.path_of("port"), "duplicate service port");
    }
    svc.ports.push_back(std::move(sp));
  }
  if (ctx.error_count() != errors_before) return std::nullopt;
  return svc;
}

}  // namespace infergate::config::detail
