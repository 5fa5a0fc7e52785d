#pragma once
// Helpers for config tests: render diagnostics for assertions and failure messages.

#include <string>
#include <string_view>
#include <vector>

#include "config/diagnostic.h"
#include "config/loader.h"

namespace infergate::config::testing {

inline std::string render(const std::vector<Diagnostic>& ds) {
  std::string out;
  for (const auto& d : ds) out += d.to_string() + "\n";
  return out;
}

// A GatewayConfig document "gc" in file gc.yaml: kGatewayConfigHead, then `spec` (2-space
// indented lines under spec:). Line numbers in its diagnostics count from kGatewayConfigHead.
inline const std::string kGatewayConfigHead =
    "apiVersion: infergate.dev/v1alpha1\nkind: GatewayConfig\nmetadata: {name: gc}\nspec:\n";
inline LoadResult load_gateway_spec(const std::string& spec) {
  return load_string(kGatewayConfigHead + spec, "gc.yaml");
}

// True when some diagnostic renders exactly as `expected`.
inline bool has_diagnostic(const std::vector<Diagnostic>& ds, const std::string& expected) {
  for (const auto& d : ds)
    if (d.to_string() == expected) return true;
  return false;
}

// 1-based line of the `nth` line of `text` containing `needle`; 0 when there is none.
// Expected line numbers are looked up this way, never hard-coded, so that editing a fixture
// cannot shift them silently.
inline int line_of(std::string_view text, std::string_view needle, int nth = 1) {
  int line = 1;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    if (text.substr(start, end - start).find(needle) != std::string_view::npos && --nth == 0)
      return line;
    start = end + 1;
    ++line;
  }
  return 0;
}

}  // namespace infergate::config::testing
