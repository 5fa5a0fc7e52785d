// What every connection and handler on every io thread shares: options, identity, scheduler,
// the registered LoRA adapters, the engine (when enabled) and the faults in force.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "bench/modelsim/options.hpp"
#include "bench/modelsim/request_log.hpp"
#include "bench/modelsim/scheduler.hpp"

namespace modelsim {

class EngineDriver;

// LoRA adapters served next to the base model: --lora names, POST /v1/load_lora_adapter, and
// with --lora-dynamic any unknown name on first use.
class AdapterRegistry {
 public:
  struct Adapter {
    std::string name;
    std::string path;
  };
  AdapterRegistry(const std::vector<std::string>& names, bool dynamic);

  // Whether `name` is served (registering it when dynamic).
  bool serves(const std::string& name);
  bool add(const std::string& name, const std::string& path);  // false: already there
  bool remove(const std::string& name);                        // false: not there
  std::vector<Adapter> list() const;
  bool any() const;  // an adapter was ever registered or --lora-dynamic

 private:
  const bool dynamic_;
  mutable std::mutex mutex_;
  std::vector<Adapter> adapters_;
  bool ever_ = false;
};

struct ServerContext {
  ServerContext(Options opts, std::string instance_name);
  ~ServerContext();

  const Options options;
  const std::string instance;    // x-modelsim-instance value
  const std::string model_json;  // options.model as a JSON string literal
  const std::int64_t started_at; // unix seconds; "created" of the model list
  Scheduler scheduler;
  AdapterRegistry adapters;
  std::unique_ptr<EngineDriver> engine;  // null: the fixed TTFT/ITL model (no --engine flags)
  std::unique_ptr<RequestLog> request_log;  // null: no --request-log
  std::atomic<std::uint64_t> next_request_id{1};
  // Faults applied to completions, set from the options and by POST /modelsim/faults.
  std::atomic<double> error_rate;
  std::atomic<double> delay_ms;
  std::atomic<std::uint64_t> crash_after;       // 0 = never
  std::atomic<std::uint64_t> completions_seen{0};
  // Steady-clock time (ns since its epoch) until which the server neither answers nor
  // generates; 0 = not stalled.
  std::atomic<std::int64_t> stall_until_ns{0};
  // What GET /health answers (a gateway's active health check sees it); 0 = 200 as usual.
  std::atomic<int> health_status{0};

  std::chrono::steady_clock::time_point stall_until() const {
    return std::chrono::steady_clock::time_point(
        std::chrono::nanoseconds(stall_until_ns.load(std::memory_order_relaxed)));
  }
};

}  // namespace modelsim
