// Istio AuthorizationPolicy (security.istio.io v1 / v1beta1).
#include "config/str_cat.h"

#include "config/parsers.h"

namespace infergate::config::detail {

std::optional<AuthorizationPolicy> parse_authorization_policy(ParseContext&, const MapView&) {
  return std::nullopt;  // TODO(authz helper)
}

}  // namespace infergate::config::detail
