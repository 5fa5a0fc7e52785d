// The Rollout state machine and its analysis on hand-written numbers.
#include "rollout/machine.h"

#include <gtest/gtest.h>

namespace infergate::rollout {
namespace {

using std::chrono::milliseconds;
using Kind = config::RolloutStep::Kind;

config::Rollout spec_with(std::vector<config::RolloutStep> steps, bool gates = true) {
  config::Rollout r;
  r.meta.name = "r";
  r.stable = "v1";
  r.canary = "v2";
  r.steps = std::move(steps);
  r.analysis.failure_limit = 2;
  r.analysis.min_requests = 10;
  if (gates) r.analysis.gates.push_back(config::RolloutGate{config::GateMetric::ErrorRate, 0.05, {}, {}, 0});
  return r;
}
config::RolloutStep weight(uint32_t w) { return {Kind::SetWeight, w, {}, 0}; }
config::RolloutStep pause(std::optional<int> ms) {
  return {Kind::Pause, 0, ms ? std::optional<milliseconds>(milliseconds(*ms)) : std::nullopt, 0};
}
Verdict verdict(VerdictKind k) {
  Verdict v;
  v.kind = k;
  if (k == VerdictKind::Fail) v.reasons.push_back("errorRate 50% > max 5%");
  return v;
}

// Applies what the machine asks, as the controller does.
struct Driver {
  config::Rollout spec;
  Status st;
  std::vector<uint32_t> applied;
  std::optional<uint32_t> tick(int ms, std::optional<VerdictKind> v = std::nullopt) {
    Machine m(spec, st);
    std::optional<Verdict> vv;
    if (v) vv = verdict(*v);
    auto w = m.tick(milliseconds(ms), vv, 0);
    if (w) {
      applied.push_back(*w);
      st.weight_applied = true;
    }
    return w;
  }
  std::string act(Action a) {
    Machine m(spec, st);
    std::string error;
    if (auto w = m.act(a, "test", 0, &error)) {
      applied.push_back(*w);
      st.weight_applied = true;
    }
    return error;
  }
};

TEST(RolloutMachine, HealthyCanaryWalksTheStepsAndIsPromoted) {
  Driver d{spec_with({weight(5), pause(1000), weight(25), pause(1000), weight(50), pause(1000)}), {}, {}};
  EXPECT_EQ(d.tick(0), 5u);
  EXPECT_EQ(d.st.step, 1u);
  EXPECT_FALSE(d.tick(1500)) << "time alone does not end a judged pause";
  EXPECT_EQ(d.tick(0, VerdictKind::Pass), 25u);
  EXPECT_FALSE(d.tick(500, VerdictKind::Pass)) << "a pass before the time is up waits for the time";
  EXPECT_EQ(d.tick(600), 50u);
  EXPECT_FALSE(d.tick(600, VerdictKind::Inconclusive));
  EXPECT_EQ(d.tick(600, VerdictKind::Pass), 100u);
  EXPECT_EQ(d.st.phase, Phase::Completed);
  EXPECT_EQ(d.applied, (std::vector<uint32_t>{5, 25, 50, 100}));
  EXPECT_EQ(d.st.events.back().type, "promoted");
}

TEST(RolloutMachine, FailedVerdictsInARowAbortToStable) {
  Driver d{spec_with({weight(10), pause(60000), weight(100)}), {}, {}};
  d.tick(0);
  d.tick(100, VerdictKind::Fail);
  EXPECT_EQ(d.st.phase, Phase::Progressing);
  EXPECT_EQ(d.st.failures, 1u);
  d.tick(100, VerdictKind::Pass);
  EXPECT_EQ(d.st.failures, 0u) << "failures count in a row";
  d.tick(100, VerdictKind::Fail);
  EXPECT_EQ(d.tick(100, VerdictKind::Fail), 0u);
  EXPECT_EQ(d.st.phase, Phase::Aborted);
  EXPECT_NE(d.st.events.back().message.find("errorRate 50%"), std::string::npos) << d.st.events.back().message;
  EXPECT_FALSE(d.tick(100000, VerdictKind::Pass)) << "an aborted rollout stays so";
  EXPECT_EQ(d.act(Action::Retry), "");
  EXPECT_EQ(d.applied.back(), 10u) << "retry starts again at step 1";
}

TEST(RolloutMachine, APauseIsNotLeftWhileTheLatestVerdictFailed) {
  Driver d{spec_with({weight(10), pause(1000), weight(50), pause(1000)}), {}, {}};
  d.tick(0);
  d.tick(100, VerdictKind::Pass);
  EXPECT_FALSE(d.tick(2000, VerdictKind::Fail)) << "passed earlier in the step, failing now: stay";
  EXPECT_EQ(d.st.step, 1u);
  EXPECT_EQ(d.tick(100, VerdictKind::Pass), 50u);
}

TEST(RolloutMachine, IndefinitePauseWaitsForResumeAndPromoteSkipsAhead) {
  Driver d{spec_with({weight(5), pause(std::nullopt), weight(50), pause(std::nullopt), weight(100)}, false), {}, {}};
  d.tick(0);
  EXPECT_EQ(d.st.phase, Phase::Paused);
  EXPECT_FALSE(d.tick(100000)) << "time does not end pause {}";
  EXPECT_EQ(d.act(Action::Pause), "only a progressing rollout can be paused; it is Paused");
  EXPECT_EQ(d.act(Action::Resume), "");
  EXPECT_EQ(d.applied.back(), 50u);
  EXPECT_EQ(d.st.phase, Phase::Paused);
  EXPECT_EQ(d.act(Action::Promote), "");
  EXPECT_EQ(d.st.phase, Phase::Completed);
  EXPECT_EQ(d.applied.back(), 100u);
  EXPECT_EQ(d.act(Action::Promote), "already completed");
}

TEST(RolloutMachine, ManualPauseStopsTheClockAndAbortWorksFromAnyPhase) {
  Driver d{spec_with({weight(20), pause(1000), weight(100)}, false), {}, {}};
  d.tick(0);
  EXPECT_EQ(d.act(Action::Pause), "");
  EXPECT_FALSE(d.tick(5000));
  EXPECT_EQ(d.st.step_elapsed_ms, 0) << "paused time does not count";
  EXPECT_EQ(d.act(Action::Resume), "");
  EXPECT_FALSE(d.tick(500));
  EXPECT_EQ(d.tick(600), 100u) << "without gates, time alone ends a pause";
  EXPECT_EQ(d.act(Action::Abort), "");
  EXPECT_EQ(d.applied.back(), 0u);
  EXPECT_EQ(d.act(Action::Abort), "already aborted");
}

TEST(RolloutAnalysis, GatesAbsoluteAndRelativeToStable) {
  config::RolloutAnalysis a;
  a.min_requests = 10;
  a.gates = {{config::GateMetric::ErrorRate, 0.1, {}, 0.02, 0}, {config::GateMetric::LatencyP99, {}, 2.0, {}, 0}};
  VersionTotals stable, canary;
  stable.requests = 1000;
  stable.errors = 10;  // 1 %
  stable.duration = {{0.1, 0.5, 1}, {900, 95, 5, 0}};
  canary.requests = 5;
  EXPECT_EQ(evaluate(a, canary, stable).kind, VerdictKind::Inconclusive) << "too little traffic for a verdict";
  canary.requests = 100;
  canary.errors = 2;  // 2 %: 1 point above stable
  canary.duration = {{0.1, 0.5, 1}, {90, 9, 1, 0}};
  Verdict v = evaluate(a, canary, stable);
  EXPECT_EQ(v.kind, VerdictKind::Pass) << (v.reasons.empty() ? "" : v.reasons[0]);
  canary.errors = 4;  // 4 %: 3 points above stable's 1 %
  v = evaluate(a, canary, stable);
  ASSERT_EQ(v.kind, VerdictKind::Fail);
  EXPECT_NE(v.reasons[0].find("above stable"), std::string::npos) << v.reasons[0];
  canary.errors = 1;
  canary.duration = {{0.1, 0.5, 1}, {10, 10, 40, 40}};  // p99 beyond the last bound
  v = evaluate(a, canary, stable);
  ASSERT_EQ(v.kind, VerdictKind::Fail);
  EXPECT_NE(v.reasons[0].find("p99Latency"), std::string::npos) << v.reasons[0];
}

TEST(RolloutAnalysis, QuantilesInterpolateAndWindowsSubtract) {
  Buckets b{{1, 2, 4}, {0, 10, 10, 0}};
  EXPECT_DOUBLE_EQ(*b.quantile(0.5), 2.0);
  EXPECT_DOUBLE_EQ(*b.quantile(0.75), 3.0);
  EXPECT_FALSE(Buckets{}.quantile(0.5));
  VersionTotals later, earlier;
  later.requests = 50;
  later.errors = 5;
  later.duration = {{1}, {40, 10}};
  earlier.requests = 20;
  earlier.errors = 1;
  earlier.duration = {{1}, {18, 2}};
  const VersionTotals w = later.since(earlier);
  EXPECT_EQ(w.requests, 30u);
  EXPECT_EQ(w.errors, 4u);
  EXPECT_EQ(w.duration.counts, (std::vector<uint64_t>{22, 8}));
  EXPECT_EQ(earlier.since(later).requests, 20u) << "a reset in between: the later reading is the window";
}

TEST(RolloutAnalysis, PrometheusGatesWaitOnErrorsAndFailOnBounds) {
  config::RolloutAnalysis a;
  a.min_requests = 0;
  a.prometheus.push_back({"http://127.0.0.1:9090", "up", 0.5, {}, 0});
  VersionTotals any;
  EXPECT_EQ(evaluate(a, any, any, {}).kind, VerdictKind::Inconclusive);
  EXPECT_EQ(evaluate(a, any, any, {PrometheusResult{std::nullopt, "connect: refused"}}).kind, VerdictKind::Inconclusive);
  EXPECT_EQ(evaluate(a, any, any, {PrometheusResult{0.2, ""}}).kind, VerdictKind::Pass);
  EXPECT_EQ(evaluate(a, any, any, {PrometheusResult{0.9, ""}}).kind, VerdictKind::Fail);
}

}  // namespace
}  // namespace infergate::rollout
