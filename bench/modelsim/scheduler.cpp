#include "bench/modelsim/scheduler.hpp"

#include <utility>

namespace modelsim {

Scheduler::Scheduler(std::uint32_t max_running, std::unique_ptr<KvCacheModel> kv)
    : max_running_(max_running), kv_(std::move(kv)) {}

bool Scheduler::try_admit(const KvRequest& request) {
  std::lock_guard lock(mutex_);
  if (running_ >= max_running_ || !queue_.empty()) return false;
  ++running_;
  kv_->on_admit(request);
  return true;
}

bool Scheduler::admit_or_wait(const KvRequest& request, Waiter waiter) {
  std::lock_guard lock(mutex_);
  if (running_ < max_running_ && queue_.empty()) {
    ++running_;
    kv_->on_admit(request);
    return true;
  }
  queue_.push_back(Queued{request, std::string(request.prompt_text), std::move(waiter)});
  return false;
}

void Scheduler::release(const KvRequest& request) {
  Waiter next;
  {
    std::lock_guard lock(mutex_);
    kv_->on_release(request);
    --running_;
    if (!queue_.empty() && running_ < max_running_) {
      Queued& head = queue_.front();
      head.request.prompt_text = head.prompt_text;
      ++running_;
      kv_->on_admit(head.request);
      next = std::move(head.waiter);
      queue_.pop_front();
    }
  }
  if (next) next();
}

MetricsSnapshot Scheduler::snapshot() const {
  MetricsSnapshot s;
  {
    std::lock_guard lock(mutex_);
    s.running = running_;
    s.waiting = queue_.size();
    s.kv_cache_usage = kv_->usage();
  }
  s.prompt_tokens = prompt_tokens_.load(std::memory_order_relaxed);
  s.generation_tokens = generation_tokens_.load(std::memory_order_relaxed);
  s.request_success = success_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace modelsim
