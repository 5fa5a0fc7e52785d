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
// Adding a filter: its own file under proxy/filters/, a member and a line in filter_chain.cc.
#pragma once

#include <array>
#include <cstddef>
#include <memory>

#include "gateway/proxy/filter.h"

namespace infergate::gateway {

// One stream's filters, in order, made in one allocation (every request makes a chain: ten
// allocations per request were a quarter of all of them).
class FilterChain {
 public:
  static constexpr size_t kFilters = 10;

  FilterChain();  // empty: no chain yet
  explicit FilterChain(FilterCallbacks& stream);
  FilterChain(FilterChain&&) noexcept;
  FilterChain& operator=(FilterChain&&) noexcept;
  ~FilterChain();

  bool empty() const { return filters_ == nullptr; }
  size_t size() const { return empty() ? 0 : kFilters; }
  StreamFilter* operator[](size_t i) const { return order_[i]; }
  StreamFilter* const* begin() const { return order_.data(); }
  StreamFilter* const* end() const { return order_.data() + size(); }
  // The last filter.
  TerminalFilter* router() const;

 private:
  struct Filters;
  std::unique_ptr<Filters> filters_;
  std::array<StreamFilter*, kFilters> order_{};
};

}  // namespace infergate::gateway
