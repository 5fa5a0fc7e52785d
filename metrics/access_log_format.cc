// format_envoy and format_json: how one AccessLogEntry becomes one log line.

#include <absl/time/time.h>

#include <nlohmann/json.hpp>

#include "metrics/access_log.h"
#include "metrics/access_log_format.h"

namespace infergate::metrics {
namespace {

// Envoy's START_TIME default: UTC, millisecond precision.
std::string start_time(const AccessLogEntry& e) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::FromChrono(e.start_time), absl::UTCTimeZone());
}

// One entry is one line: a line break smuggled into a value prints as a space.
void append_value(std::string& out, std::string_view v) {
  if (v.empty()) {
    out += '-';
    return;
  }
  for (const char c : v) out += (c == '\n' || c == '\r') ? ' ' : c;
}

void append_quoted(std::string& out, std::string_view v) {
  out += " \"";
  append_value(out, v);
  out += '"';
}

void append_number(std::string& out, int64_t v) {
  out += ' ';
  out += std::to_string(v);
}

nlohmann::ordered_json string_or_null(std::string_view v) {
  if (v.empty()) return nullptr;
  return std::string(v);
}

}  // namespace

void append_envoy_line(std::string& out, const AccessLogEntry& e) {
  out += '[';
  out += start_time(e);
  out += "] \"";
  append_value(out, e.method);
  out += ' ';
  append_value(out, e.path);
  out += ' ';
  append_value(out, e.protocol);
  out += '"';
  append_number(out, e.response_code);
  out += ' ';
  append_value(out, e.response_flags);
  out += ' ';
  out += std::to_string(e.bytes_received);
  out += ' ';
  out += std::to_string(e.bytes_sent);
  append_number(out, e.duration_ms);
  if (e.upstream_service_time_ms < 0) {
    out += " -";
  } else {
    append_number(out, e.upstream_service_time_ms);
  }
  append_quoted(out, e.x_forwarded_for);
  append_quoted(out, e.user_agent);
  append_quoted(out, e.request_id);
  append_quoted(out, e.authority);
  append_quoted(out, e.upstream_host);
  out += '\n';
}

void append_json_line(std::string& out, const AccessLogEntry& e) {
  nlohmann::ordered_json j;
  j["start_time"] = start_time(e);
  j["method"] = string_or_null(e.method);
  j["path"] = string_or_null(e.path);
  j["protocol"] = string_or_null(e.protocol);
  j["response_code"] = e.response_code;
  j["response_flags"] = e.response_flags == "-" ? nullptr : string_or_null(e.response_flags);
  j["bytes_received"] = e.bytes_received;
  j["bytes_sent"] = e.bytes_sent;
  j["duration"] = e.duration_ms;
  j["upstream_service_time"] =
      e.upstream_service_time_ms < 0 ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(e.upstream_service_time_ms);
  j["x_forwarded_for"] = string_or_null(e.x_forwarded_for);
  j["user_agent"] = string_or_null(e.user_agent);
  j["request_id"] = string_or_null(e.request_id);
  j["authority"] = string_or_null(e.authority);
  j["upstream_host"] = string_or_null(e.upstream_host);
  j["upstream_cluster"] = string_or_null(e.upstream_cluster);
  j["route_name"] = string_or_null(e.route_name);
  // Header bytes are not guaranteed UTF-8; replace bad sequences rather than throw.
  out += j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  out += '\n';
}

std::string format_envoy(const AccessLogEntry& e) {
  std::string out;
  append_envoy_line(out, e);
  return out;
}

std::string format_json(const AccessLogEntry& e) {
  std::string out;
  append_json_line(out, e);
  return out;
}

}  // namespace infergate::metrics
