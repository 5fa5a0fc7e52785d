#pragma once
// Internal to config/: diagnostics about one resource of the validated model, for the
// cross-resource checks (validate_*.cc) that run after parsing, when only the model's
// SourceLocations are left to point at the YAML.

#include <string>
#include <string_view>
#include <vector>

#include "config/diagnostic.h"
#include "config/model/common.h"
#include "config/source_location.h"
#include "config/str_cat.h"

namespace infergate::config::detail {

class Emit {
 public:
  Emit(std::vector<Diagnostic>* errors, std::vector<Diagnostic>* warnings)
      : errors_(errors), warnings_(warnings) {}
  // `line` 0 = the resource's own line.
  void error(const ObjectMeta& m, std::string_view kind, std::string path, int line, std::string message) {
    errors_->push_back(make(m, kind, std::move(path), line, std::move(message)));
  }
  void warning(const ObjectMeta& m, std::string_view kind, std::string path, int line, std::string message) {
    warnings_->push_back(make(m, kind, std::move(path), line, std::move(message)));
  }

 private:
  static Diagnostic make(const ObjectMeta& m, std::string_view kind, std::string path, int line,
                         std::string message) {
    return Diagnostic{m.source.file, m.source.document, cat(kind, "/", m.name), std::move(path),
                      line > 0 ? line : m.source.line, std::move(message)};
  }
  std::vector<Diagnostic>* errors_;
  std::vector<Diagnostic>* warnings_;
};

// "file:line", for "(first defined at ...)".
inline std::string where(const SourceLocation& s) { return cat(s.file, ":", s.line); }

}  // namespace infergate::config::detail
