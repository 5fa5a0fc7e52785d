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

}  // namespace

ParseResult parse_options(std::span<const std::string_view> args) {
  Options options;
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
                       flag == "--seed" || flag == "--error-rate" || flag == "--delay-ms" || flag == "--lora";
    if (!known) return ArgError{"unknown argument '" + std::string(args[i]) + "' (see --help)"};
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
    } else if (flag == "--seed") {
      auto v = parse_unsigned<std::uint64_t>(*value, 0, std::numeric_limits<std::uint64_t>::max());
      if (!v) return bad("expected an unsigned integer, got '" + std::string(*value) + "'");
      options.seed = *v;
    }
  }
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
  --seed N            seed of the deterministic output text (default 0)
  --help              this text
)";
  return text;
}

}  // namespace modelsim
