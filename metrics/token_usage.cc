#include "metrics/token_usage.h"

#include <algorithm>
#include <array>
#include <cstring>

namespace infergate::metrics {

namespace {

// Token counts are far below this; a longer number is not one.
constexpr uint64_t kMaxCount = 1'000'000'000'000ull;

// The end of the line starting at p: the first '\n' or '\r', or end.
const char* find_eol(const char* p, const char* end) {
  const auto* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
  const char* limit = nl ? nl : end;
  const auto* cr = static_cast<const char*>(std::memchr(p, '\r', static_cast<size_t>(limit - p)));
  return cr ? cr : limit;
}

// Bytes that change the nesting or start a string: all a scan must see of a value that
// cannot hold the response's usage.
constexpr auto kStructural = [] {
  std::array<bool, 256> t{};
  for (unsigned char c : {'"', '{', '}', '[', ']'}) t[c] = true;
  return t;
}();

bool iequals_prefix(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != prefix[i]) return false;
  }
  return true;
}

}  // namespace

void JsonUsageScanner::feed(std::string_view data) {
  const char* p = data.data();
  const char* const end = p + data.size();
  while (p < end && !failed_) {
    if (in_string_ && !escape_) {
      // Skip string content in bulk: only keys are ever looked at.
      const size_t left = static_cast<size_t>(end - p);
      const auto* quote = static_cast<const char*>(std::memchr(p, '"', left));
      const char* stop = quote ? quote : end;
      if (const auto* bs = static_cast<const char*>(std::memchr(p, '\\', static_cast<size_t>(stop - p)))) stop = bs;
      if (string_is_key_) {
        for (const char* k = p; k < stop; ++k) {
          if (key_len_ < sizeof key_) key_[key_len_++] = *k;
          else key_overflow_ = true;
        }
      }
      p = stop;
      if (p == end) break;
    } else if (!in_string_ && !in_number_ && depth_ >= 2 && usage_depth_ == 0) {
      // Inside a value that is not the usage (choices, messages): only nesting matters.
      while (p < end && !kStructural[static_cast<unsigned char>(*p)]) ++p;
      if (p == end) break;
    }
    on_byte(*p++);
  }
}

void JsonUsageScanner::on_byte(char c) {
  if (in_string_) {
    if (escape_) {
      escape_ = false;
      key_overflow_ = true;  // none of the keys we read is written with escapes
    } else if (c == '\\') {
      escape_ = true;
    } else if (c == '"') {
      in_string_ = false;
      if (string_is_key_) end_key();
    }
    return;
  }
  if (in_number_) {
    if (c >= '0' && c <= '9') {
      number_ = number_ * 10 + static_cast<uint64_t>(c - '0');
      if (number_ > kMaxCount) number_ok_ = false;
      return;
    }
    if ((c >= 'a' && c <= 'z') || c == '.' || c == '+' || c == '-' || (c >= 'A' && c <= 'Z')) {
      number_ok_ = false;  // a fraction, exponent or true/false/null
      return;
    }
    end_number();
  }
  switch (c) {
    case ' ': case '\t': case '\n': case '\r': return;
    case '{':
    case '[':
      if (depth_ >= kMaxDepth) {
        failed_ = true;
        return;
      }
      if (c == '{' && depth_ == 1 && field_ == Field::Usage) {
        usage_depth_ = 2;
        pending_prompt_.reset();
        pending_completion_.reset();
      }
      ++depth_;
      if (c == '{') objects_ |= uint64_t{1} << (depth_ - 1);
      else objects_ &= ~(uint64_t{1} << (depth_ - 1));
      expect_key_ = c == '{';
      field_ = Field::Other;
      return;
    case '}':
    case ']':
      if (depth_ == 0 || in_object() != (c == '}')) {
        failed_ = true;
        return;
      }
      if (depth_ == usage_depth_) {
        prompt_ = pending_prompt_;
        completion_ = pending_completion_;
        usage_depth_ = 0;
      }
      --depth_;
      expect_key_ = false;
      field_ = Field::Other;
      return;
    case '"':
      in_string_ = true;
      string_is_key_ = in_object() && expect_key_;
      if (string_is_key_) {
        key_len_ = 0;
        key_overflow_ = false;
      }
      return;
    case ':':
      expect_key_ = false;
      return;
    case ',':
      expect_key_ = in_object();
      field_ = Field::Other;
      return;
    default:
      if ((c >= '0' && c <= '9') || c == '-' || (c >= 'a' && c <= 'z')) {
        in_number_ = true;
        number_ = c >= '0' && c <= '9' ? static_cast<uint64_t>(c - '0') : 0;
        number_ok_ = c >= '0' && c <= '9';
        return;
      }
      failed_ = true;
  }
}

void JsonUsageScanner::end_key() {
  const std::string_view key = key_overflow_ ? std::string_view{} : std::string_view(key_, key_len_);
  if (depth_ == 1 && key == "usage") {
    field_ = Field::Usage;
  } else if (usage_depth_ != 0 && depth_ == usage_depth_ && key == "prompt_tokens") {
    field_ = Field::Prompt;
  } else if (usage_depth_ != 0 && depth_ == usage_depth_ && key == "completion_tokens") {
    field_ = Field::Completion;
  } else {
    field_ = Field::Other;
  }
}

void JsonUsageScanner::end_number() {
  in_number_ = false;
  if (!number_ok_ || usage_depth_ == 0 || depth_ != usage_depth_) return;
  if (field_ == Field::Prompt) pending_prompt_ = number_;
  if (field_ == Field::Completion) pending_completion_ = number_;
}

std::optional<TokenUsageReader::Body> TokenUsageReader::body_of(std::string_view content_type) {
  if (iequals_prefix(content_type, "text/event-stream")) return Body::EventStream;
  if (iequals_prefix(content_type, "application/json")) return Body::Json;
  // application/<vendor>+json
  const size_t semi = content_type.find(';');
  std::string_view type = content_type.substr(0, semi);
  while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
  if (iequals_prefix(type, "application/") && type.size() > 5 &&
      iequals_prefix(type.substr(type.size() - 5), "+json"))
    return Body::Json;
  return std::nullopt;
}

void TokenUsageReader::feed(std::string_view data) {
  if (body_ == Body::Json) {
    json_.feed(data);
    return;
  }
  feed_sse(data);
}

// text/event-stream per the WHATWG HTML spec: lines end in \n, \r\n or \r; a blank line ends
// an event; "data:" lines of one event are joined with \n; ':' starts a comment.
void TokenUsageReader::feed_sse(std::string_view data) {
  const char* p = data.data();
  const char* const end = p + data.size();
  while (p < end) {
    const char c = *p;
    if (after_cr_) {
      after_cr_ = false;
      if (c == '\n') {
        ++p;
        continue;
      }
    }
    if (c == '\r' || c == '\n') {
      end_line();
      after_cr_ = c == '\r';
      ++p;
      continue;
    }
    switch (line_) {
      case Line::Start:
        if (c == ':') {
          line_ = Line::Skip;
          ++p;
          continue;
        }
        line_ = Line::Field;
        field_len_ = 0;
        [[fallthrough]];
      case Line::Field:
        if (c == ':') {
          if (field_len_ == 4 && std::memcmp(field_, "data", 4) == 0) {
            if (event_has_data_) {
              json_.feed("\n");
              if (head_len_ < sizeof head_) head_[head_len_++] = '\n';
              else head_long_ = true;
            }
            event_has_data_ = true;
            line_ = Line::Data;
            data_space_ = true;
          } else {
            line_ = Line::Skip;
          }
        } else if (field_len_ < sizeof field_) {
          field_[field_len_++] = c;
        } else {
          line_ = Line::Skip;
        }
        ++p;
        continue;
      case Line::Data: {
        if (data_space_) {
          data_space_ = false;
          if (c == ' ') {
            ++p;
            continue;
          }
        }
        const char* stop = find_eol(p, end);
        json_.feed(std::string_view(p, static_cast<size_t>(stop - p)));
        for (const char* h = p; h < stop && !head_long_; ++h) {
          if (head_len_ < sizeof head_) head_[head_len_++] = *h;
          else head_long_ = true;
        }
        p = stop;
        continue;
      }
      case Line::Skip:
        p = find_eol(p, end);
        continue;
    }
  }
}

void TokenUsageReader::end_line() {
  if (line_ == Line::Start) {
    end_event();
    return;
  }
  if (line_ == Line::Field && field_len_ == 4 && std::memcmp(field_, "data", 4) == 0) {
    // "data" with no colon: a data line with an empty value.
    if (event_has_data_) json_.feed("\n");
    event_has_data_ = true;
  }
  line_ = Line::Start;
}

void TokenUsageReader::end_event() {
  if (!event_has_data_) return;
  const bool done = !head_long_ && std::string_view(head_, head_len_) == "[DONE]";
  if (!done) {
    ++events_;
    if (json_.prompt_tokens() || json_.completion_tokens()) {
      prompt_ = json_.prompt_tokens();
      completion_ = json_.completion_tokens();
    }
  }
  json_.reset();
  event_has_data_ = false;
  head_len_ = 0;
  head_long_ = false;
}

void TokenUsageReader::finish() {
  if (body_ != Body::EventStream) return;
  if (line_ != Line::Start) end_line();
  end_event();
}

}  // namespace infergate::metrics
