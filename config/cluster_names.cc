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

}  // namespace infergate::config
