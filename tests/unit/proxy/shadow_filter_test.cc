// The shadow filter: a route's mirrors get a copy of the request as forwarded, once the
// backend is chosen (its request changes applied), each drawing its own percentage; a route
// without mirrors leaves the backend choice to the filters after it.
#include "gateway/proxy/filters/shadow_filter.h"

#include <gtest/gtest.h>

#include "fake_stream.h"
#include "gateway/proxy/filters/route_reply_filter.h"

namespace infergate::gateway::testing {
namespace {

const std::string kRoutes = R"(---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: llm}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /always}}]
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier: {set: [{name: x-team, value: blue}]}
    - type: RequestMirror
      requestMirror: {backendRef: {name: solo, port: 80}, percent: 100}
    backendRefs: [{name: llm, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /never}}]
    filters:
    - type: RequestMirror
      requestMirror: {backendRef: {name: solo, port: 80}, percent: 0}
    backendRefs: [{name: llm, port: 80}]
  - backendRefs: [{name: llm, port: 80}]
)";

using Chain = FilterUnderTest<ShadowFilter, RouteReplyFilter>;

TEST(ShadowFilter, CopiesTheRequestAsForwardedOnceTheBackendIsChosen) {
  FakeWorker w(kRoutes);
  Chain c(w);
  c.stream.start(request("GET", "/always/x"), true);
  EXPECT_TRUE(c.stream.replies.empty());
  EXPECT_EQ(c.next.headers_calls, 1);
  EXPECT_EQ(c.stream.backend_choices, 1);
  ASSERT_NE(c.stream.state().cluster, nullptr);
  ASSERT_EQ(c.stream.mirrors_started.size(), 1u);
  const auto& m = c.stream.mirrors_started[0];
  EXPECT_NE(m.cluster.find("solo"), std::string::npos) << m.cluster;
  EXPECT_EQ(m.head.path, "/always/x");
  // The route's request changes are applied before the copy is taken.
  ASSERT_NE(m.head.headers.get("x-team"), nullptr);
  EXPECT_EQ(*m.head.headers.get("x-team"), "blue");
  EXPECT_TRUE(m.end_stream);
}

TEST(ShadowFilter, ZeroPercentSendsNoCopy) {
  FakeWorker w(kRoutes);
  Chain c(w);
  c.stream.start(request("GET", "/never/x"), true);
  EXPECT_EQ(c.next.headers_calls, 1);
  EXPECT_TRUE(c.stream.mirrors_started.empty());
}

TEST(ShadowFilter, RouteWithoutMirrorsLeavesTheBackendToLaterFilters) {
  FakeWorker w(kRoutes);
  Chain c(w);
  c.stream.start(request("GET", "/other"), true);
  EXPECT_EQ(c.next.headers_calls, 1);
  EXPECT_EQ(c.stream.backend_choices, 0);
  EXPECT_TRUE(c.stream.mirrors_started.empty());
}

}  // namespace
}  // namespace infergate::gateway::testing
