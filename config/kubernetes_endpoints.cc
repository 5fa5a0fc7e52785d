#include "config/kubernetes_endpoints.h"

#include <nlohmann/json.hpp>

#include "config/json_fields.h"

namespace infergate::config {

namespace {

using nlohmann::json;

const json& member(const json& j, const char* key) {
  static const json kNull;
  auto it = j.find(key);
  return it != j.end() ? *it : kNull;
}

Labels labels_of(const json& meta) {
  Labels out;
  const json& l = member(meta, "labels");
  if (!l.is_object()) return out;
  for (auto it = l.begin(); it != l.end(); ++it)
    if (it->is_string()) out.emplace(it.key(), it->get<std::string>());
  return out;
}

bool condition_true(const json& status, const char* type) {
  const json& conds = member(status, "conditions");
  if (!conds.is_array()) return false;
  for (const json& c : conds)
    if (c.is_object() && json_string(c, "type") == type) return json_string(c, "status") == "True";
  return false;
}

// EndpointSlice conditions: an unset `ready` means ready (discovery.k8s.io/v1 semantics).
bool flag(const json& conditions, const char* key, bool unset) {
  auto it = conditions.is_object() ? conditions.find(key) : conditions.end();
  if (!conditions.is_object() || it == conditions.end() || !it->is_boolean()) return unset;
  return it->get<bool>();
}

}  // namespace

std::optional<Endpoint> pod_endpoint(const json& pod) {
  if (!pod.is_object()) return std::nullopt;
  const json& meta = member(pod, "metadata");
  const json& status = member(pod, "status");
  if (!meta.is_object() || !status.is_object()) return std::nullopt;
  if (meta.contains("deletionTimestamp") && !meta["deletionTimestamp"].is_null()) return std::nullopt;
  const std::string phase = json_string(status, "phase");
  if (phase == "Succeeded" || phase == "Failed") return std::nullopt;
  if (!condition_true(status, "Ready")) return std::nullopt;
  Endpoint ep;
  ep.address = json_string(status, "podIP");
  if (ep.address.empty()) return std::nullopt;
  ep.name = json_string(meta, "name");
  ep.ns = json_string(meta, "namespace");
  if (ep.ns.empty()) ep.ns = "default";
  ep.labels = labels_of(meta);
  ep.source.file = "kubernetes/Pod/" + ep.ns + "/" + ep.name;
  return ep;
}

std::vector<Endpoint> endpoint_slice_endpoints(const json& slice) {
  std::vector<Endpoint> out;
  if (!slice.is_object()) return out;
  const json& meta = member(slice, "metadata");
  const std::string ns = json_string(meta, "namespace").empty() ? "default" : json_string(meta, "namespace");
  const std::string service = labels_of(meta)["kubernetes.io/service-name"];
  if (service.empty()) return out;
  std::optional<uint16_t> port;
  const json& ports = member(slice, "ports");
  if (ports.is_array() && ports.size() == 1 && ports[0].is_object()) {
    const json& p = member(ports[0], "port");
    if (p.is_number_integer() && p.get<int64_t>() > 0 && p.get<int64_t>() < 65536) port = static_cast<uint16_t>(p.get<int64_t>());
  }
  const json& endpoints = member(slice, "endpoints");
  if (!endpoints.is_array()) return out;
  for (const json& e : endpoints) {
    if (!e.is_object()) continue;
    const json& cond = member(e, "conditions");
    // Ready already excludes terminating endpoints; `serving` alone would keep sending to a
    // pod on its way out.
    if (!flag(cond, "ready", true) || flag(cond, "terminating", false)) continue;
    const json& addresses = member(e, "addresses");
    if (!addresses.is_array()) continue;
    const json& target = member(e, "targetRef");
    const std::string pod = target.is_object() ? json_string(target, "name") : std::string();
    for (const json& a : addresses) {
      if (!a.is_string()) continue;
      Endpoint ep;
      ep.address = a.get<std::string>();
      ep.name = pod.empty() ? service + "/" + ep.address : pod;
      ep.ns = ns;
      ep.service = service;
      ep.port = port;
      ep.source.file = "kubernetes/EndpointSlice/" + ns + "/" + json_string(meta, "name");
      out.push_back(std::move(ep));
    }
  }
  return out;
}

}  // namespace infergate::config
