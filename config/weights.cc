#include "config/weights.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>

#include "config/str_cat.h"

namespace infergate::config {

namespace {

using detail::cat;

constexpr uint32_t kMaxWeight = 1'000'000;  // Gateway API's bound; Istio's is wider

std::string destination_key(const IstioDestination& d) { return d.subset.empty() ? d.host : d.subset; }

// The weight a destination keeps when a change does not name it: as written, or, for a lone
// destination without one, the 100 Istio gives it.
uint32_t written_or_lone(const VsHttpRoute& h, size_t i) {
  const VsRouteDestination& d = h.route[i];
  if (d.weight_written) return d.weight;
  return h.route.size() == 1 ? d.effective_weight : 0;
}

struct Target {
  std::string kind;  // HTTPRoute | VirtualService
  const HttpRoute* route = nullptr;
  const VirtualService* vs = nullptr;
  size_t rules = 0;
};

std::optional<Target> find_target(const Config& config, const WeightsChange& change, std::string* error) {
  Target t;
  const bool any = change.kind.empty();
  if (any || change.kind == "HTTPRoute")
    for (const auto& r : config.routes)
      if (r.meta.ns == change.ns && r.meta.name == change.name) t.route = &r;
  if (any || change.kind == "VirtualService")
    for (const auto& v : config.virtual_services)
      if (v.meta.ns == change.ns && v.meta.name == change.name) t.vs = &v;
  if (!any && change.kind != "HTTPRoute" && change.kind != "VirtualService") {
    *error = cat("kind must be HTTPRoute or VirtualService, not \"", change.kind, "\"");
    return std::nullopt;
  }
  if (t.route && t.vs) {
    *error = cat("both an HTTPRoute and a VirtualService are named ", change.ns, "/", change.name,
                 ": say which with \"kind\"");
    return std::nullopt;
  }
  if (!t.route && !t.vs) {
    *error = cat("no ", any ? "HTTPRoute or VirtualService" : change.kind, " ", change.ns, "/",
                 change.name);
    return std::nullopt;
  }
  t.kind = t.route ? "HTTPRoute" : "VirtualService";
  t.rules = t.route ? t.route->rules.size() : t.vs->http.size();
  return t;
}

// A rule's backends by name (BackendWeight::name) with the weight each keeps when a change
// does not name it.
using Backends = std::vector<std::pair<std::string, uint32_t>>;

Backends backends_of(const Target& t, size_t rule) {
  Backends out;
  if (t.route) {
    for (const auto& b : t.route->rules[rule].backend_refs) out.emplace_back(b.name, b.weight);
  } else {
    const VsHttpRoute& h = t.vs->http[rule];
    for (size_t i = 0; i < h.route.size(); ++i) out.emplace_back(destination_key(h.route[i].destination), written_or_lone(h, i));
  }
  return out;
}

bool has_backend(const Backends& backends, std::string_view name) {
  return std::any_of(backends.begin(), backends.end(), [&](const auto& b) { return b.first == name; });
}

std::string backend_list(const Backends& backends) {
  std::vector<std::string> names;
  for (const auto& b : backends) names.push_back(b.first);
  return detail::join(names, ", ");
}

bool names_all(const Target& t, size_t rule, const WeightsChange& change) {
  const Backends backends = backends_of(t, rule);
  if (backends.empty()) return false;
  for (const auto& [name, _] : change.weights)
    if (!has_backend(backends, name)) return false;
  return true;
}

std::optional<size_t> choose_rule(const Target& t, const WeightsChange& change, std::string* error) {
  const char* noun = t.route ? "rules" : "http";
  if (change.rule) {
    if (*change.rule >= t.rules) {
      *error = cat(t.kind, " ", change.ns, "/", change.name, " has ", t.rules, " ", noun, " entries; ",
                   noun, "[", *change.rule, "] does not exist");
      return std::nullopt;
    }
    return change.rule;
  }
  if (!change.rule_name.empty()) {
    for (size_t i = 0; i < t.rules; ++i)
      if ((t.route ? t.route->rules[i].name : t.vs->http[i].name) == change.rule_name) return i;
    *error = cat(t.kind, " ", change.ns, "/", change.name, " has no ", noun, " entry named \"",
                 change.rule_name, "\"");
    return std::nullopt;
  }
  if (t.rules == 1) return 0;
  std::vector<size_t> candidates;
  for (size_t i = 0; i < t.rules; ++i)
    if (names_all(t, i, change)) candidates.push_back(i);
  if (candidates.size() == 1) return candidates[0];
  std::string listing;
  for (size_t i = 0; i < t.rules; ++i)
    listing += cat(i ? "; " : "", noun, "[", i, "]: ", backend_list(backends_of(t, i)));
  *error = cat(t.kind, " ", change.ns, "/", change.name, " has ", t.rules, " ", noun,
               " entries; say which with \"rule\" (", listing, ")");
  return std::nullopt;
}

// The rule node of an HTTPRoute document: spec.rules[i], or the seed's single-mapping form.
YAML::Node rule_node(YAML::Node& doc, const Target& t, size_t rule) {
  YAML::Node spec = doc["spec"];
  YAML::Node rules = t.route ? spec["rules"] : spec["http"];
  if (rules.IsMap()) return rules;
  return rules[rule];
}

bool patch_http_route(YAML::Node rule, const WeightsChange& change, std::string* error) {
  YAML::Node refs = rule["backendRefs"];
  if (!refs.IsSequence()) {
    *error = "the rule has no backendRefs";
    return false;
  }
  for (const auto& [name, weight] : change.weights) {
    int found = 0;
    for (YAML::Node ref : refs) {
      const YAML::Node& cref = ref;
      if (cref["name"] && cref["name"].IsScalar() && cref["name"].Scalar() == name) {
        ref["weight"] = weight;
        ++found;
      }
    }
    if (found == 0) {
      std::vector<std::string> names;
      for (const YAML::Node& ref : refs)
        if (ref["name"] && ref["name"].IsScalar()) names.push_back(ref["name"].Scalar());
      *error = cat("the rule has no backendRef named \"", name, "\" (it has: ", detail::join(names, ", "), ")");
      return false;
    }
  }
  return true;
}

bool patch_virtual_service(const Config& config, const VirtualService& vs, size_t index, YAML::Node http,
                           const WeightsChange& change, std::string* error) {
  YAML::Node route = http["route"];
  if (!route.IsSequence() || route.size() == 0) {
    *error = cat("http[", index, "] has no route destinations (a redirect or direct response)");
    return false;
  }
  const VsHttpRoute& h = vs.http[index];
  for (const auto& [name, weight] : change.weights) {
    bool found = false;
    for (size_t i = 0; i < h.route.size(); ++i) {
      if (destination_key(h.route[i].destination) == name) {
        route[i]["weight"] = weight;
        found = true;
      }
    }
    if (found) continue;
    // A subset of the host this entry already routes to: add a destination for it.
    const IstioDestination& first = h.route[0].destination;
    if (!config.find_subset(first.service_ns, first.service_name, name)) {
      std::vector<std::string> names;
      for (const auto& d : h.route) names.push_back(destination_key(d.destination));
      *error = cat("http[", index, "] routes to ", detail::join(names, ", "), " and ", first.host,
                   " has no subset \"", name, "\" in a DestinationRule");
      return false;
    }
    YAML::Node dest;
    dest["destination"]["host"] = first.host;
    dest["destination"]["subset"] = name;
    if (first.port) dest["destination"]["port"]["number"] = *first.port;
    dest["weight"] = weight;
    route.push_back(dest);
  }
  // Istio reads a missing weight as 0 once there are several destinations: write every one,
  // as the weight it had before the change.
  if (route.size() > 1)
    for (size_t i = 0; i < h.route.size(); ++i)
      if (!static_cast<const YAML::Node&>(route[i])["weight"]) route[i]["weight"] = written_or_lone(h, i);
  return true;
}

// The document `current` with `change` made to its YAML, re-emitted as a manifest of `key`;
// nullopt with *error when it cannot be read, changed or written.
template <typename Change>
std::optional<Manifest> rewrite_document(const Manifest& current, ResourceKey key, const char* file, Change change,
                                         std::string* error) {
  YAML::Node doc;
  try {
    doc = YAML::Load(current.text);
  } catch (const std::exception& e) {
    *error = cat("cannot re-read ", key.to_string(), ": ", e.what());
    return std::nullopt;
  }
  if (!change(doc)) return std::nullopt;
  YAML::Emitter out;
  out << doc;
  if (!out.good()) {
    *error = cat("cannot write ", key.to_string(), ": ", out.GetLastError());
    return std::nullopt;
  }
  Manifest m;
  m.file = file;
  m.document = 1;
  m.text = std::string(out.c_str()) + "\n";
  m.key = std::move(key);
  return m;
}

}  // namespace

std::vector<RuleWeights> list_weights(const Config& config) {
  std::vector<RuleWeights> out;
  for (const auto& r : config.routes) {
    for (size_t i = 0; i < r.rules.size(); ++i) {
      const HttpRouteRule& rule = r.rules[i];
      if (rule.backend_refs.empty()) continue;
      RuleWeights w{"HTTPRoute", r.meta.ns, r.meta.name, i, rule.name, {}, r.meta.source};
      if (rule.line) w.source.line = rule.line;
      for (const auto& b : rule.backend_refs)
        w.backends.push_back({b.name, b.is_inference_pool() ? "InferencePool" : "Service", "", b.weight, b.weight});
      out.push_back(std::move(w));
    }
  }
  for (const auto& vs : config.virtual_services) {
    for (size_t i = 0; i < vs.http.size(); ++i) {
      const VsHttpRoute& h = vs.http[i];
      if (h.route.empty()) continue;
      RuleWeights w{"VirtualService", vs.meta.ns, vs.meta.name, i, h.name, {}, vs.meta.source};
      if (h.line) w.source.line = h.line;
      for (const auto& d : h.route)
        w.backends.push_back({destination_key(d.destination), d.destination.subset.empty() ? "host" : "subset",
                              d.destination.host, d.weight, d.effective_weight});
      out.push_back(std::move(w));
    }
  }
  return out;
}

std::optional<Manifest> patch_weights(const Config& config, const ConfigStore& store, const WeightsChange& change,
                                      std::string* error) {
  if (change.weights.empty()) {
    *error = "no weights given";
    return std::nullopt;
  }
  for (const auto& [name, weight] : change.weights) {
    if (weight > kMaxWeight) {
      *error = cat("weight of \"", name, "\" must be between 0 and ", kMaxWeight);
      return std::nullopt;
    }
  }
  auto target = find_target(config, change, error);
  if (!target) return std::nullopt;
  auto rule = choose_rule(*target, change, error);
  if (!rule) return std::nullopt;

  // Would every backend weigh 0? The Gateway API answers 500 to every request then, and
  // Istio rejects it: through this shorthand that is a typo, not an intent.
  const Backends backends = backends_of(*target, *rule);
  uint64_t total = 0;
  for (const auto& [name, kept] : backends) {
    uint32_t w = kept;
    for (const auto& [n, weight] : change.weights)
      if (n == name) w = weight;
    total += w;
  }
  for (const auto& [n, weight] : change.weights)
    if (!has_backend(backends, n)) total += weight;  // a subset being added
  if (total == 0) {
    *error = "every backend would have weight 0 (every request would fail); keep at least one above 0";
    return std::nullopt;
  }

  ResourceKey key;
  key.group = target->route ? "gateway.networking.k8s.io" : "networking.istio.io";
  key.kind = target->kind;
  key.ns = change.ns;
  key.name = change.name;
  const Manifest* current = store.find(key);
  if (!current) {
    *error = cat("no document for ", key.to_string(), " in the running configuration");
    return std::nullopt;
  }
  return rewrite_document(*current, std::move(key), "POST /weights", [&](YAML::Node& doc) {
    YAML::Node node = rule_node(doc, *target, *rule);
    return target->route ? patch_http_route(node, change, error)
                         : patch_virtual_service(config, *target->vs, *rule, node, change, error);
  }, error);
}

std::optional<std::vector<std::pair<std::string, uint32_t>>> next_target_models(
    const Config& config, const std::string& ns, const std::string& name,
    const std::vector<std::pair<std::string, uint32_t>>& weights, std::string* error) {
  const InferenceModel* model = nullptr;
  for (const auto& m : config.inference_models)
    if (m.meta.ns == ns && m.meta.name == name) model = &m;
  if (!model) {
    *error = cat("InferenceModel \"", ns, "/", name, "\" is not defined");
    return std::nullopt;
  }
  // GIE weights are 1..1000000: a target at 0 is left out of the list, and one given a weight
  // again is added back.
  std::vector<std::pair<std::string, uint32_t>> next;
  for (const TargetModel& t : model->target_models) {
    const bool named = std::any_of(weights.begin(), weights.end(), [&](const auto& w) { return w.first == t.name; });
    if (!named) next.emplace_back(t.name, t.weight);
  }
  for (const auto& [n, weight] : weights) {
    if (weight > kMaxWeight) {
      *error = cat("weight of \"", n, "\" must be between 0 and ", kMaxWeight);
      return std::nullopt;
    }
    if (weight > 0) next.emplace_back(n, weight);
  }
  if (next.empty()) {
    *error = "every targetModel would have weight 0; keep at least one above 0";
    return std::nullopt;
  }
  return next;
}

std::optional<Manifest> patch_target_models(const Config& config, const ConfigStore& store, const std::string& ns,
                                            const std::string& name,
                                            const std::vector<std::pair<std::string, uint32_t>>& weights,
                                            std::string* error) {
  auto next = next_target_models(config, ns, name, weights, error);
  if (!next) return std::nullopt;
  const Manifest* current = nullptr;
  ResourceKey key;
  for (const char* group : {"inference.networking.x-k8s.io", "inference.networking.k8s.io"}) {
    key = ResourceKey{group, "InferenceModel", ns, name};
    if ((current = store.find(key))) break;
  }
  if (!current) {
    *error = cat("no document for InferenceModel ", ns, "/", name, " in the running configuration");
    return std::nullopt;
  }
  return rewrite_document(*current, std::move(key), "rollout", [&](YAML::Node& doc) {
    YAML::Node targets(YAML::NodeType::Sequence);
    for (const auto& [n, weight] : *next) {
      YAML::Node t;
      t["name"] = n;
      t["weight"] = weight;
      targets.push_back(t);
    }
    doc["spec"]["targetModels"] = targets;
    return true;
  }, error);
}

}  // namespace infergate::config
