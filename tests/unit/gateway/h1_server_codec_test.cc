// H1ServerCodec fed raw request bytes: pipelining, request-smuggling vectors, limits,
// 100-continue, response framing, HTTP/1.0 and connection semantics, trailers.
#include <gtest/gtest.h>

#include <algorithm>
#include <ostream>
#include <string>

#include "h1_test_util.h"

namespace infergate::gateway::testing {
namespace {

constexpr std::string_view kGet = "GET /a HTTP/1.1\r\nHost: gw.example\r\n\r\n";

TEST(H1Server, SimpleRequestKeepsTheConnectionOpen) {
  H1Server s;
  ASSERT_TRUE(s.send("GET /a?x=1 HTTP/1.1\r\nHost: gw.example\r\nUser-Agent: t\r\nX-Dup: 1\r\nX-Dup: 2\r\n\r\n"));
  ASSERT_EQ(s.factory.calls.size(), 1u);
  const ServerCall& c = *s.factory.calls[0];
  EXPECT_EQ(c.head.method, "GET");
  EXPECT_EQ(c.head.path, "/a?x=1");
  EXPECT_EQ(c.head.authority, "gw.example");
  EXPECT_EQ(c.head.version, HttpVersion::Http11);
  EXPECT_EQ(c.head.headers.get_or("user-agent", ""), "t") << "names must be lower-cased";
  EXPECT_EQ(c.head.headers.count("x-dup"), 2u);
  EXPECT_TRUE(c.headers_end);
  auto r = parse_responses(s.take());
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, 200);
  EXPECT_EQ(r[0].headers.get_or("x-path", ""), "/a?x=1");
  EXPECT_EQ(r[0].headers.get_or("content-length", ""), "0");
  EXPECT_EQ(r[0].headers.get("connection"), nullptr);
  EXPECT_FALSE(s.io.closing);
  EXPECT_TRUE(s.codec.idle());
  EXPECT_TRUE(c.destroyed);
}

// The request-headers timeout (ServerConnection) runs while a head is partly in; on expiry
// the codec answers 408 and closes.
TEST(H1Server, APartialHeadAwaitsItsHeadersAndTheTimeoutAnswers408) {
  H1Server s;
  EXPECT_FALSE(s.codec.awaiting_request_headers()) << "no byte yet: the idle timeout's business";
  ASSERT_TRUE(s.send("GET /a HTTP/1.1\r\nHost: gw"));
  EXPECT_TRUE(s.codec.awaiting_request_headers());
  ASSERT_TRUE(s.send(".example\r\n\r\n"));
  EXPECT_FALSE(s.codec.awaiting_request_headers()) << "a whole head, answered";
  ASSERT_EQ(s.factory.calls.size(), 1u);
  s.take();
  // The next request on the connection, slowly: a whole start line and a header line are
  // taken by the parser, the head is still not complete.
  ASSERT_TRUE(s.send("GET /b HTTP/1.1\r\n"));
  EXPECT_TRUE(s.codec.awaiting_request_headers());
  ASSERT_TRUE(s.send("Host: gw.example\r\n"));
  EXPECT_TRUE(s.codec.awaiting_request_headers());
  s.codec.on_request_headers_timeout();
  auto r = parse_responses(s.take());
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, 408);
  EXPECT_EQ(r[0].body, "request header timeout");
  EXPECT_TRUE(s.io.closing);
  EXPECT_FALSE(s.codec.awaiting_request_headers());
  EXPECT_EQ(s.factory.calls.size(), 1u) << "the partial head never became a request";
}

// Found by fuzz_h1_server: a chunked request whose last bytes so far are the final chunk
// "0\r\n" (its trailers' blank line not yet sent), then a tick or a drain, fed Beast the same
// unconsumed bytes again, which its parser asserts against (parse_chunk_header: n >= 5).
// This test compiles the codec with assertions on (see CMakeLists.txt).
TEST(H1Server, FinalChunkWaitingForItsEndIsNotReparsedOnATick) {
  H1Server s;
  s.factory.on_end = nullptr;
  ASSERT_TRUE(s.send("POST /3 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n"));
  s.io.tick_wanted = true;
  s.settle();
  s.codec.on_write_drained();
  s.settle();
  ASSERT_EQ(s.factory.calls.size(), 1u);
  EXPECT_FALSE(s.factory.calls[0]->ended);
  ASSERT_TRUE(s.send("\r\n"));
  EXPECT_TRUE(s.factory.calls[0]->ended);
  EXPECT_EQ(s.factory.calls[0]->body, "abc");
  // An empty chunked body, its blank line a byte at a time: "0\r\n\r" (4 unconsumed bytes
  // after the final chunk) also trips Beast (found in the client codec by fuzz_h1_client).
  H1Server e;
  e.factory.on_end = nullptr;
  ASSERT_TRUE(e.send("POST /4 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n"));
  ASSERT_TRUE(e.send("\r"));
  ASSERT_EQ(e.factory.calls.size(), 1u);
  EXPECT_FALSE(e.factory.calls[0]->ended);
  ASSERT_TRUE(e.send("\n"));
  EXPECT_TRUE(e.factory.calls[0]->ended);
  EXPECT_EQ(e.factory.calls[0]->body, "");
}

TEST(H1Server, PipelinedRequestsAreAnsweredInOrder) {
  H1Server s;
  s.factory.on_end = nullptr;  // answer by hand, out of arrival order if we could
  ASSERT_TRUE(s.send(
      "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
      "POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
      "POST /3 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"));
  // One request at a time: the next is not even parsed while one is in flight.
  ASSERT_EQ(s.factory.calls.size(), 1u);
  EXPECT_EQ(s.factory.calls[0]->head.path, "/1");
  EXPECT_TRUE(s.take().empty());

  s.factory.calls[0]->respond(200, "one");
  s.settle();
  ASSERT_EQ(s.factory.calls.size(), 2u);
  EXPECT_EQ(s.factory.calls[1]->head.path, "/2");
  EXPECT_EQ(s.factory.calls[1]->body, "hello");
  s.factory.calls[1]->respond(201, "two");
  s.settle();
  ASSERT_EQ(s.factory.calls.size(), 3u);
  EXPECT_EQ(s.factory.calls[2]->body, "abc");
  s.factory.calls[2]->respond(202, "three");
  s.settle();

  auto r = parse_responses(s.take());
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].status, 200);
  EXPECT_EQ(r[0].body, "one");
  EXPECT_EQ(r[1].status, 201);
  EXPECT_EQ(r[1].body, "two");
  EXPECT_EQ(r[2].status, 202);
  EXPECT_EQ(r[2].body, "three");
  EXPECT_FALSE(s.io.closing);
}

TEST(H1Server, PipelinedRequestsAnsweredSynchronouslyStayInOrder) {
  H1Server s;
  std::string wire;
  for (int i = 0; i < 20; ++i) wire += "GET /p" + std::to_string(i) + " HTTP/1.1\r\nHost: a\r\n\r\n";
  // Byte by byte: every split point in the middle of a request must be handled.
  for (char ch : wire) ASSERT_TRUE(s.send(std::string_view(&ch, 1)));
  auto r = parse_responses(s.take());
  ASSERT_EQ(r.size(), 20u);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(r[static_cast<size_t>(i)].headers.get_or("x-path", ""), "/p" + std::to_string(i));
}

// ---- request smuggling ---------------------------------------------------------

struct SmuggleCase {
  const char* name;
  std::string request;
  bool reaches_handler;  // the head was fine; the body broke framing
};

// gtest prints the case by name, not as bytes.
void PrintTo(const SmuggleCase& c, std::ostream* os) { *os << c.name; }

class H1Smuggling : public ::testing::TestWithParam<SmuggleCase> {};

TEST_P(H1Smuggling, AnsweredWith400AndClosed) {
  H1Server s;
  s.factory.on_end = nullptr;
  // A second request rides behind the bad one: it must never be parsed.
  s.send(GetParam().request + "GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n");
  std::string rest;
  auto r = parse_responses(s.take(), {}, false, &rest);
  ASSERT_EQ(r.size(), 1u) << GetParam().name;
  EXPECT_EQ(r[0].status, 400);
  EXPECT_EQ(r[0].headers.get_or("connection", ""), "close");
  EXPECT_TRUE(rest.empty());
  EXPECT_TRUE(s.io.closing);
  EXPECT_TRUE(s.read_failed);
  for (const auto& c : s.factory.calls) EXPECT_NE(c->head.path, "/smuggled");
  if (GetParam().reaches_handler) {
    ASSERT_EQ(s.factory.calls.size(), 1u);
    ASSERT_TRUE(s.factory.calls[0]->reset.has_value());
    EXPECT_EQ(*s.factory.calls[0]->reset, ResetReason::ProtocolError);
  } else {
    EXPECT_TRUE(s.factory.calls.empty()) << "a smuggling head reached the handler";
  }
  EXPECT_EQ(s.rejected(RejectReason::Malformed), 1u);
  EXPECT_EQ(s.stats.downstream_cx_protocol_error.value(), 1u);
}

INSTANTIATE_TEST_SUITE_P(
    Vectors, H1Smuggling,
    ::testing::Values(
        SmuggleCase{"cl_then_te",
                    "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                    false},
        SmuggleCase{"te_then_cl",
                    "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
                    false},
        SmuggleCase{"repeated_cl_same_value",
                    "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello", false},
        SmuggleCase{"repeated_cl_different_values",
                    "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", false},
        SmuggleCase{"cl_list", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\nhello", false},
        SmuggleCase{"cl_signed", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\nhello", false},
        SmuggleCase{"obs_fold", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n", false},
        SmuggleCase{"obs_fold_tab_on_te",
                    "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n\tchunked\r\n\r\n0\r\n\r\n", false},
        SmuggleCase{"te_gzip", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", false},
        SmuggleCase{"te_gzip_chunked",
                    "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", false},
        SmuggleCase{"te_xchunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n",
                    false},
        SmuggleCase{"te_repeated",
                    "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "0\r\n\r\n",
                    false},
        SmuggleCase{"space_before_colon", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length : 5\r\n\r\nhello", false},
        SmuggleCase{"missing_host", "GET / HTTP/1.1\r\nX: y\r\n\r\n", false},
        SmuggleCase{"repeated_host", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", false},
        SmuggleCase{"http_0_9_style", "GET /\r\n\r\n", false},
        SmuggleCase{"http_2_0_version", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", false},
        SmuggleCase{"bad_chunk_size",
                    "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", true},
        SmuggleCase{"chunk_size_overflow",
                    "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "fffffffffffffffff1\r\nhello\r\n0\r\n\r\n",
                    true},
        SmuggleCase{"chunk_missing_crlf",
                    "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n", true}),
    [](const ::testing::TestParamInfo<SmuggleCase>& i) { return std::string(i.param.name); });

// ---- limits --------------------------------------------------------------------

TEST(H1Server, OversizedHeaderBlockIs431) {
  H1Server s;
  s.send("GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(70 * 1024, 'b') + "\r\n\r\n");
  auto r = parse_responses(s.take());
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, 431);
  EXPECT_EQ(r[0].headers.get_or("connection", ""), "close");
  EXPECT_TRUE(s.io.closing);
  EXPECT_TRUE(s.factory.calls.empty());
  EXPECT_EQ(s.rejected(RejectReason::HeadersTooLarge), 1u);
}

TEST(H1Server, OversizedHeaderBlockArrivingInPiecesIs431) {
  H1Server s;
  ASSERT_TRUE(s.send("GET / HTTP/1.1\r\nHost: a\r\n"));
  bool ok = true;
  for (int i = 0; i < 100 && ok; ++i) ok = s.send("X-Filler-" + std::to_string(i) + ": " + std::string(1000, 'f') + "\r\n");
  EXPECT_FALSE(ok) << "header block grew past the limit without an answer";
  auto r = parse_responses(s.take());
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, 431);
}

TEST(H1Server, TooManyHeaderFieldsIs431) {
  H1ServerOptions o;
  o.max_headers_count = 10;
  H1Server s(o);
  std::string req = "GET / HTTP/1.1\r\nHost: a\r\n";
  for (int i = 0; i < 11; ++i) req += "X-" + std::to_string(i) + ": v\r\n";
  s.send(req + "\r\n");
  auto r = parse_responses(s.take());
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, 431);
  EXPECT_TRUE(s.factory.calls.empty());
}

TEST(H1Server, HeaderCountAtTheLimitIsAccepted) {
  H1ServerOptions o;
  o.max_headers_count = 10;
  H1Server s(o);
  std::string req = "GET / HTTP/1.1\r\nHost: a\r\n";
  for (int i = 0; i < 9; ++i) req += "X-" + std::to_string(i) + ": v\r\n";
  ASSERT_TRUE(s.send(req + "\r\n"));
  auto r = parse_responses(s.take());
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, 200);
}

TEST(H1Server, BodyOverTheLimitIs413) {
  H1ServerOptions o;
  o.max_body_bytes = 10;
  H1Server s(o);
  s.send("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n0123456789A");
  auto r = parse_responses(s.take());
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, 413);
  EXPECT_EQ(s.rejected(RejectReason::BodyTooLarge), 1u);
}

// ---- 100-continue --------------------------------------------------------------

TEST(H1Server, ExpectContinueIsAnsweredBeforeTheBody) {
  H1Server s;
  ASSERT_TRUE(s.send("POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"));
  std::string first = s.take();
  EXPECT_EQ(first, "HTTP/1.1 100 Continue\r\n\r\n");
  ASSERT_EQ(s.factory.calls.size(), 1u);
  EXPECT_EQ(s.factory.calls[0]->head.headers.get("expect"), nullptr) << "expect forwarded upstream";
  EXPECT_FALSE(s.factory.calls[0]->ended);
  ASSERT_TRUE(s.send("hello"));
  EXPECT_EQ(s.factory.calls[0]->body, "hello");
  auto r = parse_responses(s.take());
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, 200);
  EXPECT_EQ(r[0].body, "hello");
}

TEST(H1Server, ExpectContinueWithoutBodyOrOnHttp10SendsNoInterim) {
  H1Server s;
  ASSERT_TRUE(s.send("POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nExpect: 100-continue\r\n\r\n"));
  std::string out = s.take();
  EXPECT_EQ(out.find("100 Continue"), std::string::npos);
  H1Server s10;
  s10.send("POST /up HTTP/1.0\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\nhi");
  out = s10.take();
  EXPECT_EQ(out.find("100 Continue"), std::string::npos);
  auto r = parse_responses(out, {}, true);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].body, "hi");
}

// ---- response framing ------------------------------------------------------------

TEST(H1Server, StreamedResponseIsChunked) {
  H1Server s;
  s.factory.on_end = [](ServerCall& c) {
    ResponseHead h;
    h.headers.add("Transfer-Encoding", "identity");  // ours to decide: replaced
    h.headers.add("Connection", "upgrade");
    c.stream->send_headers(std::move(h), false);
    c.stream->send_data("hello", false);
    c.stream->send_data(std::string(300, 'x'), false);
    c.stream->send_data("", true);
    c.stream->finish();
  };
  ASSERT_TRUE(s.send(kGet));
  std::string out = s.take();
  EXPECT_NE(out.find("\r\n5\r\nhello\r\n12c\r\n"), std::string::npos) << out;
  EXPECT_TRUE(out.ends_with("\r\n0\r\n\r\n"));
  auto r = parse_responses(out);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_TRUE(r[0].chunked);
  EXPECT_EQ(r[0].headers.count("transfer-encoding"), 1u);
  EXPECT_EQ(r[0].headers.get_or("transfer-encoding", ""), "chunked");
  EXPECT_EQ(r[0].headers.get("connection"), nullptr);
  EXPECT_EQ(r[0].body, "hello" + std::string(300, 'x'));
  EXPECT_FALSE(s.io.closing);
}

TEST(H1Server, ResponseTrailersFollowTheLastChunk) {
  H1Server s;
  s.factory.on_end = [](ServerCall& c) {
    HeaderMap t;
    t.add("grpc-status", "0");
    t.add("x-usage", "tokens=7");
    c.respond(200, "data", std::move(t));
  };
  ASSERT_TRUE(s.send(kGet));
  std::string out = s.take();
  EXPECT_NE(out.find("\r\n0\r\ngrpc-status: 0\r\nx-usage: tokens=7\r\n\r\n"), std::string::npos) << out;
  auto r = parse_responses(out);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].body, "data");
  EXPECT_TRUE(r[0].has_trailers);
  EXPECT_EQ(r[0].trailers.get_or("x-usage", ""), "tokens=7");
  ASSERT_TRUE(s.send(kGet)) << "connection unusable after a response with trailers";
  EXPECT_EQ(parse_responses(s.take()).size(), 1u);
}

TEST(H1Server, ContentLengthResponseIsSentAsIs) {
  H1Server s;
  s.factory.on_end = [](ServerCall& c) {
    HeaderMap h;
    h.add("content-length", "4");
    c.respond(200, "abcd", std::nullopt, std::move(h));
  };
  ASSERT_TRUE(s.send(kGet));
  std::string out = s.take();
  EXPECT_EQ(out.find("chunked"), std::string::npos);
  EXPECT_TRUE(out.ends_with("\r\n\r\nabcd"));
}

TEST(H1Server, HeadAnd204ResponsesCarryNoBody) {
  H1Server s;
  s.factory.on_end = [](ServerCall& c) {
    if (c.head.method == "HEAD") {
      HeaderMap h;
      h.add("content-length", "100");
      c.respond(200, "must not be sent", std::nullopt, std::move(h));
    } else {
      c.stream->send_headers(ResponseHead{204, {}}, false);
      c.stream->send_data("", true);
      c.stream->finish();
    }
  };
  ASSERT_TRUE(s.send("HEAD /h HTTP/1.1\r\nHost: a\r\n\r\nDELETE /d HTTP/1.1\r\nHost: a\r\n\r\n"));
  std::string out = s.take();
  EXPECT_EQ(out.find("must not"), std::string::npos);
  auto r = parse_responses(out, {true, false});
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].headers.get_or("content-length", ""), "100");
  EXPECT_EQ(r[1].status, 204);
  EXPECT_EQ(r[1].headers.get("transfer-encoding"), nullptr);
  EXPECT_EQ(r[1].headers.get("content-length"), nullptr);
  EXPECT_TRUE(r[1].body.empty());
}

// ---- HTTP/1.0 and connection semantics ----------------------------------------

TEST(H1Server, Http10ClosesAfterTheResponse) {
  H1Server s;
  // A request answered and closed within the read: false tells the socket to close.
  s.send("GET /old HTTP/1.0\r\n\r\n");
  ASSERT_EQ(s.factory.calls.size(), 1u);
  EXPECT_EQ(s.factory.calls[0]->head.version, HttpVersion::Http10);
  std::string out = s.take();
  EXPECT_TRUE(out.starts_with("HTTP/1.1 200")) << out;
  auto r = parse_responses(out);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].headers.get_or("connection", ""), "close");
  EXPECT_TRUE(s.io.closing);
}

TEST(H1Server, Http10KeepAliveIsHonoured) {
  H1Server s;
  ASSERT_TRUE(s.send("GET /1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /2 HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"));
  auto r = parse_responses(s.take());
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].headers.get_or("connection", ""), "keep-alive");
  EXPECT_EQ(r[1].headers.get_or("connection", ""), "keep-alive");
  EXPECT_FALSE(s.io.closing);
}

TEST(H1Server, Http10StreamedResponseIsDelimitedByClose) {
  H1Server s;
  s.factory.on_end = [](ServerCall& c) {
    c.stream->send_headers(ResponseHead{}, false);
    c.stream->send_data("streamed ", false);
    c.stream->send_data("body", true);
    c.stream->finish();
  };
  s.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  std::string out = s.take();
  EXPECT_EQ(out.find("chunked"), std::string::npos) << "HTTP/1.0 clients cannot read chunked";
  auto r = parse_responses(out, {}, /*eof=*/true);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].headers.get_or("connection", ""), "close");
  EXPECT_EQ(r[0].body, "streamed body");
  EXPECT_TRUE(s.io.closing);
}

TEST(H1Server, ConnectionCloseRequestClosesAfterTheResponse) {
  H1Server s;
  s.send("GET /1 HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, close\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n");
  auto r = parse_responses(s.take());
  ASSERT_EQ(r.size(), 1u) << "request after `connection: close` was served";
  EXPECT_EQ(r[0].headers.get_or("connection", ""), "close");
  EXPECT_TRUE(s.io.closing);
  EXPECT_EQ(s.factory.calls.size(), 1u);
}

TEST(H1Server, AbsoluteFormTargetBecomesOriginFormAndAuthority) {
  H1Server s;
  ASSERT_TRUE(s.send("GET http://model.example:8080/v1/models?x=1 HTTP/1.1\r\nHost: other\r\n\r\n"));
  ASSERT_EQ(s.factory.calls.size(), 1u);
  EXPECT_EQ(s.factory.calls[0]->head.path, "/v1/models?x=1");
  EXPECT_EQ(s.factory.calls[0]->head.authority, "model.example:8080");
}

TEST(H1Server, AbsoluteFormWithoutAPathKeepsItsQueryOutOfTheAuthority) {
  H1Server s;
  ASSERT_TRUE(s.send("GET http://model.example?x=1/.. HTTP/1.1\r\nHost: other\r\n\r\nGET http://model.example "
                     "HTTP/1.1\r\nHost: other\r\n\r\n"));
  ASSERT_EQ(s.factory.calls.size(), 2u);
  EXPECT_EQ(s.factory.calls[0]->head.path, "/?x=1/..");
  EXPECT_EQ(s.factory.calls[0]->head.authority, "model.example");
  EXPECT_EQ(s.factory.calls[1]->head.path, "/");
  EXPECT_EQ(s.factory.calls[1]->head.authority, "model.example");
}

TEST(H1Server, DrainClosesAfterTheInFlightResponse) {
  H1Server s;
  s.factory.on_end = nullptr;
  ASSERT_TRUE(s.send(kGet));
  s.codec.start_drain();
  EXPECT_FALSE(s.io.closing) << "closed under an in-flight request";
  s.factory.calls[0]->respond(200, "last");
  s.settle();
  auto r = parse_responses(s.take());
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].headers.get_or("connection", ""), "close");
  EXPECT_TRUE(s.io.closing);

  H1Server idle;
  idle.codec.start_drain();
  EXPECT_TRUE(idle.io.closing);
}

// ---- request bodies, trailers, resets --------------------------------------------

TEST(H1Server, ChunkedRequestTrailersReachTheHandler) {
  H1Server s;
  s.factory.on_end = nullptr;
  ASSERT_TRUE(s.send("POST /t HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "4\r\nwiki\r\n5;ext=1\r\npedia\r\n0\r\nX-Checksum: abc\r\nX-Other: 2\r\n\r\n"));
  ASSERT_EQ(s.factory.calls.size(), 1u);
  const ServerCall& c = *s.factory.calls[0];
  EXPECT_EQ(c.body, "wikipedia");
  ASSERT_TRUE(c.got_trailers);
  EXPECT_EQ(c.trailers.get_or("x-checksum", ""), "abc");
  EXPECT_EQ(c.trailers.get_or("x-other", ""), "2");
  EXPECT_EQ(c.events.back(), "trailers");
  EXPECT_EQ(std::count(c.events.begin(), c.events.end(), "data-end"), 0);
}

TEST(H1Server, ChunkedRequestWithoutTrailersEndsWithData) {
  H1Server s;
  ASSERT_TRUE(s.send("POST /t HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"));
  ASSERT_EQ(s.factory.calls.size(), 1u);
  EXPECT_FALSE(s.factory.calls[0]->got_trailers);
  EXPECT_EQ(s.factory.calls[0]->events.back(), "data-end");
  EXPECT_EQ(parse_responses(s.take())[0].body, "abc");
}

TEST(H1Server, PausedRequestBodyWaitsAndStopsTheSocketWhenLarge) {
  H1Server s;
  s.factory.on_headers = [](ServerCall& c) { c.stream->pause_request_body(true); };
  s.factory.on_end = nullptr;
  const std::string body = pattern_body(600 * 1024);
  ASSERT_TRUE(s.send("POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n"));
  for (size_t at = 0; at < body.size(); at += 64 * 1024) ASSERT_TRUE(s.send(body.substr(at, 64 * 1024)));
  ASSERT_EQ(s.factory.calls.size(), 1u);
  ServerCall& c = *s.factory.calls[0];
  EXPECT_TRUE(c.body.empty()) << "body delivered to a paused handler";
  EXPECT_TRUE(s.io.read_paused) << "input buffer grew without stopping the socket";
  c.stream->pause_request_body(false);
  s.settle();
  EXPECT_TRUE(c.body == body);
  EXPECT_TRUE(c.ended);
  EXPECT_FALSE(s.io.read_paused);
}

TEST(H1Server, ClientDisconnectResetsTheHandler) {
  H1Server s;
  s.factory.on_end = nullptr;
  ASSERT_TRUE(s.send("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc"));
  s.codec.on_connection_closed();
  ASSERT_EQ(s.factory.calls.size(), 1u);
  ASSERT_TRUE(s.factory.calls[0]->reset.has_value());
  EXPECT_EQ(*s.factory.calls[0]->reset, ResetReason::ConnectionTermination);
  EXPECT_EQ(s.stats.downstream_cx_destroy_remote_active_rq.value(), 1u);
}

TEST(H1Server, HandlerResetAbortsTheConnection) {
  H1Server s;
  s.factory.on_end = [](ServerCall& c) {
    c.stream->send_headers(ResponseHead{}, false);
    c.stream->reset();
  };
  s.send(kGet);
  EXPECT_TRUE(s.io.aborted);
  ASSERT_EQ(s.factory.calls.size(), 1u);
  EXPECT_FALSE(s.factory.calls[0]->reset.has_value()) << "handler told about its own reset";
}

TEST(H1Server, EarlyResponseToAnUnreadBodyClosesTheConnection) {
  H1Server s;
  s.factory.on_headers = [](ServerCall& c) { c.respond(413, "no"); };
  s.factory.on_end = nullptr;
  s.send("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n");
  auto r = parse_responses(s.take());
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, 413);
  EXPECT_TRUE(s.io.closing) << "unread body bytes would be parsed as the next request";
  for (const auto& c : s.factory.calls) EXPECT_NE(c->head.path, "/smuggled");
}

}  // namespace
}  // namespace infergate::gateway::testing
