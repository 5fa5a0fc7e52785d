// The default filter chain, in today's order:
//   body_model         hold a JSON body until its "model" is known (body-based routing)
//   authorization      Istio AuthorizationPolicy (Envoy's RBAC filter)
//   local_rate_limit   GatewayConfig localRateLimits (Envoy's local_ratelimit filter)
//   route_reply        no route: 404; direct responses and redirects
//   token_budget       GatewayConfig tokenBudgets: 429 while a key's tokens for the window are spent
//   fault              VirtualService fault delay / abort (Envoy's fault filter)
//   flow_control       an InferencePool's queue while every model server is saturated
//   shadow             copies to the route's mirror clusters, once the backend is chosen
//   endpoint_picker    an InferencePool's external endpoint picker (ext_proc EPP)
//   router             endpoint, retries, per-try timeout, the upstream request
// Adding a filter: its own file under proxy/filters/, one line here.
#pragma once

#include <memory>
#include <vector>

#include "gateway/proxy/filter.h"

namespace infergate::gateway {

std::vector<std::unique_ptr<StreamFilter>> make_filter_chain(FilterCallbacks& stream);

}  // namespace infergate::gateway
