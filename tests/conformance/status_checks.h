// The suite's status assertions (conformance/utils/kubernetes and the gateway-api helpers it
// calls), read straight from the API server as its client reads them: each polls until the
// object says what is expected or `kStatusTimeout` passes (the suite waits up to 300 s; the
// gateway here writes status within a second of a change).
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/conformance/conformance_cluster.h"

namespace infergate::conformance {

// metav1.Condition as the suite matches it: an empty reason matches any.
struct Condition {
  std::string type, status, reason;
};

e2e::milliseconds status_timeout();

// gatewayk8sutils.HTTPRouteMustHaveCondition: a status.parents[] entry for `gateway` (its
// parentRef namespace unset or the Gateway's) with the condition, every condition of the
// entry at the route's generation.
::testing::AssertionResult route_has_condition(testing::TestApiServer& api, const NamespacedName& route,
                                               const NamespacedName& gateway, const Condition& expected);
// HTTPRouteMustBeAcceptedAndResolved: Accepted=True/Accepted and ResolvedRefs=True/ResolvedRefs.
::testing::AssertionResult route_accepted_and_resolved(testing::TestApiServer& api, const NamespacedName& route,
                                                       const NamespacedName& gateway);
// InferencePoolMustHaveOneOfConditions: a status.parents[] entry whose parentRef names
// `gateway` with its namespace set, holding one of the conditions.
::testing::AssertionResult pool_has_one_of(testing::TestApiServer& api, const NamespacedName& pool,
                                           const NamespacedName& gateway, const std::vector<Condition>& expected);
// InferencePoolMustBeAcceptedByParent: Accepted=True/Accepted from `gateway`.
::testing::AssertionResult pool_accepted_by_parent(testing::TestApiServer& api, const NamespacedName& pool,
                                                   const NamespacedName& gateway);
// InferencePoolMustHaveNoParents: no status.parents[] entry (or the pool is gone).
::testing::AssertionResult pool_has_no_parents(testing::TestApiServer& api, const NamespacedName& pool);

}  // namespace infergate::conformance
