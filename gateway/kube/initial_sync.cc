#include "gateway/kube/initial_sync.h"

#include <boost/asio/io_context.hpp>
#include <spdlog/spdlog.h>

#include "gateway/kube/cluster_source.h"
#include "gateway/kube/https_api_client.h"

namespace infergate::gateway::kube {

std::optional<ClusterAccess> cluster_access(const KubernetesOptions& opts, std::string* error) {
  if (opts.in_cluster) return in_cluster_access(error);
  return kubeconfig_access(opts.kubeconfig, error);
}

bool initial_cluster_sync(const KubernetesOptions& opts, const ClusterAccess& access, config::ConfigStore* layer,
                          std::string* error) {
  boost::asio::io_context io;
  auto api = make_https_api_client(io, access, error);
  if (!api) return false;
  ClusterSourceOptions so;
  so.namespaces = opts.namespaces;
  so.controller_name = opts.controller_name;
  ClusterSource source(io, *api, so, nullptr);
  source.start();
  const auto deadline = std::chrono::steady_clock::now() + opts.sync_timeout;
  while (!source.synced() && std::chrono::steady_clock::now() < deadline) io.run_for(std::chrono::milliseconds(50));
  if (!source.synced()) {
    *error = "the Kubernetes API at " + access.describe() + " did not answer every list within " +
             std::to_string(opts.sync_timeout.count()) + " s: " + source.describe().dump();
    return false;
  }
  layer->set_cluster(source.manifests(), source.endpoints());
  source.stop();
  io.poll();
  spdlog::info("kubernetes: {} objects and {} endpoints read from {}", layer->cluster().size(),
               layer->cluster_endpoints().size(), access.describe());
  return true;
}

}  // namespace infergate::gateway::kube
