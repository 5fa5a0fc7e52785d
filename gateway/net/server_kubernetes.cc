// Kubernetes mode: the cluster's objects and endpoints as the store's cluster layer
// (gateway/kube/cluster_source.h), committed through Server::commit like any change, with
// the objects that do not validate left out and reported (config/cluster_load.h).
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <chrono>
#include <cstdlib>

#include "config/kubernetes_ownership.h"
#include "config/kubernetes_status.h"
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
  status_writer_ = std::make_unique<kube::StatusWriter>(control_, *kube_api_, kube::StatusWriterConfig{}, registry_.get());
  cluster_->set_observer([this](const kube::ApiResource& r, const nlohmann::json& object, bool deleted) {
    if (deleted) status_writer_->forget(kube::StatusWriter::key_of(r, object));
    else status_writer_->observe(r, object);
  });
  kube::LeaderElectionConfig le;
  le.name = k.lease_name;
  le.ns = k.lease_namespace;
  if (le.ns.empty()) le.ns = std::getenv("POD_NAMESPACE") ? std::getenv("POD_NAMESPACE") : "";
  if (le.ns.empty()) le.ns = access->ns;
  le.identity = k.identity;
  if (le.identity.empty() && std::getenv("POD_NAME")) le.identity = std::getenv("POD_NAME");
  if (le.identity.empty()) {
    // Outside a pod two replicas may share a host name: the process id tells them apart.
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    le.identity = std::string(host) + "_" + std::to_string(::getpid());
  }
  elector_ = std::make_unique<kube::LeaderElector>(control_, *kube_api_, le, [this] { on_leading(true); },
                                                   [this] { on_leading(false); }, registry_.get());
  cluster_->start();
  elector_->start();
  spdlog::info("kubernetes: leader election on Lease {}/{} as {}", le.ns, le.name, le.identity);
  spdlog::info("kubernetes: watching {} ({})", access->describe(),
               k.namespaces.empty() ? std::string("all namespaces") : "namespaces " + [&] {
                 std::string s;
                 for (const auto& n : k.namespaces) s += (s.empty() ? "" : ",") + n;
                 return s;
               }());
}

void Server::stop_kubernetes() {
  // Handing the Lease back lets another replica lead at once instead of after 15 s.
  if (elector_) elector_->stop(true);
  if (cluster_) cluster_->stop();
}

std::unique_ptr<RolloutController> Server::make_rollout_controller() {
  auto rc = std::make_unique<RolloutController>(
      control_, *registry_, [this](const config::Rollout& r, uint32_t w) { return apply_rollout_weight(r, w); },
      opts_.state_dir);
  if (opts_.kubernetes)
    rc->set_save_state([this](const std::string& ns, const std::string& name, const nlohmann::json& state,
                              const nlohmann::json& summary) { write_rollout_status(ns, name, state, summary); });
  return rc;
}

void Server::on_leading(bool leading) {
  spdlog::info("kubernetes: {}", leading ? "leading: writing status and running rollouts"
                                         : "not leading: following the API only");
  if (status_writer_) status_writer_->set_leading(leading);
  // A fresh controller either way: a leader's resumes every rollout from its Rollout's status
  // (written by whoever led before), a follower's stays idle.
  rollouts_->stop();
  rollouts_ = make_rollout_controller();
  if (leading && cluster_) {
    rollouts_->restore(cluster_->rollout_states());
    if (current_) rollouts_->update(current_);
  }
}

void Server::write_rollout_status(const std::string& ns, const std::string& name, const nlohmann::json& state,
                                  const nlohmann::json& summary) {
  if (!kube_api_ || !elector_ || !elector_->leading()) return;
  const kube::ApiResource* r = kube::find_resource("infergate.dev", "Rollout");
  if (!r || !cluster_ || !cluster_->object(config::ResourceKey{"infergate.dev", "Rollout", ns, name})) return;
  nlohmann::json status = summary;
  status["infergate"] = state;
  const std::string what = ns + "/" + name;
  kube_api_->request("PATCH", kube::object_path(*r, ns, name, "status"), nlohmann::json{{"status", status}}.dump(),
                     "application/merge-patch+json", [what](kube::ApiResponse res) {
                       if (!res.ok()) spdlog::warn("kubernetes: Rollout {} status not written: {}", what, res.describe());
                     });
}

void Server::update_statuses() {
  if (!status_writer_ || !current_ || !cluster_) return;
  config::StatusInput in;
  in.config = current_->config.get();
  in.warnings = cluster_warnings_;
  in.rejected = rejected_;
  in.controller_name = opts_.kubernetes->controller_name;
  for (const auto& [name, generation] : cluster_->our_gateway_classes())
    in.gateway_classes.push_back(config::GatewayClassRef{name, generation});
  for (const auto& b : bound_) in.open_ports.insert(b.ep.port());
  in.now = config::rfc3339_now();
  status_writer_->set_desired(config::compute_statuses(in));
}

void Server::on_cluster_change() {
  if (!cluster_ || state_ == ServerState::Stopping) return;
  const auto started = std::chrono::steady_clock::now();
  config::ConfigStore candidate = store_;
  candidate.set_cluster(cluster_->manifests(), cluster_->endpoints());
  ChangeResult r = commit(std::move(candidate), "kubernetes");
  // Reloading takes at most about a third of the control thread: the next change waits twice
  // what this one cost (a few ms for a small cluster, longer for thousands of objects).
  const auto cost = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  cluster_->set_min_interval(std::min(2 * cost, std::chrono::milliseconds(5000)));
  if (r.ok && !r.unchanged) spdlog::debug("kubernetes: cluster change served as version {}", r.version);
  // Also when the documents did not change: an object's generation or our classes may have.
  if (r.ok) update_statuses();
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
