// The router against fake upstream streams: what goes upstream and when, the response going
// out, retries on another endpoint, the local replies of its failures (with Envoy's flags),
// and request-body backpressure.
#include "gateway/proxy/router.h"

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
  - matches: [{path: {type: PathPrefix, value: /solo}}]
    backendRefs: [{name: solo, port: 80}]
  - backendRefs: [{name: llm, port: 80}]
)";

const char* const kConnectError = "upstream connect error or disconnect/reset before headers. ";

struct Chain {
  explicit Chain(FakeWorker& w) : stream(w), route(stream.add<RouteReplyFilter>()), router(stream.add<Router>()) {}
  FakeUpstream& upstream(size_t i) { return stream.upstreams.at(i); }
  const ClusterStats& cstats() { return *stream.state().cstats; }
  FakeStream stream;
  RouteReplyFilter& route;
  Router& router;
};

ResponseHead ok() {
  ResponseHead h;
  h.status = 200;
  h.headers.add_lower("content-type", "application/json");
  h.headers.add_lower("connection", "keep-alive");
  return h;
}

TEST(Router, SendsTheHeadersWhenReadyWithTheBufferedBodyThenStreamsTheRest) {
  FakeWorker w(kRoutes);
  Chain c(w);
  c.stream.start(request("POST", "/v1/chat/completions"), false);
  ASSERT_EQ(c.stream.upstreams.size(), 1u);
  EXPECT_EQ(c.upstream(0).endpoint, c.stream.state().upstream_host);
  EXPECT_EQ(c.stream.state().cluster->endpoints.size(), 2u);
  EXPECT_EQ(c.stream.deadline_changes, 1);
  c.stream.data("abc", false);
  EXPECT_TRUE(c.upstream(0).headers.empty()) << "nothing is sent before the connection is ready";
  EXPECT_EQ(c.stream.state().pending_body, "abc");

  c.upstream(0).callbacks->on_upstream_ready();
  ASSERT_EQ(c.upstream(0).headers.size(), 1u);
  EXPECT_EQ(c.upstream(0).headers[0].path, "/v1/chat/completions");
  EXPECT_FALSE(c.upstream(0).headers_end);
  EXPECT_EQ(c.upstream(0).body, "abc");
  EXPECT_FALSE(c.upstream(0).data_end);
  EXPECT_TRUE(c.stream.state().pending_body.empty());

  c.stream.data("def", true);
  EXPECT_EQ(c.upstream(0).body, "abcdef");
  EXPECT_TRUE(c.upstream(0).data_end);
  EXPECT_EQ(c.cstats().upstream_rq_total.value(), 1u);
}

TEST(Router, BodyCompleteBeforeReadyEndsWithTheBody) {
  FakeWorker w(kRoutes);
  Chain c(w);
  c.stream.start(request("POST", "/v1/completions"), false);
  c.stream.data("whole", true);
  c.upstream(0).callbacks->on_upstream_ready();
  EXPECT_FALSE(c.upstream(0).headers_end);
  EXPECT_EQ(c.upstream(0).body, "whole");
  EXPECT_EQ(c.upstream(0).data_calls, 1);
  EXPECT_TRUE(c.upstream(0).data_end);
}

TEST(Router, BodilessRequestIsHeadersOnly) {
  FakeWorker w(kRoutes);
  Chain c(w);
  c.stream.start(request("GET", "/v1/models"), true);
  c.upstream(0).callbacks->on_upstream_ready();
  ASSERT_EQ(c.upstream(0).headers.size(), 1u);
  EXPECT_TRUE(c.upstream(0).headers_end);
  EXPECT_EQ(c.upstream(0).data_calls, 0);
}

TEST(Router, RequestTrailersFollowTheBody) {
  FakeWorker w(kRoutes);
  Chain c(w);
  c.stream.start(request("POST", "/v1/completions"), false);
  c.stream.data("b", false);
  HeaderMap t;
  t.add_lower("x-checksum", "1");
  c.stream.trailers(std::move(t));
  c.upstream(0).callbacks->on_upstream_ready();
  EXPECT_EQ(c.upstream(0).body, "b");
  EXPECT_FALSE(c.upstream(0).data_end);
  ASSERT_TRUE(c.upstream(0).trailers.has_value());
  EXPECT_EQ(c.upstream(0).trailers->get_or("x-checksum", ""), "1");
}

TEST(Router, ResponseGoesOutWithServiceTimeAndItsEndReleasesTheUpstream) {
  FakeWorker w(kRoutes);
  Chain c(w);
  c.stream.start(request("GET", "/v1/models"), true);
  c.upstream(0).callbacks->on_upstream_ready();
  c.upstream(0).callbacks->on_response_headers(ok(), false);
  ASSERT_TRUE(c.stream.response_head.has_value());
  const HeaderMap& h = c.stream.response_head->headers;
  EXPECT_EQ(c.stream.response_head->status, 200);
  EXPECT_NE(h.get("x-envoy-upstream-service-time"), nullptr);
  EXPECT_EQ(h.get("connection"), nullptr) << "hop-by-hop headers stay on their hop";
  EXPECT_EQ(h.get_or("content-type", ""), "application/json");
  EXPECT_EQ(c.stream.state().upstream_status, 200);
  EXPECT_EQ(c.stream.completions, 0);

  c.upstream(0).callbacks->on_response_data("{}", true);
  EXPECT_EQ(c.stream.response_body, "{}");
  EXPECT_TRUE(c.stream.response_body_end);
  EXPECT_EQ(c.stream.completions, 1);
  EXPECT_EQ(c.upstream(0).releases, 1);
  EXPECT_EQ(c.upstream(0).resets, 0);
  EXPECT_EQ(c.cstats().upstream_rq_tx_reset.value(), 0u);
  EXPECT_EQ(c.cstats().upstream_rq_xx[1].value(), 1u);
  EXPECT_TRUE(c.stream.replies.empty());
}

TEST(Router, ResponseTrailersEndTheStream) {
  FakeWorker w(kRoutes);
  Chain c(w);
  c.stream.start(request("GET", "/v1/models"), true);
  c.upstream(0).callbacks->on_upstream_ready();
  c.upstream(0).callbacks->on_response_headers(ok(), false);
  c.upstream(0).callbacks->on_response_data("x", false);
  HeaderMap t;
  t.add_lower("grpc-status", "0");
  c.upstream(0).callbacks->on_response_trailers(std::move(t));
  ASSERT_TRUE(c.stream.response_trailers.has_value());
  EXPECT_EQ(c.stream.completions, 1);
  EXPECT_EQ(c.upstream(0).releases, 1);
}

TEST(Router, ConnectFailureRetriesOnAnotherEndpointThenAnswers503URX) {
  FakeWorker w(kRoutes);
  Chain c(w);
  c.stream.start(request("POST", "/v1/completions"), false);
  c.stream.data("hello", true);
  const std::string first = c.upstream(0).endpoint;
  c.upstream(0).callbacks->on_upstream_reset(ResetReason::ConnectFailure);

  ASSERT_EQ(c.stream.upstreams.size(), 2u);
  EXPECT_NE(c.upstream(1).endpoint, first) << "a retry goes to another endpoint";
  EXPECT_EQ(c.cstats().upstream_rq_retry.value(), 1u);
  EXPECT_TRUE(c.stream.replies.empty());
  c.upstream(1).callbacks->on_upstream_ready();
  EXPECT_EQ(c.upstream(1).body, "hello");
  EXPECT_TRUE(c.upstream(1).data_end);

  c.upstream(1).callbacks->on_upstream_reset(ResetReason::ConnectFailure);
  EXPECT_EQ(c.stream.upstreams.size(), 2u) << "one retry by default";
  ASSERT_EQ(c.stream.replies.size(), 1u);
  EXPECT_EQ(c.stream.replies[0].status, 503);
  EXPECT_EQ(c.stream.replies[0].body,
            std::string(kConnectError) + "retried and the latest reset reason: connection failure");
  EXPECT_TRUE(c.stream.state().flags.has(ResponseFlag::UpstreamRetryLimitExceeded));
  EXPECT_TRUE(c.stream.state().flags.has(ResponseFlag::UpstreamConnectionFailure));
  EXPECT_EQ(c.upstream(0).resets, 0) << "a stream the codec reset is not reset again";
  EXPECT_EQ(c.upstream(1).resets, 0);
}

TEST(Router, RemoteResetAfterTheBodyWasSentReplaysIt) {
  FakeWorker w(kRoutes);
  Chain c(w);
  c.stream.start(request("POST", "/v1/completions"), false);
  c.upstream(0).callbacks->on_upstream_ready();
  c.stream.data("part1-", false);
  c.stream.data("part2", true);
  EXPECT_EQ(c.upstream(0).body, "part1-part2");
  c.upstream(0).callbacks->on_upstream_reset(ResetReason::RemoteReset);
  EXPECT_EQ(c.cstats().upstream_rq_rx_reset.value(), 1u);
  ASSERT_EQ(c.stream.upstreams.size(), 2u);
  c.upstream(1).callbacks->on_upstream_ready();
  EXPECT_EQ(c.upstream(1).body, "part1-part2");
  EXPECT_TRUE(c.upstream(1).data_end);
  c.upstream(1).callbacks->on_response_headers(ok(), true);
  EXPECT_EQ(c.stream.completions, 1);
  EXPECT_EQ(c.upstream(1).releases, 1);
  EXPECT_TRUE(c.stream.replies.empty());
}

TEST(Router, ProtocolErrorIsNotRetried) {
  FakeWorker w(kRoutes);
  Chain c(w);
  c.stream.start(request("GET", "/v1/models"), true);
  c.upstream(0).callbacks->on_upstream_ready();
  c.upstream(0).callbacks->on_upstream_reset(ResetReason::ProtocolError);
  EXPECT_EQ(c.stream.upstreams.size(), 1u) << "the server may have acted on it";
  ASSERT_EQ(c.stream.replies.size(), 1u);
  EXPECT_EQ(c.stream.replies[0].status, 503);
  EXPECT_EQ(c.stream.replies[0].body, std::string(kConnectError) + "reset reason: protocol error");
  EXPECT_TRUE(c.stream.state().flags.has(ResponseFlag::UpstreamProtocolError));
}

TEST(Router, SingleEndpointConnectFailureIs503WithoutRetry) {
  FakeWorker w(kRoutes);
  Chain c(w);
  c.stream.start(request("GET", "/solo/x"), true);
  c.upstream(0).callbacks->on_upstream_reset(ResetReason::ConnectFailure);
  EXPECT_EQ(c.stream.upstreams.size(), 1u);
  ASSERT_EQ(c.stream.replies.size(), 1u);
  EXPECT_EQ(c.stream.replies[0].body, std::string(kConnectError) + "reset reason: connection failure");
  EXPECT_FALSE(c.stream.state().flags.has(ResponseFlag::UpstreamRetryLimitExceeded));
  EXPECT_EQ(c.cstats().upstream_rq_retry.value(), 0u);
}

TEST(Router, ConnectionLimitAnswers503WithFlagUO) {
  FakeWorker w(kRoutes);
  Chain c(w);
  c.stream.refuse_streams = true;
  c.stream.start(request("GET", "/v1/models"), true);
  EXPECT_TRUE(c.stream.upstreams.empty());
  ASSERT_EQ(c.stream.replies.size(), 1u);
  EXPECT_EQ(c.stream.replies[0].status, 503);
  EXPECT_EQ(c.stream.replies[0].flag, ResponseFlag::UpstreamOverflow);
  EXPECT_EQ(c.stream.replies[0].body, std::string(kConnectError) + "reset reason: overflow");
  EXPECT_EQ(c.cstats().upstream_rq_total.value(), 0u);
}

TEST(Router, PerTryTimeoutWithoutRetryIs504UT) {
  FakeWorker w(kRoutes);
  Chain c(w);
  c.stream.start(request("GET", "/solo/x"), true);
  c.upstream(0).callbacks->on_upstream_ready();
  c.router.on_try_timeout();
  EXPECT_EQ(c.upstream(0).resets, 1);
  EXPECT_EQ(c.stream.upstreams.size(), 1u);
  EXPECT_EQ(c.cstats().upstream_rq_per_try_timeout.value(), 1u);
  EXPECT_EQ(c.cstats().upstream_rq_tx_reset.value(), 1u);
  ASSERT_EQ(c.stream.replies.size(), 1u);
  EXPECT_EQ(c.stream.replies[0].status, 504);
  EXPECT_EQ(c.stream.replies[0].body, "upstream request timeout");
  EXPECT_TRUE(c.stream.state().flags.has(ResponseFlag::UpstreamRequestTimeout));
}

TEST(Router, PerTryTimeoutRetriesOnAnotherEndpointWhenItCan) {
  FakeWorker w(kRoutes);
  Chain c(w);
  c.stream.start(request("GET", "/v1/models"), true);
  c.upstream(0).callbacks->on_upstream_ready();
  c.router.on_try_timeout();
  EXPECT_EQ(c.upstream(0).resets, 1);
  ASSERT_EQ(c.stream.upstreams.size(), 2u);
  EXPECT_NE(c.upstream(1).endpoint, c.upstream(0).endpoint);
  EXPECT_EQ(c.cstats().upstream_rq_retry.value(), 1u);
  EXPECT_TRUE(c.stream.replies.empty());
  c.router.on_try_timeout();
  ASSERT_EQ(c.stream.replies.size(), 1u);
  EXPECT_EQ(c.stream.replies[0].status, 504);
  EXPECT_TRUE(c.stream.state().flags.has(ResponseFlag::UpstreamRetryLimitExceeded));
}

TEST(Router, ResetMidResponseResetsTheDownstream) {
  FakeWorker w(kRoutes);
  Chain c(w);
  c.stream.start(request("GET", "/v1/models"), true);
  c.upstream(0).callbacks->on_upstream_ready();
  c.upstream(0).callbacks->on_response_headers(ok(), false);
  c.upstream(0).callbacks->on_response_data("partial", false);
  c.upstream(0).callbacks->on_upstream_reset(ResetReason::RemoteReset);
  EXPECT_EQ(c.stream.downstream_resets, 1);
  EXPECT_TRUE(c.stream.replies.empty());
  EXPECT_EQ(c.stream.upstreams.size(), 1u) << "nothing is retried once the response started";
  EXPECT_TRUE(c.stream.state().flags.has(ResponseFlag::UpstreamRemoteReset));
}

TEST(Router, DetachWithoutSuccessResetsTheStreamAndCountsIt) {
  FakeWorker w(kRoutes);
  Chain c(w);
  c.stream.start(request("GET", "/v1/models"), true);
  c.upstream(0).callbacks->on_upstream_ready();
  c.router.detach_upstream(false);
  EXPECT_EQ(c.upstream(0).resets, 1);
  EXPECT_EQ(c.upstream(0).releases, 0);
  EXPECT_EQ(c.cstats().upstream_rq_tx_reset.value(), 1u);
  c.router.detach_upstream(false);
  EXPECT_EQ(c.upstream(0).resets, 1) << "once closed, detaching is a no-op";
  EXPECT_EQ(c.cstats().upstream_rq_tx_reset.value(), 1u);
}

TEST(Router, RequestBodyWatermarksPauseAndResumeTheClient) {
  FakeWorker w(kRoutes);
  Chain c(w);
  c.stream.start(request("POST", "/v1/completions"), false);
  c.upstream(0).callbacks->on_upstream_ready();
  // Sending the (empty) held body resumes the client, whatever it was; only what follows counts.
  ASSERT_EQ(c.stream.pauses, std::vector<bool>{false});
  c.stream.pauses.clear();
  c.upstream(0).buffered = Watermarks{}.high + 1;
  c.stream.data("x", false);
  ASSERT_EQ(c.stream.pauses, std::vector<bool>{true});
  c.upstream(0).buffered = Watermarks{}.low - 1;
  c.upstream(0).callbacks->on_upstream_writable();
  EXPECT_EQ(c.stream.pauses, (std::vector<bool>{true, false}));
}

TEST(Router, BodyHeldBeforeReadyPausesTheClientPastTheHighWatermark) {
  FakeWorker w(kRoutes);
  Chain c(w);
  c.stream.start(request("POST", "/v1/completions"), false);
  const std::string big(Watermarks{}.high / 2 + 1, 'a');
  c.stream.data(big, false);
  EXPECT_TRUE(c.stream.pauses.empty());
  c.stream.data(big, false);
  ASSERT_EQ(c.stream.pauses, std::vector<bool>{true});
  c.upstream(0).callbacks->on_upstream_ready();
  EXPECT_EQ(c.upstream(0).body.size(), 2 * big.size());
  EXPECT_EQ(c.stream.pauses, (std::vector<bool>{true, false})) << "the held body went out: resume";
}

TEST(Router, ResponseWatermarksPauseTheUpstream) {
  FakeWorker w(kRoutes);
  Chain c(w);
  c.stream.start(request("GET", "/v1/models"), true);
  c.upstream(0).callbacks->on_upstream_ready();
  c.router.pause_response(true);
  EXPECT_TRUE(c.upstream(0).response_paused);
  c.router.on_downstream_writable();
  EXPECT_FALSE(c.upstream(0).response_paused);
}

TEST(Router, LargeBodyAlreadySentIsNotReplayed) {
  FakeWorker w(kRoutes);
  Chain c(w);
  c.stream.start(request("POST", "/v1/completions"), false);
  c.upstream(0).callbacks->on_upstream_ready();
  c.stream.data(std::string(Router::kRetryBufferLimit + 1, 'z'), false);
  c.upstream(0).callbacks->on_upstream_reset(ResetReason::RemoteReset);
  EXPECT_EQ(c.stream.upstreams.size(), 1u);
  EXPECT_EQ(c.cstats().upstream_rq_retry.value(), 0u);
  ASSERT_EQ(c.stream.replies.size(), 1u);
  EXPECT_EQ(c.stream.replies[0].body, std::string(kConnectError) + "reset reason: remote reset");
}

// DestinationRule limits (they apply to the VirtualService's outbound clusters).
const std::string kLimited = R"(---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: llm}
spec:
  host: llm
  trafficPolicy:
    connectionPool:
      http: {http1MaxPendingRequests: 1, maxRetries: 1}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs}
spec:
  hosts: [llm.example.com]
  gateways: [gw]
  http:
  - route: [{destination: {host: llm}}]
)";

TEST(Router, PendingLimitAnswers503Overflow) {
  FakeWorker w(kLimited);
  Chain a(w);
  a.stream.start(request("GET", "/v1/models"), true);
  ASSERT_TRUE(a.stream.replies.empty());
  Chain b(w);
  b.stream.start(request("GET", "/v1/models"), true);
  ASSERT_EQ(b.stream.replies.size(), 1u);
  EXPECT_EQ(b.stream.replies[0].status, 503);
  EXPECT_EQ(b.stream.replies[0].flag, ResponseFlag::UpstreamOverflow);
  EXPECT_EQ(b.cstats().upstream_rq_pending_overflow.value(), 1u);
  EXPECT_TRUE(b.stream.upstreams.empty());
}

// A retry whose attempt is refused by the cluster's circuit breakers (pending requests) is
// answered with a local reply while the router holds the retry slot it took; the slot must
// come back, or with maxRetries: 1 the cluster never retries again (the Exchange before the
// filter chain leaked it).
TEST(Router, RetryRefusedByCircuitBreakerGivesItsRetrySlotBack) {
  FakeWorker w(kLimited);
  {
    Chain a(w);
    a.stream.start(request("GET", "/v1/models"), true);
    a.upstream(0).callbacks->on_upstream_ready();  // gives the pending slot back
    Chain b(w);
    b.stream.start(request("GET", "/v1/models"), true);  // holds the only pending slot
    ASSERT_EQ(b.stream.upstreams.size(), 1u);
    a.upstream(0).callbacks->on_upstream_reset(ResetReason::ConnectFailure);
    EXPECT_EQ(a.cstats().upstream_rq_retry.value(), 1u);
    ASSERT_EQ(a.stream.replies.size(), 1u);
    EXPECT_EQ(a.stream.replies[0].status, 503);
    EXPECT_EQ(a.cstats().upstream_rq_pending_overflow.value(), 1u);
    b.upstream(0).callbacks->on_upstream_ready();
    b.upstream(0).callbacks->on_response_headers(ok(), true);
  }
  const pools::ClusterLoad& load = *w.snapshot->clusters->find("outbound|80||llm.default.svc.cluster.local")->load;
  EXPECT_EQ(load.rq_active.load(), 0);
  EXPECT_EQ(load.rq_pending.load(), 0);
  EXPECT_EQ(load.rq_retry.load(), 0) << "the refused retry's slot leaked";

  // What the leak does: the next connect failure is not retried.
  Chain c(w);
  c.stream.start(request("GET", "/v1/models"), true);
  c.upstream(0).callbacks->on_upstream_reset(ResetReason::ConnectFailure);
  EXPECT_EQ(c.stream.upstreams.size(), 2u);
  EXPECT_EQ(c.cstats().upstream_rq_retry_overflow.value(), 0u);
}

}  // namespace
}  // namespace infergate::gateway::testing
