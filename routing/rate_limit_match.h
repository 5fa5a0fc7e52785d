#pragma once
// Which requests a local rate limit or a token budget applies to (config::RateLimitMatch),
// and the request facts both read.

#include <string_view>

#include "config/rate_limit_model.h"
#include "routing/http_message.h"

namespace infergate::routing {

struct RateLimitRequest {
  std::string_view route_name;                // routing::Route::name ("default/llm-route/rule0")
  std::string_view route_ns, route_resource;  // Route::route_ns, Route::route_name
  std::string_view authority, path, method, principal, source_ip;
  const HeaderMap* headers = nullptr;
};

// Every given field of `m` matches `req` (an empty match covers every request).
bool rate_limit_matches(const config::RateLimitMatch& m, const RateLimitRequest& req);

}  // namespace infergate::routing
