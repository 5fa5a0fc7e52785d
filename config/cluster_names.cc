#include "config/cluster_names.h"

#include <string>

namespace infergate::config {

std::string inference_pool_cluster_name(std::string_view ns, std::string_view name) {
  std::string out("inferencepool/");
  out.append(ns).append("/").append(name);
  return out;
}

std::string service_cluster_name(std::string_view ns, std::string_view name, uint16_t port) {
  std::string out("service/");
  out.append(ns).append("/").append(name).append("/").append(std::to_string(port));
  return out;
}

std::string outbound_cluster_name(uint16_t port, std::string_view subset, std::string_view fqdn) {
  std::string out("outbound|");
  out.append(std::to_string(port)).append("|").append(subset).append("|").append(fqdn);
  return out;
}

std::string_view cluster_object_name(std::string_view cluster) {
  auto field = [](std::string_view s, char sep, size_t index) {
    for (size_t i = 0; i < index; ++i) {
      const size_t at = s.find(sep);
      if (at == std::string_view::npos) return std::string_view{};
      s.remove_prefix(at + 1);
    }
    return s.substr(0, s.find(sep));
  };
  std::string_view name;
  if (cluster.starts_with("inferencepool/") || cluster.starts_with("service/")) {
    name = field(cluster, '/', 2);
  } else if (cluster.starts_with("outbound|")) {
    name = field(field(cluster, '|', 3), '.', 0);
  }
  return name.empty() ? cluster : name;
}

bool is_inference_pool_cluster(std::string_view cluster) { return cluster.starts_with("inferencepool/"); }

}  // namespace infergate::config
