// The body-based-routing reader: what "model" a JSON body names, whatever the split of its
// bytes, and where the value lies so it can be rewritten.
#include <gtest/gtest.h>

#include <string>

#include "routing/body_model.h"

namespace infergate::routing {
namespace {

using State = ModelFieldScanner::State;

struct Scan {
  State state;
  bool found;
  std::string model;
  size_t begin = 0, end = 0;
};

// Feeds `body` in pieces of `step` bytes, then finishes.
Scan scan(std::string_view body, size_t step = 0) {
  ModelFieldScanner s;
  if (step == 0) step = body.size() ? body.size() : 1;
  for (size_t i = 0; i < body.size() && s.state() == State::Scanning; i += step) s.feed(body.substr(i, step));
  s.finish();
  return {s.state(), s.found(), s.model(), s.value_begin(), s.value_end()};
}

struct Case {
  const char* name;
  std::string body;
  State state;
  bool found;
  std::string model;
};

class BodyModel : public ::testing::TestWithParam<Case> {};

TEST_P(BodyModel, SameAnswerForEverySplit) {
  const Case& c = GetParam();
  for (size_t step : {size_t(0), size_t(1), size_t(2), size_t(3), size_t(7)}) {
    Scan s = scan(c.body, step);
    EXPECT_EQ(s.state, c.state) << c.name << " step " << step;
    EXPECT_EQ(s.found, c.found) << c.name << " step " << step;
    if (c.found) {
      EXPECT_EQ(s.model, c.model) << c.name << " step " << step;
    }
  }
}

const Case kCases[] = {
    {"first", R"({"model":"llama-3.1-8b","messages":[{"role":"user","content":"hi"}]})", State::Complete, true,
     "llama-3.1-8b"},
    {"after_messages", R"({"messages":[{"role":"user","content":"the \"model\": \"x\" in text"}],"model":"m2"})",
     State::Complete, true, "m2"},
    {"nested_model_ignored", R"({"extra":{"model":"inner"},"stream":true})", State::Complete, false, ""},
    {"nested_only_then_top", R"({"extra":{"model":"inner"},"model":"top"})", State::Complete, true, "top"},
    {"whitespace", " \r\n\t{ \"model\" :\n \"a b\" , \"n\" : 1 } ", State::Complete, true, "a b"},
    {"escapes", R"({"model":"lora\/v2\u0041\n"})", State::Complete, true, "lora/v2A\n"},
    {"surrogate_pair", R"({"model":"\ud83d\ude00"})", State::Complete, true, "\xF0\x9F\x98\x80"},
    {"escaped_key", R"({"mod\u0065l":"k"})", State::Complete, true, "k"},
    {"last_wins", R"({"model":"a","x":[1,2,{"y":"}"}],"model":"b"})", State::Complete, true, "b"},
    {"last_not_string", R"({"model":"a","model":null})", State::Complete, false, ""},
    {"number_model", R"({"model":42})", State::Complete, false, ""},
    {"object_model", R"({"model":{"name":"x"}})", State::Complete, false, ""},
    {"literals", R"({"stream":true,"temperature":-0.5e1,"stop":null,"model":"z"})", State::Complete, true, "z"},
    {"empty_object", "{}", State::Complete, false, ""},
    {"array_body", R"([{"model":"x"}])", State::Invalid, false, ""},
    {"form_body", "model=x&prompt=y", State::Invalid, false, ""},
    {"unterminated", R"({"model":"x", "messages":[)", State::Invalid, true, "x"},
    {"garbage_after_key", R"({"model" "x"})", State::Invalid, false, ""},
    {"control_char_in_string", "{\"model\":\"a\x01\"}", State::Invalid, false, ""},
    {"bad_escape", R"({"model":"\q"})", State::Invalid, false, ""},
    {"trailing_bytes_ignored", R"({"model":"m"} trailing)", State::Complete, true, "m"},
};

INSTANTIATE_TEST_SUITE_P(Bodies, BodyModel, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(BodyModel, ValueOffsetsCoverTheJsonString) {
  const std::string body = R"({"messages":[],"model": "lo\"ra" ,"n":1})";
  for (size_t step : {size_t(0), size_t(1), size_t(5)}) {
    Scan s = scan(body, step);
    ASSERT_TRUE(s.found);
    EXPECT_EQ(body.substr(s.begin, s.end - s.begin), R"("lo\"ra")") << step;
    EXPECT_EQ(s.model, "lo\"ra");
  }
}

TEST(BodyModel, CompleteStopsReadingAndCountsBytes) {
  ModelFieldScanner s;
  EXPECT_EQ(s.feed(R"({"model":"m"})"), State::Complete);
  EXPECT_EQ(s.bytes_seen(), 13u);
  EXPECT_EQ(s.feed("garbage"), State::Complete);
  EXPECT_EQ(s.model(), "m");
}

TEST(BodyModel, OverlongModelCountsAsAbsent) {
  const std::string body = "{\"model\":\"" + std::string(ModelFieldScanner::kMaxModelBytes + 1, 'x') + "\"}";
  Scan s = scan(body, 100);
  EXPECT_EQ(s.state, State::Complete);
  EXPECT_FALSE(s.found);
  const std::string ok = "{\"model\":\"" + std::string(ModelFieldScanner::kMaxModelBytes, 'x') + "\"}";
  EXPECT_TRUE(scan(ok, 100).found);
}

TEST(BodyModel, LongMessageTextIsSkipped) {
  std::string body = R"({"messages":[{"role":"user","content":")";
  body += std::string(1 << 20, 'a');
  body += R"("}],"model":"big"})";
  Scan s = scan(body, 64 * 1024);
  EXPECT_EQ(s.state, State::Complete);
  EXPECT_EQ(s.model, "big");
}

TEST(BodyModel, ScanningWhileIncomplete) {
  ModelFieldScanner s;
  EXPECT_EQ(s.feed(R"({"model":"early","messages":[)"), State::Scanning);
  EXPECT_TRUE(s.found());  // "so far": a body over the buffer limit is routed on this
  EXPECT_EQ(s.model(), "early");
}

// The prompt range the picker's prefix hashing reads: raw JSON text of "messages" / "prompt".
TEST(BodyModel, PromptRangeForEverySplit) {
  struct PromptCase {
    std::string body;
    bool found;
    std::string prompt;
  };
  const PromptCase cases[] = {
      {R"({"model":"m","messages":[{"role":"user","content":"a ] } \" b"}],"stream":true})", true,
       R"([{"role":"user","content":"a ] } \" b"}])"},
      {R"({"prompt":"once upon","model":"m"})", true, R"("once upon")"},
      {R"({"prompt":["a","b"],"max_tokens":3})", true, R"(["a","b"])"},
      {R"({"model":"m","input":"x","extra":{"messages":[1]}})", false, ""},
      {R"({"prompt":7})", false, ""},
      {R"({"messages":[{"content":"old"}],"messages":[{"content":"new"}]})", true, R"([{"content":"new"}])"},
  };
  for (const PromptCase& c : cases) {
    for (size_t step : {size_t(1), size_t(3), c.body.size()}) {
      ModelFieldScanner s;
      for (size_t i = 0; i < c.body.size(); i += step) s.feed(std::string_view(c.body).substr(i, step));
      EXPECT_EQ(s.prompt_found(), c.found) << c.body << " step " << step;
      if (!c.found) continue;
      EXPECT_EQ(c.body.substr(s.prompt_begin(), s.prompt_end() - s.prompt_begin()), c.prompt)
          << c.body << " step " << step;
    }
  }
}

TEST(JsonQuote, EscapesWhatJsonRequires) {
  EXPECT_EQ(json_quote("plain"), "\"plain\"");
  EXPECT_EQ(json_quote("a\"b\\c\n"), "\"a\\\"b\\\\c\\u000a\"");
  ModelFieldScanner s;
  s.feed("{\"model\":" + json_quote("x\"\ty") + "}");
  EXPECT_EQ(s.model(), "x\"\ty");
}

}  // namespace
}  // namespace infergate::routing
