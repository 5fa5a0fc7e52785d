// The request's route, matched once on the snapshot it started with (Envoy's cached route):
// the first filter that needs it matches, the others read StreamState::route.
#pragma once

#include "gateway/proxy/filter.h"
#include "routing/route_table.h"

namespace infergate::gateway {

// nullptr when no route matches (the route_reply filter answers 404).
const routing::Route* match_route(FilterCallbacks& stream);

}  // namespace infergate::gateway
