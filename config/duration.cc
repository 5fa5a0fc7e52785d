#include "config/duration.h"

#include "config/str_cat.h"
#include <absl/time/time.h>

namespace infergate::config {

using detail::cat;

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text,
                                                        std::string* error) {
  auto fail = [&](std::string why) -> std::optional<std::chrono::milliseconds> {
    if (error) *error = std::move(why);
    return std::nullopt;
  };
  if (text.empty()) return fail("empty duration");
  // absl accepts "inf" and signs; neither is a timeout anyone means.
  if (text.front() == '-' || text.front() == '+' || text.find("inf") != std::string_view::npos)
    return fail(cat("invalid duration \"", text,
                             "\": expected e.g. \"10s\", \"500ms\", \"1h30m\", \"1.5s\""));
  absl::Duration d;
  if (!absl::ParseDuration(detail::to_absl(text), &d))
    return fail(cat("invalid duration \"", text,
                             "\": expected e.g. \"10s\", \"500ms\", \"1h30m\", \"1.5s\""));
  if (d < absl::ZeroDuration()) return fail("duration must not be negative");
  if (d > absl::Hours(24 * 365 * 100)) return fail("duration is too long");
  int64_t ms = absl::ToInt64Milliseconds(absl::Ceil(d, absl::Milliseconds(1)));
  return std::chrono::milliseconds(ms);
}

std::string format_duration(std::chrono::milliseconds d) {
  if (d.count() == 0) return "0s";
  return absl::FormatDuration(absl::Milliseconds(d.count()));
}

}  // namespace infergate::config
