// Admission of completions: at most max_running run at once, the rest wait FIFO. Shared by all
// io threads (a mutex: uncontended with one thread). Also holds the counters /metrics shows.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>

#include "bench/modelsim/kv_cache_model.hpp"
#include "bench/modelsim/metrics_text.hpp"

namespace modelsim {

class Scheduler {
 public:
  // Runs when a queued request gets its slot, on the thread that freed it: callers post it
  // to their own executor.
  using Waiter = std::function<void()>;

  Scheduler(std::uint32_t max_running, std::unique_ptr<KvCacheModel> kv);

  // Takes a slot if one is free and nobody waits.
  bool try_admit(const KvRequest& request);
  // Takes a slot now (returns true, waiter dropped) or queues the waiter (returns false).
  bool admit_or_wait(const KvRequest& request, Waiter waiter);
  // Frees the slot of a running request and hands it to the oldest waiter.
  void release(const KvRequest& request);

  void add_prompt_tokens(std::uint64_t n) { prompt_tokens_.fetch_add(n, std::memory_order_relaxed); }
  void add_generation_tokens(std::uint64_t n) {
    generation_tokens_.fetch_add(n, std::memory_order_relaxed);
  }
  void add_success() { success_.fetch_add(1, std::memory_order_relaxed); }

  MetricsSnapshot snapshot() const;

 private:
  struct Queued {
    KvRequest request;  // prompt_text is dropped: it does not outlive the call
    std::string prompt_text;
    Waiter waiter;
  };

  const std::uint32_t max_running_;
  mutable std::mutex mutex_;
  std::unique_ptr<KvCacheModel> kv_;
  std::uint32_t running_ = 0;
  std::deque<Queued> queue_;
  std::atomic<std::uint64_t> prompt_tokens_{0};
  std::atomic<std::uint64_t> generation_tokens_{0};
  std::atomic<std::uint64_t> success_{0};
};

}  // namespace modelsim
