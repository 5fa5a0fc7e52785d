#pragma once
// Internal to config/: the one age order of resources. Istio merges VirtualServices and
// DestinationRules in it (sortConfigByCreationTime); GIE lets the oldest InferenceModel claim
// a modelName and the oldest InferenceModelRewrite rule win a model. Without a timestamp a
// resource counts as the newest, as in HTTPRoute precedence. Timestamps compare as written:
// Kubernetes writes RFC 3339 UTC ("2025-01-02T03:04:05Z"), which sorts as text.

#include <algorithm>
#include <vector>

#include "config/model/common.h"

namespace infergate::config::detail {

// Older first, then name, then namespace (Istio's tie-break; GIE's comparisons are within
// one namespace, where this is simply by name).
inline bool older(const ObjectMeta& a, const ObjectMeta& b) {
  if (a.creation_timestamp.empty() != b.creation_timestamp.empty())
    return !a.creation_timestamp.empty();
  if (a.creation_timestamp != b.creation_timestamp)
    return a.creation_timestamp < b.creation_timestamp;
  if (a.name != b.name) return a.name < b.name;
  return a.ns < b.ns;
}

// Stable, so that equal resources (duplicates, already reported) keep their written order.
template <typename T>
void sort_oldest_first(std::vector<T>& items) {
  std::stable_sort(items.begin(), items.end(),
                   [](const T& a, const T& b) { return older(a.meta, b.meta); });
}

}  // namespace infergate::config::detail
