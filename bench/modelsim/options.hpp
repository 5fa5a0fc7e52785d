// Command-line options of modelsim and their parser.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>
#include <string_view>
#include <variant>

namespace modelsim {

struct Options {
  std::uint16_t port = 8000;  // 0 = let the kernel pick; the chosen port is printed
  std::string address = "127.0.0.1";
  std::string model = "sim-model";
  std::vector<std::string> lora_adapters;  // more model names served (LoRA adapters on the base)
  std::string name;  // empty = "modelsim-<bound port>"; /echo reports it as the pod
  std::string pod_namespace;  // --namespace: /echo's "namespace" (what the echo server of Gateway API tests says)
  bool echo_any_path = false;  // --echo-any-path: a path with no route is answered as /echo is
  unsigned threads = 1;
  unsigned max_num_seqs = 256;
  double ttft_ms = 0;
  double itl_ms = 0;
  unsigned output_tokens = 16;
  std::uint64_t seed = 0;
  // Faults for completions (changeable at run time: POST /modelsim/faults).
  double error_rate = 0;   // share of completions answered 500
  double delay_ms = 0;     // added before each completion starts
  std::uint64_t crash_after = 0;  // 0 = never; else the process dies when completion N+1 arrives
  std::string request_log;  // --request-log FILE: "METHOD TARGET" per request (request_log.hpp); "" = none

  // The continuous-batching engine (off unless one of its flags or a --profile is given; then
  // completions go through engine.hpp instead of the fixed TTFT/ITL model).
  bool engine = false;
  std::string profile;                        // name of the preset applied, empty = none
  double decode_base_ms = 0;                  // step time of a batch of one sequence
  double decode_per_seq_ms = 0;               // added per sequence in the batch
  double prefill_tokens_per_s = 0;            // prefill throughput; 0 = prefill is free
  unsigned max_num_batched_tokens = 8192;     // token budget of one step (chunked prefill)
  unsigned kv_blocks = 16384;                 // paged KV cache size in blocks
  unsigned block_size = 16;                   // tokens per KV block
  bool enable_prefix_caching = true;
  unsigned max_loras = 1;                     // adapters resident at once (vLLM's default)
  double lora_load_ms = 0;                    // cost of placing an adapter in a slot
  bool lora_dynamic = false;                  // unknown model names are adapters registered on use
  unsigned stream_interval = 1;               // engine: tokens per streamed event after the first
  double time_scale = 1;                      // every simulated duration is divided by this
  enum class MetricsFormat { kVllm, kSglang } metrics_format = MetricsFormat::kVllm;
};

// Named presets (--profile); see README.md for where the numbers come from.
struct Profile {
  std::string_view name;
  double decode_base_ms;
  double decode_per_seq_ms;
  double prefill_tokens_per_s;
  unsigned max_num_batched_tokens;
  unsigned kv_blocks;
  double lora_load_ms;
};
std::span<const Profile> profiles();

// What the parser decided: run with options, print help, or fail with a message.
struct HelpRequested {};
struct ArgError {
  std::string message;
};
using ParseResult = std::variant<Options, HelpRequested, ArgError>;

// args excludes argv[0]. Accepts "--flag value" and "--flag=value".
ParseResult parse_options(std::span<const std::string_view> args);

std::string usage_text(std::string_view program);

}  // namespace modelsim
