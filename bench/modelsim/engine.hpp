// A continuous-batching engine after vLLM's V1 scheduler, in simulated time. Each step:
// running sequences are scheduled first (a decode token each, or the next chunk of their
// prefill), then waiting ones are admitted in FIFO order while fewer than max_num_seqs run,
// the step's token budget (max_num_batched_tokens, chunked prefill) lasts and KV blocks are
// free; a waiting request whose adapter cannot get a LoRA slot is skipped. A running sequence
// that needs a block when none is free preempts the newest running one (recompute, as vLLM).
// The step's duration comes from StepCost; the caller waits it out (engine_driver.hpp) and
// then commits the step, which hands out the tokens it produced.
// Thread-safe: every public member takes the engine's lock.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "bench/modelsim/kv_block_manager.hpp"
#include "bench/modelsim/lora_slots.hpp"

namespace modelsim {

// step_ms = decode_base + decode_per_seq * sequences in the batch
//         + uncached prompt tokens computed in the step / prefill throughput
//         + lora_load * adapters placed in a slot for the step.
struct StepCost {
  double decode_base_ms = 0;
  double decode_per_seq_ms = 0;
  double prefill_tokens_per_s = 0;  // 0 = prefill costs nothing
  double lora_load_ms = 0;

  double step_ms(std::uint32_t sequences, std::uint64_t prefill_tokens, std::uint32_t lora_loads) const;
};

struct EngineConfig {
  std::uint32_t max_num_seqs = 256;
  std::uint32_t max_num_batched_tokens = 8192;
  std::uint32_t kv_blocks = 16384;
  std::uint32_t block_size = 16;
  bool enable_prefix_caching = true;
  std::uint32_t max_loras = 1;
  StepCost cost;
};

struct SequenceSpec {
  std::string adapter;  // empty = the base model
  std::uint32_t prompt_tokens = 1;
  std::uint32_t max_tokens = 1;
  std::vector<std::uint64_t> block_hashes;  // prompt_block_hashes() of the prompt
};

class Sequence {
 public:
  // generated = output tokens produced so far; finished on the last one.
  using Notify = std::function<void(std::uint32_t generated, bool finished)>;

  explicit Sequence(SequenceSpec s) : spec(std::move(s)) {}

  const SequenceSpec spec;
  // Set before submit(); from then on only the thread that runs plan()/commit() touches it
  // (EngineDriver), and it is cleared once the sequence finished or was cancelled.
  Notify notify;

 private:
  friend class Engine;
  std::uint32_t num_tokens() const { return spec.prompt_tokens + generated_; }

  std::uint32_t computed_ = 0;   // tokens whose KV is computed
  std::uint32_t generated_ = 0;
  std::uint32_t scheduled_ = 0;  // tokens computed by the planned step
  std::uint32_t hashed_ = 0;     // leading blocks registered in the prefix cache
  std::vector<std::uint32_t> blocks_;
  bool holds_lora_ = false;
  bool done_ = false;
  std::atomic<bool> cancelled_{false};
};

struct StepPlan {
  bool idle = true;  // nothing to run: wait for submit()
  double ms = 0;
  std::uint32_t sequences = 0;
  std::uint64_t prefill_tokens = 0;
  std::uint32_t lora_loads = 0;
};

struct StepProgress {
  std::shared_ptr<Sequence> sequence;
  std::uint32_t generated = 0;
  bool finished = false;
};

struct EngineStats {
  std::uint64_t running = 0;
  std::uint64_t waiting = 0;
  double kv_cache_usage = 0;
  std::uint32_t num_blocks = 0;
  std::uint32_t block_size = 0;
  std::uint64_t prefix_queries = 0;  // prompt tokens looked up
  std::uint64_t prefix_hits = 0;     // of those, found cached
  std::uint64_t preemptions = 0;
  std::uint64_t lora_loads = 0;
  std::uint32_t max_loras = 0;
  std::string running_adapters;  // comma-separated, as vllm:lora_requests_info labels
  std::string waiting_adapters;
};

class Engine {
 public:
  explicit Engine(EngineConfig config);

  const EngineConfig& config() const { return config_; }
  // Prompt plus output tokens a request may need at most (the KV cache size in tokens).
  std::uint64_t capacity_tokens() const;

  void submit(std::shared_ptr<Sequence> sequence);
  // The sequence leaves the engine at the next plan(); commit() reports nothing more for it.
  void cancel(const std::shared_ptr<Sequence>& sequence);

  // Decides the next step. Call commit() once its time has passed, before the next plan().
  StepPlan plan();
  std::vector<StepProgress> commit();

  // unload_lora_adapter: the adapter leaves its slot when no running request uses it.
  void evict_adapter(const std::string& name);

  EngineStats stats() const;

 private:
  using SeqPtr = std::shared_ptr<Sequence>;
  void sweep_cancelled();
  void preempt(const SeqPtr& sequence);
  void free_sequence(Sequence& sequence);
  std::uint32_t blocks_for(std::uint32_t tokens) const {
    return (tokens + config_.block_size - 1) / config_.block_size;
  }

  const EngineConfig config_;
  mutable std::mutex mutex_;
  KvBlockManager kv_;
  LoraSlots lora_;
  std::deque<SeqPtr> waiting_;
  std::vector<SeqPtr> running_;   // admission order: the newest is preempted first
  std::vector<SeqPtr> scheduled_; // of the planned step
  bool cancel_pending_ = false;
  std::uint64_t prefix_queries_ = 0;
  std::uint64_t prefix_hits_ = 0;
  std::uint64_t preemptions_ = 0;
};

}  // namespace modelsim
