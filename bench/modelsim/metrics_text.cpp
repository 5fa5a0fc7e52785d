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

}  // namespace

std::string render_metrics(const MetricsSnapshot& s, std::string_view model_name) {
  const std::string labels = "{model_name=\"" + escape_label_value(model_name) + "\"}";
  std::string out;
  out.reserve(1536);
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
  return out;
}

}  // namespace modelsim
