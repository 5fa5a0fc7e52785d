// A version's cumulative figures as the rollout analysis reads them from the per-version
// stats (requests, errors, latency/TTFT/TPOT histograms). The console's history reads the
// same, so a verdict and the chart beside it never disagree on what an error is.
#pragma once

#include "gateway/proxy/version_stats.h"
#include "rollout/window.h"

namespace infergate::gateway {

// Requests include streams reset before a status; errors are the 5xx class plus those resets.
rollout::VersionTotals version_totals(const VersionSeries& series);

}  // namespace infergate::gateway
