// Envoy's fault filter, from a VirtualService fault: a delay, then an abort, each drawn on
// its own percentage. The delay waits on a timer, so the worker keeps serving other streams;
// the stream-idle timeout still applies, and the route's request timeout starts after it, as
// Envoy's router only starts its timer once the fault filter lets the request through.
#pragma once

#include "gateway/proxy/filter.h"
#include "gateway/proxy/route_actions_apply.h"

namespace infergate::gateway {

class FaultFilter final : public StreamFilter {
 public:
  explicit FaultFilter(FilterCallbacks& stream) : stream_(stream) {}
  FilterStatus decode_headers(bool end_stream) override;

 private:
  // True when the request may go on (no abort drawn); else it was answered.
  bool after_delay();

  FilterCallbacks& stream_;
  FaultDecision fault_;
};

}  // namespace infergate::gateway
