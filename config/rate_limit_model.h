#pragma once
// Local rate limits and connection limits (GatewayConfig spec.localRateLimits,
// spec.connectionLimits), validated (see model.h for the conventions).

#include <cstdint>
#include <string>
#include <vector>

#include "config/source_location.h"

namespace infergate::config {

struct LocalRateLimit {
  std::string name;
  SourceLocation source;
  // TODO(rate-limit helper): match, key, token bucket.
};

struct ConnectionLimits {
  uint32_t per_listener = 0;    // 0 = unlimited
  uint32_t per_source_ip = 0;   // 0 = unlimited
};

}  // namespace infergate::config
