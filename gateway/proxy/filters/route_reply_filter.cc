#include "gateway/proxy/filters/route_reply_filter.h"

#include "gateway/proxy/proxy_stats.h"
#include "gateway/proxy/route_actions_apply.h"
#include "gateway/proxy/route_match.h"
#include "gateway/proxy/stream_state.h"

namespace infergate::gateway {

FilterStatus RouteReplyFilter::decode_headers(bool) {
  const routing::Route* route = match_route(stream_);
  if (!route) {
    stream_.stats().no_route.inc();
    stream_.send_local_reply(404, "", ResponseFlag::NoRouteFound);
    return FilterStatus::StopIteration;
  }
  const StreamState& st = stream_.state();
  if (auto reply = route_reply(*route, st.request, stream_.downstream().listener->port, st.matched_prefix)) {
    stream_.send_local_reply(reply->status, reply->body, ResponseFlag::None, std::move(reply->headers));
    return FilterStatus::StopIteration;
  }
  return FilterStatus::Continue;
}

}  // namespace infergate::gateway
