// The fields of an OpenAI chat/completions request body that the simulator acts on.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace modelsim {

enum class Endpoint { kChat, kCompletion };

struct CompletionRequest {
  Endpoint endpoint = Endpoint::kChat;
  std::string model;  // empty when the body names none: the served model is meant
  bool stream = false;
  bool include_usage = false;
  std::optional<std::uint32_t> max_tokens;  // max_tokens or max_completion_tokens
  std::string prompt_text;                  // every text part, concatenated
  std::uint32_t prompt_tokens = 1;
};

// An OpenAI-style error: the HTTP status and the fields of the {"error": {...}} object.
struct ApiError {
  int status = 400;
  std::string message;
  std::string type = "invalid_request_error";
  std::optional<std::string> param;
  std::optional<std::string> code;
};

std::variant<CompletionRequest, ApiError> parse_completion_request(Endpoint endpoint,
                                                                   std::string_view body);

// Tokens to generate: the server default unless the request asks for fewer.
std::uint32_t output_token_count(const CompletionRequest& request, std::uint32_t server_default);

// "length" when the request's own limit cut the completion, otherwise "stop".
std::string_view finish_reason(const CompletionRequest& request, std::uint32_t server_default);

}  // namespace modelsim
