// Runs an Engine in real time: plans a step, waits its simulated duration (divided by
// --time-scale) on a timer, commits it and hands each sequence its new tokens through
// Sequence::notify, then plans the next one; sleeps while the engine is idle. A stall
// (POST /modelsim/faults {"stall_ms": D}) holds the step in progress until it ends.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include "bench/modelsim/engine.hpp"

namespace modelsim {

class EngineDriver {
 public:
  // stall_until_ns: steady-clock nanoseconds (see ServerContext), read before each commit.
  EngineDriver(boost::asio::any_io_executor executor, EngineConfig config, double time_scale,
               const std::atomic<std::int64_t>& stall_until_ns);

  Engine& engine() { return engine_; }
  const Engine& engine() const { return engine_; }

  // From any thread.
  void submit(std::shared_ptr<Sequence> sequence);
  void cancel(const std::shared_ptr<Sequence>& sequence);

 private:
  using Clock = std::chrono::steady_clock;
  void wake();
  void plan_next(bool back_to_back);
  void end_step();

  Engine engine_;
  boost::asio::any_io_executor executor_;
  boost::asio::steady_timer timer_;
  const double time_scale_;
  const std::atomic<std::int64_t>& stall_until_ns_;
  bool active_ = false;  // a step is planned or in progress (executor only)
  Clock::time_point step_end_{};
};

}  // namespace modelsim
