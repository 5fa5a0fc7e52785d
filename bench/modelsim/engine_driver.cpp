#include "bench/modelsim/engine_driver.hpp"

#include <algorithm>

#include <boost/asio/post.hpp>

namespace modelsim {

EngineDriver::EngineDriver(boost::asio::any_io_executor executor, EngineConfig config, double time_scale,
                           const std::atomic<std::int64_t>& stall_until_ns)
    : engine_(std::move(config)),
      executor_(executor),
      timer_(executor),
      time_scale_(time_scale > 0 ? time_scale : 1.0),
      stall_until_ns_(stall_until_ns) {}

void EngineDriver::submit(std::shared_ptr<Sequence> sequence) {
  engine_.submit(std::move(sequence));
  boost::asio::post(executor_, [this] { wake(); });
}

void EngineDriver::cancel(const std::shared_ptr<Sequence>& sequence) {
  engine_.cancel(sequence);
  boost::asio::post(executor_, [this] { wake(); });
}

void EngineDriver::wake() {
  if (active_) return;
  active_ = true;
  plan_next(false);
}

void EngineDriver::plan_next(bool back_to_back) {
  const StepPlan plan = engine_.plan();
  if (plan.idle) {
    active_ = false;
    return;
  }
  // A step starts where the previous one ended, so timer lateness does not add up (unless it
  // is far behind: then from now).
  const auto now = Clock::now();
  const auto duration = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double, std::milli>(plan.ms / time_scale_));
  const bool keep_pace = back_to_back && now - step_end_ < std::chrono::milliseconds(5);
  step_end_ = (keep_pace ? step_end_ : now) + duration;
  timer_.expires_at(step_end_);
  timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) end_step();
  });
}

void EngineDriver::end_step() {
  const Clock::time_point stalled_until(
      std::chrono::nanoseconds(stall_until_ns_.load(std::memory_order_relaxed)));
  if (stalled_until > Clock::now()) {
    step_end_ = stalled_until;
    timer_.expires_at(stalled_until);
    timer_.async_wait([this](boost::system::error_code ec) {
      if (!ec) end_step();
    });
    return;
  }
  for (StepProgress& p : engine_.commit()) {
    if (!p.sequence->notify) continue;
    p.sequence->notify(p.generated, p.finished);
    if (p.finished) p.sequence->notify = nullptr;
  }
  plan_next(true);
}

}  // namespace modelsim
