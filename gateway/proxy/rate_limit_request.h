// What the local rate limit and token budget filters share: the request facts they match and
// key on, read from the stream (routing/rate_limit_match.h; views into the stream's state,
// valid while it lives), and the answer headers and refusal they send.
#pragma once

#include <cstdint>
#include <string_view>

#include "gateway/proxy/filter.h"
#include "routing/rate_limit_match.h"
#include "routing/route_table.h"

namespace infergate::gateway {

routing::RateLimitRequest rate_limit_request(FilterCallbacks& stream, const routing::Route& route);

// x-ratelimit-limit / -remaining / -reset (IETF draft-polli-ratelimit-headers-03, as Envoy's
// enable_x_ratelimit_headers writes them).
void add_rate_limit_headers(HeaderMap& headers, uint64_t limit, uint64_t remaining, uint64_t reset_seconds);

// Envoy's rate-limited local reply: 429 with `headers` and x-envoy-ratelimited: true (flag RL).
void send_rate_limited(FilterCallbacks& stream, std::string_view body, const HeaderMap& headers);

}  // namespace infergate::gateway
