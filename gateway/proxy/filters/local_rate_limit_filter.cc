#include "gateway/proxy/filters/local_rate_limit_filter.h"

#include "gateway/control/snapshot.h"
#include "gateway/proxy/rate_limit_request.h"
#include "gateway/proxy/route_match.h"
#include "gateway/proxy/stream_state.h"

namespace infergate::gateway {

FilterStatus LocalRateLimitFilter::decode_headers(bool) {
  const Snapshot& snapshot = stream_.snapshot();
  routing::LocalRateLimiter* limiter = snapshot.rate_limiter.get();
  // Policies select by route: without one the route_reply filter answers 404 uncounted.
  const routing::Route* route = match_route(stream_);
  if (!route || !limiter || limiter->empty()) return FilterStatus::Continue;
  const routing::RateLimitRequest rq = rate_limit_request(stream_, *route);
  const routing::RateLimitResult r = limiter->check(rq, stream_.state().last_activity);
  for (size_t i = 0; i < snapshot.rate_limit_stats.size() && i < 64; ++i) {
    const uint64_t bit = uint64_t{1} << i;
    if (r.allowed & bit) snapshot.rate_limit_stats[i][0].inc();
    if (r.refused & bit) snapshot.rate_limit_stats[i][limiter->policy(i).enforce ? 1 : 2].inc();
  }
  if (r.send_headers) add_rate_limit_headers(headers_, r.limit, r.remaining, r.reset_seconds);
  if (!r.limited) return FilterStatus::Continue;
  send_rate_limited(stream_, "local_rate_limited", headers_);
  return FilterStatus::StopIteration;
}

FilterStatus LocalRateLimitFilter::encode_headers(ResponseHead& head, bool) {
  for (const auto& h : headers_) head.headers.set(h.name, h.value);
  return FilterStatus::Continue;
}

}  // namespace infergate::gateway
