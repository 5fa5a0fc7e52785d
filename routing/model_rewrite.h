#pragma once
// What the GIE model kinds say about a request once its backend is an InferencePool: the
// model to forward instead of the body's `model`, how critical it is, and the priority of the
// InferenceObjective it names. Built once per config snapshot on the control thread from the
// validated config (which lists inference_models and model_rewrites oldest first); immutable
// afterwards and read concurrently by workers. Lookups neither lock nor allocate.
//
// rewrite() precedence, per pool:
//  1. exact InferenceModelRewrite rules: resources oldest first, rules in written order; the
//     first rule matching the model decides (GIE: a model is matched by one rule per pool);
//  2. the InferenceModel claiming the model (the oldest, when several do) with targetModels:
//     one of them, by weight (unweighted targetModels split equally);
//  3. generic InferenceModelRewrite rules (no matches): the oldest resource's first one.
// A model an InferenceModel claims without targetModels is served under its own name: it
// stops at step 2 (generic rules are for models nobody declared) and rewrite() returns nullopt.
// A target naming the incoming model is a valid choice like any other.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/model.h"

namespace infergate::routing {

class ModelRewriteTable {
 public:
  static std::shared_ptr<const ModelRewriteTable> build(const config::Config& config);

  // For a request whose JSON body names `model`, sent to the InferencePool cluster
  // `pool_cluster` (config::inference_pool_cluster_name(ns, name)): the model to forward
  // instead, chosen by weight with `draw` (a uniform 64-bit value, e.g. a WeightedSequence
  // step or a hash of x-request-id to keep retries on one model), or nullopt when nothing
  // rewrites it. Returned views stay valid as long as the table.
  std::optional<std::string_view> rewrite(std::string_view pool_cluster, std::string_view model,
                                          uint64_t draw) const;

  // The criticality of the InferenceModel claiming `model` on that pool (the oldest, when
  // several do); Standard when none claims it or it writes none (GIE's reading of unset).
  config::Criticality criticality(std::string_view pool_cluster, std::string_view model) const;

  // The priority of InferenceObjective `objective` (metadata.name, in the pool's namespace)
  // bound to that pool: 0 when it writes none (GIE's reading of unset); nullopt when there is
  // no such objective.
  std::optional<int32_t> objective_priority(std::string_view pool_cluster,
                                            std::string_view objective) const;

  // What the metrics label sets are built from (gateway/version_stats.h): the models the pool
  // knows by name (InferenceModel modelNames and exact InferenceModelRewrite matches), and
  // every model rewrite() can return for `model` there (for a model nobody declared: the
  // generic rule's targets). Views into the table, in no particular order.
  std::vector<std::string_view> models(std::string_view pool_cluster) const;
  std::vector<std::string_view> targets(std::string_view pool_cluster, std::string_view model) const;

  // True when no pool has a model, rewrite or objective: the request path can skip lookups.
  bool empty() const { return pools_.empty(); }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  template <typename V>
  using Map = std::unordered_map<std::string, V, Hash, std::equal_to<>>;

  // Targets with running weight sums, ready for routing::pick_weighted.
  struct Split {
    std::vector<std::string> models;
    std::vector<uint64_t> cumulative;
    std::optional<std::string_view> pick(uint64_t draw) const;
  };
  struct Claim {  // the InferenceModel owning a modelName on the pool
    config::Criticality criticality = config::Criticality::Standard;
    std::optional<Split> split;  // nullopt: no targetModels, the model is served as named
  };
  struct Pool {
    Map<Split> exact;              // InferenceModelRewrite exact rules, first match kept
    Map<Claim> claims;             // InferenceModel modelName
    std::optional<Split> generic;  // the first generic InferenceModelRewrite rule
    Map<int32_t> objectives;       // InferenceObjective metadata.name
  };

  const Pool* find(std::string_view pool_cluster) const;

  Map<Pool> pools_;  // by config::inference_pool_cluster_name
};

}  // namespace infergate::routing
