// Body-based routing: which requests are held, when the chain resumes, what the model becomes,
// and the refusals (a later differing "model", UTF-16 JSON), counted.
#include "gateway/proxy/filters/body_model_filter.h"

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
  rules:
  - backendRefs: [{name: llm, port: 80}]
)";

const std::string kSmallLimit = "  bodyRouting: {maxBytes: 1024}\n";

uint64_t body_model(const FakeWorker& w, BodyModelResult r) { return w.stats.body_model[static_cast<size_t>(r)].value(); }

using Chain = FilterUnderTest<BodyModelFilter>;

RequestHead json_post(std::string content_type = "application/json") {
  return request("POST", "/v1/chat/completions", "llm.example.com", {{"content-type", content_type}});
}

TEST(BodyModelFilter, JsonPostIsHeldUntilItsModelIsKnownThenContinuesOnce) {
  FakeWorker w(kRoutes);
  Chain c(w);
  c.stream.start(json_post(), false);
  EXPECT_TRUE(c.stream.stopped());
  EXPECT_EQ(c.next.headers_calls, 0);

  c.stream.data(R"({"mod)", false);
  c.stream.data(R"(el": "llama-3", "mess)", false);
  EXPECT_EQ(c.next.headers_calls, 0) << "the model is not known before its value ends";
  EXPECT_EQ(c.stream.continues, 0);
  c.stream.data(R"(ages": []})", true);

  EXPECT_EQ(c.stream.continues, 1);
  ASSERT_EQ(c.next.headers_calls, 1);
  EXPECT_EQ(c.next.model_header, "llama-3");
  EXPECT_EQ(c.next.pending_at_headers, R"({"model": "llama-3", "messages": []})")
      << "the filters after the stop find the held body";
  EXPECT_TRUE(c.stream.replies.empty());
  EXPECT_EQ(body_model(w, BodyModelResult::Found), 1u);
}

// The whole object is read (a second top-level "model" must not go unseen), but not the body
// after it: the chain resumes when the object closes, before the client ends the request.
TEST(BodyModelFilter, ResumesWhenTheObjectEndsThenTheRestStreamsOn) {
  FakeWorker w(kRoutes);
  Chain c(w);
  c.stream.start(json_post("Application/JSON; charset=utf-8"), false);
  ASSERT_TRUE(c.stream.stopped());
  c.stream.data(R"({"model":"m1","messages":[)", false);
  EXPECT_EQ(c.stream.continues, 0) << "the model is known, the object is not over";
  c.stream.data(R"(]})", false);
  EXPECT_EQ(c.stream.continues, 1);
  EXPECT_EQ(c.next.model_header, "m1");
  EXPECT_EQ(c.next.pending_at_headers, R"({"model":"m1","messages":[]})");
  c.stream.data("\n", true);
  EXPECT_EQ(c.next.data_seen, "\n");
  EXPECT_TRUE(c.next.data_end);
  EXPECT_EQ(c.stream.continues, 1);
}

TEST(BodyModelFilter, RequestsWithoutAJsonBodyPassAtOnce) {
  FakeWorker w(kRoutes);
  struct Case {
    RequestHead head;
    bool end_stream;
  };
  const Case cases[] = {
      {request("GET", "/v1/models"), false},
      {json_post(), true},  // bodiless
      {json_post("application/grpc"), false},
      {json_post("application/grpc+proto"), false},
      {json_post("multipart/form-data; boundary=x"), false},
  };
  for (const Case& k : cases) {
    Chain c(w);
    c.stream.start(k.head, k.end_stream);
    EXPECT_FALSE(c.stream.stopped()) << k.head.method << " " << k.head.headers.get_or("content-type", "");
    EXPECT_EQ(c.next.headers_calls, 1);
    EXPECT_FALSE(c.stream.state().body_scan.has_value());
  }
}

TEST(BodyModelFilter, GrpcJsonIsReadAsJson) {
  FakeWorker w(kRoutes);
  Chain c(w);
  c.stream.start(json_post("application/grpc+json"), false);
  EXPECT_TRUE(c.stream.stopped());
  c.stream.data(R"({"model":"g"})", true);
  EXPECT_EQ(c.next.model_header, "g");
}

TEST(BodyModelFilter, DisabledBodyRoutingContinues) {
  FakeWorker w(kRoutes, "  bodyRouting: {enabled: false}\n");
  ASSERT_FALSE(w.snapshot->config->gateway.body_routing.enabled);
  Chain c(w);
  c.stream.start(json_post(), false);
  EXPECT_FALSE(c.stream.stopped());
  EXPECT_EQ(c.next.headers_calls, 1);
}

TEST(BodyModelFilter, ALongBodyRoutesOnItsFirstPartThenALaterDifferentModelIs400) {
  FakeWorker w(kRoutes, kSmallLimit);
  ASSERT_EQ(w.snapshot->config->gateway.body_routing.max_bytes, 1024u);
  Chain c(w);
  c.stream.start(json_post(), false);
  std::string first = R"({"model":"small","prompt":")" + std::string(1100, 'x');
  c.stream.data(first, false);
  EXPECT_EQ(c.stream.continues, 1) << "maxBytes read: the chain goes on on what was read";
  EXPECT_EQ(c.next.model_header, "small");
  EXPECT_EQ(body_model(w, BodyModelResult::TooLarge), 1u);
  ASSERT_TRUE(c.stream.state().body_scan.has_value());
  EXPECT_TRUE(c.stream.state().body_scan->locked());

  c.stream.data(R"(","model":"big"})", true);
  ASSERT_EQ(c.stream.replies.size(), 1u);
  EXPECT_EQ(c.stream.replies[0].status, 400);
  EXPECT_NE(c.stream.replies[0].body.find("differs from the one it routed on"), std::string::npos);
  EXPECT_EQ(w.stats.model_conflict.value(), 1u);
  EXPECT_EQ(w.stats.duplicate_model.value(), 1u);
  EXPECT_EQ(c.next.data_seen, "") << "the conflicting chunk must not reach the filters after";
}

TEST(BodyModelFilter, ALaterIdenticalModelIsNotAConflict) {
  FakeWorker w(kRoutes, kSmallLimit);
  Chain c(w);
  c.stream.start(json_post(), false);
  c.stream.data(R"({"model":"same","prompt":")" + std::string(1100, 'x'), false);
  c.stream.data(R"(","model":"same"})", true);
  EXPECT_TRUE(c.stream.replies.empty());
  EXPECT_EQ(w.stats.model_conflict.value(), 0u);
  EXPECT_EQ(w.stats.duplicate_model.value(), 1u);
  EXPECT_EQ(c.next.data_seen, R"(","model":"same"})");
}

// Routed as naming no model (none in the first maxBytes): a "model" after that would have the
// server serve a model the gateway never routed on.
TEST(BodyModelFilter, AModelFirstNamedPastMaxBytesIs400) {
  FakeWorker w(kRoutes, kSmallLimit);
  Chain c(w);
  c.stream.start(json_post(), false);
  c.stream.data(R"({"prompt":")" + std::string(1100, 'x'), false);
  EXPECT_EQ(c.stream.continues, 1);
  EXPECT_FALSE(c.next.model_header.has_value());
  c.stream.data(R"(","model":"late"})", true);
  ASSERT_EQ(c.stream.replies.size(), 1u);
  EXPECT_EQ(c.stream.replies[0].status, 400);
  EXPECT_EQ(w.stats.model_conflict.value(), 1u);
}

TEST(BodyModelFilter, Utf16JsonObjectIs415) {
  FakeWorker w(kRoutes);
  Chain c(w);
  c.stream.start(json_post(), false);
  std::string utf16;
  for (char ch : std::string(R"({"model":"m"})")) {
    utf16.push_back(ch);
    utf16.push_back('\0');
  }
  c.stream.data(utf16, true);
  ASSERT_EQ(c.stream.replies.size(), 1u);
  EXPECT_EQ(c.stream.replies[0].status, 415);
  EXPECT_EQ(w.stats.body_unsupported_encoding.value(), 1u);
  EXPECT_EQ(c.next.headers_calls, 0);
  EXPECT_EQ(c.stream.continues, 0);
}

TEST(BodyModelFilter, NonJsonBodyContinuesWithoutAModel) {
  FakeWorker w(kRoutes);
  Chain c(w);
  c.stream.start(json_post(), false);
  c.stream.data("not json", true);
  EXPECT_EQ(c.stream.continues, 1);
  EXPECT_EQ(c.next.headers_calls, 1);
  EXPECT_FALSE(c.next.model_header.has_value());
  EXPECT_EQ(body_model(w, BodyModelResult::NotJson), 1u);
}

TEST(BodyModelFilter, TrailersEndTheWait) {
  FakeWorker w(kRoutes);
  Chain c(w);
  c.stream.start(json_post(), false);
  c.stream.data(R"({"messages":[)", false);
  EXPECT_EQ(c.stream.continues, 0);
  c.stream.trailers({});
  EXPECT_EQ(c.stream.continues, 1);
  EXPECT_EQ(c.next.headers_calls, 1);
}

}  // namespace
}  // namespace infergate::gateway::testing
