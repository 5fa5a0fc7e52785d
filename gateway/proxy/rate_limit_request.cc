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

void add_rate_limit_headers(HeaderMap& headers, uint64_t limit, uint64_t remaining, uint64_t reset_seconds) {
  headers.add_lower("x-ratelimit-limit", std::to_string(limit));
  headers.add_lower("x-ratelimit-remaining", std::to_string(remaining));
  headers.add_lower("x-ratelimit-reset", std::to_string(reset_seconds));
}

void send_rate_limited(FilterCallbacks& stream, std::string_view body, const HeaderMap& headers) {
  HeaderMap extra = headers;
  extra.add_lower("x-envoy-ratelimited", "true");
  stream.send_local_reply(429, body, ResponseFlag::RateLimited, std::move(extra));
}

}  // namespace infergate::gateway
