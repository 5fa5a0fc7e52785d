#include "config/diagnostic.h"

namespace infergate::config {

std::string Diagnostic::to_string() const {
  // Built with append() only: GCC 12 at -O3 warns falsely (-Wrestrict) on operator+ chains.
  std::string out;
  if (!file.empty()) {
    out.append(file);
    if (line > 0) out.append(":").append(std::to_string(line));
    out.append(": ");
  }
  if (document > 0) {
    out.append("document ").append(std::to_string(document));
    if (!resource.empty()) out.append(" (").append(resource).append(")");
    out.append(": ");
  } else if (!resource.empty()) {
    out.append(resource).append(": ");
  }
  if (!path.empty()) out.append(path).append(": ");
  out.append(message);
  return out;
}

}  // namespace infergate::config
