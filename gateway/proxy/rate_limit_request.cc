#include "gateway/proxy/rate_limit_request.h"

#include "gateway/proxy/stream_state.h"

namespace infergate::gateway {

routing::RateLimitRequest rate_limit_request(FilterCallbacks& stream, const routing::Route& route) {
  const StreamState& st = stream.state();
  const DownstreamInfo& downstream = stream.downstream();
  routing::RateLimitRequest rq;
  rq.route_name = route.name;
  rq.route_ns = route.route_ns;
  rq.route_resource = route.route_name;
  rq.authority = st.request.authority;
  rq.path = st.request.path_only();
  rq.method = st.request.method;
  rq.principal = downstream.principal();
  rq.source_ip = downstream.peer_address;
  rq.headers = &st.request.headers;
  return rq;
}

}  // namespace infergate::gateway
