#include "bench/modelsim/openai_format.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "bench/modelsim/text_model.hpp"

namespace modelsim {
namespace {

template <typename Int>
void append_int(std::string& out, Int value) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
  (void)ec;  // 24 digits always suffice for 64-bit integers
  out.append(digits, end);
}

std::string_view object_name(Endpoint endpoint, bool chunk) {
  if (endpoint == Endpoint::kCompletion) return "text_completion";
  return chunk ? "chat.completion.chunk" : "chat.completion";
}

void append_head(std::string& out, const CompletionIdentity& identity, bool chunk) {
  out += R"({"id":")";
  out += identity.id;
  out += R"(","object":")";
  out += object_name(identity.endpoint, chunk);
  out += R"(","created":)";
  append_int(out, identity.created);
  out += R"(,"model":)";
  out += identity.model_json;
}

void append_usage(std::string& out, const Usage& usage) {
  out += R"("usage":{"prompt_tokens":)";
  append_int(out, usage.prompt_tokens);
  out += R"(,"completion_tokens":)";
  append_int(out, usage.completion_tokens);
  out += R"(,"total_tokens":)";
  append_int(out, std::uint64_t{usage.prompt_tokens} + usage.completion_tokens);
  out += '}';
}

void append_finish(std::string& out, std::optional<std::string_view> finish_reason) {
  out += R"(,"logprobs":null,"finish_reason":)";
  if (finish_reason) {
    out += '"';
    out += *finish_reason;
    out += '"';
  } else {
    out += "null";
  }
  out += '}';
}

}  // namespace

std::string json_quote(std::string_view text) {
  return nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string completion_id(Endpoint endpoint, std::uint64_t sequence) {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(sequence));
  return std::string(endpoint == Endpoint::kChat ? "chatcmpl-" : "cmpl-") + hex;
}

void append_completion_body(std::string& out, const CompletionIdentity& identity,
                            std::uint64_t prompt_hash, std::string_view finish_reason,
                            const Usage& usage) {
  append_head(out, identity, false);
  out += identity.endpoint == Endpoint::kChat
             ? R"(,"choices":[{"index":0,"message":{"role":"assistant","content":")"
             : R"(,"choices":[{"index":0,"text":")";
  for (std::uint32_t i = 0; i < usage.completion_tokens; ++i) append_token_text(out, prompt_hash, i);
  out += '"';
  if (identity.endpoint == Endpoint::kChat) out += '}';
  append_finish(out, finish_reason);
  out += "],";
  append_usage(out, usage);
  out += '}';
}

void append_token_event(std::string& out, const CompletionIdentity& identity,
                        std::uint64_t prompt_hash, std::uint32_t index,
                        std::optional<std::string_view> finish_reason, std::uint32_t count) {
  out += "data: ";
  append_head(out, identity, true);
  if (identity.endpoint == Endpoint::kChat) {
    out += index == 0 ? R"(,"choices":[{"index":0,"delta":{"role":"assistant","content":")"
                      : R"(,"choices":[{"index":0,"delta":{"content":")";
  } else {
    out += R"(,"choices":[{"index":0,"text":")";
  }
  for (std::uint32_t i = 0; i < std::max<std::uint32_t>(1, count); ++i) append_token_text(out, prompt_hash, index + i);
  out += '"';
  if (identity.endpoint == Endpoint::kChat) out += '}';
  append_finish(out, finish_reason);
  out += "]}\n\n";
}

void append_usage_event(std::string& out, const CompletionIdentity& identity, const Usage& usage) {
  out += "data: ";
  append_head(out, identity, true);
  out += R"(,"choices":[],)";
  append_usage(out, usage);
  out += "}\n\n";
}

std::string error_body(const ApiError& error) {
  nlohmann::json body = {{"error",
                          {{"message", error.message},
                           {"type", error.type},
                           {"param", error.param ? nlohmann::json(*error.param) : nlohmann::json()},
                           {"code", error.code ? nlohmann::json(*error.code) : nlohmann::json()}}}};
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string models_body(std::string_view model_json, std::int64_t created) {
  std::string out = R"({"object":"list","data":[{"id":)";
  out += model_json;
  out += R"(,"object":"model","created":)";
  append_int(out, created);
  out += R"(,"owned_by":"modelsim","root":)";
  out += model_json;
  out += R"(,"parent":null}]})";
  return out;
}

std::string models_body(std::string_view model_json, std::int64_t created,
                        const std::vector<AdapterEntry>& adapters) {
  std::string out = models_body(model_json, created);
  if (adapters.empty()) return out;
  out.resize(out.size() - 2);  // reopen the data array: drop "]}"
  for (const AdapterEntry& a : adapters) {
    out += R"(,{"id":)";
    out += json_quote(a.name);
    out += R"(,"object":"model","created":)";
    append_int(out, created);
    out += R"(,"owned_by":"modelsim","root":)";
    out += json_quote(a.path.empty() ? a.name : a.path);
    out += R"(,"parent":)";
    out += model_json;
    out += '}';
  }
  out += "]}";
  return out;
}

}  // namespace modelsim
