// What the route answers itself: no route is 404 (flag NR, no_route), a redirect and a direct
// response are answered with their status, headers and body; a forwarding route goes on.
#include "gateway/proxy/filters/route_reply_filter.h"

#include <gtest/gtest.h>

#include "fake_stream.h"

namespace infergate::gateway::testing {
namespace {

const std::string kVs = R"(---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs}
spec:
  hosts: [llm.example.com]
  gateways: [gw]
  http:
  - name: moved
    match: [{uri: {prefix: /old}}]
    redirect: {uri: /new, authority: new.example.com, redirectCode: 308}
  - name: static
    match: [{uri: {prefix: /teapot}}]
    directResponse: {status: 418, body: {string: teapot}}
  - name: forward
    route: [{destination: {host: llm}}]
)";

using Chain = FilterUnderTest<RouteReplyFilter>;

TEST(RouteReplyFilter, NoRouteIs404WithFlagNR) {
  FakeWorker w(kVs);
  Chain c(w);
  c.stream.start(request("GET", "/v1/models", "other.example.org"), true);
  ASSERT_EQ(c.stream.replies.size(), 1u);
  EXPECT_EQ(c.stream.replies[0].status, 404);
  EXPECT_EQ(c.stream.replies[0].flag, ResponseFlag::NoRouteFound);
  EXPECT_TRUE(c.stream.state().flags.has(ResponseFlag::NoRouteFound));
  EXPECT_EQ(w.stats.no_route.value(), 1u);
  EXPECT_EQ(c.next.headers_calls, 0);
}

TEST(RouteReplyFilter, RedirectIsAnsweredWithItsStatusAndLocation) {
  FakeWorker w(kVs);
  Chain c(w);
  c.stream.start(request("GET", "/old/page", "llm.example.com"), true);
  ASSERT_EQ(c.stream.replies.size(), 1u);
  const LocalReply& r = c.stream.replies[0];
  EXPECT_EQ(r.status, 308);
  EXPECT_EQ(r.flag, ResponseFlag::None);
  const std::string* location = r.headers.get("location");
  ASSERT_NE(location, nullptr);
  EXPECT_EQ(*location, "http://new.example.com/new");
  EXPECT_EQ(w.stats.no_route.value(), 0u);
  EXPECT_EQ(c.next.headers_calls, 0);
}

TEST(RouteReplyFilter, DirectResponseIsAnsweredWithItsStatusAndBody) {
  FakeWorker w(kVs);
  Chain c(w);
  c.stream.start(request("GET", "/teapot", "llm.example.com"), true);
  ASSERT_EQ(c.stream.replies.size(), 1u);
  EXPECT_EQ(c.stream.replies[0].status, 418);
  EXPECT_EQ(c.stream.replies[0].body, "teapot");
  EXPECT_EQ(c.next.headers_calls, 0);
}

TEST(RouteReplyFilter, ForwardingRouteContinues) {
  FakeWorker w(kVs);
  Chain c(w);
  c.stream.start(request("GET", "/v1/models", "llm.example.com"), true);
  EXPECT_TRUE(c.stream.replies.empty());
  EXPECT_EQ(c.next.headers_calls, 1);
  ASSERT_NE(c.stream.state().route, nullptr);
  EXPECT_EQ(c.stream.state().route->name, "default/vs/forward");
}

}  // namespace
}  // namespace infergate::gateway::testing
