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
//  - scorers, each 0..1, summed with the profile's weights:
//      queue        the Inference Extension: (max - q) / (max - min) over the candidates (1
//                   when all are equal), q = the scraped waiting queue. infergate:
//                   1 - (q - min) / (max - min + 2), q = max(the gateway's own in-flight
//                   requests to the server, scraped waiting + running): it moves with every
//                   pick instead of every 50 ms scrape, and a difference of a request or two
//                   does not outweigh a prefix-cache hit;
//      kv-cache     1 - KV-cache use;
//      prefix-cache the share of the prompt's leading blocks recently sent to the server
//                   (pools/prefix_index.h);
//      lora         1 the adapter is loaded, 0.8 a free adapter slot, 0.6 the adapter is
//                   queued for loading there, 0 otherwise (infergate's profile; neutral for
//                   a model no server lists as an adapter and no InferenceModel targets);
//      prefill      infergate's: p = the prefill bytes the server still has ahead of it
//                   (EndpointState::prefill_bytes) + this prompt's bytes it is not expected
//                   to have cached; 1 - (p - min) / (max - min + 1024). Time to first token
//                   is the prefill in front of a request, which in-flight counts (mostly
//                   decodes) do not show.
// The highest total wins (random among equals); the next two are the fallbacks a failed
// attempt retries on. A pick reads atomics and a lock-free index, allocates nothing (scratch
// space is per thread and reused) and records the prompt's blocks for the primary.

#include <absl/container/flat_hash_map.h>
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
#include "pools/prefix_index.h"

namespace infergate::pools {

struct PickRequest {
  std::span<const uint64_t> prefix;  // prefix_block_hashes() of the prompt; empty = none
  uint64_t adapter = 0;              // adapter_hash() of the model forwarded; 0 = unknown
  uint32_t prompt_bytes = 0;         // the prompt's size (prefill it brings, before caching)
  bool sheddable = false;
  EndpointState* exclude = nullptr;  // the endpoint a retry just failed on
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
  bool sheddable(std::string_view model, std::string_view objective) const;

  const config::PickerSettings& settings() const { return settings_; }
  const config::ScorerWeights& weights() const { return weights_; }
  bool wants_prompt() const { return weights_.prefix_cache > 0 || weights_.prefill > 0; }
  uint32_t max_blocks() const { return settings_.prefix_max_blocks; }
  uint32_t block_bytes() const { return settings_.prefix_block_bytes; }
  const PrefixIndex& index() const { return *index_; }

  // The scorer weights a profile uses when the config writes none.
  static config::ScorerWeights profile_weights(config::PickerProfile profile);

 private:
  config::PickerSettings settings_;
  config::ScorerWeights weights_;
  std::chrono::milliseconds stale_after_;
  bool own_load_;  // infergate's queue signal (in-flight) rather than the scraped queue
  std::shared_ptr<PrefixIndex> index_;
  absl::flat_hash_set<std::string> sheddable_models_;
  absl::flat_hash_map<std::string, int32_t> objective_priority_;
  absl::flat_hash_set<uint64_t> known_adapters_;
};

}  // namespace infergate::pools
