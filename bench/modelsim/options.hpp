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
  std::string name;  // empty = "modelsim-<bound port>"
  unsigned threads = 1;
  unsigned max_num_seqs = 256;
  double ttft_ms = 0;
  double itl_ms = 0;
  unsigned output_tokens = 16;
  std::uint64_t seed = 0;
  // Faults for completions (changeable at run time: POST /modelsim/faults).
  double error_rate = 0;   // share of completions answered 500
  double delay_ms = 0;     // added before each completion starts
};

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
