#pragma once
// How important a request to an InferencePool is: the priority of the InferenceObjective it
// names (x-gateway-inference-objective) when the pool has that objective, else the
// InferenceModel criticality of its model (Critical 1, Standard 0, Sheddable -1: GIE's
// InferenceObjective replaced criticality by a priority), else 0. Below 0 is sheddable.
// The endpoint picker sheds by it, flow control bands by it.

#include <absl/container/flat_hash_map.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "config/model.h"

namespace infergate::pools {

class PoolPriorities {
 public:
  PoolPriorities(const config::Config& config, const config::InferencePool& pool);

  int32_t priority(std::string_view model, std::string_view objective) const;
  bool sheddable(std::string_view model, std::string_view objective) const { return priority(model, objective) < 0; }

 private:
  absl::flat_hash_map<std::string, int32_t> objective_priority_;
  absl::flat_hash_map<std::string, int32_t> model_priority_;
};

}  // namespace infergate::pools
