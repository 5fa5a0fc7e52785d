#pragma once
// Body-based routing's reader (the Inference Extension's BBR): the top-level "model" of a JSON
// request body, found while the body streams in, so the gateway can expose it as
// X-Gateway-Model-Name before route matching and rewrite it in the forwarded body.
//
// It reads structure, not values: strings below the top level are skipped (a chat body is
// mostly message text), nothing is allocated per byte, and any amount of input is fed in any
// split. A key written twice counts as written last, as the JSON readers of model servers
// (Python's json, pydantic) take it: the gateway must route on the model the server will see.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace infergate::routing {

class ModelFieldScanner {
 public:
  enum class State : uint8_t {
    Scanning,  // more body may still change the answer
    Complete,  // the top-level object ended: model() is final (maybe absent)
    Invalid,   // not a JSON object, or broken: no model
  };

  // `data` continues what was fed before. Returns the state after it; once not Scanning,
  // further input is ignored.
  State feed(std::string_view data);
  // The body ended: a body that never closed its object is Invalid.
  State finish();

  State state() const { return state_; }
  // The last top-level "model" whose value is a string, decoded; empty when none (or when
  // the last "model" is not a string). Meaningful once Complete, or as "so far" while Scanning.
  bool found() const { return found_; }
  const std::string& model() const { return model_; }
  // Where that value's JSON string, quotes included, lies in the body (byte offsets).
  size_t value_begin() const { return value_begin_; }
  size_t value_end() const { return value_end_; }
  size_t bytes_seen() const { return offset_; }

  // The prompt the endpoint picker's prefix-cache affinity hashes: the raw JSON text of the
  // last top-level "messages" (chat) or "prompt" (completions) value that is a string, array
  // or object, as byte offsets into the body. Raw rather than decoded: one client writes one
  // conversation the same way every time, and hashing needs no copy.
  bool prompt_found() const { return prompt_found_; }
  size_t prompt_begin() const { return prompt_begin_; }
  size_t prompt_end() const { return prompt_end_; }

  // Longest model name read (longer values count as absent): names are short, a megabyte of
  // "model" is an attack on the gateway, not a model.
  static constexpr size_t kMaxModelBytes = 1024;

 private:
  enum class Expect : uint8_t { Object, Key, Colon, Value, CommaOrEnd, Done };
  enum class Str : uint8_t { None, Key, ModelValue, Skip };

  void fail() { state_ = State::Invalid; }
  void end_string(size_t closing_quote);  // its offset in the body
  void end_prompt(size_t end);

  State state_ = State::Scanning;
  Expect expect_ = Expect::Object;
  Str str_ = Str::None;
  uint32_t depth_ = 0;         // nesting depth; the top-level object is 1
  bool in_literal_ = false;    // inside a number / true / false / null
  bool escape_ = false;        // the previous string byte was a backslash
  int unicode_left_ = -1;      // hex digits of a \u escape still to read; -1 = none
  uint32_t unicode_ = 0;
  uint32_t high_surrogate_ = 0;
  bool key_is_model_ = false;  // the current top-level key is "model"
  bool key_is_prompt_ = false; // ... is "messages" or "prompt"
  bool overflow_ = false;
  std::string key_;            // the top-level key being read (capped)
  std::string value_;          // the "model" value being read
  size_t string_start_ = 0;

  bool found_ = false;
  std::string model_;
  size_t value_begin_ = 0, value_end_ = 0;
  bool prompt_found_ = false;
  size_t pending_prompt_begin_ = 0, prompt_begin_ = 0, prompt_end_ = 0;
  size_t offset_ = 0;
};

// `s` as a JSON string literal, quotes included (for writing a rewritten model back).
std::string json_quote(std::string_view s);

}  // namespace infergate::routing
