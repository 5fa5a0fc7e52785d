// Who a request speaks for, as flow control and token budgets key their queues and budgets:
// the Inference Extension's fairness id, the API key a client sends, and the flow id they
// fall back through.
#pragma once

#include <string_view>

#include "routing/http_message.h"

namespace infergate::routing {

// x-gateway-inference-fairness-id (GIE flow control's flow key); "" when absent.
std::string_view fairness_id(const HeaderMap& headers);

// The bearer token of Authorization (RFC 6750, scheme case-insensitive), else x-api-key
// (Anthropic's and many gateways' header); "" when neither.
std::string_view api_key(const HeaderMap& headers);

// A request's flow: its fairness id, else `principal` (the client certificate's), else its
// API key, else "" (the one default flow).
std::string_view flow_id(const HeaderMap& headers, std::string_view principal);

}  // namespace infergate::routing
