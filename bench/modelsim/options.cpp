#include "bench/modelsim/options.hpp"

#include <charconv>
#include <cmath>
#include <limits>
#include <optional>

namespace modelsim {
namespace {

template <typename T>
std::optional<T> parse_unsigned(std::string_view text, T min, T max) {
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value < min || value > max) {
    return std::nullopt;
  }
  return static_cast<T>(value);
}

std::optional<double> parse_in_range(std::string_view text, double max) {
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || !std::isfinite(value) || value < 0 || value > max) {
    return std::nullopt;
  }
  return value;
}

std::optional<double> parse_millis(std::string_view text) { return parse_in_range(text, 3600.0 * 1000.0); }
std::optional<double> parse_fraction(std::string_view text) { return parse_in_range(text, 1.0); }

constexpr Profile kProfiles[] = {
    // name              base  per-seq prefill/s  batched  blocks  lora-load
    {"llama3-8b-h100",   6.5,  0.06,   20000,     8192,    25000,  100},
    {"llama3-8b-a100",   10.5, 0.12,   8000,      8192,    25000,  100},
};

// Flags that take no value.
bool is_switch(std::string_view flag) {
  return flag == "--engine" || flag == "--lora-dynamic" || flag == "--no-prefix-caching" || flag == "--echo-any-path";
}

}  // namespace

std::span<const Profile> profiles() { return kProfiles; }

ParseResult parse_options(std::span<const std::string_view> args) {
  Options options;
  bool decode_base_given = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view flag = args[i];
    if (flag == "--help" || flag == "-h") return HelpRequested{};
    std::optional<std::string_view> inline_value;
    if (auto eq = flag.find('='); flag.starts_with("--") && eq != std::string_view::npos) {
      inline_value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
    }
    auto take_value = [&]() -> std::optional<std::string_view> {
      if (inline_value) return inline_value;
      if (i + 1 >= args.size()) return std::nullopt;
      return args[++i];
    };
    auto bad = [&](std::string_view what) {
      return ArgError{std::string(flag) + ": " + std::string(what)};
    };
    const bool known = flag == "--port" || flag == "--address" || flag == "--model" ||
                       flag == "--name" || flag == "--threads" || flag == "--max-num-seqs" ||
                       flag == "--ttft-ms" || flag == "--itl-ms" || flag == "--output-tokens" ||
                       flag == "--seed" || flag == "--error-rate" || flag == "--delay-ms" || flag == "--lora" ||
                       flag == "--crash-after" || flag == "--profile" || flag == "--decode-base-ms" ||
                       flag == "--decode-per-seq-ms" || flag == "--prefill-tokens-per-s" ||
                       flag == "--max-num-batched-tokens" || flag == "--kv-blocks" || flag == "--block-size" ||
                       flag == "--max-loras" || flag == "--lora-load-ms" || flag == "--time-scale" ||
                       flag == "--metrics-format" || flag == "--stream-interval" || flag == "--request-log" ||
                       flag == "--namespace" ||
                       is_switch(flag);
    if (!known) return ArgError{"unknown argument '" + std::string(args[i]) + "' (see --help)"};
    if (is_switch(flag)) {
      if (inline_value) return bad("takes no value");
      if (flag == "--engine") options.engine = true;
      if (flag == "--lora-dynamic") options.lora_dynamic = true;
      if (flag == "--echo-any-path") options.echo_any_path = true;
      if (flag == "--no-prefix-caching") {
        options.enable_prefix_caching = false;
        options.engine = true;
      }
      continue;
    }
    auto value = take_value();
    if (!value) return bad("missing value");
    if (flag == "--port") {
      auto v = parse_unsigned<std::uint16_t>(*value, 0, 65535);
      if (!v) return bad("expected a port number 0..65535, got '" + std::string(*value) + "'");
      options.port = *v;
    } else if (flag == "--address") {
      if (value->empty()) return bad("empty address");
      options.address = *value;
    } else if (flag == "--model") {
      if (value->empty()) return bad("empty model name");
      options.model = *value;
    } else if (flag == "--name") {
      if (value->empty()) return bad("empty instance name");
      options.name = *value;
    } else if (flag == "--namespace") {
      if (value->empty()) return bad("empty namespace");
      options.pod_namespace = *value;
    } else if (flag == "--threads") {
      auto v = parse_unsigned<unsigned>(*value, 1, 256);
      if (!v) return bad("expected 1..256, got '" + std::string(*value) + "'");
      options.threads = *v;
    } else if (flag == "--max-num-seqs") {
      auto v = parse_unsigned<unsigned>(*value, 1, 1u << 20);
      if (!v) return bad("expected 1..1048576, got '" + std::string(*value) + "'");
      options.max_num_seqs = *v;
    } else if (flag == "--ttft-ms" || flag == "--itl-ms" || flag == "--delay-ms") {
      auto v = parse_millis(*value);
      if (!v) return bad("expected milliseconds 0..3600000, got '" + std::string(*value) + "'");
      (flag == "--ttft-ms" ? options.ttft_ms : flag == "--itl-ms" ? options.itl_ms : options.delay_ms) = *v;
    } else if (flag == "--lora") {
      std::string_view rest = *value;
      while (!rest.empty()) {
        const size_t comma = rest.find(',');
        const std::string_view name = rest.substr(0, comma);
        if (name.empty()) return bad("empty adapter name in '" + std::string(*value) + "'");
        options.lora_adapters.emplace_back(name);
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
      }
    } else if (flag == "--error-rate") {
      auto v = parse_fraction(*value);
      if (!v) return bad("expected a fraction 0..1, got '" + std::string(*value) + "'");
      options.error_rate = *v;
    } else if (flag == "--output-tokens") {
      auto v = parse_unsigned<unsigned>(*value, 1, 1u << 20);
      if (!v) return bad("expected 1..1048576, got '" + std::string(*value) + "'");
      options.output_tokens = *v;
    } else if (flag == "--crash-after") {
      auto v = parse_unsigned<std::uint64_t>(*value, 0, std::numeric_limits<std::uint64_t>::max());
      if (!v) return bad("expected an unsigned integer, got '" + std::string(*value) + "'");
      options.crash_after = *v;
    } else if (flag == "--profile") {
      const Profile* found = nullptr;
      std::string names;
      for (const Profile& p : kProfiles) {
        if (p.name == *value) found = &p;
        names += names.empty() ? "" : ", ";
        names += p.name;
      }
      if (!found) return bad("unknown profile '" + std::string(*value) + "' (known: " + names + ")");
      // Applied where it stands: flags after it override single values.
      options.profile = found->name;
      options.engine = true;
      options.decode_base_ms = found->decode_base_ms;
      options.decode_per_seq_ms = found->decode_per_seq_ms;
      options.prefill_tokens_per_s = found->prefill_tokens_per_s;
      options.max_num_batched_tokens = found->max_num_batched_tokens;
      options.kv_blocks = found->kv_blocks;
      options.lora_load_ms = found->lora_load_ms;
      decode_base_given = true;
    } else if (flag == "--decode-base-ms" || flag == "--decode-per-seq-ms" || flag == "--lora-load-ms") {
      auto v = parse_millis(*value);
      if (!v) return bad("expected milliseconds 0..3600000, got '" + std::string(*value) + "'");
      (flag == "--decode-base-ms"      ? options.decode_base_ms
       : flag == "--decode-per-seq-ms" ? options.decode_per_seq_ms
                                       : options.lora_load_ms) = *v;
      decode_base_given = decode_base_given || flag == "--decode-base-ms";
      options.engine = true;
    } else if (flag == "--prefill-tokens-per-s") {
      auto v = parse_in_range(*value, 1e12);
      if (!v) return bad("expected tokens per second >= 0, got '" + std::string(*value) + "'");
      options.prefill_tokens_per_s = *v;
      options.engine = true;
    } else if (flag == "--max-num-batched-tokens" || flag == "--kv-blocks" || flag == "--max-loras") {
      auto v = parse_unsigned<unsigned>(*value, 1, 1u << 24);
      if (!v) return bad("expected 1..16777216, got '" + std::string(*value) + "'");
      (flag == "--max-num-batched-tokens" ? options.max_num_batched_tokens
       : flag == "--kv-blocks"            ? options.kv_blocks
                                          : options.max_loras) = *v;
      options.engine = true;
    } else if (flag == "--stream-interval") {
      auto v = parse_unsigned<unsigned>(*value, 1, 4096);
      if (!v) return bad("expected 1..4096, got '" + std::string(*value) + "'");
      options.stream_interval = *v;
      options.engine = true;
    } else if (flag == "--block-size") {
      auto v = parse_unsigned<unsigned>(*value, 1, 4096);
      if (!v) return bad("expected 1..4096, got '" + std::string(*value) + "'");
      options.block_size = *v;
      options.engine = true;
    } else if (flag == "--time-scale") {
      double v = 0;
      auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), v);
      if (ec != std::errc{} || end != value->data() + value->size() || !std::isfinite(v) || v < 0.001 ||
          v > 1e6) {
        return bad("expected a factor 0.001..1000000, got '" + std::string(*value) + "'");
      }
      options.time_scale = v;
    } else if (flag == "--metrics-format") {
      if (*value == "vllm") options.metrics_format = Options::MetricsFormat::kVllm;
      else if (*value == "sglang") options.metrics_format = Options::MetricsFormat::kSglang;
      else return bad("expected vllm or sglang, got '" + std::string(*value) + "'");
    } else if (flag == "--request-log") {
      if (value->empty()) return bad("empty file name");
      options.request_log = *value;
    } else if (flag == "--seed") {
      auto v = parse_unsigned<std::uint64_t>(*value, 0, std::numeric_limits<std::uint64_t>::max());
      if (!v) return bad("expected an unsigned integer, got '" + std::string(*value) + "'");
      options.seed = *v;
    }
  }
  if (options.engine && !decode_base_given) options.decode_base_ms = options.itl_ms;
  return options;
}

std::string usage_text(std::string_view program) {
  std::string text = "usage: ";
  text += program;
  text += R"( [options]
OpenAI-compatible model-server simulator (HTTP/1.1 and h2c prior knowledge on one port).

  --port N            listen port (default 8000; 0 = any free port, printed at start)
  --address A         listen address (default 127.0.0.1)
  --model NAME        served model id (default sim-model)
  --name INSTANCE     value of the x-modelsim-instance header (default modelsim-<port>)
  --threads N         io threads, one io_context each (default 1)
  --max-num-seqs N    requests running at once; the rest wait FIFO (default 256)
  --ttft-ms F         time to first token once running (default 0)
  --itl-ms F          inter-token latency (default 0)
  --output-tokens N   tokens per completion unless max_tokens is smaller (default 16)
  --lora A,B          LoRA adapter names also served (requests may name them as the model)
  --error-rate F      share of completions answered 500, 0..1 (default 0)
  --delay-ms F        added before every completion starts (default 0)
                      (both can be changed at run time: POST /modelsim/faults)
  --crash-after N     the process kills itself (SIGKILL) when completion N+1 arrives
  --seed N            seed of the deterministic output text (default 0)
  --metrics-format F  vllm (default) or sglang names on /metrics
  --lora-dynamic      any unknown model name is taken as an adapter, registered on first use
                      (adapters can also be registered: POST /v1/load_lora_adapter)
  --request-log FILE  append "METHOD TARGET" to FILE for every request, as received
  --namespace NS      the namespace /echo reports (with --name as the pod), as the echo
                      server of the Gateway API conformance tests does
  --echo-any-path     a request to a path with no route is answered as /echo is (that echo
                      server answers every path)
  --time-scale F      divide every simulated duration (TTFT, ITL, engine steps, LoRA loads)
                      by F: 10 runs the model ten times faster than real time (default 1)

Continuous-batching engine (on when any flag below or --engine is given):
  --engine            use the engine with the defaults below
  --profile NAME      preset engine numbers: llama3-8b-h100, llama3-8b-a100 (later flags override)
  --decode-base-ms F  step time of a batch of one (default: --itl-ms)
  --decode-per-seq-ms F  added per sequence in the batch (default 0)
  --prefill-tokens-per-s F  prefill throughput of uncached prompt tokens (default 0 = free)
  --max-num-batched-tokens N  token budget of one step, chunked prefill (default 8192)
  --kv-blocks N       paged KV cache blocks (default 16384)
  --block-size N      tokens per KV block (default 16)
  --no-prefix-caching cached prompt blocks are not reused
  --max-loras N       adapters resident at once (default 1, as vLLM)
  --stream-interval N tokens per streamed event after the first (as SGLang's; default 1)
  --lora-load-ms F    step time added when an adapter is placed in a slot (default 0)
                      (with the engine, --ttft-ms is a fixed delay before a request is queued)
  --help              this text
)";
  return text;
}

}  // namespace modelsim
