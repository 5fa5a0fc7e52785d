#include "gateway/proxy/route_match.h"

#include "gateway/control/snapshot.h"
#include "gateway/proxy/stream_state.h"

namespace infergate::gateway {

const routing::Route* match_route(FilterCallbacks& stream) {
  StreamState& st = stream.state();
  if (st.route_matched) return st.route;
  st.route_matched = true;
  const routing::RouteMatch m = stream.snapshot().routes->match_detail(st.request, stream.downstream().listener_key);
  st.route = m.route;
  st.matched_prefix = m.path_prefix;
  st.last_activity = std::chrono::steady_clock::now();
  return st.route;
}

}  // namespace infergate::gateway
