// The connection manager's first step on a request head: its path normalized as GatewayConfig
// spec.pathNormalization says (routing/path_normalization.h), before any filter, the router,
// the access log or the upstream reads it. Envoy does the same in its connection manager.
#pragma once

#include <optional>

#include "config/model.h"
#include "gateway/proxy/proxy_stats.h"
#include "gateway/proxy/route_actions_apply.h"
#include "routing/http_message.h"

namespace infergate::gateway {

// Normalizes head.path in place (`settings` null: the defaults). Returns the local reply that
// ends the request instead, counted under Envoy's names: 400 for a path that cannot be
// normalized (the path is left as received, for the access log), 307 with Location: the
// normalized path for UNESCAPE_AND_REDIRECT. "*" (OPTIONS) and an empty path (CONNECT) are
// not paths and pass as they are.
std::optional<RouteReply> normalize_request_path(RequestHead& head, const config::PathNormalization* settings,
                                                 const ProxyStats& stats);

}  // namespace infergate::gateway
