#pragma once
// What an OpenAI-compatible model server says a request cost in tokens, read from its response
// while the response streams through to the client: the top-level `usage` object of a JSON
// body, or of an SSE event (vLLM and OpenAI send it in the last event when the request asked
// for stream_options.include_usage). SSE data events are counted too, for streams that carry
// no usage and for the cadence of time per output token.
//
// It reads structure, not content: nothing of the body is kept, strings are skipped with
// memchr, nesting is bounded, and any split of the input gives the same answer. Input that is
// not what it claims to be ends the reading (no usage), never anything worse.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace infergate::metrics {

// The top-level usage counts of one JSON object, fed in pieces.
class JsonUsageScanner {
 public:
  void feed(std::string_view data);
  void reset() { *this = JsonUsageScanner{}; }

  // From the last top-level "usage" object read so far ("usage": null does not count).
  std::optional<uint64_t> prompt_tokens() const { return prompt_; }
  std::optional<uint64_t> completion_tokens() const { return completion_; }
  bool failed() const { return failed_; }

  static constexpr unsigned kMaxDepth = 64;

 private:
  enum class Field : uint8_t { Other, Usage, Prompt, Completion };
  void on_byte(char c);
  void end_key();
  void end_number();
  bool in_object() const { return depth_ > 0 && (objects_ >> (depth_ - 1)) & 1u; }

  bool failed_ = false;
  bool in_string_ = false, escape_ = false, string_is_key_ = false;
  bool expect_key_ = false;     // in an object, before a key
  bool in_number_ = false;
  unsigned depth_ = 0;          // open containers
  uint64_t objects_ = 0;        // bit d-1: the container at depth d is an object
  unsigned usage_depth_ = 0;    // depth of the usage object being read; 0 = none
  Field field_ = Field::Other;  // the key whose value comes next, when it matters
  char key_[24] = {};  // longer keys are none of ours
  unsigned key_len_ = 0;
  bool key_overflow_ = false;
  uint64_t number_ = 0;
  bool number_ok_ = false;
  std::optional<uint64_t> prompt_, completion_;
  std::optional<uint64_t> pending_prompt_, pending_completion_;  // inside the open usage object
};

class TokenUsageReader {
 public:
  enum class Body : uint8_t { Json, EventStream };
  // application/json (and +json) or text/event-stream; nullopt for anything else.
  static std::optional<Body> body_of(std::string_view content_type);

  explicit TokenUsageReader(Body body) : body_(body) {}
  void feed(std::string_view data);
  // The body ended: an SSE event still open (no closing blank line) counts.
  void finish();

  std::optional<uint64_t> prompt_tokens() const { return body_ == Body::Json ? json_.prompt_tokens() : prompt_; }
  std::optional<uint64_t> completion_tokens() const {
    return body_ == Body::Json ? json_.completion_tokens() : completion_;
  }
  // SSE: events with data other than "[DONE]". 0 for JSON bodies.
  uint32_t data_events() const { return events_; }
  Body body() const { return body_; }

 private:
  enum class Line : uint8_t { Start, Field, Data, Skip };
  void feed_sse(std::string_view data);
  void end_line();
  void end_event();

  Body body_;
  JsonUsageScanner json_;
  std::optional<uint64_t> prompt_, completion_;  // SSE: from the last event with a usage
  uint32_t events_ = 0;
  // SSE line state
  Line line_ = Line::Start;
  bool after_cr_ = false;      // a '\r' ended the last line; a '\n' right after belongs to it
  char field_[6] = {};         // the field name being read ("data" is all we need)
  unsigned field_len_ = 0;
  bool data_space_ = false;    // the next data byte is the optional space after ':'
  bool event_has_data_ = false;
  char head_[7] = {};          // the event's first data bytes, to recognise "[DONE]"
  unsigned head_len_ = 0;
  bool head_long_ = false;
};

}  // namespace infergate::metrics
