#pragma once
// One analysis verdict: the canary's window against the gates of its Rollout, absolute or
// relative to the stable version's same window (Flagger's metric checks, on the gateway's own
// per-version numbers).
//
//  - Fewer than minRequests canary requests in the window: Inconclusive, nothing is judged.
//  - errorRate: errors / requests (5xx and resets). `max`: at most that; `maxIncrease`: at
//    most that much above stable's; `maxRatio`: at most that multiple of stable's, where a
//    stable rate below 0.1 % counts as 0.1 % (a clean stable does not make any error fatal).
//  - p99Latency, ttftP90, tpotP90: the quantile from the window's buckets; `max` in seconds;
//    `maxRatio` against stable's quantile (skipped while stable has none). A metric with no
//    data in the window (no streamed answer for TPOT) is not judged.
//  - Prometheus gates: the value the caller queried; a failed query is Inconclusive (the
//    rollout waits), not a failure (it must not abort because Prometheus is down).
// Any failed gate makes the verdict Fail, with every failed gate in `reasons`.

#include <optional>
#include <string>
#include <vector>

#include "config/model/rollout.h"
#include "rollout/window.h"

namespace infergate::rollout {

enum class VerdictKind { Pass, Fail, Inconclusive };

struct SideSummary {
  uint64_t requests = 0;
  double error_rate = 0;
  std::optional<double> p99, ttft_p90, tpot_p90;
};

struct Verdict {
  VerdictKind kind = VerdictKind::Inconclusive;
  std::vector<std::string> reasons;
  SideSummary canary, stable;
};

// What the caller got from one PrometheusGate's query: a value, or why there is none.
struct PrometheusResult {
  std::optional<double> value;
  std::string error;
};

SideSummary summarize(const VersionTotals& window);

// `prometheus` is parallel to analysis.prometheus (missing entries count as not queried yet).
Verdict evaluate(const config::RolloutAnalysis& analysis, const VersionTotals& canary, const VersionTotals& stable,
                 const std::vector<PrometheusResult>& prometheus = {});

const char* verdict_name(VerdictKind k);

}  // namespace infergate::rollout
