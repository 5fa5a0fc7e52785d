#include "bench/modelsim/metrics_text.hpp"

#include <algorithm>
#include <charconv>

namespace modelsim {
namespace {

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

template <typename Number>
void append_family(std::string& out, std::string_view name, std::string_view type,
                   std::string_view help, std::string_view labels, Number value) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
  out += name;
  out += labels;
  out += ' ';
  char digits[32];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
  (void)ec;  // 32 characters hold any uint64 and any shortest-form double
  out.append(digits, end);
  out += '\n';
}


void render_vllm(std::string& out, const MetricsSnapshot& s, const std::string& labels);

void render_sglang(std::string& out, const MetricsSnapshot& s, const std::string& labels) {
  append_family(out, "sglang:num_running_reqs", "gauge", "The number of running requests.", labels, s.running);
  append_family(out, "sglang:num_queue_reqs", "gauge", "The number of requests in the waiting queue.", labels,
                s.waiting);
  append_family(out, "sglang:token_usage", "gauge", "The token usage.", labels,
                std::clamp(s.kv_cache_usage, 0.0, 1.0));
  const double hit_rate =
      s.prefix_queries == 0 ? 0.0 : static_cast<double>(s.prefix_hits) / static_cast<double>(s.prefix_queries);
  append_family(out, "sglang:cache_hit_rate", "gauge", "The prefix cache hit rate.", labels, hit_rate);
  append_family(out, "sglang:prompt_tokens_total", "counter", "Number of prefill tokens processed.", labels,
                s.prompt_tokens);
  append_family(out, "sglang:generation_tokens_total", "counter", "Number of generation tokens processed.",
                labels, s.generation_tokens);
  append_family(out, "sglang:num_requests_total", "counter", "Number of requests processed.", labels,
                s.request_success);
}

void render_engine_vllm(std::string& out, const MetricsSnapshot& s, const std::string& labels) {
  append_family(out, "vllm:prefix_cache_queries_total", "counter",
                "Prefix cache queries, in terms of number of queried tokens.", labels, s.prefix_queries);
  append_family(out, "vllm:prefix_cache_hits_total", "counter",
                "Prefix cache hits, in terms of number of cached tokens.", labels, s.prefix_hits);
  append_family(out, "vllm:num_preemptions_total", "counter", "Cumulative number of preemption from the engine.",
                labels, s.preemptions);
  // Built with append: GCC 12 warns falsely (-Wrestrict) on "literal" + std::string at -O3.
  std::string config = "{block_size=\"";
  config += std::to_string(s.block_size);
  config += "\",cache_dtype=\"auto\",enable_prefix_caching=\"";
  config += s.prefix_caching ? "True" : "False";
  config += "\",gpu_memory_utilization=\"0.9\",num_gpu_blocks=\"";
  config += std::to_string(s.num_gpu_blocks);
  config += "\"}";
  append_family(out, "vllm:cache_config_info", "gauge", "Information of the LLMEngine CacheConfig", config,
                std::uint64_t{1});
  if (s.lora) {
    std::string lora = "{max_lora=\"";
    lora += std::to_string(s.max_lora);
    lora += "\",running_lora_adapters=\"";
    lora += escape_label_value(s.running_adapters);
    lora += "\",waiting_lora_adapters=\"";
    lora += escape_label_value(s.waiting_adapters);
    lora += "\"}";
    append_family(out, "vllm:lora_requests_info", "gauge", "Running stats on lora requests.", lora, s.unix_time);
  }
}

}  // namespace

std::string render_metrics(const MetricsSnapshot& s, std::string_view model_name, MetricsFlavor flavor) {
  std::string labels = "{model_name=\"";
  labels += escape_label_value(model_name);
  labels += "\"}";
  std::string out;
  out.reserve(s.engine ? 3072 : 1536);
  if (flavor == MetricsFlavor::kSglang) {
    render_sglang(out, s, labels);
  } else {
    render_vllm(out, s, labels);
  }
  if (s.engine) {
    append_family(out, "modelsim_lora_loads_total", "counter",
                  "LoRA adapters placed in a GPU slot (modelsim's own counter).", labels, s.lora_loads);
  }
  return out;
}

namespace {

void render_vllm(std::string& out, const MetricsSnapshot& s, const std::string& labels) {
  append_family(out, "vllm:num_requests_running", "gauge",
                "Number of requests in model execution batches.", labels, s.running);
  append_family(out, "vllm:num_requests_waiting", "gauge", "Number of requests waiting to be processed.",
                labels, s.waiting);
  append_family(out, "vllm:kv_cache_usage_perc", "gauge", "KV-cache usage. 1 means 100 percent usage.",
                labels, std::clamp(s.kv_cache_usage, 0.0, 1.0));
  append_family(out, "vllm:prompt_tokens_total", "counter", "Number of prefill tokens processed.",
                labels, s.prompt_tokens);
  append_family(out, "vllm:generation_tokens_total", "counter",
                "Number of generation tokens processed.", labels, s.generation_tokens);
  append_family(out, "vllm:request_success_total", "counter",
                "Count of successfully processed requests.", labels, s.request_success);
  if (s.engine) render_engine_vllm(out, s, labels);
}

}  // namespace

}  // namespace modelsim
