#pragma once
// Internal to config/: absl::StrCat / StrJoin that take std::string_view. Debian builds absl
// with its own absl::string_view (ABSL_OPTION_USE_STD_STRING_VIEW 0), which std::string_view
// does not convert to; these adapters keep call sites readable.

#include <absl/strings/str_cat.h>
#include <absl/strings/str_join.h>

#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace infergate::config::detail {

inline absl::string_view to_absl(std::string_view s) { return absl::string_view(s.data(), s.size()); }

template <typename T>
  requires(!std::is_convertible_v<const T&, std::string_view>)
const T& to_absl(const T& v) {
  return v;
}

template <typename... Args>
std::string cat(const Args&... args) {
  return absl::StrCat(to_absl(args)...);
}

template <typename Range>
std::string join(const Range& parts, std::string_view sep) {
  std::vector<absl::string_view> views;
  for (const auto& p : parts) views.push_back(to_absl(std::string_view(p)));
  return absl::StrJoin(views, to_absl(sep));
}

}  // namespace infergate::config::detail
