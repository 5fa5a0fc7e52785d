#include "gateway/kube/cluster_source.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "config/cluster_load.h"
#include "config/json_fields.h"
#include "config/kubernetes_endpoints.h"

namespace infergate::gateway::kube {

namespace {

using nlohmann::json;
using config::json_member;
using config::json_string;

std::pair<std::string, std::string> identity(const json& obj) {
  const json& meta = json_member(obj, "metadata", json::value_t::object);
  return {json_string(meta, "namespace"), json_string(meta, "name")};
}

bool is(const ApiResource& r, std::string_view kind) { return r.kind == kind; }

}  // namespace

ClusterSource::ClusterSource(boost::asio::io_context& io, ApiClient& api, ClusterSourceOptions opts,
                             std::function<void()> on_change)
    : io_(io), api_(api), opts_(std::move(opts)), on_change_(std::move(on_change)), debounce_(io), secret_timer_(io) {
  std::vector<std::string> scopes = opts_.namespaces.empty() ? std::vector<std::string>{""} : opts_.namespaces;
  for (const ApiResource& r : watched_resources()) {
    objects_[&r];
    for (const std::string& ns : r.namespaced ? scopes : std::vector<std::string>{""}) {
      Informer::Handlers h;
      h.replace = [this, &r, ns](std::vector<json> items) { on_replace(r, ns, std::move(items)); };
      h.event = [this, &r](const std::string& type, json obj) { on_event(r, type, std::move(obj)); };
      informers_.push_back(std::make_unique<Informer>(io_, api_, r, ns, std::move(h)));
    }
  }
}

ClusterSource::~ClusterSource() {
  *alive_ = false;
  stop();
}

void ClusterSource::start() {
  for (auto& i : informers_) i->start();
  refresh_secrets();
}

void ClusterSource::stop() {
  debounce_.cancel();
  secret_timer_.cancel();
  for (auto& i : informers_) i->stop();
}

bool ClusterSource::synced() const {
  for (const auto& i : informers_)
    if (!i->synced()) return false;
  // A Gateway's certificate is part of the first full view: listeners open once.
  return secrets_in_flight_.empty();
}

void ClusterSource::fetch_secrets() {
  for (const auto& r : watched_resources())
    if (!objects_.count(&r)) return;
  const auto gateways = our_gateways();
  for (const auto& [id, e] : objects_.at(find_resource("gateway.networking.k8s.io", "Gateway"))) {
    if (!gateways.count(id)) continue;
    const json& listeners = json_member(json_member(e.object, "spec", json::value_t::object), "listeners", json::value_t::array);
    for (const json& l : listeners) {
      const json& refs = json_member(json_member(l, "tls", json::value_t::object), "certificateRefs", json::value_t::array);
      for (const json& ref : refs) {
        if (!ref.is_object() || json_string(ref, "kind", "Secret") != "Secret" || !json_string(ref, "group").empty()) continue;
        std::pair<std::string, std::string> sid{json_string(ref, "namespace", id.first), json_string(ref, "name")};
        if (sid.second.empty() || secrets_.count(sid) || secrets_in_flight_.count(sid)) continue;
        fetch_secret(sid);
      }
    }
  }
}

void ClusterSource::fetch_secret(const std::pair<std::string, std::string>& id) {
  secrets_in_flight_.insert(id);
  api_.request("GET", object_path(secret_resource(), id.first, id.second), {}, {},
               [this, id, alive = alive_](ApiResponse r) {
                 if (!*alive) return;
                 secrets_in_flight_.erase(id);
                 json obj;  // null: the API has no such Secret (the Gateway then says so)
                 if (r.ok()) {
                   obj = json::parse(r.body, nullptr, false);
                   if (obj.is_discarded()) obj = nullptr;
                   else if (obj.contains("metadata") && obj["metadata"].is_object()) {
                     // Only what the manifest needs: a resourceVersion bump alone is no change.
                     obj["metadata"].erase("managedFields");
                     obj["metadata"].erase("resourceVersion");
                   }
                 } else if (r.status != 404) {
                   // Unreachable or refused: keep what we had, read it again on the next round.
                   spdlog::warn("kubernetes: Secret {}/{}: {}", id.first, id.second, r.describe());
                   if (!secrets_.count(id)) {
                     secrets_[id] = nullptr;
                     changed(false);
                   }
                   return;
                 }
                 auto it = secrets_.find(id);
                 const bool same = it != secrets_.end() && it->second == obj;
                 secrets_[id] = std::move(obj);
                 if (!same) changed(false);
               });
}

void ClusterSource::refresh_secrets() {
  for (const auto& [id, obj] : secrets_)
    if (!secrets_in_flight_.count(id)) fetch_secret(id);
  secret_timer_.expires_after(opts_.secret_refresh);
  secret_timer_.async_wait([this, alive = alive_](const boost::system::error_code& ec) {
    if (!ec && *alive) refresh_secrets();
  });
}

void ClusterSource::store(const ApiResource& r, json obj) {
  if (!obj.is_object()) return;  // not a Kubernetes object: nothing to keep (the informers skip them too)
  if (obj.contains("metadata") && obj["metadata"].is_object()) obj["metadata"].erase("managedFields");
  if (!obj.contains("apiVersion"))
    obj["apiVersion"] = r.group.empty() ? std::string(r.version) : std::string(r.group) + "/" + std::string(r.version);
  if (!obj.contains("kind")) obj["kind"] = std::string(r.kind);
  auto id = identity(obj);
  if (id.first.empty() && r.namespaced) id.first = "default";
  Entry& e = objects_[&r][id];
  e.object = std::move(obj);
  if (observer_) observer_(r, e.object, false);
}

void ClusterSource::on_replace(const ApiResource& r, const std::string& ns, std::vector<json> items) {
  ObjectMap& map = objects_[&r];
  // Only this informer's namespace is replaced: others of the same resource keep theirs.
  std::set<std::pair<std::string, std::string>> listed;
  for (const json& item : items) {
    auto id = identity(item);
    if (id.first.empty() && r.namespaced) id.first = "default";
    listed.insert(id);
  }
  std::erase_if(map, [&](const auto& kv) {
    if (!ns.empty() && kv.first.first != ns) return false;
    if (observer_ && !listed.count(kv.first)) observer_(r, kv.second.object, true);
    return true;
  });
  for (json& item : items) store(r, std::move(item));
  changed(is(r, "Pod") || is(r, "EndpointSlice"));
}

void ClusterSource::on_event(const ApiResource& r, const std::string& type, json obj) {
  if (type == "DELETED") {
    auto id = identity(obj);
    if (id.first.empty() && r.namespaced) id.first = "default";
    objects_[&r].erase(id);
    if (observer_) observer_(r, obj, true);
  } else {
    // A pod's status changes often (probes, restarts counts): only what makes an endpoint
    // matters, so an event that changes none of it changes nothing here.
    if (is(r, "Pod")) {
      auto id = identity(obj);
      if (id.first.empty()) id.first = "default";
      auto& map = objects_[&r];
      auto it = map.find(id);
      if (it != map.end()) {
        auto before = config::pod_endpoint(it->second.object);
        auto after = config::pod_endpoint(obj);
        const bool same = before.has_value() == after.has_value() &&
                          (!before || (before->address == after->address && before->labels == after->labels));
        store(r, std::move(obj));
        if (same) return;
        return changed(true);
      }
    }
    store(r, std::move(obj));
  }
  changed(is(r, "Pod") || is(r, "EndpointSlice"));
}

void ClusterSource::changed(bool endpoints_only) {
  ++changes_;
  if (!endpoints_only) fetch_secrets();
  endpoints_dirty_ = true;
  if (!endpoints_only) manifests_dirty_ = true;
  // Before every informer has listed, nothing is announced: the first change announced is
  // the whole cluster, never a view with routes but without their pools.
  if (pending_ || !synced()) return;
  pending_ = true;
  auto wait = opts_.debounce;
  const auto now = std::chrono::steady_clock::now();
  if (last_announce_ + min_interval_ > now + wait)
    wait = std::chrono::duration_cast<std::chrono::milliseconds>(last_announce_ + min_interval_ - now);
  debounce_.expires_after(wait);
  debounce_.async_wait([this, alive = alive_](const boost::system::error_code& ec) {
    if (ec || !*alive) return;
    pending_ = false;
    last_announce_ = std::chrono::steady_clock::now();
    if (on_change_) on_change_();
  });
}

std::set<std::pair<std::string, std::string>> ClusterSource::our_gateways() const {
  std::set<std::string> classes;
  for (const auto& [id, e] : objects_.at(find_resource("gateway.networking.k8s.io", "GatewayClass"))) {
    const json& spec = json_member(e.object, "spec", json::value_t::object);
    if (json_string(spec, "controllerName") == opts_.controller_name) classes.insert(id.second);
  }
  std::set<std::pair<std::string, std::string>> out;
  for (const auto& [id, e] : objects_.at(find_resource("gateway.networking.k8s.io", "Gateway"))) {
    const json& spec = json_member(e.object, "spec", json::value_t::object);
    if (classes.count(json_string(spec, "gatewayClassName"))) out.insert(id);
  }
  return out;
}

bool ClusterSource::route_is_ours(const json& route, const std::set<std::pair<std::string, std::string>>& gateways) const {
  const std::string route_ns = identity(route).first.empty() ? "default" : identity(route).first;
  const json& parents = json_member(json_member(route, "spec", json::value_t::object), "parentRefs", json::value_t::array);
  for (const json& p : parents) {
    if (!p.is_object()) continue;
    const std::string kind = json_string(p, "kind", "Gateway");
    const std::string group = json_string(p, "group", "gateway.networking.k8s.io");
    // A Service parent is a mesh (GAMMA) route: the mesh's, never ours.
    if (kind == "Service" && (group.empty() || group == "core")) continue;
    // A Gateway of ours; or a parent of a kind no Gateway API implementation defines that
    // names one of our Gateways (the GKE guide's `kind: InferenceGateway`), which is how
    // files treat it too.
    if (kind == "Gateway" && group != "gateway.networking.k8s.io") continue;
    const std::string ns = json_string(p, "namespace", route_ns);
    if (gateways.count({ns, json_string(p, "name")})) return true;
  }
  return false;
}

std::shared_ptr<const std::vector<config::Manifest>> ClusterSource::manifests() {
  if (!manifests_dirty_ && manifests_) return manifests_;
  auto out = std::make_shared<std::vector<config::Manifest>>();
  const auto gateways = our_gateways();
  for (const ApiResource& r : watched_resources()) {
    // Classes only decide which Gateways are ours; pods and slices are endpoints.
    if (is(r, "GatewayClass") || is(r, "Pod") || is(r, "EndpointSlice")) continue;
    for (const auto& [id, e] : objects_.at(&r)) {
      if (is(r, "Gateway") && !gateways.count(id)) continue;
      if (is(r, "HTTPRoute") && !route_is_ours(e.object, gateways)) continue;
      json spec_only = e.object;
      spec_only.erase("status");
      config::Manifest m;
      m.key = config::ResourceKey{std::string(r.group), std::string(r.kind), id.first, id.second};
      m.file = config::cluster_manifest_file(m.key);
      m.document = 1;
      m.text = spec_only.dump();
      m.origin = config::Manifest::Origin::Kubernetes;
      out->push_back(std::move(m));
    }
  }
  for (const auto& [id, obj] : secrets_) {
    if (obj.is_null()) continue;
    config::Manifest m;
    m.key = config::ResourceKey{"", "Secret", id.first, id.second};
    m.file = config::cluster_manifest_file(m.key);
    m.document = 1;
    json doc = obj;
    doc["apiVersion"] = "v1";
    doc["kind"] = "Secret";
    m.text = doc.dump();
    m.origin = config::Manifest::Origin::Kubernetes;
    out->push_back(std::move(m));
  }
  // A status write (ours or another controller's) changes the object, not its manifest: the
  // layer stays the same object, so the commit sees nothing to do.
  if (!manifests_ || *out != *manifests_) manifests_ = std::move(out);
  manifests_dirty_ = false;
  return manifests_;
}

std::shared_ptr<const std::vector<config::Endpoint>> ClusterSource::endpoints() {
  if (!endpoints_dirty_ && endpoints_) return endpoints_;
  auto out = std::make_shared<std::vector<config::Endpoint>>();
  for (const auto& [id, e] : objects_.at(find_resource("", "Pod")))
    if (auto ep = config::pod_endpoint(e.object)) out->push_back(std::move(*ep));
  for (const auto& [id, e] : objects_.at(find_resource("discovery.k8s.io", "EndpointSlice")))
    for (auto& ep : config::endpoint_slice_endpoints(e.object)) out->push_back(std::move(ep));
  auto same = [](const config::Endpoint& a, const config::Endpoint& b) {
    return a.name == b.name && a.address == b.address && a.port == b.port && a.labels == b.labels && a.ns == b.ns &&
           a.service == b.service;
  };
  if (!endpoints_ || !std::equal(out->begin(), out->end(), endpoints_->begin(), endpoints_->end(), same))
    endpoints_ = std::move(out);
  endpoints_dirty_ = false;
  return endpoints_;
}

std::vector<std::pair<std::string, int64_t>> ClusterSource::our_gateway_classes() const {
  std::vector<std::pair<std::string, int64_t>> out;
  for (const auto& [id, e] : objects_.at(find_resource("gateway.networking.k8s.io", "GatewayClass"))) {
    const json& spec = json_member(e.object, "spec", json::value_t::object);
    if (json_string(spec, "controllerName") != opts_.controller_name) continue;
    const json& meta = json_member(e.object, "metadata", json::value_t::object);
    auto generation = meta.find("generation");
    out.emplace_back(id.second, generation != meta.end() && generation->is_number_integer() ? generation->get<int64_t>() : 0);
  }
  return out;
}

std::map<std::string, json> ClusterSource::rollout_states() const {
  std::map<std::string, json> out;
  for (const auto& [id, e] : objects_.at(find_resource("infergate.dev", "Rollout"))) {
    const json& state = json_member(json_member(e.object, "status", json::value_t::object), "infergate", json::value_t::object);
    if (state.is_object()) out[id.first + "/" + id.second] = state;
  }
  return out;
}

const json* ClusterSource::object(const config::ResourceKey& key) const {
  for (const ApiResource& r : watched_resources()) {
    if (r.group != key.group || r.kind != key.kind) continue;
    const auto& map = objects_.at(&r);
    auto it = map.find({r.namespaced ? key.ns : std::string(), key.name});
    if (it != map.end()) return &it->second.object;
  }
  return nullptr;
}

json ClusterSource::describe() const {
  json informers = json::array();
  for (const auto& i : informers_) {
    const auto& c = i->counters();
    informers.push_back({{"resource", i->describe()},
                         {"synced", i->synced()},
                         {"served", i->served()},
                         {"resource_version", i->resource_version()},
                         {"objects", objects_.at(&i->resource()).size()},
                         {"lists", c.lists},
                         {"watches", c.watches},
                         {"relists", c.relists},
                         {"errors", c.errors},
                         {"events", c.events}});
  }
  return {{"controller_name", opts_.controller_name},
          {"namespaces", opts_.namespaces},
          {"synced", synced()},
          {"changes", changes_},
          {"informers", std::move(informers)}};
}

}  // namespace infergate::gateway::kube
