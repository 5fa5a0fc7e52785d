#pragma once
// Internal to config/: a list of named policies of our own kind (spec.localRateLimits,
// spec.tokenBudgets): at most `max` of them, each parsed by `parse`, names unique (counters are
// labelled by them), a duplicate reported at its name with the path of the first.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/parse_context.h"
#include "config/str_cat.h"

namespace infergate::config::detail {

// `parse(ctx, map)` returns the policy, or nullopt when it reported errors; `what` names the
// kind in the count error ("local rate limits").
template <typename T, typename Parse>
void parse_named_list(ParseContext& ctx, const MapView& spec, std::string_view key, size_t max,
                      std::string_view what, Parse parse, std::vector<T>& out) {
  const auto items = spec.list(key);
  if (items.size() > max)
    ctx.error(*spec.find(key), spec.path_of(key), cat("at most ", max, " ", what, ", got ", items.size()));
  std::vector<std::string> paths;  // of out[i], for duplicate names
  for (const auto& [path, node] : items) {
    MapView m(ctx, node, path);
    if (!m.valid()) continue;
    std::optional<T> item = parse(ctx, m);
    if (!item) continue;
    bool duplicate = false;
    for (size_t i = 0; i < out.size() && !duplicate; ++i) {
      if (out[i].name != item->name) continue;
      ctx.error(*m.find("name"), m.path_of("name"), cat("\"", item->name, "\" is already the name of ", paths[i]));
      duplicate = true;
    }
    if (duplicate) continue;
    paths.push_back(path);
    out.push_back(std::move(*item));
  }
}

}  // namespace infergate::config::detail
