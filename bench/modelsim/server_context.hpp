// What every connection and handler on every io thread shares: options, identity, scheduler.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "bench/modelsim/options.hpp"
#include "bench/modelsim/scheduler.hpp"

namespace modelsim {

struct ServerContext {
  ServerContext(Options opts, std::string instance_name);

  const Options options;
  const std::string instance;    // x-modelsim-instance value
  const std::string model_json;  // options.model as a JSON string literal
  const std::int64_t started_at; // unix seconds; "created" of the model list
  Scheduler scheduler;
  std::atomic<std::uint64_t> next_request_id{1};
  // Faults applied to completions, set from the options and by POST /modelsim/faults.
  std::atomic<double> error_rate;
  std::atomic<double> delay_ms;
};

}  // namespace modelsim
