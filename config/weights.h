#pragma once
// Canary weights as operators move them: the backends of every route rule with their weights
// (GET /weights), and a change of one rule's weights turned into a new version of the route's
// document (POST /weights), which the ConfigStore then applies like any other run-time change.
// Doing it on the document, not on the running route table, means a weight change is
// validated, versioned, dumped and persisted exactly as a full config change is.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/config_store.h"
#include "config/model.h"

namespace infergate::config {

struct BackendWeight {
  // HTTPRoute: the backendRef name. VirtualService: the destination's subset, or its host
  // when it has none.
  std::string name;
  std::string kind;         // HTTPRoute: "InferencePool" | "Service"; VirtualService: "subset" | "host"
  std::string host;         // VirtualService: the destination host as written
  uint32_t weight = 0;      // as written
  uint32_t effective = 0;   // what it gets: Istio gives a lone destination all (100)
};

struct RuleWeights {
  std::string kind;         // "HTTPRoute" | "VirtualService"
  std::string ns, name;
  size_t rule = 0;          // spec.rules[i] / spec.http[i]
  std::string rule_name;    // as written, "" when unnamed
  std::vector<BackendWeight> backends;
  SourceLocation source;
};

// Every HTTPRoute rule and VirtualService http[] entry that sends traffic to backends.
std::vector<RuleWeights> list_weights(const Config& config);

struct WeightsChange {
  std::string kind;            // "HTTPRoute", "VirtualService", or "" = whichever has the name
  std::string ns = "default";
  std::string name;
  std::optional<size_t> rule;  // index; or
  std::string rule_name;       // the rule's name; neither = the only rule that can be meant
  // Backend (as BackendWeight::name) -> new weight; backends not named keep theirs. A
  // VirtualService may name a subset its rule does not route to yet: a destination of the
  // same host is added (that is how the seed's lone-v2 default route becomes a 90/10 split).
  std::vector<std::pair<std::string, uint32_t>> weights;
};

// The route's effective document (from `store`) with the change made; `config` is the
// running model the change is checked against. nullopt with *error when the resource, rule
// or a backend does not exist, or a weight is out of range, or every weight would be 0.
// The result keeps every field of the document; comments are lost (it is re-emitted).
std::optional<Manifest> patch_weights(const Config& config, const ConfigStore& store,
                                      const WeightsChange& change, std::string* error);

// The same for an InferenceModel's targetModels split (a LoRA adapter version rollout):
// `weights` maps targetModels names to new weights; others keep theirs. GIE weights are
// 1..1000000, so a target set to 0 leaves the list and one set above 0 joins it; every entry
// is written with its weight (GIE: all or none).
// The targetModels list that change makes (every target with its weight, those at 0 left
// out); nullopt with *error when the model is not defined, a weight is out of range or all
// would be 0. What patch_target_models writes, and what a rollout sends to the API.
std::optional<std::vector<std::pair<std::string, uint32_t>>> next_target_models(
    const Config& config, const std::string& ns, const std::string& name,
    const std::vector<std::pair<std::string, uint32_t>>& weights, std::string* error);

std::optional<Manifest> patch_target_models(const Config& config, const ConfigStore& store, const std::string& ns,
                                            const std::string& name,
                                            const std::vector<std::pair<std::string, uint32_t>>& weights,
                                            std::string* error);

}  // namespace infergate::config
