// Istio AuthorizationPolicy, as Envoy's RBAC filter enforces it: before routing, on the
// client's SPIFFE principal, address and the request; a denial is Envoy's 403.
#pragma once

#include "gateway/proxy/filter.h"

namespace infergate::gateway {

class AuthorizationFilter final : public StreamFilter {
 public:
  explicit AuthorizationFilter(FilterCallbacks& stream) : stream_(stream) {}
  FilterStatus decode_headers(bool end_stream) override;

 private:
  FilterCallbacks& stream_;
};

}  // namespace infergate::gateway
