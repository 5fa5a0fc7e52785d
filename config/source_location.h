#pragma once
// Where a resource (or one of its fields) was written, kept on every model object so that
// diagnostics produced long after loading (route building, pool building) still point at YAML.

#include <string>

namespace infergate::config {

struct SourceLocation {
  std::string file;
  int document = 0;  // 1-based
  int line = 0;      // 1-based; 0 = unknown
};

}  // namespace infergate::config
