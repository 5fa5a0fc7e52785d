#include "bench/modelsim/engine.hpp"

#include <algorithm>
#include <set>

namespace modelsim {

double StepCost::step_ms(std::uint32_t sequences, std::uint64_t prefill_tokens, std::uint32_t lora_loads) const {
  if (sequences == 0) return 0;
  double ms = decode_base_ms + decode_per_seq_ms * sequences + lora_load_ms * lora_loads;
  if (prefill_tokens_per_s > 0) ms += static_cast<double>(prefill_tokens) * 1000.0 / prefill_tokens_per_s;
  return ms;
}

Engine::Engine(EngineConfig config)
    : config_([&] {
        config.block_size = std::max<std::uint32_t>(1, config.block_size);
        config.max_num_seqs = std::max<std::uint32_t>(1, config.max_num_seqs);
        config.max_num_batched_tokens = std::max<std::uint32_t>(1, config.max_num_batched_tokens);
        return config;
      }()),
      kv_(config_.kv_blocks, config_.block_size),
      lora_(config_.max_loras) {}

std::uint64_t Engine::capacity_tokens() const { return std::uint64_t{kv_.num_blocks()} * kv_.block_size(); }

void Engine::submit(std::shared_ptr<Sequence> sequence) {
  std::lock_guard lock(mutex_);
  waiting_.push_back(std::move(sequence));
}

void Engine::cancel(const std::shared_ptr<Sequence>& sequence) {
  std::lock_guard lock(mutex_);
  sequence->cancelled_.store(true, std::memory_order_relaxed);
  cancel_pending_ = true;
}

void Engine::free_sequence(Sequence& s) {
  kv_.release(s.blocks_);
  s.blocks_.clear();
  s.hashed_ = 0;
  s.computed_ = 0;
  if (s.holds_lora_) {
    lora_.release(s.spec.adapter);
    s.holds_lora_ = false;
  }
}

void Engine::sweep_cancelled() {
  if (!cancel_pending_) return;
  cancel_pending_ = false;
  auto gone = [this](const SeqPtr& s) {
    if (!s->cancelled_.load(std::memory_order_relaxed)) return false;
    free_sequence(*s);
    s->done_ = true;
    s->notify = nullptr;  // breaks the sequence -> run reference
    return true;
  };
  std::erase_if(running_, gone);
  std::erase_if(waiting_, gone);
}

void Engine::preempt(const SeqPtr& s) {
  free_sequence(*s);
  s->scheduled_ = 0;
  waiting_.push_front(s);
  ++preemptions_;
}

StepPlan Engine::plan() {
  std::lock_guard lock(mutex_);
  sweep_cancelled();
  scheduled_.clear();
  StepPlan plan;
  std::uint32_t budget = config_.max_num_batched_tokens;
  bool preempted = false;

  // Running sequences first, oldest first.
  for (std::size_t i = 0; i < running_.size() && budget > 0; ++i) {
    const SeqPtr s = running_[i];
    const std::uint32_t n = std::min(s->num_tokens() - s->computed_, budget);
    if (n == 0) continue;
    const std::uint32_t need = blocks_for(s->computed_ + n);
    const std::uint32_t have = static_cast<std::uint32_t>(s->blocks_.size());
    bool self_preempted = false;
    while (need > have && !kv_.allocate(need - have, s->blocks_)) {
      SeqPtr victim = running_.back();
      running_.pop_back();
      preempt(victim);
      preempted = true;
      if (victim == s) {
        self_preempted = true;
        break;
      }
    }
    if (self_preempted) break;
    s->scheduled_ = n;
    budget -= n;
    const bool decode = s->generated_ > 0 && n == 1;  // its cost is decode_per_seq
    if (!decode) plan.prefill_tokens += n;
    scheduled_.push_back(s);
  }

  // Then waiting ones, FIFO (vLLM admits none in a step that had to preempt).
  for (std::size_t j = 0; !preempted && j < waiting_.size() && budget > 0 &&
                          running_.size() < config_.max_num_seqs;) {
    const SeqPtr s = waiting_[j];
    const bool wants_lora = !s->spec.adapter.empty();
    if (wants_lora && !lora_.can_acquire(s->spec.adapter)) {
      ++j;  // every slot serves running requests: later requests may still go
      continue;
    }
    const std::uint32_t tokens = s->num_tokens();
    // The last prompt token is always computed (its logits give the first output token).
    const std::uint32_t max_hits = config_.enable_prefix_caching ? (tokens - 1) / config_.block_size : 0;
    const std::uint32_t hits_expected =
        std::min(kv_.count_hits(s->spec.block_hashes), max_hits);
    const std::uint32_t computed = hits_expected * config_.block_size;
    const std::uint32_t n = std::min(tokens - computed, budget);
    const std::uint32_t fresh = blocks_for(computed + n) - hits_expected;
    std::uint32_t hits = 0;
    if (!kv_.allocate_prompt(s->spec.block_hashes, max_hits, fresh, s->blocks_, hits)) break;  // KV full
    if (wants_lora) {
      if (lora_.acquire(s->spec.adapter) == LoraSlots::Result::kLoaded) ++plan.lora_loads;
      s->holds_lora_ = true;
    }
    prefix_queries_ += tokens;
    prefix_hits_ += computed;
    s->computed_ = computed;
    s->hashed_ = hits;
    s->scheduled_ = n;
    budget -= n;
    plan.prefill_tokens += n;
    running_.push_back(s);
    scheduled_.push_back(s);
    waiting_.erase(waiting_.begin() + static_cast<std::ptrdiff_t>(j));
  }

  plan.sequences = static_cast<std::uint32_t>(scheduled_.size());
  plan.idle = scheduled_.empty();
  plan.ms = config_.cost.step_ms(plan.sequences, plan.prefill_tokens, plan.lora_loads);
  return plan;
}

std::vector<StepProgress> Engine::commit() {
  std::lock_guard lock(mutex_);
  std::vector<StepProgress> progress;
  progress.reserve(scheduled_.size());
  bool any_done = false;
  for (const SeqPtr& s : scheduled_) {
    if (s->done_ || s->cancelled_.load(std::memory_order_relaxed) || s->scheduled_ == 0) continue;
    s->computed_ += s->scheduled_;
    s->scheduled_ = 0;
    if (config_.enable_prefix_caching) {
      const std::uint32_t full = std::min<std::uint32_t>(
          s->computed_ / config_.block_size, static_cast<std::uint32_t>(s->spec.block_hashes.size()));
      for (std::uint32_t b = s->hashed_; b < full && b < s->blocks_.size(); ++b) {
        kv_.cache_block(s->blocks_[b], s->spec.block_hashes[b]);
      }
      s->hashed_ = std::max(s->hashed_, full);
    }
    if (s->computed_ < s->num_tokens()) continue;  // prefill goes on next step
    ++s->generated_;
    const bool finished = s->generated_ >= s->spec.max_tokens;
    progress.push_back({s, s->generated_, finished});
    if (finished) {
      free_sequence(*s);
      s->done_ = true;
      any_done = true;
    }
  }
  scheduled_.clear();
  if (any_done) std::erase_if(running_, [](const SeqPtr& s) { return s->done_; });
  return progress;
}

void Engine::evict_adapter(const std::string& name) {
  std::lock_guard lock(mutex_);
  lora_.evict_if_idle(name);
}

EngineStats Engine::stats() const {
  std::lock_guard lock(mutex_);
  EngineStats s;
  s.running = running_.size();
  s.waiting = waiting_.size();
  s.kv_cache_usage = kv_.usage();
  s.num_blocks = kv_.num_blocks();
  s.block_size = kv_.block_size();
  s.prefix_queries = prefix_queries_;
  s.prefix_hits = prefix_hits_;
  s.preemptions = preemptions_;
  s.lora_loads = lora_.loads();
  s.max_loras = lora_.max_slots();
  auto join = [](const auto& seqs) {
    std::set<std::string> names;
    for (const SeqPtr& q : seqs) {
      if (!q->spec.adapter.empty()) names.insert(q->spec.adapter);
    }
    std::string out;
    for (const std::string& n : names) {
      if (!out.empty()) out += ',';
      out += n;
    }
    return out;
  };
  s.running_adapters = join(running_);
  s.waiting_adapters = join(waiting_);
  return s;
}

}  // namespace modelsim
