// Envoy's local_ratelimit filter, policies from GatewayConfig spec.localRateLimits: each
// matching policy takes a token; an empty bucket answers 429 with x-envoy-ratelimited. With
// headers enabled, the x-ratelimit-* headers (IETF draft-polli-ratelimit-headers-03, as
// Envoy's enable_x_ratelimit_headers writes them) go on the response.
#pragma once

#include "gateway/proxy/filter.h"
#include "routing/http_message.h"

namespace infergate::gateway {

class LocalRateLimitFilter final : public StreamFilter {
 public:
  explicit LocalRateLimitFilter(FilterCallbacks& stream) : stream_(stream) {}
  FilterStatus decode_headers(bool end_stream) override;
  FilterStatus encode_headers(ResponseHead& head, bool end_stream) override;

 private:
  FilterCallbacks& stream_;
  HeaderMap headers_;  // x-ratelimit-* for the response (empty = none)
};

}  // namespace infergate::gateway
