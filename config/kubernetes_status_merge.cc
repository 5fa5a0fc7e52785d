// Comparing and merging a desired status with what the API server holds, so that a status is
// written only when it says something new, and never overwrites another controller's part.
#include <utility>

#include "config/kubernetes_status.h"

namespace infergate::config {

namespace {

using nlohmann::json;

const json* member(const json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

// Copies each condition's lastTransitionTime from `current` where the type's status is unchanged.
void merge_conditions(const json* current, json& desired) {
  if (!current || !current->is_array() || !desired.is_array()) return;
  for (auto& d : desired) {
    if (!d.is_object()) continue;
    for (const auto& c : *current) {
      if (!c.is_object() || c.value("type", "") != d.value("type", "")) continue;
      if (c.value("status", "") == d.value("status", "") && c.contains("lastTransitionTime"))
        d["lastTransitionTime"] = c["lastTransitionTime"];
      break;
    }
  }
}

// Entries of a list (listeners by name, parents by parentRef and controllerName) paired up.
template <typename SameEntry>
void merge_entries(const json* current, json& desired, SameEntry same) {
  if (!current || !current->is_array() || !desired.is_array()) return;
  for (auto& d : desired)
    for (const auto& c : *current)
      if (c.is_object() && d.is_object() && same(c, d)) {
        if (d.contains("conditions")) merge_conditions(member(c, "conditions"), d["conditions"]);
        break;
      }
}

bool same_parent(const json& a, const json& b) {
  return a.value("parentRef", json()) == b.value("parentRef", json()) &&
         a.value("controllerName", "") == b.value("controllerName", "");
}

json strip_times(json j) {
  if (j.is_object()) {
    j.erase("lastTransitionTime");
    for (auto& [k, v] : j.items()) v = strip_times(std::move(v));
  } else if (j.is_array()) {
    for (auto& v : j) v = strip_times(std::move(v));
  }
  return j;
}

bool is_our_gateway(const DesiredStatuses& d, const json& parent_ref) {
  if (!parent_ref.is_object()) return false;
  return parent_ref.value("group", "gateway.networking.k8s.io") == "gateway.networking.k8s.io" &&
         parent_ref.value("kind", "Gateway") == "Gateway" &&
         d.gateways.count({parent_ref.value("namespace", ""), parent_ref.value("name", "")}) > 0;
}

}  // namespace

json merge_transition_times(const json& current_status, json desired) {
  if (!desired.is_object()) return desired;
  if (desired.contains("conditions")) merge_conditions(member(current_status, "conditions"), desired["conditions"]);
  if (desired.contains("listeners"))
    merge_entries(member(current_status, "listeners"), desired["listeners"],
                  [](const json& a, const json& b) { return a.value("name", "") == b.value("name", ""); });
  for (const char* list : {"parents", "parent"})
    if (desired.contains(list)) merge_entries(member(current_status, list), desired[list], same_parent);
  return desired;
}

bool same_status(const json& a, const json& b) {
  auto normal = [](const json& j) { return j.is_null() ? json::object() : strip_times(j); };
  return normal(a) == normal(b);
}

json status_to_write(const DesiredStatuses& desired, const ResourceKey& key, const json& current_status) {
  auto it = desired.status.find(key);
  const bool parents_kind = key.kind == "HTTPRoute" || key.kind == "InferencePool";
  if (!parents_kind) {
    // GatewayClass, Gateway: all of it is ours; one that is not ours (any more) is left alone.
    return it == desired.status.end() ? current_status : merge_transition_times(current_status, it->second);
  }
  // Parents of other controllers stay, first, in their order; ours follow.
  const char* list = "parents";
  if (key.kind == "InferencePool" && ((it != desired.status.end() && it->second.contains("parent")) ||
                                      (it == desired.status.end() && member(current_status, "parent"))))
    list = "parent";
  auto foreign = [&](const json& p) {
    if (key.kind == "HTTPRoute") return p.value("controllerName", "") != desired.controller_name;
    return !is_our_gateway(desired, p.value("parentRef", json()));
  };
  json out = current_status.is_object() ? current_status : json::object();
  json parents = json::array();
  if (const json* cur = member(current_status, list); cur && cur->is_array())
    for (const auto& p : *cur)
      if (p.is_object() && foreign(p)) parents.push_back(p);
  if (it != desired.status.end()) {
    json ours = merge_transition_times(current_status, it->second);
    if (const json* mine = member(ours, list); mine && mine->is_array())
      for (const auto& p : *mine) parents.push_back(p);
  }
  if (parents.empty() && !member(current_status, list)) return current_status;  // nothing of ours, ever
  out[list] = std::move(parents);
  return out;
}

}  // namespace infergate::config
