// OpenAI wire shapes written straight into a string: responses, SSE chunks, errors, model list.
// Hand-formatted because they sit on the hot path; tests parse them back with nlohmann-json.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bench/modelsim/completion_request.hpp"

namespace modelsim {

// What every body of one completion repeats.
struct CompletionIdentity {
  Endpoint endpoint = Endpoint::kChat;
  std::string id;               // "chatcmpl-..." or "cmpl-..."
  std::int64_t created = 0;     // unix seconds
  std::string_view model_json;  // the model id already as a quoted JSON string
};

struct Usage {
  std::uint32_t prompt_tokens = 0;
  std::uint32_t completion_tokens = 0;
};

inline constexpr std::string_view kDoneEvent = "data: [DONE]\n\n";

// A JSON string literal (quoted, escaped; invalid UTF-8 replaced).
std::string json_quote(std::string_view text);

std::string completion_id(Endpoint endpoint, std::uint64_t sequence);

void append_completion_body(std::string& out, const CompletionIdentity& identity,
                            std::uint64_t prompt_hash, std::string_view finish_reason,
                            const Usage& usage);

// "data: {chunk}\n\n" for output token `index` (and the count-1 after it, one delta: vLLM's
// --stream-interval); the chat role rides on the first token and finish_reason on the last.
void append_token_event(std::string& out, const CompletionIdentity& identity,
                        std::uint64_t prompt_hash, std::uint32_t index,
                        std::optional<std::string_view> finish_reason, std::uint32_t count = 1);

// The stream_options.include_usage chunk: empty choices plus usage.
void append_usage_event(std::string& out, const CompletionIdentity& identity, const Usage& usage);

std::string error_body(const ApiError& error);

std::string models_body(std::string_view model_json, std::int64_t created);

// The model list with LoRA adapters after the base model, as vLLM lists them: each names the
// base model as its "parent" and its path (or name) as its "root".
struct AdapterEntry {
  std::string name;
  std::string path;
};
std::string models_body(std::string_view model_json, std::int64_t created,
                        const std::vector<AdapterEntry>& adapters);

}  // namespace modelsim
