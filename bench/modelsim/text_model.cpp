#include "bench/modelsim/text_model.hpp"

#include <array>

#include <xxhash.h>

namespace modelsim {
namespace {

constexpr std::array<std::string_view, 64> kWords = {
    "the",     "model",   "token",   "gateway", "request", "stream",  "cache",   "prefix",
    "route",   "weight",  "canary",  "pool",    "server",  "latency", "queue",   "batch",
    "prompt",  "answer",  "signal",  "metric",  "version", "traffic", "shift",   "stable",
    "decode",  "prefill", "block",   "memory",  "adapter", "layer",   "vector",  "sample",
    "quick",   "brown",   "fox",     "jumps",   "over",    "lazy",    "dog",     "river",
    "mountain","cloud",   "light",   "shadow",  "garden",  "window",  "paper",   "stone",
    "green",   "silver",  "calm",    "bright",  "simple",  "steady",  "early",   "late",
    "and",     "of",      "to",      "in",      "with",    "for",     "on",      "is"};

}  // namespace

std::uint32_t count_tokens(std::string_view text) {
  return static_cast<std::uint32_t>((text.size() + 3) / 4);
}

std::uint64_t prompt_hash(std::string_view prompt_text, std::uint64_t seed) {
  return XXH3_64bits_withSeed(prompt_text.data(), prompt_text.size(), seed);
}

std::string_view token_word(std::uint64_t prompt_hash, std::uint32_t index) {
  const std::uint64_t h = XXH3_64bits_withSeed(&index, sizeof index, prompt_hash);
  return kWords[h % kWords.size()];
}

void append_token_text(std::string& out, std::uint64_t prompt_hash, std::uint32_t index) {
  if (index > 0) out += ' ';
  out += token_word(prompt_hash, index);
}

std::string completion_text(std::uint64_t prompt_hash, std::uint32_t tokens) {
  std::string out;
  out.reserve(tokens * 8);
  for (std::uint32_t i = 0; i < tokens; ++i) append_token_text(out, prompt_hash, i);
  return out;
}

}  // namespace modelsim
