// The endpoint_picker filter without an external picker: it chooses the backend (once) and
// goes on; a rule whose backends all weigh 0 answers 500 (flag NC). A pool with an
// endpointPickerRef calls its EPP over gRPC ext_proc, which needs a gRPC peer: that path is
// covered end to end (tests/e2e), not here.
#include "gateway/proxy/filters/endpoint_picker_filter.h"

#include <gtest/gtest.h>

#include "fake_stream.h"
#include "gateway/proxy/filters/route_reply_filter.h"

namespace infergate::gateway::testing {
namespace {

const std::string kRoutes = R"(---
apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: {name: pool}
spec: {selector: {matchLabels: {app: pool}}, targetPorts: [{number: 8000}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: llm}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /zero}}]
    backendRefs: [{name: llm, port: 80, weight: 0}]
  - backendRefs:
    - {group: inference.networking.k8s.io, kind: InferencePool, name: pool}
)";

using Chain = FilterUnderTest<EndpointPickerFilter, RouteReplyFilter>;

TEST(EndpointPickerFilter, PoolWithoutExternalPickerContinuesWithItsBackendChosen) {
  FakeWorker w(kRoutes);
  Chain c(w);
  c.stream.start(request("POST", "/v1/completions"), true);
  EXPECT_TRUE(c.stream.replies.empty());
  EXPECT_FALSE(c.stream.stopped());
  EXPECT_EQ(c.next.headers_calls, 1);
  EXPECT_EQ(c.stream.backend_choices, 1);
  const StreamState& st = c.stream.state();
  ASSERT_NE(st.cluster, nullptr);
  EXPECT_EQ(st.cluster, w.snapshot->clusters->find(st.backend->cluster));
  ASSERT_EQ(st.cluster->endpoints.size(), 1u);
  EXPECT_EQ(st.cstats, w.snapshot->stats_for(st.cluster));
  EXPECT_EQ(st.endpoints.current(), nullptr) << "the router picks the endpoint per attempt";
  // The backend is chosen once: asking again does not draw again.
  EXPECT_TRUE(c.stream.resolve_backend());
  EXPECT_EQ(c.stream.backend_choices, 1);
}

TEST(EndpointPickerFilter, AllBackendsWeighZeroIs500WithFlagNC) {
  FakeWorker w(kRoutes);
  Chain c(w);
  c.stream.start(request("GET", "/zero/x"), true);
  ASSERT_EQ(c.stream.replies.size(), 1u);
  EXPECT_EQ(c.stream.replies[0].status, 500);
  EXPECT_EQ(c.stream.replies[0].flag, ResponseFlag::NoClusterFound);
  EXPECT_TRUE(c.stream.state().flags.has(ResponseFlag::NoClusterFound));
  EXPECT_EQ(c.stream.state().cluster, nullptr);
  EXPECT_EQ(c.next.headers_calls, 0);
}

TEST(EndpointPickerFilter, DirectCallReturnsStopIterationWhenAnswered) {
  FakeWorker w(kRoutes);
  FakeStream s(w);
  EndpointPickerFilter& f = s.add<EndpointPickerFilter>();
  s.state().request = request("GET", "/zero/x");
  s.state().route = w.snapshot->routes->match_detail(s.state().request, "default/gw/http").route;
  s.state().route_matched = true;
  ASSERT_NE(s.state().route, nullptr);
  EXPECT_EQ(f.decode_headers(true), FilterStatus::StopIteration);
  ASSERT_EQ(s.replies.size(), 1u);
  EXPECT_EQ(s.replies[0].status, 500);
}

}  // namespace
}  // namespace infergate::gateway::testing
