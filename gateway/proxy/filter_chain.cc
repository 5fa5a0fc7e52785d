#include "gateway/proxy/filter_chain.h"

#include "gateway/proxy/filters/authorization_filter.h"
#include "gateway/proxy/filters/body_model_filter.h"
#include "gateway/proxy/filters/endpoint_picker_filter.h"
#include "gateway/proxy/filters/fault_filter.h"
#include "gateway/proxy/filters/flow_control_filter.h"
#include "gateway/proxy/filters/local_rate_limit_filter.h"
#include "gateway/proxy/filters/route_reply_filter.h"
#include "gateway/proxy/filters/shadow_filter.h"
#include "gateway/proxy/filters/token_budget_filter.h"
#include "gateway/proxy/router.h"

namespace infergate::gateway {

struct FilterChain::Filters {
  explicit Filters(FilterCallbacks& stream)
      : body_model(stream), authorization(stream), local_rate_limit(stream), route_reply(stream),
        token_budget(stream), fault(stream), flow_control(stream), shadow(stream), endpoint_picker(stream),
        router(stream) {}
  BodyModelFilter body_model;
  AuthorizationFilter authorization;
  LocalRateLimitFilter local_rate_limit;
  RouteReplyFilter route_reply;
  TokenBudgetFilter token_budget;
  FaultFilter fault;
  FlowControlFilter flow_control;
  ShadowFilter shadow;
  EndpointPickerFilter endpoint_picker;
  Router router;  // terminal: the last one
};

FilterChain::FilterChain() = default;
FilterChain::FilterChain(FilterChain&&) noexcept = default;
FilterChain& FilterChain::operator=(FilterChain&&) noexcept = default;
FilterChain::~FilterChain() = default;

FilterChain::FilterChain(FilterCallbacks& stream) : filters_(std::make_unique<Filters>(stream)) {
  Filters& f = *filters_;
  order_ = {&f.body_model,   &f.authorization, &f.local_rate_limit, &f.route_reply,     &f.token_budget,
            &f.fault,        &f.flow_control,  &f.shadow,           &f.endpoint_picker, &f.router};
}

TerminalFilter* FilterChain::router() const { return empty() ? nullptr : &filters_->router; }

}  // namespace infergate::gateway
