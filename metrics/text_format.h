#pragma once

// Number and string rendering shared by the exposition formats, internal to metrics/.

#include <cstdint>
#include <string>
#include <string_view>

namespace infergate::metrics::detail {

// Prometheus float syntax: shortest round-trip form, "+Inf", "-Inf", "NaN".
void append_double(std::string& out, double v);
void append_uint(std::string& out, uint64_t v);

// Label values: \ " and newline escaped; invalid UTF-8 replaced by U+FFFD (the
// formats require UTF-8 and a label may carry bytes from outside).
void append_escaped_label_value(std::string& out, std::string_view v);
// HELP text in format 0.0.4: \ and newline escaped. OpenMetrics also escapes ".
void append_escaped_help(std::string& out, std::string_view v, bool escape_quote);

}  // namespace infergate::metrics::detail
