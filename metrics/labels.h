#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace infergate::metrics {

// Label name/value pairs of one series. Order does not matter: a series is
// identified by the set, and exposition sorts by label name.
using Labels = std::vector<std::pair<std::string, std::string>>;

// Prometheus data model rules: metric [a-zA-Z_:][a-zA-Z0-9_:]*, label
// [a-zA-Z_][a-zA-Z0-9_]* and not starting with "__" (reserved for Prometheus).
bool is_valid_metric_name(std::string_view name);
bool is_valid_label_name(std::string_view name);

// Envoy flat stat names ("cluster.llm.upstream_rq_total"): non-empty printable
// ASCII without spaces or ':' (the /stats line separator).
bool is_valid_envoy_name(std::string_view name);

}  // namespace infergate::metrics
