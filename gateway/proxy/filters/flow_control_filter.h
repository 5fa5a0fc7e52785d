// Flow control of InferencePool backends (pools/flow_control.h, GatewayConfig flowControl):
// while every server of the pool is saturated the request waits here, by priority band and
// fairness between flows, and goes on when a server has room.
//   band      the InferenceObjective priority of x-gateway-inference-objective, else the
//             InferenceModel criticality of the body's model, else 0;
//   flow      x-gateway-inference-fairness-id, else the client certificate's principal, else
//             the API key (the bearer token, else x-api-key), else the one default flow;
//   deadline  EDF: now + the deadline header (milliseconds), else the band's deadline, else
//             its TTL.
// A full band or pool answers 429 at once (RL); an evicted request 429 (RL); a request that
// waits its band's TTL 503 (QT). A client that leaves while waiting leaves the queue.
#pragma once

#include <chrono>
#include <memory>

#include "gateway/proxy/filter.h"
#include "pools/flow_control.h"

namespace infergate::gateway {

struct FlowStats;

class FlowControlFilter final : public StreamFilter {
 public:
  explicit FlowControlFilter(FilterCallbacks& stream) : stream_(stream) {}
  FilterStatus decode_headers(bool end_stream) override;
  void on_stream_end() override;

 private:
  void on_wake(pools::FlowOutcome outcome);
  void on_ttl();
  // The request stopped waiting: the gauge, the wait's histogram and the outcome counter.
  void left(size_t outcome);

  FilterCallbacks& stream_;
  // Kept while the request waits: the queue and its settings outlive a snapshot swap.
  std::shared_ptr<const pools::FlowPolicy> policy_;
  const FlowStats* stats_ = nullptr;  // the stream's snapshot's, alive while the stream is
  int32_t priority_ = 0;
  bool waiting_ = false;
  std::chrono::steady_clock::time_point queued_at_;
  std::chrono::milliseconds ttl_{0};
};

}  // namespace infergate::gateway
