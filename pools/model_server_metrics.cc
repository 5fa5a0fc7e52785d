#include "pools/model_server_metrics.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>

namespace infergate::pools {

namespace {

enum class Signal { None, Waiting, Running, KvCache, LoraInfo, CacheConfig, TrtRequests, TrtKvBlocks };

Signal signal_of(std::string_view name) {
  // vLLM (v0 and v1 names), SGLang, TensorRT-LLM (Triton's nv_trt_llm_* families).
  if (name == "vllm:num_requests_waiting" || name == "sglang:num_queue_reqs") return Signal::Waiting;
  if (name == "vllm:num_requests_running" || name == "sglang:num_running_reqs") return Signal::Running;
  if (name == "vllm:kv_cache_usage_perc" || name == "vllm:gpu_cache_usage_perc" || name == "sglang:token_usage")
    return Signal::KvCache;
  if (name == "vllm:lora_requests_info") return Signal::LoraInfo;
  if (name == "vllm:cache_config_info") return Signal::CacheConfig;
  if (name == "nv_trt_llm_request_metrics") return Signal::TrtRequests;
  if (name == "nv_trt_llm_kv_cache_block_metrics") return Signal::TrtKvBlocks;
  return Signal::None;
}

struct Label {
  std::string_view name;
  std::string value;  // unescaped
};

// `{a="x",b="y"}` starting at text[0] == '{'; returns the offset after '}' or npos.
size_t parse_labels(std::string_view text, std::vector<Label>& out) {
  size_t i = 1;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == ',')) ++i;
    if (i < text.size() && text[i] == '}') return i + 1;
    const size_t name_start = i;
    while (i < text.size() && text[i] != '=' && text[i] != '}' && text[i] != ' ') ++i;
    if (i + 1 >= text.size() || text[i] != '=' || text[i + 1] != '"') return std::string_view::npos;
    Label l{text.substr(name_start, i - name_start), {}};
    i += 2;
    for (; i < text.size() && text[i] != '"'; ++i) {
      if (text[i] == '\\' && i + 1 < text.size()) {
        ++i;
        l.value.push_back(text[i] == 'n' ? '\n' : text[i]);
      } else {
        l.value.push_back(text[i]);
      }
    }
    if (i >= text.size()) return std::string_view::npos;
    ++i;  // closing quote
    out.push_back(std::move(l));
  }
  return std::string_view::npos;
}

const std::string* label(const std::vector<Label>& labels, std::string_view name) {
  for (const Label& l : labels)
    if (l.name == name) return &l.value;
  return nullptr;
}

std::optional<double> parse_value(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  s = s.substr(0, s.find(' '));  // an optional timestamp follows
  if (s == "NaN" || s == "+Inf" || s == "-Inf" || s.empty()) return std::nullopt;
  double v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::optional<uint32_t> parse_count(const std::string* s) {
  if (!s) return std::nullopt;
  uint32_t v = 0;
  auto [ptr, ec] = std::from_chars(s->data(), s->data() + s->size(), v);
  if (ec != std::errc() || ptr != s->data() + s->size()) return std::nullopt;
  return v;
}

std::vector<std::string> split_adapters(const std::string* s) {
  std::vector<std::string> out;
  if (!s) return out;
  std::string_view rest = *s;
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    std::string_view a = rest.substr(0, comma);
    while (!a.empty() && a.front() == ' ') a.remove_prefix(1);
    while (!a.empty() && a.back() == ' ') a.remove_suffix(1);
    if (!a.empty()) out.emplace_back(a);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return out;
}

// Series of one signal are summed, and the sum stays finite: two series at 1e308 would
// otherwise hand the picker an infinite queue (found by fuzz_model_server_metrics).
void add(std::optional<double>& to, double v) {
  const double sum = to.value_or(0) + v;
  to = std::isfinite(sum) ? sum : std::copysign(std::numeric_limits<double>::max(), sum);
}

}  // namespace

ModelServerSignals parse_model_server_metrics(std::string_view text) {
  ModelServerSignals out;
  std::optional<double> lora_stamp;
  std::optional<double> trt_used, trt_max, trt_fraction;
  std::vector<Label> labels;
  while (!text.empty()) {
    const size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    size_t name_end = 0;
    while (name_end < line.size() && line[name_end] != '{' && line[name_end] != ' ') ++name_end;
    const Signal signal = signal_of(line.substr(0, name_end));
    if (signal == Signal::None) continue;
    labels.clear();
    size_t value_at = name_end;
    if (name_end < line.size() && line[name_end] == '{') {
      value_at = parse_labels(line.substr(name_end), labels);
      if (value_at == std::string_view::npos) {
        ++out.malformed_lines;
        continue;
      }
      value_at += name_end;
    }
    const std::optional<double> value = parse_value(line.substr(value_at));
    if (!value) {
      ++out.malformed_lines;
      continue;
    }
    switch (signal) {
      case Signal::Waiting: add(out.waiting, *value); break;
      case Signal::Running: add(out.running, *value); break;
      case Signal::KvCache: out.kv_cache = std::max(out.kv_cache.value_or(0), *value); break;
      case Signal::LoraInfo:
        // One series per adapter set, valued with the time it was reported: the newest wins.
        if (!lora_stamp || *value >= *lora_stamp) {
          lora_stamp = *value;
          out.max_loras = parse_count(label(labels, "max_lora"));
          out.running_adapters = split_adapters(label(labels, "running_lora_adapters"));
          out.waiting_adapters = split_adapters(label(labels, "waiting_lora_adapters"));
        }
        break;
      case Signal::CacheConfig:
        out.block_size = parse_count(label(labels, "block_size"));
        out.gpu_blocks = parse_count(label(labels, "num_gpu_blocks"));
        break;
      case Signal::TrtRequests:
        if (const std::string* t = label(labels, "request_type")) {
          if (*t == "waiting" || *t == "queued") add(out.waiting, *value);
          else if (*t == "active") add(out.running, *value);
        }
        break;
      case Signal::TrtKvBlocks:
        if (const std::string* t = label(labels, "kv_cache_block_type")) {
          if (*t == "fraction") trt_fraction = *value;
          else if (*t == "used") trt_used = *value;
          else if (*t == "max") trt_max = *value;
        }
        break;
      case Signal::None: break;
    }
  }
  if (!out.kv_cache) {
    if (trt_fraction) out.kv_cache = *trt_fraction;
    else if (trt_used && trt_max && *trt_max > 0 && std::isfinite(*trt_used / *trt_max))
      out.kv_cache = *trt_used / *trt_max;
  }
  return out;
}

}  // namespace infergate::pools
