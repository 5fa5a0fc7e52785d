#include "gateway/proxy/filters/fault_filter.h"

#include "gateway/proxy/stream_state.h"

namespace infergate::gateway {

FilterStatus FaultFilter::decode_headers(bool) {
  const routing::Route* route = stream_.state().route;
  if (!route || !route->fault) return FilterStatus::Continue;
  const uint64_t delay_draw = stream_.random();
  fault_ = decide_fault(*route->fault, delay_draw, stream_.random());
  if (fault_.delay.count() > 0) {
    stream_.state().flags.set(ResponseFlag::DelayInjected);
    stream_.schedule(fault_.delay, [this] {
      if (after_delay()) stream_.continue_decoding();
    });
    return FilterStatus::StopIteration;
  }
  return after_delay() ? FilterStatus::Continue : FilterStatus::StopIteration;
}

bool FaultFilter::after_delay() {
  if (fault_.abort_status) {
    stream_.send_local_reply(fault_.abort_status, "fault filter abort", ResponseFlag::FaultInjected);
    return false;
  }
  if (!fault_.abort_grpc_status.empty()) {
    // A gRPC abort is a trailers-only gRPC answer: HTTP 200 with the status in headers.
    HeaderMap grpc;
    grpc.add_lower("content-type", "application/grpc");
    grpc.add_lower("grpc-status", std::to_string(grpc_status_code(fault_.abort_grpc_status)));
    grpc.add_lower("grpc-message", "fault filter abort");
    stream_.send_local_reply(200, "", ResponseFlag::FaultInjected, std::move(grpc));
    return false;
  }
  return true;
}

}  // namespace infergate::gateway
