#include "gateway/control/version_totals.h"

namespace infergate::gateway {

namespace {

rollout::Buckets buckets_of(const metrics::Histogram& h) {
  const metrics::Histogram::Snapshot s = h.snapshot();
  rollout::Buckets b;
  b.bounds = s.bounds;
  b.counts.resize(s.cumulative.size());
  uint64_t below = 0;
  for (size_t i = 0; i < s.cumulative.size(); ++i) {
    b.counts[i] = s.cumulative[i] - below;
    below = s.cumulative[i];
  }
  return b;
}

}  // namespace

rollout::VersionTotals version_totals(const VersionSeries& v) {
  rollout::VersionTotals t;
  for (const auto& c : v.requests) t.requests += c.value();
  t.requests += v.reset.value();
  t.errors = v.requests[4].value() + v.reset.value();
  t.duration = buckets_of(v.duration);
  t.ttft = buckets_of(v.ttft);
  t.tpot = buckets_of(v.tpot);
  return t;
}

}  // namespace infergate::gateway
