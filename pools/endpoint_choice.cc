#include "pools/endpoint_choice.h"

#include <algorithm>
#include <vector>

#include "pools/prefix_index.h"

namespace infergate::pools {

EndpointChoice::Result EndpointChoice::next(const Cluster& cluster, const Request& request, int64_t now_ms) {
  Result r;
  if (!cluster.picker && !picked_.count) {
    current_ = cluster.pick(request.lb_draw, current_, now_ms);
    r.endpoint = current_;
    r.decision = current_ ? Decision::Balanced : Decision::NoEndpoint;
    return r;
  }
  r.by_picker = true;
  while (next_fallback_ < picked_.count) {
    const bool primary = next_fallback_ == 0;  // the external picker's choice
    EndpointState* ep = picked_.endpoints[next_fallback_++];
    if (ep != current_ && ep->eligible(now_ms)) {
      current_ = ep;
      r.endpoint = ep;
      r.decision = primary ? Decision::Picked : Decision::Fallback;
      return r;
    }
  }
  if (!cluster.picker) {  // an external pick ran out: the cluster's load balancer
    current_ = cluster.pick(request.pick_draw, current_, now_ms);
    r.endpoint = current_;
    r.decision = current_ ? Decision::Balanced : Decision::NoEndpoint;
    return r;
  }
  const EndpointPicker& picker = *cluster.picker;
  const std::string_view model = request.forwarded_model.empty() ? request.requested_model : request.forwarded_model;
  PickRequest rq;
  rq.exclude = current_;
  rq.prompt_bytes = prompt_bytes_;
  rq.draw = request.pick_draw;
  if (!model.empty()) rq.adapter = adapter_hash(model);
  // Under flow control a request waits for room instead of being shed: once it is let
  // through, the picker places it.
  rq.sheddable = !cluster.flow && picker.sheddable(request.requested_model, request.objective);
  if (cluster.flow) rq.flow = &cluster.flow->settings;
  thread_local std::vector<uint64_t> hashes;
  if (picker.wants_prompt() && !current_ && !request.prompt.empty()) {
    prompt_bytes_ = static_cast<uint32_t>(std::min<size_t>(request.prompt.size(), UINT32_MAX));
    hashes.resize(picker.max_blocks());
    rq.prefix = std::span(hashes.data(), prefix_block_hashes(model, request.prompt, picker.block_bytes(), hashes));
  }
  picked_ = picker.pick(cluster.endpoints, rq, now_ms);
  next_fallback_ = 1;
  switch (picked_.outcome) {
    case PickResult::Outcome::Shed:
      r.decision = Decision::Shed;
      return r;
    case PickResult::Outcome::NoneReady:
      r.decision = Decision::NoEndpoint;
      return r;
    case PickResult::Outcome::Picked:
      break;
  }
  current_ = picked_.primary();
  r.endpoint = current_;
  r.decision = Decision::Picked;
  r.prefix_blocks = static_cast<uint32_t>(rq.prefix.size());
  r.prefix_hits = rq.prefix.empty() ? 0 : picked_.prefix_matched;
  return r;
}

size_t EndpointChoice::accept_external(const Cluster& cluster, std::span<const std::string> keys, int64_t now_ms) {
  PickResult picked;
  for (const std::string& want : keys) {
    for (const auto& ep : cluster.endpoints) {
      if (picked.count == picked.endpoints.size()) break;
      if (ep->key() == want && ep->eligible(now_ms)) picked.endpoints[picked.count++] = ep.get();
    }
  }
  if (picked.count == 0) return 0;
  picked.outcome = PickResult::Outcome::Picked;
  picked_ = picked;
  next_fallback_ = 0;
  return picked.count;
}

void EndpointChoice::attempt_started(const Cluster& cluster, bool held) {
  if (!current_) return;
  if (held) {
    held_on_ = current_;
    held_generation_ = current_->scrape_generation.load(std::memory_order_relaxed);
    current_->held_since_scrape.fetch_add(1, std::memory_order_relaxed);
  }
  if (!cluster.picker) return;
  const size_t block = cluster.picker->block_bytes();
  const uint64_t cached = current_ == picked_.primary() ? uint64_t{picked_.prefix_matched} * block : 0;
  prefill_charge_ = cached >= prompt_bytes_ ? 0 : static_cast<int64_t>(prompt_bytes_ - cached);
  if (prefill_charge_ == 0) return;
  prefill_on_ = current_;
  prefill_on_->add_prefill(prefill_charge_);
}

void EndpointChoice::attempt_answered() {
  if (held_on_) {
    // A scrape since the attempt started counted it (or not) in the server's own queue.
    if (held_on_->scrape_generation.load(std::memory_order_relaxed) == held_generation_)
      held_on_->held_since_scrape.fetch_sub(1, std::memory_order_relaxed);
    held_on_ = nullptr;
  }
  if (!prefill_on_) return;
  prefill_on_->remove_prefill(prefill_charge_);
  prefill_on_ = nullptr;
}

}  // namespace infergate::pools
