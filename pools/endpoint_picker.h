#pragma once
// The endpoint picker of an InferencePool: which model server answers a request fastest.
//
// Filters, then weighted scorers, as the Inference Extension's scheduler:
//  - eligible: healthy (active checks, scrapes) and not ejected by outlier detection;
//  - saturation: a server whose fresh metrics show a waiting queue >= queueSize or KV-cache
//    use >= kvCacheUsage is left out while any other is not; when every one is saturated a
//    sheddable request (InferenceModel criticality Sheddable, InferenceObjective priority < 0)
//    is shed (429) and any other is placed on the least bad;
//  - LoRA (infergate's profile): for a request naming an adapter, servers with neither the
//    adapter loaded nor a free adapter slot are left out while any other is not (they would
//    evict an adapter or hold the request until a slot frees);
//  - scorers (pools/scorer.h), each 0..1, summed with the weights of the pool's
//    ScoringProfile (pools/scoring_profile.h); each is described in its file under
//    pools/scorers/:
//      queue         the Inference Extension's: the scraped waiting queue, spread over 0..1;
//      inFlight      infergate's instead of queue: the gateway's own in-flight requests (or
//                    the scraped waiting + running when more), damped by two requests;
//      kvCache       1 - KV-cache use;
//      prefixCache   the share of the prompt's leading blocks recently sent to the server
//                    (pools/prefix_index.h);
//      prefill       infergate's: the prefill bytes the server would have ahead of this
//                    prompt (its pending prefill + the prompt less what it has cached);
//      loraAffinity  infergate's: adapter loaded, a free adapter slot, or queued for loading.
// The highest total wins (random among equals); the next two are the fallbacks a failed
// attempt retries on. A pick reads atomics and a lock-free index, allocates nothing (scratch
// space is per thread and reused) and records the prompt's blocks for the primary.

#include <absl/container/flat_hash_set.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/model.h"
#include "pools/endpoint_state.h"
#include "pools/pool_priorities.h"
#include "pools/prefix_index.h"
#include "pools/scoring_profile.h"

namespace infergate::pools {

struct PickRequest {
  std::span<const uint64_t> prefix;  // prefix_block_hashes() of the prompt; empty = none
  uint64_t adapter = 0;              // adapter_hash() of the model forwarded; 0 = unknown
  uint32_t prompt_bytes = 0;         // the prompt's size (prefill it brings, before caching)
  bool sheddable = false;
  EndpointState* exclude = nullptr;  // the endpoint a retry just failed on
  // The pool's flow control: saturation is its (its thresholds, its concurrency limit), so a
  // request it lets through lands where there is room.
  const config::FlowControlConfig* flow = nullptr;
  uint64_t draw = 0;                       // random bits for tie-breaking
};

struct PickResult {
  enum class Outcome : uint8_t { Picked, NoneReady, Shed };
  static constexpr size_t kMaxEndpoints = 3;  // primary + 2 fallbacks
  Outcome outcome = Outcome::NoneReady;
  std::array<EndpointState*, kMaxEndpoints> endpoints{};
  uint8_t count = 0;
  uint32_t prefix_matched = 0;  // leading prompt blocks the primary was sent before
  EndpointState* primary() const { return count ? endpoints[0] : nullptr; }
};

class EndpointPicker {
 public:
  // `pool`'s InferenceModels and InferenceObjectives in `config` decide who is sheddable;
  // their targetModels are known adapters. `index` survives reloads (EndpointRegistry).
  EndpointPicker(const config::PickerSettings& settings, const config::Config& config,
                 const config::InferencePool& pool, std::shared_ptr<PrefixIndex> index);

  PickResult pick(std::span<const std::shared_ptr<EndpointState>> endpoints, const PickRequest& request,
                  int64_t now_ms) const;

  // InferenceModel criticality of the body's model, or InferenceObjective priority of the
  // objective a request names (x-gateway-inference-objective): negative = sheddable.
  bool sheddable(std::string_view model, std::string_view objective) const {
    return priorities_.sheddable(model, objective);
  }

  const config::PickerSettings& settings() const { return settings_; }
  const config::ScorerWeights& weights() const { return weights_; }
  // Whether a scorer reads the prompt: the gateway hashes it into PickRequest::prefix.
  bool wants_prompt() const { return wants_prompt_; }
  uint32_t max_blocks() const { return settings_.prefix_max_blocks; }
  uint32_t block_bytes() const { return settings_.prefix_block_bytes; }
  const PrefixIndex& index() const { return *index_; }

  // The scorer weights a profile uses when the config writes none.
  static config::ScorerWeights profile_weights(config::PickerProfile profile);

 private:
  config::PickerSettings settings_;
  config::ScorerWeights weights_;
  std::chrono::milliseconds stale_after_;
  ScoringProfile profile_;
  bool wants_prompt_;
  std::shared_ptr<PrefixIndex> index_;
  PoolPriorities priorities_;
  absl::flat_hash_set<uint64_t> known_adapters_;
};

}  // namespace infergate::pools
