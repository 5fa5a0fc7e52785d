#include "routing/body_model.h"

#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "routing/hex_digit.h"

namespace infergate::routing {

namespace {

constexpr size_t kMaxKeyBytes = 16;  // enough to know a key is not "model"

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// The first byte at or after `i` that ends plain string text: a quote, a backslash or a
// control byte (invalid in JSON). A chat body is mostly message text, so this loop is where
// the scan spends its time: 16 bytes per step where SSE2 is there (every x86-64).
size_t plain_text_end(const char* p, size_t i, size_t n) {
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  const __m128i control_max = _mm_set1_epi8(0x1F);
  for (; i + 16 <= n; i += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    // Unsigned v <= 0x1F: max(v, 0x1F) is 0x1F exactly then.
    const __m128i special = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                                         _mm_cmpeq_epi8(_mm_max_epu8(v, control_max), control_max));
    const int mask = _mm_movemask_epi8(special);
    if (mask != 0) return i + static_cast<size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
  }
#endif
  while (i < n && p[i] != '"' && p[i] != '\\' && static_cast<unsigned char>(p[i]) >= 0x20) ++i;
  return i;
}

}  // namespace

ModelFieldScanner::State ModelFieldScanner::feed(std::string_view data) {
  if (state_ != State::Scanning) return state_;
  const char* p = data.data();
  const size_t n = data.size();
  size_t start = 0;
  if (!bom_checked_) {
    // Python's json.loads takes bytes that start with a UTF-8 byte order mark (it decodes them
    // as utf-8-sig), so model servers do: the gateway must read such a body too. The mark may
    // arrive split.
    static constexpr std::string_view kBom = "\xEF\xBB\xBF";
    while (start < n && offset_ + start < kBom.size() && p[start] == kBom[offset_ + start]) ++start;
    if (offset_ + start < kBom.size() && start == n) {
      offset_ += n;
      return state_;
    }
    if (offset_ + start < kBom.size()) {
      if (offset_ + start > 0) return fail(), state_;  // a partial mark, then something else
    }
    bom_checked_ = true;
  }
  std::string* capture = nullptr;
  size_t cap = 0;
  auto set_capture = [&] {
    capture = str_ == Str::Key ? &key_ : str_ == Str::ModelValue ? &value_ : nullptr;
    cap = str_ == Str::Key ? kMaxKeyBytes : kMaxModelBytes;
  };
  set_capture();
  auto emit_cp = [&](uint32_t cp) {
    if (!capture || overflow_) return;
    append_utf8(*capture, cp);
    if (capture->size() > cap) overflow_ = true;
  };
  for (size_t i = start; i < n; ++i) {
    char c = p[i];
    if (str_ != Str::None) {
      if (unicode_left_ > 0) {
        const int h = hex_value(c);
        if (h < 0) return fail(), state_;
        unicode_ = unicode_ << 4 | static_cast<uint32_t>(h);
        if (--unicode_left_ > 0) continue;
        unicode_left_ = -1;
        uint32_t cp = unicode_;
        if (high_surrogate_ && cp >= 0xDC00 && cp <= 0xDFFF) {
          cp = 0x10000 + ((high_surrogate_ - 0xD800) << 10) + (cp - 0xDC00);
          high_surrogate_ = 0;
        } else {
          if (high_surrogate_) emit_cp(0xFFFD);
          high_surrogate_ = 0;
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            high_surrogate_ = cp;
            continue;
          }
          if (cp >= 0xDC00 && cp <= 0xDFFF) cp = 0xFFFD;
        }
        emit_cp(cp);
        continue;
      }
      if (escape_) {
        escape_ = false;
        if (c == 'u') {
          unicode_left_ = 4;
          unicode_ = 0;
          continue;
        }
        if (high_surrogate_) emit_cp(0xFFFD), high_surrogate_ = 0;
        switch (c) {
          case '"': case '\\': case '/': emit_cp(static_cast<uint8_t>(c)); break;
          case 'b': emit_cp('\b'); break;
          case 'f': emit_cp('\f'); break;
          case 'n': emit_cp('\n'); break;
          case 'r': emit_cp('\r'); break;
          case 't': emit_cp('\t'); break;
          default: return fail(), state_;
        }
        continue;
      }
      if (str_ == Str::Skip) {
        // Message text: jump to the next quote or backslash.
        const size_t j = plain_text_end(p, i, n);
        if (j == n) break;
        i = j;
        c = p[i];
      }
      if (high_surrogate_ && c != '\\') emit_cp(0xFFFD), high_surrogate_ = 0;
      if (c == '\\') {
        escape_ = true;
      } else if (c == '"') {
        end_string(offset_ + i);
        if (state_ != State::Scanning) {
          offset_ += i + 1;
          return state_;
        }
        set_capture();
      } else if (static_cast<unsigned char>(c) < 0x20) {
        return fail(), state_;
      } else if (capture && !overflow_) {
        capture->push_back(c);
        if (capture->size() > cap) overflow_ = true;
      }
      continue;
    }
    if (in_literal_) {
      if (c != ',' && c != '}' && c != ']' && !is_space(c)) continue;
      in_literal_ = false;
    }
    if (is_space(c)) continue;
    if (depth_ > 1) {
      if (c == '"') {
        str_ = Str::Skip;
        set_capture();
      } else if (c == '{' || c == '[') {
        ++depth_;
      } else if (c == '}' || c == ']') {
        if (--depth_ == 1) {
          expect_ = Expect::CommaOrEnd;
          if (key_is_prompt_) end_prompt(offset_ + i + 1);
        }
      }
      continue;
    }
    switch (expect_) {
      case Expect::Object:
        if (c != '{') return fail(), state_;
        depth_ = 1;
        expect_ = Expect::Key;
        break;
      case Expect::Key:
        if (c == '}') {
          depth_ = 0;
          expect_ = Expect::Done;
          state_ = State::Complete;
          offset_ += i + 1;
          return state_;
        }
        if (c != '"') return fail(), state_;
        str_ = Str::Key;
        key_.clear();
        overflow_ = false;
        set_capture();
        break;
      case Expect::Colon:
        if (c != ':') return fail(), state_;
        expect_ = Expect::Value;
        break;
      case Expect::Value:
        if (key_is_prompt_) pending_prompt_begin_ = offset_ + i;
        if (c == '"') {
          str_ = key_is_model_ ? Str::ModelValue : Str::Skip;
          value_.clear();
          overflow_ = false;
          string_start_ = offset_ + i;
          set_capture();
          break;
        }
        // A "model" that is not a string overrides any earlier one: the server sees this one.
        if (key_is_model_) {
          found_ = false;
          model_read(/*string_value=*/false);
          if (state_ != State::Scanning) {
            offset_ += i + 1;
            return state_;
          }
        }
        if (c == '{' || c == '[') {
          depth_ = 2;
        } else if (c == '}' || c == ']' || c == ',' || c == ':') {
          return fail(), state_;
        } else {
          in_literal_ = true;
          expect_ = Expect::CommaOrEnd;
        }
        break;
      case Expect::CommaOrEnd:
        if (c == ',') {
          expect_ = Expect::Key;
        } else if (c == '}') {
          depth_ = 0;
          expect_ = Expect::Done;
          state_ = State::Complete;
          offset_ += i + 1;
          return state_;
        } else {
          return fail(), state_;
        }
        break;
      case Expect::Done:
        break;
    }
  }
  offset_ += n;
  return state_;
}

void ModelFieldScanner::end_string(size_t closing_quote) {
  switch (str_) {
    case Str::Key:
      key_is_model_ = !overflow_ && key_ == "model";
      key_is_prompt_ = !overflow_ && (key_ == "messages" || key_ == "prompt");
      expect_ = Expect::Colon;
      break;
    case Str::ModelValue:
      found_ = !overflow_;
      if (found_) {
        model_ = value_;
        value_begin_ = string_start_;
        value_end_ = closing_quote + 1;
        if (model_values_.size() < kMaxModelKeys) model_values_.emplace_back(value_begin_, value_end_);
      }
      expect_ = Expect::CommaOrEnd;
      model_read(/*string_value=*/true);
      break;
    case Str::Skip:
      if (depth_ == 1) {
        expect_ = Expect::CommaOrEnd;
        if (key_is_prompt_) end_prompt(closing_quote + 1);
      }
      break;
    case Str::None:
      break;
  }
  str_ = Str::None;
}

void ModelFieldScanner::model_read(bool string_value) {
  ++model_keys_;
  if (model_keys_ > kMaxModelKeys) {
    state_ = State::Conflict;
    return;
  }
  if (!locked_) return;
  // A string too long to read is a model the gateway cannot name: never the same.
  const bool same = !locked_strict_ && (string_value ? found_ && locked_found_ && model_ == locked_model_
                                                     : !locked_found_);
  if (!same) state_ = State::Conflict;
}

void ModelFieldScanner::lock(bool strict) {
  if (!locked_) {
    locked_found_ = found_;
    if (found_) locked_model_ = model_;
  }
  locked_ = true;
  locked_strict_ = locked_strict_ || strict;
}

void ModelFieldScanner::end_prompt(size_t end) {
  prompt_found_ = true;
  prompt_begin_ = pending_prompt_begin_;
  prompt_end_ = end;
}

ModelFieldScanner::State ModelFieldScanner::finish() {
  if (state_ == State::Scanning) state_ = State::Invalid;
  return state_;
}

bool BodyEdits::replace(std::string& body, const std::vector<ModelFieldScanner::Range>& values,
                        std::string_view quoted) {
  for (const auto& [begin, end] : values)
    if (begin >= end || end > body.size()) return false;
  // Back to front, so the offsets still to replace stay valid.
  for (auto it = values.rbegin(); it != values.rend(); ++it) body.replace(it->first, it->second - it->first, quoted);
  for (const auto& [begin, end] : values) {
    const ptrdiff_t delta = static_cast<ptrdiff_t>(quoted.size()) - static_cast<ptrdiff_t>(end - begin);
    edits_.push_back({end, delta});
    total_ += delta;
  }
  return true;
}

size_t BodyEdits::map(size_t offset) const {
  ptrdiff_t shift = 0;
  for (const Edit& e : edits_) {
    if (e.end > offset) break;
    shift += e.delta;
  }
  return static_cast<size_t>(static_cast<ptrdiff_t>(offset) + shift);
}

bool python_reads_as_utf16_or_32(std::string_view head) {
  const size_t n = head.size();
  auto byte = [&](size_t i) { return i < n ? static_cast<unsigned char>(head[i]) : 0u; };
  // Python's json.detect_encoding, in its order: the unit width, byte order, and where text starts.
  size_t width = 0, start = 0;
  bool big_endian = false;
  if (n >= 4 && byte(0) == 0xFF && byte(1) == 0xFE && byte(2) == 0 && byte(3) == 0) {
    width = 4, start = 4;
  } else if (n >= 4 && byte(0) == 0 && byte(1) == 0 && byte(2) == 0xFE && byte(3) == 0xFF) {
    width = 4, start = 4, big_endian = true;
  } else if (n >= 2 && ((byte(0) == 0xFF && byte(1) == 0xFE) || (byte(0) == 0xFE && byte(1) == 0xFF))) {
    width = 2, start = 2, big_endian = byte(0) == 0xFE;
  } else if (n >= 4 && byte(0) == 0) {
    width = byte(1) ? 2 : 4, big_endian = true;
  } else if (n >= 4 && byte(1) == 0) {
    width = byte(2) || byte(3) ? 2 : 4;
  } else if (n == 2 && (byte(0) == 0 || byte(1) == 0)) {
    width = 2, big_endian = byte(0) == 0;
  } else {
    return false;  // UTF-8: this scanner's own reading
  }
  for (size_t i = start; i + width <= n; i += width) {
    uint32_t unit = 0;
    for (size_t k = 0; k < width; ++k) unit |= byte(i + (big_endian ? width - 1 - k : k)) << (8 * k);
    if (unit == ' ' || unit == '\t' || unit == '\n' || unit == '\r') continue;
    return unit == '{';
  }
  return false;
}

std::string json_quote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out.push_back('"');
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (u < 0x20) {
      static const char kHex[] = "0123456789abcdef";
      out += "\\u00";
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xF]);
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
  return out;
}

}  // namespace infergate::routing
