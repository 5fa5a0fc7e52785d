// Kubernetes mode: the cluster's objects and endpoints as the store's cluster layer
// (gateway/kube/cluster_source.h), committed through Server::commit like any change, with
// the objects that do not validate left out and reported (config/cluster_load.h).
#include <spdlog/spdlog.h>

#include "config/kubernetes_ownership.h"
#include "gateway/kube/https_api_client.h"
#include "gateway/kube/initial_sync.h"
#include "gateway/net/server.h"

namespace infergate::gateway {

void Server::start_kubernetes() {
  if (!opts_.kubernetes) return;
  const kube::KubernetesOptions& k = *opts_.kubernetes;
  kube_rejected_ = registry_->counter("infergate_kubernetes_rejected_objects_total",
                                      "Objects from the Kubernetes API left out because they do not validate", {},
                                      "infergate.kubernetes.rejected_objects");
  std::string error;
  auto access = kube::cluster_access(k, &error);
  if (access) kube_api_ = kube::make_https_api_client(control_, *access, &error);
  if (!kube_api_) {
    // main() read the cluster with the same settings a moment ago; failing now is a surprise
    // worth stopping for rather than serving a configuration that never follows the cluster.
    spdlog::critical("kubernetes: {}", error);
    stop_now(1);
    return;
  }
  kube::ClusterSourceOptions so;
  so.namespaces = k.namespaces;
  so.controller_name = k.controller_name;
  cluster_ = std::make_unique<kube::ClusterSource>(control_, *kube_api_, so, [this] { on_cluster_change(); });
  cluster_->start();
  spdlog::info("kubernetes: watching {} ({})", access->describe(),
               k.namespaces.empty() ? std::string("all namespaces") : "namespaces " + [&] {
                 std::string s;
                 for (const auto& n : k.namespaces) s += (s.empty() ? "" : ",") + n;
                 return s;
               }());
}

void Server::stop_kubernetes() {
  if (cluster_) cluster_->stop();
}

void Server::on_cluster_change() {
  if (!cluster_ || state_ == ServerState::Stopping) return;
  config::ConfigStore candidate = store_;
  candidate.set_cluster(cluster_->manifests(), cluster_->endpoints());
  ChangeResult r = commit(std::move(candidate), "kubernetes");
  if (r.ok && !r.unchanged) spdlog::debug("kubernetes: cluster change served as version {}", r.version);
}

bool Server::rollout_target_in_cluster(const config::Rollout& r, uint32_t canary_weight, std::string* why) {
  if (!kube_api_ || !current_) return false;
  config::ResourceKey key;
  key.ns = r.target.ns;
  key.name = r.target.name;
  switch (r.target.kind) {
    case config::RolloutTargetKind::HttpRoute: key.group = "gateway.networking.k8s.io"; key.kind = "HTTPRoute"; break;
    case config::RolloutTargetKind::VirtualService: key.group = "networking.istio.io"; key.kind = "VirtualService"; break;
    case config::RolloutTargetKind::InferenceModel: key.group = "inference.networking.x-k8s.io"; key.kind = "InferenceModel"; break;
  }
  const config::Manifest* doc = store_.find(key);
  if (!doc || doc->origin != config::Manifest::Origin::Kubernetes) return false;
  const kube::ApiResource* resource = kube::find_resource(key.group, key.kind);
  if (!resource) {
    *why = key.to_string() + " is not a resource the gateway writes";
    return true;
  }
  const std::vector<std::pair<std::string, uint32_t>> weights = {{r.stable, 100 - canary_weight},
                                                                 {r.canary, canary_weight}};
  std::optional<std::string> patch;
  if (r.target.kind == config::RolloutTargetKind::InferenceModel) {
    patch = config::target_models_json_patch(*current_->config, key.ns, key.name, weights, why);
  } else {
    config::WeightsChange c;
    c.kind = key.kind;
    c.ns = key.ns;
    c.name = key.name;
    c.rule = r.target.rule;
    c.rule_name = r.target.rule_name;
    c.weights = weights;
    patch = config::weights_json_patch(*current_->config, c, why);
  }
  if (!patch) return true;
  // The change serves once the watch brings it back, on every replica at once. A refused
  // patch is logged; the rollout's next weight move writes the whole split again.
  const std::string what = "rollout " + r.meta.ns + "/" + r.meta.name + ": " + key.to_string() + " canary " +
                           std::to_string(canary_weight) + "%";
  kube_api_->request("PATCH", kube::object_path(*resource, key.ns, key.name), *patch, "application/json-patch+json",
                     [what](kube::ApiResponse res) {
                       if (res.ok()) spdlog::info("kubernetes: {} written to the API", what);
                       else spdlog::warn("kubernetes: {}: the API refused the patch: {}", what, res.describe());
                     });
  why->clear();
  return true;
}

void Server::note_rejected(std::vector<config::RejectedObject> rejected) {
  for (const auto& now : rejected) {
    bool known = false;
    for (const auto& before : rejected_)
      if (before.file == now.file && before.errors.size() == now.errors.size() &&
          (now.errors.empty() || before.errors[0].message == now.errors[0].message))
        known = true;
    if (known) continue;
    kube_rejected_.inc();
    for (const auto& e : now.errors)
      spdlog::error("kubernetes: {} left out, it does not validate: {}", now.key.to_string(), e.to_string());
  }
  for (const auto& before : rejected_) {
    bool still = false;
    for (const auto& now : rejected) still = still || now.file == before.file;
    if (!still) spdlog::info("kubernetes: {} is no longer left out", before.key.to_string());
  }
  rejected_ = std::move(rejected);
}

}  // namespace infergate::gateway
