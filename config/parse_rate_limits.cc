// GatewayConfig spec.localRateLimits and spec.connectionLimits.
#include "config/str_cat.h"

#include "config/parsers.h"

namespace infergate::config::detail {

void parse_rate_limits(ParseContext&, const MapView&, GatewayConfig&) {}  // TODO(rate-limit helper)

}  // namespace infergate::config::detail
