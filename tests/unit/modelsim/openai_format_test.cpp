#include "bench/modelsim/openai_format.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "bench/modelsim/text_model.hpp"

namespace modelsim {
namespace {

using nlohmann::json;

const std::string kModel = json_quote("sim-\"model\"");

CompletionIdentity identity(Endpoint endpoint) {
  return CompletionIdentity{endpoint, completion_id(endpoint, 255), 1700000000, kModel};
}

json event_json(const std::string& event) {
  EXPECT_TRUE(event.starts_with("data: ")) << event;
  EXPECT_TRUE(event.ends_with("\n\n")) << event;
  return json::parse(event.substr(6, event.size() - 8));
}

TEST(OpenAiFormat, IdsCarryThePrefixOfTheirObject) {
  EXPECT_EQ(completion_id(Endpoint::kChat, 255), "chatcmpl-00000000000000ff");
  EXPECT_EQ(completion_id(Endpoint::kCompletion, 1), "cmpl-0000000000000001");
}

TEST(OpenAiFormat, ChatBodyHasTheOpenAiShape) {
  std::string out;
  append_completion_body(out, identity(Endpoint::kChat), 99, "length", Usage{7, 3});
  const json body = json::parse(out);
  EXPECT_EQ(body["id"], "chatcmpl-00000000000000ff");
  EXPECT_EQ(body["object"], "chat.completion");
  EXPECT_EQ(body["created"], 1700000000);
  EXPECT_EQ(body["model"], "sim-\"model\"");
  ASSERT_EQ(body["choices"].size(), 1u);
  EXPECT_EQ(body["choices"][0]["index"], 0);
  EXPECT_EQ(body["choices"][0]["message"]["role"], "assistant");
  EXPECT_EQ(body["choices"][0]["message"]["content"], completion_text(99, 3));
  EXPECT_EQ(body["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(body["usage"]["prompt_tokens"], 7);
  EXPECT_EQ(body["usage"]["completion_tokens"], 3);
  EXPECT_EQ(body["usage"]["total_tokens"], 10);
}

TEST(OpenAiFormat, CompletionBodyUsesText) {
  std::string out;
  append_completion_body(out, identity(Endpoint::kCompletion), 5, "stop", Usage{1, 2});
  const json body = json::parse(out);
  EXPECT_EQ(body["object"], "text_completion");
  EXPECT_EQ(body["choices"][0]["text"], completion_text(5, 2));
  EXPECT_EQ(body["choices"][0]["finish_reason"], "stop");
}

TEST(OpenAiFormat, ChatChunksCarryRoleFirstAndFinishLast) {
  std::string first, middle, last;
  append_token_event(first, identity(Endpoint::kChat), 11, 0, std::nullopt);
  append_token_event(middle, identity(Endpoint::kChat), 11, 1, std::nullopt);
  append_token_event(last, identity(Endpoint::kChat), 11, 2, "length");
  const json a = event_json(first), b = event_json(middle), c = event_json(last);
  EXPECT_EQ(a["object"], "chat.completion.chunk");
  EXPECT_EQ(a["choices"][0]["delta"]["role"], "assistant");
  EXPECT_TRUE(a["choices"][0]["finish_reason"].is_null());
  EXPECT_FALSE(b["choices"][0]["delta"].contains("role"));
  EXPECT_EQ(c["choices"][0]["finish_reason"], "length");
  const std::string joined = a["choices"][0]["delta"]["content"].get<std::string>() +
                             b["choices"][0]["delta"]["content"].get<std::string>() +
                             c["choices"][0]["delta"]["content"].get<std::string>();
  EXPECT_EQ(joined, completion_text(11, 3));
}

TEST(OpenAiFormat, CompletionChunksUseText) {
  std::string event;
  append_token_event(event, identity(Endpoint::kCompletion), 11, 0, std::nullopt);
  const json chunk = event_json(event);
  EXPECT_EQ(chunk["object"], "text_completion");
  EXPECT_EQ(chunk["choices"][0]["text"], token_word(11, 0));
}

TEST(OpenAiFormat, UsageChunkHasEmptyChoices) {
  std::string event;
  append_usage_event(event, identity(Endpoint::kChat), Usage{4, 6});
  const json chunk = event_json(event);
  EXPECT_TRUE(chunk["choices"].is_array());
  EXPECT_TRUE(chunk["choices"].empty());
  EXPECT_EQ(chunk["usage"]["total_tokens"], 10);
  EXPECT_EQ(kDoneEvent, "data: [DONE]\n\n");
}

TEST(OpenAiFormat, ErrorAndModelListShapes) {
  ApiError error;
  error.message = "bad \"thing\"";
  error.code = "model_not_found";
  const json e = json::parse(error_body(error));
  EXPECT_EQ(e["error"]["message"], "bad \"thing\"");
  EXPECT_EQ(e["error"]["type"], "invalid_request_error");
  EXPECT_TRUE(e["error"]["param"].is_null());
  EXPECT_EQ(e["error"]["code"], "model_not_found");

  const json list = json::parse(models_body(kModel, 5));
  EXPECT_EQ(list["object"], "list");
  EXPECT_EQ(list["data"][0]["id"], "sim-\"model\"");
  EXPECT_EQ(list["data"][0]["object"], "model");
}

TEST(OpenAiFormat, QuoteEscapesAndSurvivesBadUtf8) {
  EXPECT_EQ(json_quote("a\"b\n"), R"("a\"b\n")");
  EXPECT_NO_THROW(json::parse(json_quote("\xff\xfe")));
}

}  // namespace
}  // namespace modelsim
