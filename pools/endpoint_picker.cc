#include "pools/endpoint_picker.h"

#include <algorithm>

#include "pools/flow_control.h"

namespace infergate::pools {

namespace {

// Per-thread scratch, grown to the largest pool seen and reused by every pick.
struct Scratch {
  std::vector<EndpointState*> candidates;
  std::vector<uint32_t> ids, matched;
  std::vector<double> work, score;  // work: each scorer's in turn (ScoringInput)
  std::vector<uint8_t> saturated;
  void resize(size_t n) {
    candidates.resize(n);
    ids.resize(n);
    matched.resize(n);
    work.resize(n);
    score.resize(n);
    saturated.resize(n);
  }
};

// Cheap per-candidate jitter far below any score step: breaks ties at random.
double jitter(uint64_t draw, size_t i) {
  uint64_t x = draw ^ (0x9E3779B97F4A7C15ull * (i + 1));
  x ^= x >> 31;
  x *= 0xBF58476D1CE4E5B9ull;
  x ^= x >> 29;
  return static_cast<double>(x >> 11) * 0x1.0p-53 * 1e-9;
}

}  // namespace

config::ScorerWeights EndpointPicker::profile_weights(config::PickerProfile profile) {
  return ScoringProfile::profile_weights(profile);
}

EndpointPicker::EndpointPicker(const config::PickerSettings& settings, const config::Config& config,
                               const config::InferencePool& pool, std::shared_ptr<PrefixIndex> index)
    : settings_(settings),
      weights_(settings.weights.value_or(profile_weights(settings.profile))),
      stale_after_(config.gateway.model_server_metrics.stale_after),
      profile_(ScoringProfile::from(settings)),
      wants_prompt_(profile_.reads_prompt()),
      index_(std::move(index)),
      priorities_(config, pool) {
  for (const auto& m : config.inference_models) {
    if (m.pool_ref.ns != pool.meta.ns || m.pool_ref.name != pool.meta.name) continue;
    for (const auto& t : m.target_models) known_adapters_.insert(adapter_hash(t.name));
  }
  for (const auto& rw : config.model_rewrites) {
    if (rw.pool_ref.ns != pool.meta.ns || rw.pool_ref.name != pool.meta.name) continue;
    for (const auto& rule : rw.rules)
      for (const auto& t : rule.targets) known_adapters_.insert(adapter_hash(t.model_rewrite));
  }
}

PickResult EndpointPicker::pick(std::span<const std::shared_ptr<EndpointState>> endpoints,
                                const PickRequest& request, int64_t now_ms) const {
  thread_local Scratch s;
  if (s.candidates.size() < endpoints.size()) s.resize(endpoints.size());
  PickResult result;

  // Filter: eligible, avoiding the one a retry failed on while any other is left.
  size_t n = 0;
  for (const auto& ep : endpoints)
    if (ep->eligible(now_ms) && ep.get() != request.exclude) s.candidates[n++] = ep.get();
  if (n == 0 && request.exclude && request.exclude->eligible(now_ms)) s.candidates[n++] = request.exclude;
  if (n == 0) return result;

  // Saturation, on fresh metrics only (stale or missing ones say nothing).
  size_t unsaturated = 0;
  for (size_t i = 0; i < n; ++i) {
    const EndpointState& ep = *s.candidates[i];
    const int64_t at = ep.scraped_at_ms.load(std::memory_order_relaxed);
    const bool fresh = at > 0 && now_ms - at <= stale_after_.count();
    s.saturated[i] = request.flow ? FlowQueue::endpoint_room(*request.flow, ep, now_ms, stale_after_.count()) == 0
                                  : fresh && (ep.queue_size.load(std::memory_order_relaxed) >= settings_.queue_threshold ||
                                              ep.kv_cache_usage.load(std::memory_order_relaxed) >= settings_.kv_cache_threshold);
    unsaturated += !s.saturated[i];
  }
  if (unsaturated == 0 && request.sheddable) {
    result.outcome = PickResult::Outcome::Shed;
    return result;
  }
  if (unsaturated > 0 && unsaturated < n) {
    size_t kept = 0;
    for (size_t i = 0; i < n; ++i)
      if (!s.saturated[i]) s.candidates[kept++] = s.candidates[i];
    n = kept;
  }

  // LoRA: an adapter counts as one when an InferenceModel targets it or some server lists it.
  // A server with neither the adapter nor a free slot would evict another adapter, or make
  // the request wait until a slot frees (a whole answer's time): while any server has one
  // or the other, those servers are left out.
  bool adapter = false;
  if (weights_.lora_affinity > 0 && request.adapter) {
    adapter = known_adapters_.contains(request.adapter);
    for (size_t i = 0; i < n && !adapter; ++i)
      adapter = s.candidates[i]->adapter(request.adapter) != AdapterPresence::Absent;
  }
  if (adapter) {
    size_t kept = 0;
    for (size_t i = 0; i < n; ++i) {
      EndpointState* ep = s.candidates[i];
      if (ep->adapter(request.adapter) == AdapterPresence::Loaded || ep->adapter_slot_free()) s.candidates[kept++] = ep;
    }
    if (kept > 0) n = kept;
  }

  // The prompt's blocks each candidate was sent before, looked up once: the profile's scorers
  // that read the prompt share them, the result reports the primary's, and the index then
  // records the prompt for the primary.
  const bool prefix = wants_prompt_ && !request.prefix.empty();
  if (prefix) {
    for (size_t i = 0; i < n; ++i) s.ids[i] = s.candidates[i]->id;
    index_->match(request.prefix, std::span(s.ids.data(), n), std::span(s.matched.data(), n));
  }

  // The profile's scorers, summed; then a jitter far below any score step breaks ties.
  ScoringInput in;
  in.candidates = std::span<const EndpointState* const>(s.candidates.data(), n);
  if (prefix) in.matched = std::span<const uint32_t>(s.matched.data(), n);
  in.prompt_blocks = request.prefix.size();
  in.prompt_bytes = request.prompt_bytes;
  in.block_bytes = settings_.prefix_block_bytes;
  in.adapter = adapter ? request.adapter : 0;
  profile_.score(in, std::span(s.work.data(), n), std::span(s.score.data(), n));
  for (size_t i = 0; i < n; ++i) s.score[i] += jitter(request.draw, i);

  // The best three, best first.
  for (size_t k = 0; k < PickResult::kMaxEndpoints && k < n; ++k) {
    size_t best = k;
    for (size_t i = k + 1; i < n; ++i)
      if (s.score[i] > s.score[best]) best = i;
    std::swap(s.score[k], s.score[best]);
    std::swap(s.candidates[k], s.candidates[best]);
    std::swap(s.matched[k], s.matched[best]);
    result.endpoints[result.count++] = s.candidates[k];
  }
  if (prefix) result.prefix_matched = s.matched[0];
  result.outcome = PickResult::Outcome::Picked;
  if (prefix) index_->record(request.prefix, result.endpoints[0]->id);
  return result;
}

}  // namespace infergate::pools
