#include "pools/pool_priorities.h"

namespace infergate::pools {

namespace {
int32_t criticality_priority(config::Criticality c) {
  switch (c) {
    case config::Criticality::Critical: return 1;
    case config::Criticality::Sheddable: return -1;
    case config::Criticality::Standard: break;
  }
  return 0;
}
}  // namespace

PoolPriorities::PoolPriorities(const config::Config& config, const config::InferencePool& pool) {
  for (const auto& m : config.inference_models)
    if (m.pool_ref.ns == pool.meta.ns && m.pool_ref.name == pool.meta.name)
      model_priority_[m.model_name] = criticality_priority(m.criticality);
  for (const auto& o : config.inference_objectives)
    if (o.pool_ref.ns == pool.meta.ns && o.pool_ref.name == pool.meta.name)
      objective_priority_[o.meta.name] = o.priority.value_or(0);
}

int32_t PoolPriorities::priority(std::string_view model, std::string_view objective) const {
  // Debian's abseil has its own string_view.
  if (!objective.empty()) {
    auto it = objective_priority_.find(absl::string_view(objective.data(), objective.size()));
    if (it != objective_priority_.end()) return it->second;
  }
  if (!model.empty()) {
    auto it = model_priority_.find(absl::string_view(model.data(), model.size()));
    if (it != model_priority_.end()) return it->second;
  }
  return 0;
}

}  // namespace infergate::pools
