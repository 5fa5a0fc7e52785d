// GatewayConfig localRateLimits through the local_ratelimit filter: an empty bucket answers 429
// (x-envoy-ratelimited, flag RL), the x-ratelimit-* headers go on the response, and a request
// without a route is left to the route_reply filter, uncounted.
#include "gateway/proxy/filters/local_rate_limit_filter.h"

#include <gtest/gtest.h>

#include "fake_stream.h"

namespace infergate::gateway::testing {
namespace {

const std::string kRoutes = R"(---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: llm}
spec:
  parentRefs: [{name: gw}]
  hostnames: [llm.example.com]
  rules:
  - backendRefs: [{name: llm, port: 80}]
)";

const std::string kOneToken = R"(  localRateLimits:
  - name: tiny
    tokenBucket: {maxTokens: 1, fillInterval: 1h}
)";

using Chain = FilterUnderTest<LocalRateLimitFilter>;

TEST(LocalRateLimitFilter, EmptyBucketAnswers429WithRateLimitedHeaderAndFlag) {
  FakeWorker w(kRoutes, kOneToken);
  ASSERT_EQ(w.snapshot->rate_limit_stats.size(), 1u);
  Chain first(w);
  first.stream.start(request("GET", "/v1/models"), true);
  EXPECT_TRUE(first.stream.replies.empty());
  EXPECT_EQ(first.next.headers_calls, 1);

  Chain second(w);
  second.stream.start(request("GET", "/v1/models"), true);
  ASSERT_EQ(second.stream.replies.size(), 1u);
  const LocalReply& r = second.stream.replies[0];
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.body, "local_rate_limited");
  EXPECT_EQ(r.flag, ResponseFlag::RateLimited);
  EXPECT_TRUE(second.stream.state().flags.has(ResponseFlag::RateLimited));
  EXPECT_EQ(r.headers.get_or("x-envoy-ratelimited", ""), "true");
  EXPECT_EQ(r.headers.get_or("x-ratelimit-limit", ""), "1");
  EXPECT_EQ(r.headers.get_or("x-ratelimit-remaining", ""), "0");
  EXPECT_EQ(second.next.headers_calls, 0);
  EXPECT_EQ(w.snapshot->rate_limit_stats[0][0].value(), 1u);  // [ok, rate_limited, shadow_limited]
  EXPECT_EQ(w.snapshot->rate_limit_stats[0][1].value(), 1u);
  EXPECT_EQ(w.snapshot->rate_limit_stats[0][2].value(), 0u);
}

TEST(LocalRateLimitFilter, RateLimitHeadersArePutOnTheResponse) {
  FakeWorker w(kRoutes, R"(  localRateLimits:
  - name: ten
    tokenBucket: {maxTokens: 10, fillInterval: 1h}
)");
  Chain c(w);
  c.stream.start(request("GET", "/v1/models"), true);
  ASSERT_TRUE(c.stream.replies.empty());
  ResponseHead head;
  head.status = 200;
  head.headers.add_lower("x-ratelimit-remaining", "from-upstream");
  c.stream.encode_headers(std::move(head), true);
  ASSERT_TRUE(c.stream.response_head.has_value());
  const HeaderMap& h = c.stream.response_head->headers;
  EXPECT_EQ(h.get_or("x-ratelimit-limit", ""), "10");
  EXPECT_EQ(h.get_or("x-ratelimit-remaining", ""), "9");
  EXPECT_EQ(h.count("x-ratelimit-remaining"), 1u) << "the gateway's value replaces the upstream's";
  EXPECT_NE(h.get("x-ratelimit-reset"), nullptr);
}

TEST(LocalRateLimitFilter, ResponseHeadersOffLeavesTheResponseAlone) {
  FakeWorker w(kRoutes, R"(  localRateLimits:
  - name: quiet
    tokenBucket: {maxTokens: 10, fillInterval: 1h}
    responseHeaders: false
)");
  Chain c(w);
  c.stream.start(request("GET", "/v1/models"), true);
  c.stream.encode_headers(ResponseHead{}, true);
  ASSERT_TRUE(c.stream.response_head.has_value());
  EXPECT_EQ(c.stream.response_head->headers.get("x-ratelimit-limit"), nullptr);
}

TEST(LocalRateLimitFilter, ShadowPolicyCountsButLetsThrough) {
  FakeWorker w(kRoutes, R"(  localRateLimits:
  - name: shadow
    tokenBucket: {maxTokens: 1, fillInterval: 1h}
    enforce: false
)");
  for (int i = 0; i < 2; ++i) {
    Chain c(w);
    c.stream.start(request("GET", "/v1/models"), true);
    EXPECT_TRUE(c.stream.replies.empty()) << "request " << i;
    EXPECT_EQ(c.next.headers_calls, 1);
  }
  EXPECT_EQ(w.snapshot->rate_limit_stats[0][0].value(), 1u);
  EXPECT_EQ(w.snapshot->rate_limit_stats[0][2].value(), 1u);
  EXPECT_EQ(w.snapshot->rate_limit_stats[0][1].value(), 0u);
}

TEST(LocalRateLimitFilter, NoRouteContinuesUncounted) {
  FakeWorker w(kRoutes, kOneToken);
  for (int i = 0; i < 3; ++i) {
    Chain c(w);
    c.stream.start(request("GET", "/v1/models", "unknown.example.org"), true);
    EXPECT_TRUE(c.stream.replies.empty());
    EXPECT_EQ(c.next.headers_calls, 1);
    EXPECT_EQ(c.stream.state().route, nullptr);
  }
  for (size_t k = 0; k < 3; ++k) EXPECT_EQ(w.snapshot->rate_limit_stats[0][k].value(), 0u) << k;
  Chain routed(w);
  routed.stream.start(request("GET", "/v1/models"), true);
  EXPECT_TRUE(routed.stream.replies.empty()) << "the token is still there";
}

}  // namespace
}  // namespace infergate::gateway::testing
