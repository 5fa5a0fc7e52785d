#pragma once
// Istio security.istio.io AuthorizationPolicy, validated (see model.h for the conventions).

#include <map>
#include <string>
#include <vector>

#include "config/source_location.h"

namespace infergate::config {

struct AuthorizationPolicy {
  std::string ns = "default";
  std::string name;
  std::string creation_timestamp;
  SourceLocation source;
  // TODO(authz helper): action, selector / targetRefs, rules (from / to / when).
};

}  // namespace infergate::config
