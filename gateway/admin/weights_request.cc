#include "gateway/admin/weights_request.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <iterator>

namespace infergate::gateway {

using nlohmann::json;

std::optional<config::WeightsChange> parse_weights_request(const std::string& body, std::string* error) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    *error = "body must be a JSON object: {\"name\": ROUTE, \"namespace\": NS, \"rule\": N, \"weights\": {BACKEND: WEIGHT}}";
    return std::nullopt;
  }
  config::WeightsChange c;
  static const char* kKnown[] = {"kind", "namespace", "name", "rule", "weights"};
  for (const auto& [k, _] : j.items())
    if (std::find(std::begin(kKnown), std::end(kKnown), k) == std::end(kKnown)) {
      *error = "unknown field \"" + k + "\" (known: kind, namespace, name, rule, weights)";
      return std::nullopt;
    }
  auto text = [&](const char* field, std::string* out) {
    if (!j.contains(field)) return true;
    if (!j[field].is_string()) {
      *error = std::string("\"") + field + "\" must be a string";
      return false;
    }
    *out = j[field].get<std::string>();
    return true;
  };
  if (!text("kind", &c.kind) || !text("namespace", &c.ns) || !text("name", &c.name)) return std::nullopt;
  if (c.name.empty()) {
    *error = "\"name\" (the HTTPRoute or VirtualService) is required";
    return std::nullopt;
  }
  if (j.contains("rule")) {
    const json& r = j["rule"];
    if (r.is_number_unsigned()) c.rule = r.get<size_t>();
    else if (r.is_string()) c.rule_name = r.get<std::string>();
    else {
      *error = "\"rule\" must be an index (0, 1, ...) or a rule name";
      return std::nullopt;
    }
  }
  if (!j.contains("weights") || !j["weights"].is_object() || j["weights"].empty()) {
    *error = "\"weights\" must be an object of backend name to weight, e.g. {\"v1\": 90, \"v2\": 10}";
    return std::nullopt;
  }
  for (const auto& [name, w] : j["weights"].items()) {
    if (!w.is_number_unsigned()) {
      *error = "weight of \"" + name + "\" must be a whole number from 0 to 1000000";
      return std::nullopt;
    }
    c.weights.emplace_back(name, static_cast<uint32_t>(std::min<uint64_t>(w.get<uint64_t>(), 0xFFFFFFFFu)));
  }
  return c;
}

}  // namespace infergate::gateway
