// The request facts a local rate limit or a token budget matches and keys on, read from the
// stream (routing/rate_limit_match.h). Views into the stream's state: valid while it lives.
#pragma once

#include "gateway/proxy/filter.h"
#include "routing/rate_limit_match.h"
#include "routing/route_table.h"

namespace infergate::gateway {

routing::RateLimitRequest rate_limit_request(FilterCallbacks& stream, const routing::Route& route);

}  // namespace infergate::gateway
