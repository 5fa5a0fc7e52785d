#include "bench/modelsim/completion_request.hpp"

#include <gtest/gtest.h>

namespace modelsim {
namespace {

CompletionRequest ok(Endpoint endpoint, std::string_view body) {
  auto result = parse_completion_request(endpoint, body);
  if (auto* error = std::get_if<ApiError>(&result)) {
    ADD_FAILURE() << "rejected: " << error->message;
    return {};
  }
  return std::get<CompletionRequest>(result);
}

ApiError rejected(Endpoint endpoint, std::string_view body) {
  auto result = parse_completion_request(endpoint, body);
  if (!std::holds_alternative<ApiError>(result)) {
    ADD_FAILURE() << "accepted: " << body;
    return {};
  }
  return std::get<ApiError>(result);
}

TEST(CompletionRequest, ReadsChatFields) {
  auto r = ok(Endpoint::kChat, R"({"model":"m","stream":true,"stream_options":{"include_usage":true},
      "max_tokens":5,"messages":[{"role":"system","content":"abcd"},
      {"role":"user","content":[{"type":"text","text":"efgh"},{"type":"image_url","image_url":{}}]}]})");
  EXPECT_EQ(r.model, "m");
  EXPECT_TRUE(r.stream);
  EXPECT_TRUE(r.include_usage);
  EXPECT_EQ(r.max_tokens, 5u);
  EXPECT_EQ(r.prompt_text, "abcdefgh");
  EXPECT_EQ(r.prompt_tokens, 2u);
}

TEST(CompletionRequest, PromptTokensAreAtLeastOne) {
  EXPECT_EQ(ok(Endpoint::kChat, R"({"messages":[{"role":"user","content":""}]})").prompt_tokens, 1u);
}

TEST(CompletionRequest, CompletionPromptsAsTextOrTokenIds) {
  EXPECT_EQ(ok(Endpoint::kCompletion, R"({"prompt":"12345678"})").prompt_tokens, 2u);
  EXPECT_EQ(ok(Endpoint::kCompletion, R"({"prompt":["abcd","efgh"]})").prompt_tokens, 2u);
  EXPECT_EQ(ok(Endpoint::kCompletion, R"({"prompt":[1,2,3]})").prompt_tokens, 3u);
  EXPECT_EQ(ok(Endpoint::kCompletion, R"({"prompt":[[1,2],[3]]})").prompt_tokens, 3u);
}

TEST(CompletionRequest, SmallerOfTheTwoLimitsWins) {
  auto r = ok(Endpoint::kChat,
              R"({"max_tokens":9,"max_completion_tokens":4,"messages":[{"role":"user","content":"x"}]})");
  EXPECT_EQ(r.max_tokens, 4u);
  EXPECT_EQ(output_token_count(r, 16), 4u);
  EXPECT_EQ(finish_reason(r, 16), "length");
}

TEST(CompletionRequest, ServerDefaultWhenUnlimited) {
  auto r = ok(Endpoint::kChat, R"({"messages":[{"role":"user","content":"x"}]})");
  EXPECT_EQ(output_token_count(r, 16), 16u);
  EXPECT_EQ(finish_reason(r, 16), "stop");
  auto big = ok(Endpoint::kChat, R"({"max_tokens":100,"messages":[{"role":"user","content":"x"}]})");
  EXPECT_EQ(output_token_count(big, 16), 16u);
  EXPECT_EQ(finish_reason(big, 16), "stop");
}

TEST(CompletionRequest, RejectsBadBodiesWithOpenAiErrors) {
  EXPECT_EQ(rejected(Endpoint::kChat, "{not json").message, "request body is not valid JSON");
  EXPECT_EQ(rejected(Endpoint::kChat, "[1]").status, 400);
  EXPECT_EQ(rejected(Endpoint::kChat, "{}").param, "messages");
  EXPECT_EQ(rejected(Endpoint::kChat, R"({"messages":[]})").param, "messages");
  EXPECT_EQ(rejected(Endpoint::kChat, R"({"messages":[{"content":"x"}]})").param, "messages");
  EXPECT_EQ(rejected(Endpoint::kChat, R"({"model":3,"messages":[{"role":"user"}]})").param, "model");
  EXPECT_EQ(rejected(Endpoint::kChat, R"({"stream":"yes","messages":[{"role":"user"}]})").param,
            "stream");
  EXPECT_EQ(rejected(Endpoint::kChat, R"({"max_tokens":0,"messages":[{"role":"user"}]})").param,
            "max_tokens");
  EXPECT_EQ(rejected(Endpoint::kChat, R"({"max_tokens":1.5,"messages":[{"role":"user"}]})").param,
            "max_tokens");
  EXPECT_EQ(rejected(Endpoint::kCompletion, R"({})").param, "prompt");
  EXPECT_EQ(rejected(Endpoint::kCompletion, R"({"prompt":[{}]})").param, "prompt");
  EXPECT_EQ(rejected(Endpoint::kChat, "{not json").type, "invalid_request_error");
}

}  // namespace
}  // namespace modelsim
