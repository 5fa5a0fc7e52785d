// AuthorizationPolicy through the RBAC filter: a denial answers 403 and is counted for the
// policy that decided; an allowed request goes on; without policies nothing is counted.
#include "gateway/proxy/filters/authorization_filter.h"

#include <gtest/gtest.h>

#include "fake_stream.h"

namespace infergate::gateway::testing {
namespace {

const std::string kDenyAdmin = R"(---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-admin, namespace: default}
spec:
  action: DENY
  rules:
  - to: [{operation: {paths: ["/admin/*"]}}]
)";

using Chain = FilterUnderTest<AuthorizationFilter>;

TEST(AuthorizationFilter, DenyPolicyAnswers403AndCountsThePolicy) {
  FakeWorker w(kDenyAdmin);
  ASSERT_EQ(w.snapshot->authz_stats.size(), 1u);
  Chain c(w);
  c.stream.start(request("GET", "/admin/users"), true);
  ASSERT_EQ(c.stream.replies.size(), 1u);
  EXPECT_EQ(c.stream.replies[0].status, 403);
  EXPECT_EQ(c.stream.replies[0].body, "RBAC: access denied");
  EXPECT_EQ(c.stream.replies[0].flag, ResponseFlag::None) << "Envoy sets no flag for RBAC denials";
  EXPECT_EQ(c.next.headers_calls, 0);
  EXPECT_EQ(w.security.rbac_denied.value(), 1u);
  EXPECT_EQ(w.security.rbac_allowed.value(), 0u);
  EXPECT_EQ(w.snapshot->authz_stats[0][1].value(), 1u);  // [allowed, denied, audit]
  EXPECT_EQ(w.snapshot->authz_stats[0][0].value(), 0u);
}

TEST(AuthorizationFilter, AllowedRequestContinuesAndIsCounted) {
  FakeWorker w(kDenyAdmin);
  Chain c(w);
  c.stream.start(request("GET", "/v1/models"), true);
  EXPECT_TRUE(c.stream.replies.empty());
  EXPECT_EQ(c.next.headers_calls, 1);
  EXPECT_EQ(w.security.rbac_allowed.value(), 1u);
  EXPECT_EQ(w.security.rbac_denied.value(), 0u);
  EXPECT_EQ(w.snapshot->authz_stats[0][1].value(), 0u);
}

TEST(AuthorizationFilter, AllowPolicyThatMatchesNothingDeniesAsNoneMatched) {
  FakeWorker w(R"(---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: only-models, namespace: default}
spec:
  action: ALLOW
  rules:
  - to: [{operation: {methods: ["GET"], paths: ["/v1/models"]}}]
)");
  Chain allowed(w);
  allowed.stream.start(request("GET", "/v1/models"), true);
  EXPECT_TRUE(allowed.stream.replies.empty());
  EXPECT_EQ(w.snapshot->authz_stats[0][0].value(), 1u) << "the ALLOW policy decided";

  Chain denied(w);
  denied.stream.start(request("POST", "/v1/chat/completions"), false);
  ASSERT_EQ(denied.stream.replies.size(), 1u);
  EXPECT_EQ(denied.stream.replies[0].status, 403);
  EXPECT_EQ(w.snapshot->authz_none_denied.value(), 1u);
  EXPECT_EQ(w.security.rbac_denied.value(), 1u);
  EXPECT_EQ(w.security.rbac_allowed.value(), 1u);
}

// The policy is bound to the Gateway by targetRefs: the filter finds the Gateway's namespace
// and name in the listener key the request's authority selected.
TEST(AuthorizationFilter, GatewayTargetRefUsesTheListenerKey) {
  FakeWorker w(R"(---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-all-on-gw, namespace: default}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: gw}]
  action: DENY
  rules: [{}]
)");
  Chain c(w);
  c.stream.start(request("GET", "/v1/models"), true);
  ASSERT_EQ(c.stream.replies.size(), 1u);
  EXPECT_EQ(c.stream.replies[0].status, 403);
}

TEST(AuthorizationFilter, NoPoliciesContinuesUncounted) {
  FakeWorker w("");
  Chain c(w);
  c.stream.start(request("GET", "/admin/users"), true);
  EXPECT_TRUE(c.stream.replies.empty());
  EXPECT_EQ(c.next.headers_calls, 1);
  EXPECT_EQ(w.security.rbac_allowed.value(), 0u);
  EXPECT_EQ(w.security.rbac_denied.value(), 0u);
}

}  // namespace
}  // namespace infergate::gateway::testing
