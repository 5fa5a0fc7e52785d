#include "config/istio_refs.h"

#include "config/cluster_names.h"

namespace infergate::config {

const Service* resolve_istio_host(const Config& config, std::string_view host,
                                  std::string_view resource_ns) {
  if (host.empty() || host.find('*') != std::string_view::npos) return nullptr;
  std::vector<std::string_view> labels;
  size_t start = 0;
  while (true) {
    size_t dot = host.find('.', start);
    labels.push_back(host.substr(start, dot == std::string_view::npos ? dot : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  if (labels.size() == 1) return config.find_service(resource_ns, labels[0]);
  const bool svc_suffix =
      labels.size() == 2 || (labels.size() == 3 && labels[2] == "svc") ||
      (labels.size() == 5 && labels[2] == "svc" && labels[3] == "cluster" &&
       labels[4] == "local");
  if (!svc_suffix) return nullptr;
  return config.find_service(labels[1], labels[0]);
}

std::vector<std::string> istio_service_hostnames(std::string_view ns, std::string_view name,
                                                 std::string_view resource_ns) {
  std::string base(name);
  base.append(".").append(ns);
  std::vector<std::string> out;
  if (ns == resource_ns) out.emplace_back(name);
  out.push_back(base);
  out.push_back(base + ".svc");
  out.push_back(base + ".svc.cluster.local");
  return out;
}

GatewayRef istio_gateway_ref(std::string_view written, std::string_view resource_ns) {
  GatewayRef ref;
  if (written == "mesh") {
    ref.mesh = true;
    return ref;
  }
  if (auto slash = written.find('/'); slash != std::string_view::npos) {
    ref.ns = std::string(written.substr(0, slash));
    ref.name = std::string(written.substr(slash + 1));
    return ref;
  }
  if (auto dot = written.find('.'); dot != std::string_view::npos) {
    // Legacy "name.namespace[.svc.cluster.local]".
    ref.name = std::string(written.substr(0, dot));
    std::string_view rest = written.substr(dot + 1);
    ref.ns = std::string(rest.substr(0, rest.find('.')));
    return ref;
  }
  ref.ns = std::string(resource_ns);
  ref.name = std::string(written);
  return ref;
}

std::string istio_cluster_name(const IstioDestination& d) {
  return outbound_cluster_name(d.service_port, d.subset, d.fqdn());
}

}  // namespace infergate::config
