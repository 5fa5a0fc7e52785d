#include "metrics/labels.h"

namespace infergate::metrics {
namespace {

bool is_alpha_(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

bool is_valid_metric_name(std::string_view name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (!(is_alpha_(c) || c == ':' || (i > 0 && is_digit(c)))) return false;
  }
  return true;
}

bool is_valid_label_name(std::string_view name) {
  if (name.empty() || name.starts_with("__")) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (!(is_alpha_(c) || (i > 0 && is_digit(c)))) return false;
  }
  return true;
}

bool is_valid_envoy_name(std::string_view name) {
  if (name.empty()) return false;
  for (const char c : name) {
    // Printable ASCII; ':' separates name from value on /stats and the braces,
    // quote and backslash belong to the family{labels} fallback form.
    if (c <= ' ' || c > '~' || c == ':' || c == '{' || c == '}' || c == '"' || c == '\\') return false;
  }
  return true;
}

}  // namespace infergate::metrics
