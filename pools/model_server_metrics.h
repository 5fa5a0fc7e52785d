#pragma once
// What a model server's Prometheus /metrics says about its load: the signals the endpoint
// picker scores on and the pool gauges average. Names of vLLM, SGLang and TensorRT-LLM on
// Triton are mapped to one set (the Inference Extension's mapping); several series of one
// name (one per model_name, say) are added up.
//
// The text is read line by line without building a model of it: only the families below are
// looked at, anything else is skipped. Malformed lines are skipped and counted, never fatal.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace infergate::pools {

struct ModelServerSignals {
  std::optional<double> waiting;   // requests queued (vllm:num_requests_waiting, sglang:num_queue_reqs)
  std::optional<double> running;   // requests being decoded
  std::optional<double> kv_cache;  // KV-cache use 0..1 (vllm:kv_cache_usage_perc, sglang:token_usage)
  // vllm:lora_requests_info (the series with the newest timestamp value).
  std::optional<uint32_t> max_loras;
  std::vector<std::string> running_adapters, waiting_adapters;
  // vllm:cache_config_info
  std::optional<uint32_t> block_size, gpu_blocks;
  uint32_t malformed_lines = 0;

  // Nothing the picker can use was found: not a model server we know.
  bool empty() const { return !waiting && !running && !kv_cache; }
};

ModelServerSignals parse_model_server_metrics(std::string_view text);

}  // namespace infergate::pools
