#pragma once
// What one version did: cumulative totals read from its per-version series at one instant,
// and the difference of two readings, which is what an analysis judges (a sliding window).
// Plain numbers: the gateway reads them from its metrics, tests write them by hand.

#include <cstdint>
#include <optional>
#include <vector>

namespace infergate::rollout {

// A cumulative histogram: per-bound counts (not cumulative across buckets), the last entry
// counting values above every bound.
struct Buckets {
  std::vector<double> bounds;
  std::vector<uint64_t> counts;  // bounds.size() + 1

  uint64_t total() const;
  // Prometheus' histogram_quantile: linear interpolation inside the bucket holding the
  // q-quantile; the upper bound of the last finite bucket when it falls above them all.
  // nullopt when empty.
  std::optional<double> quantile(double q) const;
  // this - earlier, bucket by bucket (a reset in between yields this).
  Buckets since(const Buckets& earlier) const;
  void add(const Buckets& other);  // same bounds, or this empty
};

struct VersionTotals {
  uint64_t requests = 0;
  uint64_t errors = 0;  // 5xx answers and streams that ended without a status
  Buckets duration, ttft, tpot;

  VersionTotals since(const VersionTotals& earlier) const;
  void add(const VersionTotals& other);
};

}  // namespace infergate::rollout
