#include "routing/model_rewrite.h"

#include <utility>

#include "config/cluster_names.h"
#include "routing/weighted_choice.h"

namespace infergate::routing {

namespace {

template <typename Target, typename Name>
bool fill_split(const std::vector<Target>& targets, Name name_of,
                std::vector<std::string>& models, std::vector<uint64_t>& cumulative) {
  uint64_t sum = 0;
  for (const Target& t : targets) {
    models.push_back(name_of(t));
    cumulative.push_back(sum += t.weight);
  }
  return !models.empty();
}

}  // namespace

std::optional<std::string_view> ModelRewriteTable::Split::pick(uint64_t draw) const {
  const size_t i = pick_weighted(cumulative, draw);
  if (i == kNoBackend) return std::nullopt;
  return std::string_view(models[i]);
}

std::shared_ptr<const ModelRewriteTable> ModelRewriteTable::build(const config::Config& config) {
  auto table = std::make_shared<ModelRewriteTable>();
  auto pool_of = [&](const config::PoolRef& ref) -> Pool& {
    return table->pools_[config::inference_pool_cluster_name(ref.ns, ref.name)];
  };
  auto rewrite_split = [](const config::ModelRewriteRule& rule) {
    Split s;
    fill_split(rule.targets, [](const auto& t) { return t.model_rewrite; }, s.models,
               s.cumulative);
    return s;
  };

  // Both lists are oldest first (config/model.h): the first entry for a key is GIE's winner,
  // so nothing already present is ever replaced.
  for (const config::InferenceModelRewrite& rw : config.model_rewrites) {
    Pool& pool = pool_of(rw.pool_ref);
    for (const config::ModelRewriteRule& rule : rw.rules) {
      if (rule.targets.empty()) continue;  // the loader rejects these; nothing to pick from
      if (rule.exact_models.empty()) {
        if (!pool.generic) pool.generic = rewrite_split(rule);
        continue;
      }
      for (const std::string& model : rule.exact_models)
        if (!pool.exact.contains(model)) pool.exact.emplace(model, rewrite_split(rule));
    }
  }
  for (const config::InferenceModel& m : config.inference_models) {
    Pool& pool = pool_of(m.pool_ref);
    if (pool.claims.contains(m.model_name)) continue;
    Claim claim;
    claim.criticality = m.criticality;
    Split s;
    if (fill_split(m.target_models, [](const auto& t) { return t.name; }, s.models,
                   s.cumulative))
      claim.split = std::move(s);
    pool.claims.emplace(m.model_name, std::move(claim));
  }
  for (const config::InferenceObjective& o : config.inference_objectives)
    pool_of(o.pool_ref).objectives.try_emplace(o.meta.name, o.priority.value_or(0));
  return table;
}

const ModelRewriteTable::Pool* ModelRewriteTable::find(std::string_view pool_cluster) const {
  auto it = pools_.find(pool_cluster);
  return it == pools_.end() ? nullptr : &it->second;
}

std::optional<std::string_view> ModelRewriteTable::rewrite(std::string_view pool_cluster,
                                                           std::string_view model,
                                                           uint64_t draw) const {
  const Pool* pool = find(pool_cluster);
  if (!pool) return std::nullopt;
  if (auto it = pool->exact.find(model); it != pool->exact.end()) return it->second.pick(draw);
  if (auto it = pool->claims.find(model); it != pool->claims.end()) {
    if (!it->second.split) return std::nullopt;
    return it->second.split->pick(draw);
  }
  if (pool->generic) return pool->generic->pick(draw);
  return std::nullopt;
}

std::vector<std::string_view> ModelRewriteTable::models(std::string_view pool_cluster) const {
  std::vector<std::string_view> out;
  if (const Pool* pool = find(pool_cluster)) {
    for (const auto& [model, split] : pool->exact) out.push_back(model);
    for (const auto& [model, claim] : pool->claims)
      if (!pool->exact.contains(model)) out.push_back(model);
  }
  return out;
}

// The same precedence as rewrite(), listing instead of drawing.
std::vector<std::string_view> ModelRewriteTable::targets(std::string_view pool_cluster,
                                                         std::string_view model) const {
  std::vector<std::string_view> out;
  const Pool* pool = find(pool_cluster);
  if (!pool) return out;
  const Split* split = nullptr;
  if (auto it = pool->exact.find(model); it != pool->exact.end()) {
    split = &it->second;
  } else if (auto c = pool->claims.find(model); c != pool->claims.end()) {
    if (c->second.split) split = &*c->second.split;
  } else if (pool->generic) {
    split = &*pool->generic;
  }
  if (split) out.assign(split->models.begin(), split->models.end());
  return out;
}

config::Criticality ModelRewriteTable::criticality(std::string_view pool_cluster,
                                                   std::string_view model) const {
  if (const Pool* pool = find(pool_cluster)) {
    if (auto it = pool->claims.find(model); it != pool->claims.end())
      return it->second.criticality;
  }
  return config::Criticality::Standard;
}

std::optional<int32_t> ModelRewriteTable::objective_priority(std::string_view pool_cluster,
                                                             std::string_view objective) const {
  if (const Pool* pool = find(pool_cluster)) {
    if (auto it = pool->objectives.find(objective); it != pool->objectives.end())
      return it->second;
  }
  return std::nullopt;
}

}  // namespace infergate::routing
