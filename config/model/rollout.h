#pragma once
// infergate's Rollout kind (infergate.dev/v1alpha1, next to GatewayConfig in infergate.h):
// what rollout/ runs. Conventions: config/model.h.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/model/common.h"

namespace infergate::config {

// Rollout (infergate.dev/v1alpha1): a progressive canary of one route rule's two backends (or
// of an InferenceModel's targetModels), run by the gateway itself: Argo Rollouts' canary steps
// (setWeight, pause) gated by Flagger-style analysis of the gateway's own per-version metrics.

enum class RolloutTargetKind { HttpRoute, VirtualService, InferenceModel };

struct RolloutTarget {
  RolloutTargetKind kind = RolloutTargetKind::HttpRoute;
  std::string ns;    // the Rollout's namespace unless written
  std::string name;
  std::optional<size_t> rule;  // HTTPRoute rules[i] / VirtualService http[i]; nullopt = the only one
  std::string rule_name;       // or by name
  int line = 0;
};

struct RolloutStep {
  enum class Kind { SetWeight, Pause };
  Kind kind = Kind::SetWeight;
  uint32_t weight = 0;  // SetWeight: the canary's percent, 0..100
  std::optional<std::chrono::milliseconds> duration;  // Pause: nullopt = until resumed or promoted
  int line = 0;
};

enum class GateMetric { ErrorRate, LatencyP99, TtftP90, TpotP90 };

// One check of an analysis. Absolute (`max`: a ratio 0..1 for the error rate, seconds for the
// latencies) and/or relative to the stable version over the same window (`max_ratio`: canary
// / stable; for the error rate `max_increase`: canary - stable, in points of 0..1).
struct RolloutGate {
  GateMetric metric = GateMetric::ErrorRate;
  std::optional<double> max;
  std::optional<double> max_ratio;
  std::optional<double> max_increase;
  int line = 0;
};

// An external check: an instant PromQL query whose first sample must stay within bounds.
struct PrometheusGate {
  std::string address;  // http://host:port
  std::string query;
  std::optional<double> max, min;
  int line = 0;
};

struct RolloutAnalysis {
  std::chrono::milliseconds interval{10000};  // between verdicts
  std::chrono::milliseconds window{0};        // the sliding window a verdict reads; 0 = interval
  uint32_t failure_limit = 2;                 // failed verdicts in a row that abort
  uint32_t min_requests = 20;                 // canary requests in the window before any verdict
  std::vector<RolloutGate> gates;
  std::vector<PrometheusGate> prometheus;
};

struct RolloutHeaderCanary {
  std::string name;   // lower-cased
  std::string value;  // exact
};

struct Rollout {
  ObjectMeta meta;
  RolloutTarget target;
  std::string stable, canary;  // backends as POST /weights names them (backendRef, subset, targetModel)
  std::vector<RolloutStep> steps;
  RolloutAnalysis analysis;
  std::optional<RolloutHeaderCanary> canary_header;  // such requests always reach the canary
};

}  // namespace infergate::config
