// Message-level tests of the ext_proc client: what goes on the wire and how the EPP's
// answers are read, without gRPC.
#include "pools/ext_proc/epp_protocol.h"

#include <gtest/gtest.h>

namespace infergate::ext_proc {
namespace {

using detail::pb::ProcessingResponse;
using detail::RequestPhase;

TEST(EndpointList, ParsesPrimaryAndFallbacks) {
  auto eps = parse_endpoint_list("10.0.0.1:8000, 10.0.0.2:8001 ,[fd00::1]:9000");
  ASSERT_TRUE(eps);
  EXPECT_EQ(*eps, (std::vector<std::string>{"10.0.0.1:8000", "10.0.0.2:8001", "[fd00::1]:9000"}));
}

TEST(EndpointList, RejectsMalformed) {
  for (const char* bad : {"", "10.0.0.1", "10.0.0.1:", "10.0.0.1:0", "10.0.0.1:65536",
                          "host.example:80", "10.0.0.1:80,", "10.0.0.1:8x", "fd00::1:80",
                          "[fd00::1]80", "not-an-endpoint:99999", "1.2.3.4:80,junk"}) {
    EXPECT_FALSE(parse_endpoint_list(bad)) << bad;
  }
}

TEST(RequestMessages, HeadersGoInRawValueLowerCasedWithProtocolConfig) {
  EppCallOptions opts;
  opts.subset_hint = std::make_shared<const std::vector<std::string>>(std::vector<std::string>{"10.0.0.1:8000", "10.0.0.2:8000"});
  auto req = detail::make_request_headers(
      {{":method", "POST"}, {":path", "/v1/chat/completions"}, {"X-Model", "m1"}}, false, opts);
  ASSERT_TRUE(req.has_request_headers());
  const auto& hs = req.request_headers().headers().headers();
  ASSERT_EQ(hs.size(), 3);
  EXPECT_EQ(hs[0].key(), ":method");
  EXPECT_EQ(hs[0].raw_value(), "POST");
  EXPECT_TRUE(hs[0].value().empty());
  EXPECT_EQ(hs[2].key(), "x-model");
  EXPECT_FALSE(req.request_headers().end_of_stream());
  ASSERT_TRUE(req.has_protocol_config());
  EXPECT_EQ(req.protocol_config().request_body_mode(),
            envoy::extensions::filters::http::ext_proc::v3::ProcessingMode::FULL_DUPLEX_STREAMED);
  EXPECT_EQ(req.protocol_config().response_body_mode(),
            envoy::extensions::filters::http::ext_proc::v3::ProcessingMode::NONE);
  const auto& fm = req.metadata_context().filter_metadata();
  ASSERT_TRUE(fm.count("envoy.lb.subset_hint"));
  const auto& list = fm.at("envoy.lb.subset_hint")
                         .fields()
                         .at("x-gateway-destination-endpoint-subset")
                         .list_value();
  ASSERT_EQ(list.values_size(), 2);
  EXPECT_EQ(list.values(1).string_value(), "10.0.0.2:8000");

  auto body = detail::make_request_body("abc", true);
  ASSERT_TRUE(body.has_request_body());
  EXPECT_EQ(body.request_body().body(), "abc");
  EXPECT_TRUE(body.request_body().end_of_stream());
  EXPECT_FALSE(body.has_protocol_config());
}

TEST(RequestMessages, FieldNumbersMatchEnvoy) {
  // Wire bytes of a tiny request: field 2 (request_headers) containing field 3 (eos) = true.
  detail::pb::ProcessingRequest req;
  req.mutable_request_headers()->set_end_of_stream(true);
  EXPECT_EQ(req.SerializeAsString(), std::string("\x12\x02\x18\x01", 4));
  detail::pb::ProcessingRequest body;
  body.mutable_request_body()->set_end_of_stream(true);  // field 4, inner field 2
  EXPECT_EQ(body.SerializeAsString(), std::string("\x22\x02\x10\x01", 4));
  ProcessingResponse resp;  // field 7 immediate_response > field 1 status > field 1 code 429
  resp.mutable_immediate_response()->mutable_status()->set_code(envoy::type::v3::TooManyRequests);
  EXPECT_EQ(resp.SerializeAsString(), std::string("\x3a\x05\x0a\x03\x08\xad\x03", 7));
}

ProcessingResponse headers_response(const std::string& endpoint, bool use_value = false) {
  ProcessingResponse r;
  auto* opt = r.mutable_request_headers()->mutable_response()->mutable_header_mutation()
                  ->add_set_headers();
  opt->mutable_header()->set_key("x-gateway-destination-endpoint");
  if (use_value) opt->mutable_header()->set_value(endpoint);
  else opt->mutable_header()->set_raw_value(endpoint);
  opt->set_append_action(envoy::config::core::v3::HeaderValueOption::OVERWRITE_IF_EXISTS_OR_ADD);
  return r;
}

ProcessingResponse body_response(const std::string& body, bool eos) {
  ProcessingResponse r;
  auto* sr = r.mutable_request_body()->mutable_response()->mutable_body_mutation()
                 ->mutable_streamed_response();
  sr->set_body(body);
  sr->set_end_of_stream(eos);
  return r;
}

TEST(RequestPhase, EndpointsAfterBodyEcho) {
  RequestPhase phase(false, false);
  auto h = headers_response("10.0.0.1:8000,10.0.0.2:8000");
  h.mutable_request_headers()->mutable_response()->mutable_header_mutation()->add_remove_headers(
      "x-drop");
  EXPECT_FALSE(phase.on_response(h));
  EXPECT_FALSE(phase.on_response(body_response("ab", false)));
  auto r = phase.on_response(body_response("c", true));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->kind, ResultKind::kEndpoints);
  EXPECT_EQ(r->endpoints, (std::vector<std::string>{"10.0.0.1:8000", "10.0.0.2:8000"}));
  ASSERT_EQ(r->mutations.set.size(), 1u);
  EXPECT_EQ(r->mutations.set[0].action, AppendAction::kOverwriteIfExistsOrAdd);
  EXPECT_EQ(r->mutations.remove, std::vector<std::string>{"x-drop"});
}

TEST(RequestPhase, ValueFieldAcceptedAndNoBodyCompletesOnHeaders) {
  RequestPhase phase(true, false);
  auto r = phase.on_response(headers_response("10.1.1.1:80", true));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->kind, ResultKind::kEndpoints);
  EXPECT_EQ(r->endpoints, std::vector<std::string>{"10.1.1.1:80"});
}

TEST(RequestPhase, EarlyResultOnEndpoint) {
  RequestPhase phase(false, true);
  auto r = phase.on_response(headers_response("10.1.1.1:80"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->kind, ResultKind::kEndpoints);
}

TEST(RequestPhase, MetadataFallback) {
  RequestPhase phase(true, false);
  ProcessingResponse r;
  r.mutable_request_headers();
  auto& lb = (*r.mutable_dynamic_metadata()->mutable_fields())["envoy.lb"];
  (*lb.mutable_struct_value()->mutable_fields())["x-gateway-destination-endpoint"]
      .set_string_value("10.2.2.2:81,10.2.2.3:81");
  auto res = phase.on_response(r);
  ASSERT_TRUE(res);
  ASSERT_EQ(res->kind, ResultKind::kEndpoints);
  EXPECT_EQ(res->endpoints, (std::vector<std::string>{"10.2.2.2:81", "10.2.2.3:81"}));
}

TEST(RequestPhase, ImmediateResponse) {
  RequestPhase phase(false, false);
  ProcessingResponse r;
  auto* ir = r.mutable_immediate_response();
  ir->mutable_status()->set_code(envoy::type::v3::ServiceUnavailable);
  ir->set_body("none ready");
  auto* opt = ir->mutable_headers()->add_set_headers();
  opt->mutable_header()->set_key("x-why");
  opt->mutable_header()->set_raw_value("pool");
  auto res = phase.on_response(r);
  ASSERT_TRUE(res);
  ASSERT_EQ(res->kind, ResultKind::kImmediateResponse);
  EXPECT_EQ(res->immediate.status, 503);
  EXPECT_EQ(res->immediate.body, "none ready");
  ASSERT_EQ(res->immediate.headers.size(), 1u);
  EXPECT_EQ(res->immediate.headers[0].second, "pool");
}

void expect_protocol_error(std::optional<EppResult> r) {
  ASSERT_TRUE(r);
  ASSERT_EQ(r->kind, ResultKind::kFailure);
  EXPECT_EQ(r->failure.kind, FailureKind::kProtocolError) << r->failure.message;
}

TEST(RequestPhase, ProtocolErrors) {
  {  // body response before headers response
    RequestPhase p(false, false);
    expect_protocol_error(p.on_response(body_response("x", true)));
  }
  {  // wrong response type for the phase
    RequestPhase p(false, false);
    ProcessingResponse r;
    r.mutable_response_headers();
    expect_protocol_error(p.on_response(r));
  }
  {  // duplicate headers response
    RequestPhase p(false, false);
    EXPECT_FALSE(p.on_response(headers_response("10.0.0.1:80")));
    expect_protocol_error(p.on_response(headers_response("10.0.0.1:80")));
  }
  {  // malformed endpoint
    RequestPhase p(true, false);
    expect_protocol_error(p.on_response(headers_response("10.0.0.1")));
  }
  {  // no endpoint at all
    RequestPhase p(false, false);
    ProcessingResponse h;
    h.mutable_request_headers();
    EXPECT_FALSE(p.on_response(h));
    expect_protocol_error(p.on_response(body_response("", true)));
  }
  {  // empty response
    RequestPhase p(false, false);
    expect_protocol_error(p.on_response(ProcessingResponse{}));
  }
  {  // body mutation not streamed in FULL_DUPLEX_STREAMED mode
    RequestPhase p(false, false);
    EXPECT_FALSE(p.on_response(headers_response("10.0.0.1:80")));
    ProcessingResponse b;
    b.mutable_request_body()->mutable_response()->mutable_body_mutation()->set_body("x");
    expect_protocol_error(p.on_response(b));
  }
}

TEST(RequestPhase, TheStreamedBackBodyIsTheResultsBody) {
  RequestPhase phase(false, false);
  EXPECT_FALSE(phase.on_response(headers_response("10.0.0.1:8000")));
  EXPECT_FALSE(phase.on_response(body_response("new ", false)));
  auto r = phase.on_response(body_response("body", true));
  ASSERT_TRUE(r);
  ASSERT_TRUE(r->body);
  EXPECT_EQ(*r->body, "new body");
  // No body: no body in the result either.
  RequestPhase bodyless(true, false);
  r = bodyless.on_response(headers_response("10.0.0.1:8000"));
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->body);
}

TEST(RequestPhase, ABodyPastTheLimitIsAProtocolError) {
  RequestPhase phase(false, false, 10);
  EXPECT_FALSE(phase.on_response(headers_response("10.0.0.1:8000")));
  EXPECT_FALSE(phase.on_response(body_response("123456", false)));
  auto r = phase.on_response(body_response("789012", true));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->kind, ResultKind::kFailure);
  EXPECT_EQ(r->failure.kind, FailureKind::kProtocolError);
  EXPECT_NE(r->failure.message.find("larger than 10 bytes"), std::string::npos) << r->failure.message;
}

TEST(RequestPhase, TrailersEndTheRequestAndCarryMutations) {
  RequestPhase phase(false, false);
  EXPECT_FALSE(phase.on_response(headers_response("10.0.0.1:8000")));
  EXPECT_FALSE(phase.on_response(body_response("abc", false)));
  ProcessingResponse t;
  auto* opt = t.mutable_request_trailers()->mutable_header_mutation()->add_set_headers();
  opt->mutable_header()->set_key("X-Checksum");
  opt->mutable_header()->set_raw_value("ok");
  auto r = phase.on_response(t);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->kind, ResultKind::kEndpoints);
  ASSERT_EQ(r->trailer_mutations.set.size(), 1u);
  EXPECT_EQ(r->trailer_mutations.set[0].key, "x-checksum");
  EXPECT_EQ(*r->body, "abc");
  // Trailers before the headers answer are out of order.
  RequestPhase early(false, false);
  r = early.on_response(t);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->failure.kind, FailureKind::kProtocolError);
}

TEST(RequestPhase, ModeOverrideAndConflictingEndpointsAreReported) {
  RequestPhase phase(true, false);
  auto h = headers_response("10.0.0.1:8000");
  auto& lb = (*h.mutable_dynamic_metadata()->mutable_fields())["envoy.lb"];
  (*lb.mutable_struct_value()->mutable_fields())["x-gateway-destination-endpoint"].set_string_value("10.0.0.2:8000");
  h.mutable_mode_override()->set_response_header_mode(
      envoy::extensions::filters::http::ext_proc::v3::ProcessingMode::SKIP);
  auto r = phase.on_response(h);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->endpoints, std::vector<std::string>{"10.0.0.1:8000"});  // the header's
  EXPECT_TRUE(r->endpoint_conflict);
  EXPECT_TRUE(r->mode.skip_response_headers);
  EXPECT_EQ(r->mode.send_response_body, std::optional<bool>(false));
}

TEST(ResponseMessages, TheServedEndpointIsInEnvoyLbMetadata) {
  auto req = detail::make_response_headers({{":status", "200"}}, false, "10.0.0.1:8000");
  ASSERT_TRUE(req.has_response_headers());
  const auto& fm = req.metadata_context().filter_metadata();
  ASSERT_TRUE(fm.count("envoy.lb"));
  EXPECT_EQ(fm.at("envoy.lb").fields().at("x-gateway-destination-endpoint-served").string_value(), "10.0.0.1:8000");
  auto t = detail::make_request_trailers({{"X-A", "1"}});
  ASSERT_TRUE(t.has_request_trailers());
  EXPECT_EQ(t.request_trailers().trailers().headers(0).key(), "x-a");
}

TEST(RequestPhase, ClosedCleanly) {
  RequestPhase none(false, false);
  EXPECT_EQ(none.on_closed_ok().failure.kind, FailureKind::kClosedEarly);
  RequestPhase named(false, false);
  EXPECT_FALSE(named.on_response(headers_response("10.0.0.1:80")));
  EXPECT_EQ(named.on_closed_ok().kind, ResultKind::kEndpoints);
}

}  // namespace
}  // namespace infergate::ext_proc
