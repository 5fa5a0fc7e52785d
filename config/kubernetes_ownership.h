#pragma once
// Objects that come from the Kubernetes API belong to the cluster: an admin change to one
// (POST /weights, POST or DELETE /config) would last until the next watch event and make the
// gateway silently disagree with `kubectl get`. The admin API refuses such a change with 409
// and names the kubectl command that makes it in the cluster instead (the cluster stays the
// source of truth; the watch then brings the change to every replica).
//
// The marker is Manifest::origin, set by the Kubernetes source; file documents and run-time
// changes are Origin::Files and stay changeable.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/config_store.h"
#include "config/weights.h"

namespace infergate::config {

// "" when the admin API may replace or delete `key`; otherwise why not, with the kubectl
// command to run (`kubectl apply` / `kubectl delete`).
std::string kubernetes_change_refusal(const ConfigStore& store, const ResourceKey& key, bool deleting);

// The same for a POST /weights change of `key` (the route `change` resolves to); the message
// carries the `kubectl patch --type=json` that sets those weights in the cluster.
std::string kubernetes_weights_refusal(const ConfigStore& store, const Config& config, const ResourceKey& key,
                                       const WeightsChange& change);

// The kubectl patch (JSON patch) that sets `change`'s weights on `rule` (exposed for tests).
std::string kubectl_weights_patch(const RuleWeights& rule, const WeightsChange& change);
// That JSON patch alone (RFC 6902), for the API.
std::string weights_json_patch(const RuleWeights& rule, const WeightsChange& change);
// The JSON patch of the one rule of `config` that `change` means; nullopt with *error when
// no single rule is meant. What a rollout sends to the API server (as Argo Rollouts does).
std::optional<std::string> weights_json_patch(const Config& config, const WeightsChange& change, std::string* error);
// The JSON patch that sets an InferenceModel's targetModels weights (0 = left out), as
// patch_target_models (config/weights.h) does to a document.
std::optional<std::string> target_models_json_patch(const Config& config, const std::string& ns, const std::string& name,
                                                    const std::vector<std::pair<std::string, uint32_t>>& weights,
                                                    std::string* error);

}  // namespace infergate::config
