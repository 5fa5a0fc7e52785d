// The route actions the request path executes besides proxying, as Envoy's router and fault
// filter do: local answers (direct response, redirect), header modifiers and URL rewrites
// (route filters, then the chosen backend's), and fault injection decisions.
//
// Pure functions over the request/response heads, so that the filters (proxy/filters/) and
// the router only decide when each applies and this file decides what it does.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/model.h"
#include "routing/http_message.h"
#include "routing/route_table.h"

namespace infergate::gateway {

// A reply the route gives by itself, with no backend (Envoy's direct_response and redirect).
struct RouteReply {
  int status = 200;
  std::string body;
  HeaderMap headers;  // e.g. location
};

// Gateway API ReplacePrefixMatch: `prefix` (matched element-wise) of the origin-form `path`
// becomes `replacement`; the query string is kept.
std::string replace_prefix(std::string_view path, std::string_view prefix, std::string_view replacement);

// The route's own answer for `head`, if it has one. `listener_port` backs a redirect whose
// port comes from the request (Istio derivePort FROM_REQUEST_PORT); `prefix` is
// the HTTPRoute PathPrefix that matched (routing::RouteMatch).
std::optional<RouteReply> route_reply(const routing::Route& route, const RequestHead& head, uint16_t listener_port,
                                      std::string_view prefix);

// Gateway API HTTPHeaderFilter / Istio HeaderOperations, in Envoy's order: remove, then set
// (replaces every value), then add (appends). Names are case-insensitive.
void apply_header_modifier(const config::HeaderModifier& m, HeaderMap& headers);

// The request side of `filters`: RequestHeaderModifier and URLRewrite (hostname, path;
// `prefix` is the PathPrefix that matched). Returns true when the path changed.
bool apply_request_filters(const std::vector<config::HttpRouteFilter>& filters, RequestHead& head,
                           std::string_view prefix);

// The response side of `filters`: ResponseHeaderModifier.
void apply_response_filters(const std::vector<config::HttpRouteFilter>& filters, HeaderMap& headers);

// What a VirtualService fault does to one request (Envoy's fault filter): a delay, then an
// abort. Each part is drawn on its own, as Envoy does.
struct FaultDecision {
  std::chrono::milliseconds delay{0};
  int abort_status = 0;         // HTTP abort; 0 = none
  std::string abort_grpc_status;  // gRPC abort (a status name); "" = none
};

FaultDecision decide_fault(const routing::FaultPolicy& fault, uint64_t delay_draw, uint64_t abort_draw);

// The number of a gRPC status name ("UNAVAILABLE" -> 14, or a number as written); 2
// (UNKNOWN) when unrecognised.
int grpc_status_code(std::string_view name);

}  // namespace infergate::gateway
