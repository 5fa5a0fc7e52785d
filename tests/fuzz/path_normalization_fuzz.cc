// libFuzzer target for the path normalizer (routing/path_normalization.h): arbitrary bytes as
// a request target, the first byte picking the setting and the escaped-slash action.
// Besides "no crash, no sanitizer report" it checks what the gateway relies on:
//   - a refused target is left as it came;
//   - an accepted result normalizes to itself, unchanged and not redirected again;
//   - under a normalizing setting the result starts with "/" and has no dot segment, and
//     under a merging one no "//".
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "routing/path_normalization.h"

namespace {

using infergate::config::EscapedSlashesAction;
using infergate::config::PathNormalization;
using infergate::config::PathNormalizationMode;
using namespace infergate::routing;

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  PathNormalization pn;
  pn.normalization = static_cast<PathNormalizationMode>(data[0] & 3);
  pn.escaped_slashes = static_cast<EscapedSlashesAction>((data[0] >> 2) & 3);
  const std::string in(reinterpret_cast<const char*>(data + 1), size - 1);

  std::string once = in;
  const PathResult first = normalize_path(once, pn);
  if (first.action == PathAction::Reject) {
    check(once == in && first.error != PathError::None);
    return 0;
  }
  check(first.changed == (once != in));
  std::string twice = once;
  const PathResult second = normalize_path(twice, pn);
  check(second.action == PathAction::Forward && !second.changed && twice == once);
  if (pn.normalization == PathNormalizationMode::None) return 0;
  const std::string_view path = std::string_view(once).substr(0, once.find('?'));
  check(!path.empty() && path[0] == '/');
  check(!has_dot_segment(once));
  if (pn.normalization != PathNormalizationMode::Base) check(path.find("//") == std::string_view::npos);
  return 0;
}
