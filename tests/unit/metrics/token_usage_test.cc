#include "metrics/token_usage.h"

#include <gtest/gtest.h>

#include <string>

namespace infergate::metrics {
namespace {

using Body = TokenUsageReader::Body;

// Feeds `text` in every split into two pieces and in single bytes: the answer never depends
// on where the network cut the body.
template <typename Check>
void in_every_split(Body body, const std::string& text, Check check) {
  for (size_t cut = 0; cut <= text.size(); ++cut) {
    TokenUsageReader r(body);
    r.feed(std::string_view(text).substr(0, cut));
    r.feed(std::string_view(text).substr(cut));
    r.finish();
    SCOPED_TRACE("cut at " + std::to_string(cut));
    check(r);
  }
  TokenUsageReader bytes(body);
  for (char c : text) bytes.feed(std::string_view(&c, 1));
  bytes.finish();
  SCOPED_TRACE("byte by byte");
  check(bytes);
}

TEST(TokenUsage, ContentTypes) {
  EXPECT_EQ(TokenUsageReader::body_of("application/json"), Body::Json);
  EXPECT_EQ(TokenUsageReader::body_of("Application/JSON; charset=utf-8"), Body::Json);
  EXPECT_EQ(TokenUsageReader::body_of("application/vnd.api+json"), Body::Json);
  EXPECT_EQ(TokenUsageReader::body_of("text/event-stream; charset=utf-8"), Body::EventStream);
  EXPECT_EQ(TokenUsageReader::body_of("text/plain"), std::nullopt);
  EXPECT_EQ(TokenUsageReader::body_of(""), std::nullopt);
}

TEST(TokenUsage, ChatCompletionJson) {
  const std::string body =
      R"({"id":"cmpl-1","object":"chat.completion","model":"m","choices":[{"index":0,)"
      R"("message":{"role":"assistant","content":"a \"usage\": {\"prompt_tokens\": 99} b"},)"
      R"("finish_reason":"stop"}],"usage":{"prompt_tokens":17,"total_tokens":42,"completion_tokens":25}})";
  in_every_split(Body::Json, body, [](const TokenUsageReader& r) {
    EXPECT_EQ(r.prompt_tokens(), 17u);
    EXPECT_EQ(r.completion_tokens(), 25u);
    EXPECT_EQ(r.data_events(), 0u);
  });
}

TEST(TokenUsage, NestedUsageIsNotTheResponses) {
  in_every_split(Body::Json, R"({"data":{"usage":{"prompt_tokens":5,"completion_tokens":6}},"x":[{"usage":1}]})",
                 [](const TokenUsageReader& r) {
                   EXPECT_FALSE(r.prompt_tokens());
                   EXPECT_FALSE(r.completion_tokens());
                 });
}

TEST(TokenUsage, NullUsageFractionsAndNestedValuesAreIgnored) {
  in_every_split(Body::Json,
                 R"({"usage":{"prompt_tokens":3.5,"completion_tokens":{"completion_tokens":7},"x":[1,2]}})",
                 [](const TokenUsageReader& r) {
                   EXPECT_FALSE(r.prompt_tokens());
                   EXPECT_FALSE(r.completion_tokens());
                 });
  in_every_split(Body::Json, R"({"usage":null,"usage" : { "completion_tokens" : 9 } })", [](const TokenUsageReader& r) {
    EXPECT_FALSE(r.prompt_tokens());
    EXPECT_EQ(r.completion_tokens(), 9u);
  });
}

TEST(TokenUsage, BrokenOrHostileJsonGivesNoUsage) {
  for (const std::string& body : {std::string("not json"), std::string(R"({"usage":{"prompt_tokens":1]})"),
                                  std::string(1000, '['), std::string(R"(})")}) {
    TokenUsageReader r(Body::Json);
    r.feed(body);
    r.finish();
    EXPECT_FALSE(r.prompt_tokens()) << body.substr(0, 40);
  }
  TokenUsageReader huge(Body::Json);
  huge.feed(R"({"usage":{"prompt_tokens":99999999999999999999999}})");
  EXPECT_FALSE(huge.prompt_tokens());
}

TEST(TokenUsage, StreamWithUsageInTheLastEvent) {
  std::string sse;
  for (int i = 0; i < 4; ++i)
    sse += "data: {\"choices\":[{\"delta\":{\"content\":\"tok" + std::to_string(i) + "\"}}],\"usage\":null}\n\n";
  sse += ": keep-alive comment\n\n";
  sse += "event: message\ndata: {\"choices\":[],\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":4}}\n\n";
  sse += "data: [DONE]\n\n";
  in_every_split(Body::EventStream, sse, [](const TokenUsageReader& r) {
    EXPECT_EQ(r.prompt_tokens(), 11u);
    EXPECT_EQ(r.completion_tokens(), 4u);
    EXPECT_EQ(r.data_events(), 5u);
  });
}

TEST(TokenUsage, StreamWithoutUsageCountsEventsAnyLineEnding) {
  const std::string sse =
      "data: {\"choices\":[{\"text\":\"a\"}]}\r\n\r\n"
      "data:{\"choices\":[{\"text\":\"b\"}]}\r\r"
      "data: {\"choices\":\n"
      "data: [{\"text\":\"c\"}]}\n\n"
      "data: [DONE]\n\n";
  in_every_split(Body::EventStream, sse, [](const TokenUsageReader& r) {
    EXPECT_FALSE(r.completion_tokens());
    EXPECT_EQ(r.data_events(), 3u);
  });
}

TEST(TokenUsage, UnterminatedLastEventCountsAtFinish) {
  TokenUsageReader r(Body::EventStream);
  r.feed("data: {\"usage\":{\"prompt_tokens\":2,\"completion_tokens\":1}}");
  EXPECT_EQ(r.data_events(), 0u);
  r.finish();
  EXPECT_EQ(r.data_events(), 1u);
  EXPECT_EQ(r.completion_tokens(), 1u);
}

}  // namespace
}  // namespace infergate::metrics
