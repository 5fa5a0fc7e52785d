// What the route answers itself, before any backend (Envoy's router does this first): no
// matching route is 404 (flag NR); a direct response or a redirect is answered here.
#pragma once

#include "gateway/proxy/filter.h"

namespace infergate::gateway {

class RouteReplyFilter final : public StreamFilter {
 public:
  explicit RouteReplyFilter(FilterCallbacks& stream) : stream_(stream) {}
  FilterStatus decode_headers(bool end_stream) override;

 private:
  FilterCallbacks& stream_;
};

}  // namespace infergate::gateway
