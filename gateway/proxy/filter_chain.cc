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

std::vector<std::unique_ptr<StreamFilter>> make_filter_chain(FilterCallbacks& stream) {
  std::vector<std::unique_ptr<StreamFilter>> chain;
  chain.reserve(10);
  chain.push_back(std::make_unique<BodyModelFilter>(stream));
  chain.push_back(std::make_unique<AuthorizationFilter>(stream));
  chain.push_back(std::make_unique<LocalRateLimitFilter>(stream));
  chain.push_back(std::make_unique<RouteReplyFilter>(stream));
  chain.push_back(std::make_unique<TokenBudgetFilter>(stream));
  chain.push_back(std::make_unique<FaultFilter>(stream));
  chain.push_back(std::make_unique<FlowControlFilter>(stream));
  chain.push_back(std::make_unique<ShadowFilter>(stream));
  chain.push_back(std::make_unique<EndpointPickerFilter>(stream));
  chain.push_back(std::make_unique<Router>(stream));  // terminal: the last one
  return chain;
}

}  // namespace infergate::gateway
