#pragma once

// Appending forms of format_envoy/format_json, internal to metrics/: the access
// log writer formats a whole batch into one buffer.

#include <string>

#include "metrics/access_log.h"

namespace infergate::metrics {

void append_envoy_line(std::string& out, const AccessLogEntry& e);
void append_json_line(std::string& out, const AccessLogEntry& e);

}  // namespace infergate::metrics
