#include "config/kubernetes_ownership.h"

#include <algorithm>
#include <cctype>

#include <nlohmann/json.hpp>

namespace infergate::config {

namespace {

bool from_kubernetes(const ConfigStore& store, const ResourceKey& key) {
  const Manifest* m = store.find(key);
  return m != nullptr && m->origin == Manifest::Origin::Kubernetes;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// A shell single-quoted word.
std::string quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "'\\''";
    else out.push_back(c);
  }
  return out + "'";
}

std::string kubectl_target(const ResourceKey& key) {
  std::string resource = lower(key.kind);
  if (!key.group.empty()) resource += "." + key.group;
  return resource + " " + key.name + " -n " + key.ns;
}

// The rule of route `kind` ("" = any) ns/name that `change` means: by index or name, or the
// route's only rule when it names none.
std::optional<RuleWeights> meant_rule(const Config& config, const std::string& kind, const std::string& ns,
                                      const std::string& name, const WeightsChange& change) {
  std::vector<RuleWeights> rules;
  for (auto& w : list_weights(config))
    if ((kind.empty() || w.kind == kind) && w.ns == ns && w.name == name) rules.push_back(std::move(w));
  RuleWeights* meant = nullptr;
  for (auto& w : rules)
    if ((change.rule && w.rule == *change.rule) || (!change.rule_name.empty() && w.rule_name == change.rule_name))
      meant = &w;
  if (!meant && !change.rule && change.rule_name.empty() && rules.size() == 1) meant = &rules[0];
  if (!meant) return std::nullopt;
  return std::move(*meant);
}

}  // namespace

std::string kubernetes_change_refusal(const ConfigStore& store, const ResourceKey& key, bool deleting) {
  if (!from_kubernetes(store, key)) return "";
  return key.to_string() + " comes from the Kubernetes API; a change here would be overwritten by the next " +
         "watch event and disagree with the cluster meanwhile. Make it in the cluster: " +
         (deleting ? "kubectl delete " + kubectl_target(key) : "kubectl apply -f MANIFEST.yaml (or kubectl edit " +
                                                                     kubectl_target(key) + ")");
}

std::string weights_json_patch(const RuleWeights& rule, const WeightsChange& change) {
  const bool http_route = rule.kind == "HTTPRoute";
  const std::string base = http_route ? "/spec/rules/" + std::to_string(rule.rule) + "/backendRefs/"
                                      : "/spec/http/" + std::to_string(rule.rule) + "/route/";
  nlohmann::json ops = nlohmann::json::array();
  for (const auto& [name, weight] : change.weights) {
    // Compared through a plain reference: clang 14 (the fuzz build) cannot capture a structured binding.
    const std::string& wanted = name;
    auto it = std::find_if(rule.backends.begin(), rule.backends.end(), [&](const BackendWeight& b) { return b.name == wanted; });
    if (it != rule.backends.end()) {
      // "add" sets a member whether or not it was written (a weight left at its default).
      ops.push_back({{"op", "add"}, {"path", base + std::to_string(it - rule.backends.begin()) + "/weight"}, {"value", weight}});
    } else if (!http_route && !rule.backends.empty()) {
      // A subset the rule does not route to yet: a destination of the same host.
      ops.push_back({{"op", "add"},
                     {"path", base + "-"},
                     {"value", {{"destination", {{"host", rule.backends.front().host}, {"subset", name}}}, {"weight", weight}}}});
    }
  }
  return ops.dump();
}

std::string kubectl_weights_patch(const RuleWeights& rule, const WeightsChange& change) {
  return "kubectl patch " + lower(rule.kind) + " " + rule.name + " -n " + rule.ns + " --type=json -p " +
         quoted(weights_json_patch(rule, change));
}

std::optional<std::string> weights_json_patch(const Config& config, const WeightsChange& change, std::string* error) {
  const std::optional<RuleWeights> rule = meant_rule(config, change.kind, change.ns, change.name, change);
  if (!rule) {
    *error = "no single rule of " + change.kind + " " + change.ns + "/" + change.name + " matches the change";
    return std::nullopt;
  }
  return weights_json_patch(*rule, change);
}

std::optional<std::string> target_models_json_patch(const Config& config, const std::string& ns, const std::string& name,
                                                    const std::vector<std::pair<std::string, uint32_t>>& weights,
                                                    std::string* error) {
  auto next = next_target_models(config, ns, name, weights, error);
  if (!next) return std::nullopt;
  nlohmann::json list = nlohmann::json::array();
  for (const auto& [target, weight] : *next) list.push_back({{"name", target}, {"weight", weight}});
  return nlohmann::json::array({{{"op", "add"}, {"path", "/spec/targetModels"}, {"value", list}}}).dump();
}

std::string kubernetes_weights_refusal(const ConfigStore& store, const Config& config, const ResourceKey& key,
                                       const WeightsChange& change) {
  if (!from_kubernetes(store, key)) return "";
  const std::optional<RuleWeights> rule = meant_rule(config, key.kind, key.ns, key.name, change);
  std::string msg = key.to_string() + " comes from the Kubernetes API; a weight change here would be overwritten by " +
                    "the next watch event and disagree with the cluster meanwhile. Set it in the cluster: ";
  if (rule) return msg + kubectl_weights_patch(*rule, change);
  return msg + "kubectl edit " + kubectl_target(key);
}

}  // namespace infergate::config
