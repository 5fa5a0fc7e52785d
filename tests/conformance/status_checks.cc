#include "tests/conformance/status_checks.h"

#include <functional>

namespace infergate::conformance {

using nlohmann::json;

namespace {

json get_route(testing::TestApiServer& api, const NamespacedName& nn) {
  return api.get("gateway.networking.k8s.io", "httproutes", nn.ns, nn.name);
}
json get_pool(testing::TestApiServer& api, const NamespacedName& nn) {
  return api.get("inference.networking.k8s.io", "inferencepools", nn.ns, nn.name);
}

const json& parents_of(const json& object) {
  static const json kNone = json::array();
  if (!object.is_object() || !object.contains("status") || !object["status"].contains("parents")) return kNone;
  return object["status"]["parents"];
}

bool has_condition(const json& conditions, const Condition& c) {
  for (const json& got : conditions)
    if (got.value("type", "") == c.type && got.value("status", "") == c.status &&
        (c.reason.empty() || got.value("reason", "") == c.reason))
      return true;
  return false;
}

std::string describe(const Condition& c) {
  std::string out = c.type;
  out.append("=").append(c.status);
  if (!c.reason.empty()) out.append("/").append(c.reason);
  return out;
}

// Polls `met` until it holds; the failure names what was awaited and the last object seen.
::testing::AssertionResult poll(const std::function<bool(json&)>& met, const std::string& what) {
  json last;
  if (e2e::wait_until([&] { return met(last); }, status_timeout())) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "timed out waiting for " << what << "; last observed: " << last.dump();
}

}  // namespace

e2e::milliseconds status_timeout() { return e2e::scaled(30000); }

::testing::AssertionResult route_has_condition(testing::TestApiServer& api, const NamespacedName& route,
                                               const NamespacedName& gateway, const Condition& expected) {
  return poll(
      [&](json& last) {
        last = get_route(api, route);
        if (!last.is_object()) return false;
        const int64_t generation = last["metadata"].value("generation", int64_t{0});
        bool found = false;
        for (const json& parent : parents_of(last)) {
          const json conditions = parent.value("conditions", json::array());
          for (const json& c : conditions)  // ConditionsHaveLatestObservedGeneration
            if (c.value("observedGeneration", int64_t{-1}) != generation) return false;
          const json& ref = parent["parentRef"];
          if (ref.value("name", "") == gateway.name && ref.value("namespace", gateway.ns) == gateway.ns &&
              has_condition(conditions, expected))
            found = true;
        }
        return found;
      },
      "HTTPRoute " + route.str() + " to have " + describe(expected) + " for Gateway " + gateway.str());
}

::testing::AssertionResult route_accepted_and_resolved(testing::TestApiServer& api, const NamespacedName& route,
                                                       const NamespacedName& gateway) {
  auto accepted = route_has_condition(api, route, gateway, {"Accepted", "True", "Accepted"});
  if (!accepted) return accepted;
  return route_has_condition(api, route, gateway, {"ResolvedRefs", "True", "ResolvedRefs"});
}

::testing::AssertionResult pool_has_one_of(testing::TestApiServer& api, const NamespacedName& pool,
                                           const NamespacedName& gateway, const std::vector<Condition>& expected) {
  std::string what;
  for (const auto& c : expected) {
    if (!what.empty()) what += " or ";
    what += describe(c);
  }
  return poll(
      [&](json& last) {
        last = get_pool(api, pool);
        for (const json& parent : parents_of(last)) {
          const json& ref = parent["parentRef"];
          if (ref.value("namespace", "") != gateway.ns || ref.value("name", "") != gateway.name) continue;
          for (const auto& c : expected)
            if (has_condition(parent.value("conditions", json::array()), c)) return true;
        }
        return false;
      },
      "InferencePool " + pool.str() + " to have " + what + " for Gateway " + gateway.str());
}

::testing::AssertionResult pool_accepted_by_parent(testing::TestApiServer& api, const NamespacedName& pool,
                                                   const NamespacedName& gateway) {
  return pool_has_one_of(api, pool, gateway, {{"Accepted", "True", "Accepted"}});
}

::testing::AssertionResult pool_has_no_parents(testing::TestApiServer& api, const NamespacedName& pool) {
  return poll(
      [&](json& last) {
        last = get_pool(api, pool);
        return !last.is_object() || parents_of(last).empty();
      },
      "InferencePool " + pool.str() + " to have no parent statuses");
}

}  // namespace infergate::conformance
