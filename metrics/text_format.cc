#include "metrics/text_format.h"

#include <charconv>
#include <cmath>
#include <string_view>

namespace infergate::metrics::detail {
namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 0 when it is invalid
// (bad lead byte, truncated, overlong, surrogate or beyond U+10FFFF).
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) return 1;
  std::size_t len = 0;
  uint32_t cp = 0;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2;
    cp = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3;
    cp = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4;
    cp = b0 & 0x07;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

void append_escaped(std::string& out, std::string_view v, bool escape_quote) {
  for (std::size_t i = 0; i < v.size();) {
    const char c = v[i];
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && escape_quote) {
      out += "\\\"";
    } else {
      const std::size_t len = utf8_sequence_length(v, i);
      if (len == 0) {
        out += "\xEF\xBF\xBD";
        ++i;
      } else {
        out.append(v.substr(i, len));
        i += len;
      }
      continue;
    }
    ++i;
  }
}

}  // namespace

void append_double(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else {
    // Go's strconv.FormatFloat(v, 'g', -1, 64), which Prometheus and its client libraries
    // write: shortest round-trip digits, exponent form when the decimal exponent is < -4 or
    // >= 6 ("3.6e+06", "1e-05"), plain otherwise ("100000", "0.0001"). Series of one
    // histogram must carry the same `le` text whoever exports them.
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
    const std::string_view sci(buf, static_cast<std::size_t>(r.ptr - buf));
    int exponent = 0;
    const std::string_view exp_text = sci.substr(sci.find('e') + 1);  // "+06", "-05"
    std::from_chars(exp_text.data() + (exp_text[0] == '+' ? 1 : 0),
                    exp_text.data() + exp_text.size(), exponent);
    if (exponent < -4 || exponent >= 6) {
      out.append(sci);
      return;
    }
    r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
    out.append(buf, r.ptr);
  }
}

void append_uint(std::string& out, uint64_t v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void append_escaped_label_value(std::string& out, std::string_view v) { append_escaped(out, v, true); }

void append_escaped_help(std::string& out, std::string_view v, bool escape_quote) {
  append_escaped(out, v, escape_quote);
}

}  // namespace infergate::metrics::detail
