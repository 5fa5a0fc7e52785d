#include "bench/modelsim/completion_request.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "bench/modelsim/text_model.hpp"

namespace modelsim {
namespace {

using nlohmann::json;

ApiError invalid(std::string message, std::optional<std::string> param = std::nullopt) {
  ApiError error;
  error.message = std::move(message);
  error.param = std::move(param);
  return error;
}

// Chat content is a string or a list of parts; only text parts count toward the prompt.
std::optional<ApiError> append_content(const json& content, std::string& out) {
  if (content.is_null()) return std::nullopt;
  if (content.is_string()) {
    out += content.get_ref<const std::string&>();
    return std::nullopt;
  }
  if (!content.is_array()) return invalid("message content must be a string or an array", "messages");
  for (const json& part : content) {
    if (!part.is_object()) return invalid("content parts must be objects", "messages");
    auto text = part.find("text");
    if (text != part.end() && text->is_string()) out += text->get_ref<const std::string&>();
  }
  return std::nullopt;
}

std::optional<ApiError> read_chat_prompt(const json& body, std::string& out) {
  auto messages = body.find("messages");
  if (messages == body.end()) return invalid("'messages' is a required property", "messages");
  if (!messages->is_array() || messages->empty()) {
    return invalid("'messages' must be a non-empty array", "messages");
  }
  for (const json& message : *messages) {
    if (!message.is_object()) return invalid("each message must be an object", "messages");
    auto role = message.find("role");
    if (role == message.end() || !role->is_string()) {
      return invalid("each message needs a string 'role'", "messages");
    }
    auto content = message.find("content");
    if (content != message.end()) {
      if (auto error = append_content(*content, out)) return error;
    }
  }
  return std::nullopt;
}

// A prompt is a string, a list of strings, or token ids (a list of ints or of lists of ints).
std::optional<ApiError> read_completion_prompt(const json& body, std::string& out,
                                               std::uint32_t& token_ids) {
  auto prompt = body.find("prompt");
  if (prompt == body.end()) return invalid("'prompt' is a required property", "prompt");
  auto add = [&](const json& item) -> bool {
    if (item.is_string()) {
      out += item.get_ref<const std::string&>();
      return true;
    }
    if (item.is_number_integer()) {
      ++token_ids;
      return true;
    }
    if (item.is_array()) {
      for (const json& id : item) {
        if (!id.is_number_integer()) return false;
        ++token_ids;
      }
      return true;
    }
    return false;
  };
  if (prompt->is_string()) {
    add(*prompt);
    return std::nullopt;
  }
  if (!prompt->is_array()) return invalid("'prompt' must be a string or an array", "prompt");
  for (const json& item : *prompt) {
    if (!add(item)) return invalid("'prompt' items must be strings or token ids", "prompt");
  }
  return std::nullopt;
}

}  // namespace

std::variant<CompletionRequest, ApiError> parse_completion_request(Endpoint endpoint,
                                                                   std::string_view body) {
  json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return invalid("request body is not valid JSON");
  if (!doc.is_object()) return invalid("request body must be a JSON object");

  CompletionRequest request;
  request.endpoint = endpoint;
  if (auto model = doc.find("model"); model != doc.end() && !model->is_null()) {
    if (!model->is_string()) return invalid("'model' must be a string", "model");
    request.model = model->get<std::string>();
  }
  if (auto stream = doc.find("stream"); stream != doc.end() && !stream->is_null()) {
    if (!stream->is_boolean()) return invalid("'stream' must be a boolean", "stream");
    request.stream = stream->get<bool>();
  }
  if (auto options = doc.find("stream_options"); options != doc.end() && !options->is_null()) {
    if (!options->is_object()) return invalid("'stream_options' must be an object", "stream_options");
    auto usage = options->find("include_usage");
    if (usage != options->end() && !usage->is_null()) {
      if (!usage->is_boolean()) return invalid("'include_usage' must be a boolean", "stream_options");
      request.include_usage = usage->get<bool>();
    }
  }
  for (const char* key : {"max_tokens", "max_completion_tokens"}) {
    auto limit = doc.find(key);
    if (limit == doc.end() || limit->is_null()) continue;
    if (!limit->is_number_integer() || limit->get<std::int64_t>() < 1) {
      return invalid(std::string("'") + key + "' must be a positive integer", key);
    }
    const auto value = static_cast<std::uint32_t>(
        std::min<std::int64_t>(limit->get<std::int64_t>(), std::int64_t{1} << 30));
    request.max_tokens = request.max_tokens ? std::min(*request.max_tokens, value) : value;
  }

  std::uint32_t token_ids = 0;
  auto error = endpoint == Endpoint::kChat
                   ? read_chat_prompt(doc, request.prompt_text)
                   : read_completion_prompt(doc, request.prompt_text, token_ids);
  if (error) return *std::move(error);
  request.prompt_tokens = std::max<std::uint32_t>(1, count_tokens(request.prompt_text) + token_ids);
  return request;
}

std::uint32_t output_token_count(const CompletionRequest& request, std::uint32_t server_default) {
  return request.max_tokens ? std::min(*request.max_tokens, server_default) : server_default;
}

std::string_view finish_reason(const CompletionRequest& request, std::uint32_t server_default) {
  return request.max_tokens && *request.max_tokens <= server_default ? "length" : "stop";
}

}  // namespace modelsim
