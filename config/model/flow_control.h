#pragma once
// GatewayConfig spec.flowControl: while every model server of an InferencePool is saturated,
// requests wait in the gateway, by priority band and fairness between flows, instead of being
// piled onto an overloaded server or shed with 429. The Gateway API Inference Extension's
// flow control (v1.5, `flowControl` feature gate), with its names and defaults where it has
// them. One queue per InferencePool; the settings apply to every pool.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/source_location.h"

namespace infergate::config {

// How a band chooses between its flows: round-robin between flows, or one FCFS line for the
// whole band (GIE's "global-strict").
enum class FlowFairness : uint8_t { RoundRobin, GlobalStrict };
// How a flow orders its own requests: first come first served, or earliest deadline first.
enum class FlowOrdering : uint8_t { Fcfs, Edf };

// The limits of one priority band (GIE's per-band capacity, TTL).
struct FlowBandLimits {
  uint32_t max_requests = 1000;
  uint64_t max_bytes = 64ull << 20;  // request bytes held (headers + body)
  std::chrono::milliseconds ttl{30000};
  // EDF: the deadline of a request of the band that names none (0 = the TTL).
  std::chrono::milliseconds deadline{0};
  bool operator==(const FlowBandLimits&) const = default;
};

struct FlowBand {
  int32_t priority = 0;  // InferenceObjective priority the band holds
  FlowBandLimits limits;
  int line = 0;
  bool operator==(const FlowBand&) const = default;
};

struct FlowControlConfig {
  bool enabled = false;
  // Saturation (GIE's utilization detector): a server is saturated when its fresh scraped
  // waiting queue is >= queue_depth_threshold or its KV-cache use >= kv_cache_util_threshold;
  // and (GIE's concurrency detector) when the gateway's own requests in flight to it reach
  // max_concurrency_per_endpoint (0 = no such limit).
  uint32_t queue_depth_threshold = 5;
  double kv_cache_util_threshold = 0.8;
  uint32_t max_concurrency_per_endpoint = 0;
  FlowFairness fairness = FlowFairness::RoundRobin;
  FlowOrdering ordering = FlowOrdering::Fcfs;
  // EDF: the request header that carries a request's deadline, in milliseconds from arrival.
  std::string deadline_header = "x-gateway-inference-deadline-ms";
  // Every band not listed in `bands` (the default band).
  FlowBandLimits default_band;
  std::vector<FlowBand> bands;  // sorted by priority, highest first
  // The whole pool's queue, across bands: over it the newest request of a lower sheddable
  // band is evicted for a new one, else the new one is refused.
  uint32_t max_requests = 5000;
  uint64_t max_bytes = 256ull << 20;
  SourceLocation source;

  const FlowBandLimits& band(int32_t priority) const {
    for (const auto& b : bands)
      if (b.priority == priority) return b.limits;
    return default_band;
  }
  bool operator==(const FlowControlConfig& o) const {
    return enabled == o.enabled && queue_depth_threshold == o.queue_depth_threshold &&
           kv_cache_util_threshold == o.kv_cache_util_threshold &&
           max_concurrency_per_endpoint == o.max_concurrency_per_endpoint && fairness == o.fairness &&
           ordering == o.ordering && deadline_header == o.deadline_header && default_band == o.default_band &&
           bands == o.bands && max_requests == o.max_requests && max_bytes == o.max_bytes;
  }
};

}  // namespace infergate::config
