// Whether an HTTPRoute attaches to a listener: the route table (which routes a listener
// serves) and the Gateway status (its listeners' attachedRoutes) must agree, so both ask here.
#pragma once

#include "config/model/gateway_api.h"

namespace infergate::config {

// A parentRef naming the listener's Gateway (and its sectionName / port, when given), or a
// parent of a foreign kind no Gateway here resolves, which attaches to every listener.
inline bool route_attaches(const HttpRoute& route, const Listener& l) {
  for (const auto& ref : route.parent_refs) {
    if (ref.unresolved_foreign) return true;
    if (ref.ns != l.gateway_ns || ref.name != l.gateway_name) continue;
    if (!ref.section_name.empty() && ref.section_name != l.name) continue;
    if (ref.port && *ref.port != l.port) continue;
    return true;
  }
  return false;
}

}  // namespace infergate::config
