#pragma once
// One request's endpoint on one cluster, attempt after attempt: the external endpoint
// picker's answer (primary, then its fallbacks), the pool picker's pick and fallbacks
// (pools/endpoint_picker.h), or the cluster's load balancer (Cluster::pick). A retry takes
// the next fallback that can still serve, and when none is left asks again without the
// endpoint that failed. It also carries the prefill the attempt brings to its endpoint
// (EndpointState::prefill_bytes) until the first response byte.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "pools/cluster.h"
#include "pools/endpoint_picker.h"
#include "pools/endpoint_state.h"

namespace infergate::pools {

class EndpointChoice {
 public:
  // What the request tells the picker.
  struct Request {
    std::string_view requested_model;  // the body's "model"; "" = none
    std::string_view forwarded_model;  // the model sent upstream (an adapter); "" = none
    std::string_view objective;        // x-gateway-inference-objective; "" = none
    // The raw JSON of the prompt while the held body is still here (the first attempt);
    // "" = none. What prefix-cache affinity hashes.
    std::string_view prompt;
    uint64_t lb_draw = 0;    // the load balancer's: the request's hash policy, else random bits
    uint64_t pick_draw = 0;  // random bits for the picker's tie-breaking
  };
  // How the endpoint was chosen, for the picker's decision counters.
  enum class Decision : uint8_t { Picked, Fallback, Balanced, NoEndpoint, Shed };
  struct Result {
    EndpointState* endpoint = nullptr;  // null: NoEndpoint or Shed
    Decision decision = Decision::NoEndpoint;
    bool by_picker = false;  // a picker (external or the pool's) took part: count the decision
    uint32_t prefix_blocks = 0;  // prompt blocks hashed for this pick (0: no prefix lookup)
    uint32_t prefix_hits = 0;    // of those, recently sent to the chosen endpoint
  };

  EndpointChoice() = default;
  EndpointChoice(const EndpointChoice&) = delete;
  EndpointChoice& operator=(const EndpointChoice&) = delete;
  ~EndpointChoice() { attempt_answered(); }

  // The endpoint of the next attempt (avoiding the current one, which failed, if any other
  // can serve).
  Result next(const Cluster& cluster, const Request& request, int64_t now_ms);

  // The external picker's answer: endpoints by key, in its order; only the pool's own
  // eligible ones are taken (the picker cannot send the gateway anywhere else). Returns how
  // many were taken; 0 leaves the choice as it was.
  size_t accept_external(const Cluster& cluster, std::span<const std::string> keys, int64_t now_ms);
  // Forget any pick (the external picker failed open: the pool decides alone).
  void clear() { picked_ = {}; }

  EndpointState* current() const { return current_; }

  // The attempt on the current endpoint started: until attempt_answered() (its first response
  // byte, or its end) a request flow control held (`held`) counts in the endpoint's
  // held_since_scrape, and, with a picker, the prompt bytes it is not expected to hold in its
  // prefix cache are added to the endpoint's prefill.
  void attempt_started(const Cluster& cluster, bool held = false);
  void attempt_answered();

 private:
  PickResult picked_;
  uint8_t next_fallback_ = 1;
  EndpointState* current_ = nullptr;
  uint32_t prompt_bytes_ = 0;  // the prompt the picker saw
  EndpointState* prefill_on_ = nullptr;
  EndpointState* held_on_ = nullptr;
  uint32_t held_generation_ = 0;  // the endpoint's scrape the attempt started after
  int64_t prefill_charge_ = 0;
};

}  // namespace infergate::pools
