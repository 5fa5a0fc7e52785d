// The statistics of one InferencePool's flow control (pools/flow_control.h), resolved when the
// snapshot is built: the Inference Extension's families where it has them, labelled as its
// EPP labels them ({inference_pool, priority}), and infergate's outcome counter.
//   inference_extension_flow_control_queue_size                  gauge: requests waiting
//   inference_extension_flow_control_request_queue_duration_seconds
//                                                                histogram, by outcome
//   inference_extension_flow_control_pool_saturation             gauge 0..1 (the scraper's)
//   infergate_flow_control_requests_total                        counter, by outcome
// Every priority a request of the pool can have is known from the config (its objectives'
// priorities and the criticalities' 1, 0, -1), so the request path never creates a series.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "metrics/registry.h"
#include "pools/cluster.h"

namespace infergate::gateway {

struct FlowStats {
  // What became of a request flow control saw.
  enum Outcome : size_t {
    kAdmitted,    // room at once: never waited
    kDispatched,  // waited, then went on
    kRejected,    // its band or the pool was full: 429 at once
    kEvicted,     // made way for a request of higher priority: 429
    kTimedOut,    // waited its band's TTL: 503
    kCancelled,   // the client left while it waited
    kOutcomes,
  };
  static constexpr std::array<const char*, kOutcomes> kOutcomeNames = {
      "admitted", "dispatched", "rejected", "evicted", "timed_out", "cancelled"};

  struct Band {
    int32_t priority = 0;
    metrics::Gauge queue_size;
    std::array<metrics::Histogram, kOutcomes> queue_duration;  // seconds
    std::array<metrics::Counter, kOutcomes> requests;
  };

  static std::shared_ptr<const FlowStats> make(metrics::Registry& registry, const pools::Cluster& cluster,
                                               const config::Config& config);
  // The band's series; the default band's (priority 0) for a priority the config never gives.
  const Band& band(int32_t priority) const;

  std::vector<Band> bands;
};

}  // namespace infergate::gateway
