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

  // The engine's families, rendered only when `engine` is set: without engine flags /metrics
  // shows exactly the six families above.
  bool engine = false;
  bool prefix_caching = true;
  std::uint64_t prefix_queries = 0;  // prompt tokens looked up in the prefix cache
  std::uint64_t prefix_hits = 0;     // of those, found
  std::uint64_t preemptions = 0;
  std::uint32_t block_size = 16;
  std::uint32_t num_gpu_blocks = 0;
  std::uint64_t lora_loads = 0;
  // vllm:lora_requests_info, rendered when `lora` is set (engine with LoRA in use).
  bool lora = false;
  std::uint32_t max_lora = 0;
  std::string running_adapters;  // comma-separated
  std::string waiting_adapters;
  double unix_time = 0;          // the gauge's value, as vLLM sets it
};

enum class MetricsFlavor { kVllm, kSglang };

// Prometheus text format 0.0.4, every sample labelled model_name="<model>" (but
// vllm:cache_config_info and vllm:lora_requests_info, labelled as vLLM does).
std::string render_metrics(const MetricsSnapshot& snapshot, std::string_view model_name,
                           MetricsFlavor flavor = MetricsFlavor::kVllm);

inline constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace modelsim
