// VirtualService faults through the fault filter: an abort answers at once (flag FI), a gRPC
// abort is a trailers-only 200, a delay stops the chain on a timer (flag DI) and then goes on
// or aborts.
#include "gateway/proxy/filters/fault_filter.h"

#include <gtest/gtest.h>

#include "fake_stream.h"
#include "gateway/proxy/filters/route_reply_filter.h"

namespace infergate::gateway::testing {
namespace {

using std::chrono::milliseconds;

const std::string kVs = R"(---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs}
spec:
  hosts: [llm.example.com]
  gateways: [gw]
  http:
  - match: [{uri: {prefix: /abort}}]
    fault: {abort: {httpStatus: 503, percentage: {value: 100}}}
    route: [{destination: {host: llm}}]
  - match: [{uri: {prefix: /grpc}}]
    fault: {abort: {grpcStatus: UNAVAILABLE, percentage: {value: 100}}}
    route: [{destination: {host: llm}}]
  - match: [{uri: {prefix: /delay}}]
    fault: {delay: {fixedDelay: 1500ms, percentage: {value: 100}}}
    route: [{destination: {host: llm}}]
  - match: [{uri: {prefix: /both}}]
    fault:
      delay: {fixedDelay: 2s, percentage: {value: 100}}
      abort: {httpStatus: 429, percentage: {value: 100}}
    route: [{destination: {host: llm}}]
  - match: [{uri: {prefix: /never}}]
    fault: {abort: {httpStatus: 500, percentage: {value: 0}}}
    route: [{destination: {host: llm}}]
  - route: [{destination: {host: llm}}]
)";

// The route is matched by the filter before it in the chain, as in the real order.
using Chain = FilterUnderTest<FaultFilter, RouteReplyFilter>;

TEST(FaultFilter, AbortAnswersItsStatusWithFlagFI) {
  FakeWorker w(kVs);
  Chain c(w);
  c.stream.start(request("GET", "/abort"), true);
  ASSERT_EQ(c.stream.replies.size(), 1u);
  EXPECT_EQ(c.stream.replies[0].status, 503);
  EXPECT_EQ(c.stream.replies[0].body, "fault filter abort");
  EXPECT_EQ(c.stream.replies[0].flag, ResponseFlag::FaultInjected);
  EXPECT_TRUE(c.stream.scheduled.empty());
  EXPECT_EQ(c.next.headers_calls, 0);
}

TEST(FaultFilter, GrpcAbortIs200WithGrpcStatus) {
  FakeWorker w(kVs);
  Chain c(w);
  c.stream.start(request("POST", "/grpc.Service/Call", "llm.example.com", {{"content-type", "application/grpc"}}), false);
  ASSERT_EQ(c.stream.replies.size(), 1u);
  const LocalReply& r = c.stream.replies[0];
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.flag, ResponseFlag::FaultInjected);
  EXPECT_EQ(r.headers.get_or("grpc-status", ""), "14");
  EXPECT_EQ(r.headers.get_or("grpc-message", ""), "fault filter abort");
  EXPECT_EQ(r.headers.get_or("content-type", ""), "application/grpc");
}

TEST(FaultFilter, DelayStopsOnATimerThenContinues) {
  FakeWorker w(kVs);
  Chain c(w);
  c.stream.start(request("GET", "/delay"), true);
  EXPECT_TRUE(c.stream.stopped());
  EXPECT_TRUE(c.stream.state().flags.has(ResponseFlag::DelayInjected));
  ASSERT_EQ(c.stream.scheduled.size(), 1u);
  EXPECT_EQ(c.stream.scheduled[0].delay, milliseconds(1500));
  EXPECT_EQ(c.next.headers_calls, 0);
  c.stream.fire(0);
  EXPECT_EQ(c.stream.continues, 1);
  EXPECT_EQ(c.next.headers_calls, 1);
  EXPECT_TRUE(c.stream.replies.empty());
}

TEST(FaultFilter, DelayThenAbortAnswersAfterTheTimer) {
  FakeWorker w(kVs);
  Chain c(w);
  c.stream.start(request("GET", "/both"), true);
  ASSERT_EQ(c.stream.scheduled.size(), 1u);
  EXPECT_EQ(c.stream.scheduled[0].delay, milliseconds(2000));
  EXPECT_TRUE(c.stream.replies.empty()) << "nothing is answered before the delay";
  c.stream.fire(0);
  ASSERT_EQ(c.stream.replies.size(), 1u);
  EXPECT_EQ(c.stream.replies[0].status, 429);
  EXPECT_TRUE(c.stream.state().flags.has(ResponseFlag::DelayInjected));
  EXPECT_TRUE(c.stream.state().flags.has(ResponseFlag::FaultInjected));
  EXPECT_EQ(c.stream.continues, 0);
  EXPECT_EQ(c.next.headers_calls, 0);
}

TEST(FaultFilter, ZeroPercentAndNoFaultContinue) {
  FakeWorker w(kVs);
  for (const char* path : {"/never", "/v1/models"}) {
    Chain c(w);
    c.stream.start(request("GET", path), true);
    EXPECT_TRUE(c.stream.replies.empty()) << path;
    EXPECT_TRUE(c.stream.scheduled.empty()) << path;
    EXPECT_EQ(c.next.headers_calls, 1) << path;
  }
}

}  // namespace
}  // namespace infergate::gateway::testing
