// The cluster as a configuration layer: one informer per watched resource (and namespace),
// a cache of what they last saw, and from it the ConfigStore's cluster layer — the objects
// of ours as manifests (config/manifests.h, Origin::Kubernetes) for the same loader and
// validators files go through, and the endpoints of ready pods and EndpointSlices.
//
// "Ours": Gateways whose GatewayClass names our controller, the HTTPRoutes attached to one
// of those, and every object of the other kinds in the watched namespaces. Routes and
// Gateways of other controllers are never loaded (nor given status).
//
// Secrets are not watched (the gateway must not hold every Secret of the cluster): those our
// Gateways' listeners name in tls.certificateRefs are read one by one, again every
// `secret_refresh` so that a renewed certificate (cert-manager) is served, and only a changed
// one counts as a change.
//
// Changes are coalesced: a burst of events (a Deployment rolling its pods) calls on_change
// once, `debounce` after the first.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "config/manifests.h"
#include "config/model/infergate.h"
#include "gateway/kube/api_client.h"
#include "gateway/kube/informer.h"

namespace infergate::gateway::kube {

struct ClusterSourceOptions {
  std::vector<std::string> namespaces;  // empty = all namespaces
  std::string controller_name = "infergate.dev/gateway-controller";
  std::chrono::milliseconds debounce{20};
  std::chrono::milliseconds secret_refresh{60000};
};

class ClusterSource {
 public:
  ClusterSource(boost::asio::io_context& io, ApiClient& api, ClusterSourceOptions opts, std::function<void()> on_change);
  ~ClusterSource();
  ClusterSource(const ClusterSource&) = delete;
  ClusterSource& operator=(const ClusterSource&) = delete;

  void start();
  void stop();
  // Every informer has listed once: the layer is the cluster's, not a partial view of it.
  bool synced() const;

  // The layer now (rebuilt only when something changed since the last call).
  std::shared_ptr<const std::vector<config::Manifest>> manifests();
  std::shared_ptr<const std::vector<config::Endpoint>> endpoints();

  // Every object as the informers see it (status writer): after an add or update, and with
  // `deleted` when it went away (a relist reports what it no longer has the same way).
  using Observer = std::function<void(const ApiResource&, const nlohmann::json& object, bool deleted)>;
  void set_observer(Observer o) { observer_ = std::move(o); }

  // Our GatewayClasses (spec.controllerName ours): name and metadata.generation.
  std::vector<std::pair<std::string, int64_t>> our_gateway_classes() const;
  // Each Rollout's saved controller state (status.infergate), by "namespace/name".
  std::map<std::string, nlohmann::json> rollout_states() const;

  // The object of `key` as last seen (with its status and resourceVersion); nullptr when
  // absent or not ours. For the status writer.
  const nlohmann::json* object(const config::ResourceKey& key) const;
  // Informers, counts, objects skipped as not ours: for /config_dump.
  nlohmann::json describe() const;
  uint64_t changes() const { return changes_; }
  // The next announcement comes no sooner than this after the last one. The server sets it
  // from what its last commit cost, so that a storm of events (thousands of pods turning
  // Ready) cannot keep the control thread reloading back to back.
  void set_min_interval(std::chrono::milliseconds d) { min_interval_ = d; }

 private:
  struct Entry {
    nlohmann::json object;  // as read, without managedFields
  };
  using ObjectMap = std::map<std::pair<std::string, std::string>, Entry>;  // (namespace, name)

  void on_replace(const ApiResource& r, const std::string& ns, std::vector<nlohmann::json> items);
  void on_event(const ApiResource& r, const std::string& type, nlohmann::json obj);
  void store(const ApiResource& r, nlohmann::json obj);
  void changed(bool endpoints_only);
  // Starts a GET of every Secret our Gateways name that is not known or being read.
  void fetch_secrets();
  void fetch_secret(const std::pair<std::string, std::string>& id);
  void refresh_secrets();
  std::set<std::pair<std::string, std::string>> our_gateways() const;
  bool route_is_ours(const nlohmann::json& route, const std::set<std::pair<std::string, std::string>>& gateways) const;

  boost::asio::io_context& io_;
  ApiClient& api_;
  ClusterSourceOptions opts_;
  std::function<void()> on_change_;
  Observer observer_;
  boost::asio::steady_timer debounce_;
  bool pending_ = false;
  std::chrono::milliseconds min_interval_{0};
  std::chrono::steady_clock::time_point last_announce_{};
  std::vector<std::unique_ptr<Informer>> informers_;
  // Objects by resource (group/version/plural).
  std::map<const ApiResource*, ObjectMap> objects_;
  bool manifests_dirty_ = true, endpoints_dirty_ = true;
  std::shared_ptr<const std::vector<config::Manifest>> manifests_;
  std::shared_ptr<const std::vector<config::Endpoint>> endpoints_;
  uint64_t changes_ = 0;
  // Referenced Secrets by (namespace, name): the object, or null when the API has none.
  std::map<std::pair<std::string, std::string>, nlohmann::json> secrets_;
  std::set<std::pair<std::string, std::string>> secrets_in_flight_;
  boost::asio::steady_timer secret_timer_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace infergate::gateway::kube
