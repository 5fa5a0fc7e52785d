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
    // Python's json.loads(bytes) decodes a leading UTF-8 byte order mark (utf-8-sig): so must we.
    {"utf8_bom", "\xEF\xBB\xBF{\"model\":\"bom\"}", State::Complete, true, "bom"},
    {"partial_bom", "\xEF\xBB{\"model\":\"bom\"}", State::Invalid, false, ""},
    {"bom_only_prefix_then_space", "\xEF \"model\"", State::Invalid, false, ""},
    {"two_models_last_wins", R"({"model":"a","messages":[],"model":"b"})", State::Complete, true, "b"},
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

// Message text is skipped 16 bytes at a time: a quote, backslash or control byte is seen at
// every position of a block, and across a block's end, for every split.
TEST(BodyModel, EveryEndOfPlainTextIsSeenWhereverItFalls) {
  for (size_t at = 0; at < 40; ++at) {
    const std::string text_before(at, 'x');
    std::string escaped = R"({"messages":")";
    escaped += text_before;
    escaped += R"(\" \\ \"model\":\"no\"","model":"yes"})";
    std::string control = R"({"model":"m","messages":")";
    control += text_before;
    control += '\x01';
    control += R"(rest of the text"})";
    // Bytes of 0x80 and up are text (UTF-8), not control bytes.
    std::string utf8 = R"({"messages":")";
    utf8 += text_before;
    utf8 += "\xC3\xA9\xE2\x82\xAC";
    utf8 += R"(","model":"u"})";
    for (size_t step : {size_t{0}, size_t{7}, size_t{16}}) {
      Scan s = scan(escaped, step);
      EXPECT_EQ(s.state, State::Complete) << at << " " << step;
      EXPECT_EQ(s.model, "yes") << at << " " << step;
      EXPECT_EQ(scan(control, step).state, State::Invalid) << at << " " << step;
      EXPECT_EQ(scan(utf8, step).model, "u") << at << " " << step;
    }
  }
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

// ---- The gateway and the model server must agree on the model (issue: parser differential) ----

TEST(BodyModel, EveryTopLevelModelIsCountedAndRecorded) {
  const std::string body = R"({"model":"a","messages":[{"model":"nested"}],"model":"bb","model":7,"model":"c"})";
  for (size_t step : {body.size(), size_t(1), size_t(2), size_t(5)}) {
    ModelFieldScanner s;
    for (size_t i = 0; i < body.size(); i += step) s.feed(std::string_view(body).substr(i, step));
    ASSERT_EQ(s.state(), State::Complete) << step;
    EXPECT_EQ(s.model(), "c");
    EXPECT_EQ(s.model_keys(), 4u) << "nested keys are not the request's";
    ASSERT_EQ(s.model_values().size(), 3u) << "the number is no string to rewrite";
    EXPECT_EQ(body.substr(s.model_values()[0].first, s.model_values()[0].second - s.model_values()[0].first), "\"a\"");
    EXPECT_EQ(body.substr(s.model_values()[1].first, s.model_values()[1].second - s.model_values()[1].first), "\"bb\"");
    EXPECT_EQ(body.substr(s.model_values()[2].first, s.model_values()[2].second - s.model_values()[2].first), "\"c\"");
  }
}

TEST(BodyModel, TooManyModelKeysIsAConflict) {
  std::string body = "{";
  for (size_t i = 0; i <= ModelFieldScanner::kMaxModelKeys; ++i) body += R"("model":"m",)";
  body += R"("x":1})";
  ModelFieldScanner s;
  EXPECT_EQ(s.feed(body), State::Conflict);
  EXPECT_EQ(s.model_keys(), ModelFieldScanner::kMaxModelKeys + 1);
}

TEST(BodyEdits, ReplacesEveryValueAndMapsLaterOffsets) {
  std::string body = R"({"model":"a","prompt":"p","model":"bb"})";
  ModelFieldScanner s;
  ASSERT_EQ(s.feed(body), State::Complete);
  const size_t prompt_begin = s.prompt_begin(), prompt_end = s.prompt_end();
  BodyEdits edits;
  ASSERT_TRUE(edits.replace(body, s.model_values(), json_quote("target-x")));
  EXPECT_EQ(body, R"({"model":"target-x","prompt":"p","model":"target-x"})");
  EXPECT_EQ(edits.size_change(), 2 * 10 - 3 - 4);
  EXPECT_EQ(body.substr(edits.map(prompt_begin), edits.map(prompt_end) - edits.map(prompt_begin)), "\"p\"");
  EXPECT_EQ(edits.map(0), 0u);
  // A range past the body (never read) leaves it untouched.
  std::string shorter = body.substr(0, 5);
  BodyEdits none;
  EXPECT_FALSE(none.replace(shorter, s.model_values(), json_quote("y")));
  EXPECT_EQ(shorter, body.substr(0, 5));
  EXPECT_TRUE(none.empty());
}

// The gateway routes on the first `decided` bytes, locks, then reads the rest as it streams.
State after_lock(const std::string& body, size_t decided, size_t step, bool strict = false) {
  ModelFieldScanner s;
  s.feed(std::string_view(body).substr(0, decided));
  if (s.state() != State::Scanning) return s.state();
  s.lock(strict);
  for (size_t i = decided; i < body.size() && s.state() == State::Scanning; i += step)
    s.feed(std::string_view(body).substr(i, step));
  return s.state();
}

TEST(BodyModel, AfterLockALaterModelThatDiffersIsAConflict) {
  const std::string pad(200, 'x');
  const std::string head = R"({"model":"llama","messages":[{"role":"user","content":")" + pad + R"("}])";
  const size_t decided = head.size() - 10;  // inside the messages: the object has not ended
  struct Case {
    const char* name;
    std::string tail;
    State state;
  };
  const Case cases[] = {
      {"no_later_model", "}", State::Complete},
      {"same_model_again", R"(,"model":"llama"})", State::Complete},
      {"other_model", R"(,"model":"premium"})", State::Conflict},
      {"escaped_same_model", R"(,"model":"ll\u0061ma"})", State::Complete},
      {"non_string_model", R"(,"model":null})", State::Conflict},
      {"overlong_model", R"(,"model":")" + std::string(ModelFieldScanner::kMaxModelBytes + 1, 'm') + R"("})",
       State::Conflict},
      {"nested_model", R"(,"meta":{"model":"premium"}})", State::Complete},
      {"model_in_text", R"(,"user":"\"model\":\"premium\""})", State::Complete},
      {"other_then_same", R"(,"model":"premium","model":"llama"})", State::Conflict},
  };
  for (const Case& c : cases) {
    for (size_t step : {size_t(1), size_t(3), size_t(4096)}) {
      EXPECT_EQ(after_lock(head + c.tail, decided, step), c.state) << c.name << " step " << step;
    }
  }
  // Rewritten: any later "model" would reach the server unrewritten.
  EXPECT_EQ(after_lock(head + R"(,"model":"llama"})", decided, 1, /*strict=*/true), State::Conflict);
  EXPECT_EQ(after_lock(head + "}", decided, 1, /*strict=*/true), State::Complete);
}

TEST(BodyModel, AfterLockWithNoModelAnyLaterStringModelIsAConflict) {
  const std::string head = R"({"messages":[{"role":"user","content":")" + std::string(100, 'y') + R"("}])";
  const size_t decided = head.size() - 5;
  EXPECT_EQ(after_lock(head + R"(,"model":"premium"})", decided, 1), State::Conflict);
  EXPECT_EQ(after_lock(head + R"(,"model":null})", decided, 1), State::Complete) << "no model either way";
  EXPECT_EQ(after_lock(head + "}", decided, 1), State::Complete);
}

// The reproduction from the quickstart: 1.1 MB, llama first, food-review-premium last; the gateway
// reads 1 MiB (bodyRouting.maxBytes) and routes on llama.
TEST(BodyModel, TheQuickstartReproductionIsAConflictBeforeTheBodyEnds) {
  std::string body = R"({"model":"llama-3.1-8b-instruct","messages":[{"role":"user","content":")";
  body += std::string(1100 * 1000, 'a');
  body += R"("}],"model":"food-review-premium"})";
  ModelFieldScanner s;
  size_t fed = 0;
  constexpr size_t kChunk = 16 * 1024;
  while (fed < (1u << 20)) {
    s.feed(std::string_view(body).substr(fed, kChunk));
    fed += kChunk;
  }
  ASSERT_EQ(s.state(), State::Scanning);
  ASSERT_EQ(s.model(), "llama-3.1-8b-instruct");
  s.lock();
  while (fed < body.size() && s.state() == State::Scanning) {
    s.feed(std::string_view(body).substr(fed, kChunk));
    fed += kChunk;
  }
  EXPECT_EQ(s.state(), State::Conflict);
  EXPECT_GE(fed, body.size()) << "found in the last chunk, which therefore never goes upstream";
  EXPECT_EQ(s.model_keys(), 2u);
}

// Python's json.detect_encoding, which model servers' JSON parsing goes through.
TEST(BodyModel, WhatPythonReadsAsUtf16Or32) {
  using namespace std::string_literals;
  EXPECT_TRUE(python_reads_as_utf16_or_32("\xFF\xFE{\0"s));                  // UTF-16LE mark
  EXPECT_TRUE(python_reads_as_utf16_or_32("\xFE\xFF\0{"s));                  // UTF-16BE mark
  EXPECT_TRUE(python_reads_as_utf16_or_32("\xFF\xFE\0\0{\0\0\0"s));          // UTF-32LE mark
  EXPECT_TRUE(python_reads_as_utf16_or_32("\0\0\xFE\xFF\0\0\0{"s));          // UTF-32BE mark
  EXPECT_TRUE(python_reads_as_utf16_or_32("{\0\"\0"s));                      // UTF-16LE, no mark
  EXPECT_TRUE(python_reads_as_utf16_or_32("\0{\0\""s));                      // UTF-16BE
  EXPECT_TRUE(python_reads_as_utf16_or_32("{\0\0\0"s));                      // UTF-32LE
  EXPECT_TRUE(python_reads_as_utf16_or_32("\0\0\0{"s));                      // UTF-32BE
  EXPECT_TRUE(python_reads_as_utf16_or_32(" \0\n\0{\0"s));                  // whitespace first
  EXPECT_TRUE(python_reads_as_utf16_or_32("{\0"s));                           // two bytes
  EXPECT_FALSE(python_reads_as_utf16_or_32("{\0\""s));                        // three bytes: Python says UTF-8
  EXPECT_FALSE(python_reads_as_utf16_or_32("[\0{\0"s)) << "not an object: no model to read";
  EXPECT_FALSE(python_reads_as_utf16_or_32(std::string(4096, '\0'))) << "a binary upload";
  EXPECT_FALSE(python_reads_as_utf16_or_32("\xFF\xFE"s)) << "a mark and nothing";
  EXPECT_FALSE(python_reads_as_utf16_or_32(R"({"model":"m"})"));
  EXPECT_FALSE(python_reads_as_utf16_or_32("\xEF\xBB\xBF{}"));        // UTF-8 mark: read here
  EXPECT_FALSE(python_reads_as_utf16_or_32("x"));
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
