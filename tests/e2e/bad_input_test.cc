// Hostile input over raw sockets: request-smuggling vectors and malformed HTTP/1.1 get
// a 400 (431 for oversized headers) and a closed connection; malformed HTTP/2 frames a
// GOAWAY; a rapid-reset flood a closed connection. Every rejection moves a counter, and
// the gateway keeps serving afterwards.
#include "tests/e2e/e2e_test.h"

namespace infergate::e2e {
namespace {

struct BadRequest {
  const char* name;
  std::string bytes;
  int status;
  const char* counter;  // the rejection counter that must move
  // The head is valid and the error is in the body: the request may already be on its
  // way upstream when the body turns out bad (as in Envoy, which streams too).
  bool body_error = false;
};

void PrintTo(const BadRequest& c, std::ostream* os) { *os << c.name; }

const char* const kMalformed = "http.ingress_http.rejected.malformed";
const char* const kTooLarge = "http.ingress_http.rejected.headers_too_large";

std::vector<BadRequest> bad_requests() {
  std::string many_headers = "GET /echo HTTP/1.1\r\nHost: e2e\r\n";
  for (int i = 0; i < 150; ++i) many_headers += "x-h" + std::to_string(i) + ": v\r\n";
  many_headers += "\r\n";
  return {
      {"content_length_and_chunked",
       "POST /echo HTTP/1.1\r\nHost: e2e\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400,
       kMalformed},
      {"chunked_and_content_length",
       "POST /echo HTTP/1.1\r\nHost: e2e\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", 400,
       kMalformed},
      {"duplicate_content_length",
       "POST /echo HTTP/1.1\r\nHost: e2e\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello", 400, kMalformed},
      {"differing_content_length",
       "POST /echo HTTP/1.1\r\nHost: e2e\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400, kMalformed},
      {"content_length_list", "POST /echo HTTP/1.1\r\nHost: e2e\r\nContent-Length: 5, 5\r\n\r\nhello", 400,
       kMalformed},
      {"content_length_not_a_number", "POST /echo HTTP/1.1\r\nHost: e2e\r\nContent-Length: 5x\r\n\r\nhello", 400,
       kMalformed},
      {"obs_fold", "GET /echo HTTP/1.1\r\nHost: e2e\r\nX-Folded: a\r\n  b\r\n\r\n", 400, kMalformed},
      {"bad_chunk_size", "POST /echo HTTP/1.1\r\nHost: e2e\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
       400, kMalformed, true},
      {"chunk_size_overflow",
       "POST /echo HTTP/1.1\r\nHost: e2e\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffffff\r\nhello\r\n", 400,
       kMalformed, true},
      {"transfer_encoding_not_chunked",
       "POST /echo HTTP/1.1\r\nHost: e2e\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 400, kMalformed},
      {"missing_host", "GET /echo HTTP/1.1\r\n\r\n", 400, kMalformed},
      {"duplicate_host", "GET /echo HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, kMalformed},
      {"space_before_colon", "GET /echo HTTP/1.1\r\nHost: e2e\r\nX-Bad : v\r\n\r\n", 400, kMalformed},
      {"bad_request_line", "GET /echo HTTP/9.9\r\nHost: e2e\r\n\r\n", 400, kMalformed},
      {"oversized_headers", "GET /echo HTTP/1.1\r\nHost: e2e\r\nX-Big: " + std::string(70000, 'a') + "\r\n\r\n", 431,
       kTooLarge},
      {"too_many_headers", many_headers, 431, kTooLarge},
  };
}

class BadHttp1 : public ::testing::TestWithParam<BadRequest> {};

TEST_P(BadHttp1, IsRejectedAndTheConnectionClosed) {
  const BadRequest& c = GetParam();
  Modelsim sim;
  Gateway gw(one_upstream(sim));
  const double rejected_before = gw.stat(c.counter);
  const double errors_before = gw.stat("http.ingress_http.downstream_cx_protocol_error");
  ASSERT_GE(rejected_before, 0) << c.counter << " missing from /stats";

  RawSocket s(gw.port());
  ASSERT_TRUE(s.send(c.bytes));
  // The connection must close on its own: a smuggled remainder must never be read as
  // a second request.
  EXPECT_TRUE(s.read_until_closed(scaled(5000))) << "still open after: " << s.received();
  auto r = parse_http_response(s.received(), true);
  ASSERT_TRUE(r) << "no response: " << s.received();
  EXPECT_EQ(r->status, c.status) << s.received();
  EXPECT_EQ(r->header("connection"), "close");
  // Exactly one response: nothing after it was answered.
  EXPECT_EQ(s.received().find("HTTP/1.1", 1), std::string::npos) << s.received();

  EXPECT_EQ(gw.stat(c.counter), rejected_before + 1) << c.counter;
  EXPECT_EQ(gw.stat("http.ingress_http.downstream_cx_protocol_error"), errors_before + 1);
  if (!c.body_error) {
    EXPECT_EQ(gw.stat_sum(".upstream_rq_total"), 0) << "a rejected request reached the upstream";
  } else {
    // It was cut: the model server never answered it.
    EXPECT_EQ(gw.stat_sum(".upstream_rq_2xx"), 0);
    ASSERT_TRUE(gw.wait_log("\"POST /echo HTTP/1.1\"", scaled(5000))) << gw.process().out();
    EXPECT_NE(gw.log_line("\"POST /echo HTTP/1.1\"").find(" DPE "), std::string::npos)
        << "flag DPE missing: " << gw.log_line("\"POST /echo HTTP/1.1\"");
  }

  // Still serving.
  EXPECT_EQ(http_request(gw.port(), "GET", "/v1/models").status, 200);
}

INSTANTIATE_TEST_SUITE_P(Smuggling, BadHttp1, ::testing::ValuesIn(bad_requests()),
                         [](const auto& info) { return std::string(info.param.name); });

// A bad chunk after the body started streaming: the request was already on its way
// upstream, so the connection is cut instead of answered.
TEST(BadInput, BadChunkMidBodyClosesTheConnection) {
  Modelsim sim;
  Gateway gw(one_upstream(sim));
  const double before = gw.stat(kMalformed);
  RawSocket s(gw.port());
  ASSERT_TRUE(s.send("POST /upload HTTP/1.1\r\nHost: e2e\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"));
  std::this_thread::sleep_for(milliseconds(200));
  ASSERT_TRUE(s.send("nothex\r\nxx\r\n"));
  EXPECT_TRUE(s.read_until_closed(scaled(5000))) << s.received();
  if (auto r = parse_http_response(s.received(), true)) {
    EXPECT_GE(r->status, 400) << s.received();
  }
  EXPECT_TRUE(gw.wait_stat_at_least(kMalformed, before + 1, scaled(3000)));
  EXPECT_EQ(http_request(gw.port(), "GET", "/v1/models").status, 200);
  // The access log shows what the client got (Envoy's DPE), not a bare 0.
  ASSERT_TRUE(gw.wait_log("\"POST /upload HTTP/1.1\"", scaled(5000)));
  const std::string line = gw.log_line("\"POST /upload HTTP/1.1\"");
  EXPECT_NE(line.find(" 400 DPE "), std::string::npos) << line;
}

// ---- HTTP/2 ---------------------------------------------------------------------

struct BadFrame {
  const char* name;
  std::string bytes;  // after the client preface
};

void PrintTo(const BadFrame& c, std::ostream* os) { *os << c.name; }

std::vector<BadFrame> bad_frames() {
  using namespace h2;
  std::string zero_increment(4, '\0');
  return {
      {"settings_length_not_multiple_of_6", frame(kSettings, 0, 0, std::string(5, '\0'))},
      {"settings_on_a_stream", frame(kSettings, 0, 1, "")},
      {"data_on_stream_zero", frame(kData, 0, 0, "hello")},
      {"headers_on_even_stream", request_headers(2, "GET", "/v1/models")},
      {"headers_on_stream_zero", request_headers(0, "GET", "/v1/models")},
      {"window_update_zero_on_connection", frame(kWindowUpdate, 0, 0, zero_increment)},
      {"ping_wrong_length", frame(kPing, 0, 0, "1234")},
      {"continuation_without_headers", frame(kContinuation, kEndHeaders, 1, "")},
      {"garbage_hpack", frame(kHeaders, kEndHeaders | kEndStream, 1, std::string("\xff\xff\xff\xff\xff\xff", 6))},
      {"goaway_on_a_stream", frame(kGoaway, 0, 1, std::string(8, '\0'))},
  };
}

class BadHttp2 : public ::testing::TestWithParam<BadFrame> {};

TEST_P(BadHttp2, GetsGoawayAndTheConnectionClosed) {
  const BadFrame& c = GetParam();
  Modelsim sim;
  Gateway gw(one_upstream(sim));
  const double before = gw.stat("http.ingress_http.downstream_cx_protocol_error");

  RawSocket s(gw.port());
  ASSERT_TRUE(s.send(h2::client_preface()));
  ASSERT_TRUE(s.send(c.bytes));
  EXPECT_TRUE(s.read_until_closed(scaled(5000))) << "connection still open";
  const auto frames = h2::parse_frames(s.received());
  const h2::Frame* goaway = nullptr;
  for (const auto& f : frames)
    if (f.type == h2::kGoaway) goaway = &f;
  ASSERT_NE(goaway, nullptr) << "no GOAWAY among " << frames.size() << " frames";
  EXPECT_NE(h2::error_code(*goaway), 0u) << "GOAWAY without an error code";

  EXPECT_TRUE(gw.wait_stat_at_least("http.ingress_http.downstream_cx_protocol_error", before + 1, scaled(3000)))
      << "no counter moved for a connection closed on a protocol error";
  EXPECT_GE(gw.stat("http.ingress_http.rejected.h2_protocol_error") + gw.stat("http.ingress_http.rejected.h2_flood"),
            1);
  EXPECT_EQ(http_request(gw.port(), "GET", "/v1/models").status, 200);
}

INSTANTIATE_TEST_SUITE_P(Frames, BadHttp2, ::testing::ValuesIn(bad_frames()),
                         [](const auto& info) { return std::string(info.param.name); });

// A malformed request on one stream resets that stream only.
TEST(BadInput, MalformedH2RequestResetsOnlyItsStream) {
  Modelsim sim;
  Gateway gw(one_upstream(sim));
  auto sock = std::make_unique<RawSocket>(gw.port());
  RawSocket& s = *sock;
  ASSERT_TRUE(s.send(h2::client_preface()));
  // Stream 1 lacks :path; stream 3 is fine.
  ASSERT_TRUE(s.send(h2::frame(h2::kHeaders, h2::kEndHeaders | h2::kEndStream, 1,
                               h2::header_block({{":method", "GET"}, {":scheme", "http"}, {":authority", "e2e"}}))));
  ASSERT_TRUE(s.send(h2::request_headers(3, "GET", "/v1/models")));
  const auto until = Clock::now() + scaled(5000);
  bool reset1 = false, answered3 = false;
  while (Clock::now() < until && !(reset1 && answered3) && !s.closed()) {
    s.read_some(65536, milliseconds(100));
    for (const auto& f : h2::parse_frames(s.received())) {
      if (f.type == h2::kRstStream && f.stream == 1) reset1 = true;
      if (f.type == h2::kData && f.stream == 3 && (f.flags & h2::kEndStream)) answered3 = true;
      if (f.type == h2::kHeaders && f.stream == 3 && (f.flags & h2::kEndStream)) answered3 = true;
    }
  }
  EXPECT_TRUE(reset1);
  EXPECT_TRUE(answered3);
  EXPECT_FALSE(s.closed());
  // Counted (per connection, once it ends).
  sock.reset();
  EXPECT_TRUE(gw.wait_stat_at_least("http.ingress_http.rejected.h2_protocol_error", 1, scaled(3000)));
  EXPECT_EQ(gw.stat("http.ingress_http.downstream_cx_protocol_error"), 0) << "one bad stream is not a bad connection";
}

// CVE-2023-44487: a client opening streams and resetting them at once, in a loop.
TEST(BadInput, RapidResetFloodClosesTheConnection) {
  Modelsim sim;
  Gateway gw(one_upstream(sim));
  const double before = gw.stat("http.ingress_http.downstream_cx_protocol_error");
  RawSocket s(gw.port());
  ASSERT_TRUE(s.send(h2::client_preface()));
  // Streams that would wait upstream for 10 s, so each is still open when reset.
  std::string burst;
  uint32_t stream = 1;
  bool send_failed = false;
  for (int round = 0; round < 10 && !s.closed() && !send_failed; ++round) {
    burst.clear();
    for (int i = 0; i < 300; ++i, stream += 2) {
      burst += h2::request_headers(stream, "GET", "/echo", {{"x-modelsim-delay-ms", "10000"}});
      burst += h2::rst_stream(stream, 8 /* CANCEL */);
    }
    send_failed = !s.send(burst);
    s.read_some(65536, milliseconds(10));
  }
  EXPECT_TRUE(s.read_until_closed(scaled(10000))) << "the flooding connection stayed open";
  bool goaway = false;
  for (const auto& f : h2::parse_frames(s.received())) goaway = goaway || f.type == h2::kGoaway;
  EXPECT_TRUE(goaway || send_failed || s.was_reset()) << "closed without a GOAWAY";
  EXPECT_TRUE(gw.wait_stat_at_least("http.ingress_http.downstream_cx_protocol_error", before + 1, scaled(3000)));
  EXPECT_GE(gw.stat("http.ingress_http.rejected.h2_flood"), 1);
  EXPECT_EQ(http_request(gw.port(), "GET", "/v1/models").status, 200);
}

}  // namespace
}  // namespace infergate::e2e
