#include "rollout/analysis.h"

#include <algorithm>
#include <cstdio>

namespace infergate::rollout {

namespace {

constexpr double kErrorRateFloor = 0.001;

std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

std::string pct(double v) { return fmt(v * 100) + "%"; }

const char* metric_name(config::GateMetric m) {
  switch (m) {
    case config::GateMetric::ErrorRate: return "errorRate";
    case config::GateMetric::LatencyP99: return "p99Latency";
    case config::GateMetric::TtftP90: return "ttftP90";
    case config::GateMetric::TpotP90: return "tpotP90";
  }
  return "?";
}

std::optional<double> latency_of(const SideSummary& s, config::GateMetric m) {
  switch (m) {
    case config::GateMetric::LatencyP99: return s.p99;
    case config::GateMetric::TtftP90: return s.ttft_p90;
    case config::GateMetric::TpotP90: return s.tpot_p90;
    case config::GateMetric::ErrorRate: break;
  }
  return std::nullopt;
}

}  // namespace

const char* verdict_name(VerdictKind k) {
  switch (k) {
    case VerdictKind::Pass: return "pass";
    case VerdictKind::Fail: return "fail";
    case VerdictKind::Inconclusive: return "inconclusive";
  }
  return "?";
}

SideSummary summarize(const VersionTotals& w) {
  SideSummary s;
  s.requests = w.requests;
  s.error_rate = w.requests ? static_cast<double>(w.errors) / static_cast<double>(w.requests) : 0;
  s.p99 = w.duration.quantile(0.99);
  s.ttft_p90 = w.ttft.quantile(0.90);
  s.tpot_p90 = w.tpot.quantile(0.90);
  return s;
}

Verdict evaluate(const config::RolloutAnalysis& a, const VersionTotals& canary, const VersionTotals& stable,
                 const std::vector<PrometheusResult>& prometheus) {
  Verdict v;
  v.canary = summarize(canary);
  v.stable = summarize(stable);
  if (canary.requests < a.min_requests) {
    v.reasons.push_back("waiting for traffic: " + std::to_string(canary.requests) + " of " +
                        std::to_string(a.min_requests) + " canary requests in the window");
    return v;
  }
  std::vector<std::string> failed;
  for (const config::RolloutGate& g : a.gates) {
    const std::string name = metric_name(g.metric);
    if (g.metric == config::GateMetric::ErrorRate) {
      const double c = v.canary.error_rate, s = v.stable.error_rate;
      if (g.max && c > *g.max) failed.push_back(name + " " + pct(c) + " > max " + pct(*g.max));
      if (g.max_increase && c - s > *g.max_increase)
        failed.push_back(name + " " + pct(c) + " is more than " + pct(*g.max_increase) + " above stable's " + pct(s));
      if (g.max_ratio && c > *g.max_ratio * std::max(s, kErrorRateFloor))
        failed.push_back(name + " " + pct(c) + " > " + fmt(*g.max_ratio) + "x stable's " + pct(s));
      continue;
    }
    const std::optional<double> c = latency_of(v.canary, g.metric);
    if (!c) continue;  // no data for this metric in the window
    if (g.max && *c > *g.max) failed.push_back(name + " " + fmt(*c) + "s > max " + fmt(*g.max) + "s");
    const std::optional<double> s = latency_of(v.stable, g.metric);
    if (g.max_ratio && s && *s > 0 && *c > *g.max_ratio * *s)
      failed.push_back(name + " " + fmt(*c) + "s > " + fmt(*g.max_ratio) + "x stable's " + fmt(*s) + "s");
  }
  bool waiting = false;
  for (size_t i = 0; i < a.prometheus.size(); ++i) {
    const config::PrometheusGate& g = a.prometheus[i];
    if (i >= prometheus.size() || !prometheus[i].value) {
      waiting = true;
      v.reasons.push_back("prometheus query \"" + g.query + "\": " +
                          (i < prometheus.size() && !prometheus[i].error.empty() ? prometheus[i].error : "no result yet"));
      continue;
    }
    const double x = *prometheus[i].value;
    if (g.max && x > *g.max) failed.push_back("prometheus \"" + g.query + "\" = " + fmt(x) + " > max " + fmt(*g.max));
    if (g.min && x < *g.min) failed.push_back("prometheus \"" + g.query + "\" = " + fmt(x) + " < min " + fmt(*g.min));
  }
  if (!failed.empty()) {
    v.kind = VerdictKind::Fail;
    v.reasons = std::move(failed);
  } else if (!waiting) {
    v.kind = VerdictKind::Pass;
  }
  return v;
}

}  // namespace infergate::rollout
