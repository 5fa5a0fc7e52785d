// Deterministic stand-ins for a tokenizer and a decoder: the same prompt and seed always
// give the same token counts and the same completion text, on every instance.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace modelsim {

// About one token per 4 characters, rounded up (0 for empty text).
std::uint32_t count_tokens(std::string_view text);

std::uint64_t prompt_hash(std::string_view prompt_text, std::uint64_t seed);

// The word of output token `index`. Words are plain ASCII letters: no JSON escaping needed.
std::string_view token_word(std::uint64_t prompt_hash, std::uint32_t index);

// The text of token `index` as it appears in the completion: words after the first carry a
// leading space, so concatenated stream deltas equal the non-stream content.
void append_token_text(std::string& out, std::uint64_t prompt_hash, std::uint32_t index);

std::string completion_text(std::uint64_t prompt_hash, std::uint32_t tokens);

}  // namespace modelsim
