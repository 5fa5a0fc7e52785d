// The vLLM-named Prometheus families a gateway scrapes from a model server.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace modelsim {

struct MetricsSnapshot {
  std::uint64_t running = 0;
  std::uint64_t waiting = 0;
  double kv_cache_usage = 0;  // 0..1
  std::uint64_t prompt_tokens = 0;
  std::uint64_t generation_tokens = 0;
  std::uint64_t request_success = 0;
};

// Prometheus text format 0.0.4, every sample labelled model_name="<model>".
std::string render_metrics(const MetricsSnapshot& snapshot, std::string_view model_name);

inline constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace modelsim
