#pragma once
// Body-based routing's reader (the Inference Extension's BBR): the top-level "model" of a JSON
// request body, found while the body streams in, so the gateway can expose it as
// X-Gateway-Model-Name before route matching and rewrite it in the forwarded body.
//
// It reads structure, not values: strings below the top level are skipped (a chat body is
// mostly message text), nothing is allocated per byte, and any amount of input is fed in any
// split. A key written twice counts as written last, as the JSON readers of model servers
// (Python's json, pydantic) take it: the gateway must route on the model the server will see.
// Every top-level "model" string is recorded so a rewrite can replace each one, and once the
// gateway has acted on a body that is still arriving (longer than maxBytes), lock() makes any
// later "model" that would change what the server sees a Conflict: the gateway then stops the
// request before its end reaches the server.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace infergate::routing {

class ModelFieldScanner {
 public:
  enum class State : uint8_t {
    Scanning,  // more body may still change the answer
    Complete,  // the top-level object ended: model() is final (maybe absent)
    Invalid,   // not a JSON object, or broken: no model
    Conflict,  // after lock(), a "model" the gateway did not act on; or too many "model" keys
  };

  // Where a top-level "model" string value, quotes included, lies in the body (byte offsets).
  using Range = std::pair<size_t, size_t>;

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
  // Top-level "model" keys read so far, whatever their values; more than one is a duplicate a
  // client wrote on purpose (an attempt to make the gateway and the server disagree).
  uint32_t model_keys() const { return model_keys_; }
  // Every top-level "model" string value read, in body order (what a rewrite must replace).
  const std::vector<Range>& model_values() const { return model_values_; }

  // The gateway acted on what was read so far and the rest of the body streams on unread by
  // it. From now on a top-level "model" that would make the server see a model other than
  // model() (or none where model() was absent) turns the state into Conflict. `strict`: the
  // gateway rewrote the model, so any later "model" at all would reach the server unrewritten.
  // Calling it again only tightens it.
  void lock(bool strict = false);
  bool locked() const { return locked_; }

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
  // More top-level "model" keys than this is a Conflict: no client writes them, and a rewrite
  // must be able to replace every one.
  static constexpr size_t kMaxModelKeys = 64;

 private:
  enum class Expect : uint8_t { Object, Key, Colon, Value, CommaOrEnd, Done };
  enum class Str : uint8_t { None, Key, ModelValue, Skip };

  void fail() { state_ = State::Invalid; }
  void end_string(size_t closing_quote);  // its offset in the body
  void end_prompt(size_t end);
  void model_read(bool string_value);  // a top-level "model" value ended

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
  bool bom_checked_ = false;  // a UTF-8 byte order mark before the object is skipped
  uint32_t model_keys_ = 0;
  std::vector<Range> model_values_;
  bool locked_ = false, locked_strict_ = false, locked_found_ = false;
  std::string locked_model_;
};

// The body's top-level "model" values replaced by one value; offsets read before the edit map
// to where those bytes are after it.
class BodyEdits {
 public:
  // Replaces each of `values` (ascending, non-overlapping, within `body`) by `quoted` (a JSON
  // string literal). False, and `body` untouched, when a range lies outside `body`.
  bool replace(std::string& body, const std::vector<ModelFieldScanner::Range>& values, std::string_view quoted);
  // Where a byte that was at `offset` before the edits is now (offsets inside a replaced value
  // map as its start).
  size_t map(size_t offset) const;
  ptrdiff_t size_change() const { return total_; }
  bool empty() const { return edits_.empty(); }

 private:
  struct Edit {
    size_t end;       // end of the replaced range, before the edit
    ptrdiff_t delta;  // how much longer the body became there
  };
  std::vector<Edit> edits_;
  ptrdiff_t total_ = 0;
};

// Whether Python's json.loads(bytes), which model servers parse request bodies with, would read
// a body starting with `head` as a JSON object in UTF-16 or UTF-32: its detect_encoding picks one
// (a byte order mark, or a NUL among the first two bytes) and the first character after
// whitespace is "{". Such a body is not JSON to this scanner, yet the server reads its "model".
// Binary bodies (NULs that do not decode to "{") are not.
bool python_reads_as_utf16_or_32(std::string_view head);

// `s` as a JSON string literal, quotes included (for writing a rewritten model back).
std::string json_quote(std::string_view s);

}  // namespace infergate::routing
