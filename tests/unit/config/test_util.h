#pragma once
// Helpers for config tests: render diagnostics for assertions and failure messages.

#include <string>
#include <vector>

#include "config/diagnostic.h"
#include "config/loader.h"

namespace infergate::config::testing {

inline std::string render(const std::vector<Diagnostic>& ds) {
  std::string out;
  for (const auto& d : ds) out += d.to_string() + "\n";
  return out;
}

// True when some diagnostic renders exactly as `expected`.
inline bool has_diagnostic(const std::vector<Diagnostic>& ds, const std::string& expected) {
  for (const auto& d : ds)
    if (d.to_string() == expected) return true;
  return false;
}

}  // namespace infergate::config::testing
