// H2ServerCodec against hand-made frames: what a hostile or broken client sends and
// a well-behaved client codec never would. Header blocks come from nghttp2's HPACK
// encoder; the frames around them are built byte by byte.
#include <gtest/gtest.h>

#include <ostream>
#include <string>

#include "h2_test_util.h"

namespace infergate::gateway::testing {
namespace {

using raw::Frame;

size_t count_type(const std::vector<Frame>& frames, uint8_t type, uint32_t stream = 0xffffffffu) {
  size_t n = 0;
  for (const auto& f : frames) n += f.type == type && (stream == 0xffffffffu || f.stream == stream);
  return n;
}

const Frame* find(const std::vector<Frame>& frames, uint8_t type, uint32_t stream = 0xffffffffu) {
  for (const auto& f : frames)
    if (f.type == type && (stream == 0xffffffffu || f.stream == stream)) return &f;
  return nullptr;
}

TEST(H2Abuse, HandshakeAnswersSettingsAndServesARequest) {
  RawH2Server s;
  s.handshake();
  ASSERT_TRUE(s.send(s.headers(1, raw::request_fields("/ok"))));
  auto f = s.frames();
  const Frame* h = find(f, raw::HEADERS, 1);
  ASSERT_NE(h, nullptr);
  raw::Fields got = s.dec.decode(h->payload);
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got[0], (std::pair<std::string, std::string>{":status", "200"}));
  EXPECT_NE(h->flags & raw::END_STREAM, 0) << "empty echo should end in the HEADERS frame";
  ASSERT_EQ(s.factory.calls.size(), 1u);
  EXPECT_EQ(s.factory.calls[0]->head.authority, "gw.example");
}

// ---- rapid reset (CVE-2023-44487) ----------------------------------------------

std::string headers_then_reset(RawH2Server& s, int count, uint32_t first_stream = 1) {
  std::string wire;
  for (int i = 0; i < count; ++i) {
    uint32_t id = first_stream + 2 * static_cast<uint32_t>(i);
    wire += s.headers(id, raw::request_fields("/r/" + std::to_string(i)));
    wire += raw::rst_stream(id, NGHTTP2_CANCEL);
  }
  return wire;
}

TEST(H2Abuse, ResetsWithinTheBurstAreServedNormally) {
  H2ServerOptions o;
  o.reset_burst = 10;
  o.reset_rate_per_s = 1;
  RawH2Server s(o);
  s.factory.on_end = nullptr;  // hold: every stream is reset while in flight
  s.handshake();
  EXPECT_TRUE(s.send(headers_then_reset(s, 10)));
  auto f = s.frames();
  EXPECT_EQ(count_type(f, raw::GOAWAY), 0u);
  EXPECT_EQ(s.sink.rx_reset, 10u);
  EXPECT_EQ(s.sink.abuse_closes, 0u);
  ASSERT_EQ(s.factory.calls.size(), 10u);
  for (const auto& c : s.factory.calls) {
    ASSERT_TRUE(c->reset.has_value());
    EXPECT_EQ(*c->reset, ResetReason::RemoteReset);
    EXPECT_TRUE(c->destroyed);
  }
  EXPECT_EQ(s.server->active_streams(), 0u);
  EXPECT_FALSE(s.io.closing);
}

TEST(H2Abuse, RapidResetBeyondTheBurstClosesTheConnection) {
  H2ServerOptions o;
  o.reset_burst = 10;
  o.reset_rate_per_s = 1;
  RawH2Server s(o);
  s.factory.on_end = nullptr;
  s.handshake();
  s.send(headers_then_reset(s, 50));
  auto f = s.frames();
  const Frame* g = find(f, raw::GOAWAY);
  ASSERT_NE(g, nullptr) << "no GOAWAY after " << s.sink.rx_reset << " resets";
  EXPECT_EQ(g->error_code(), static_cast<uint32_t>(NGHTTP2_ENHANCE_YOUR_CALM));
  EXPECT_TRUE(s.read_failed) << "codec did not ask for the connection to be closed";
  EXPECT_FALSE(s.send(raw::frame(raw::PING, 0, 0, std::string(8, 'x')))) << "codec kept reading after the flood";
  EXPECT_EQ(s.sink.abuse_closes, 1u) << "stats sink counter did not move";
  EXPECT_EQ(s.server->stats().abuse_closes, 1u);
  EXPECT_EQ(s.sink.protocol_error_closes, 0u);
  // The burst's 10 streams plus the one whose RST_STREAM broke it; nothing after
  // that frame in the same read reaches a handler.
  EXPECT_EQ(s.factory.calls.size(), 11u) << "streams past the flood still reached handlers";
  EXPECT_EQ(s.sink.rx_reset, 11u);
  for (const auto& c : s.factory.calls) EXPECT_TRUE(c->reset.has_value());
  EXPECT_EQ(s.server->active_streams(), 0u);
}

// ---- CONTINUATION floods and header limits -------------------------------------

// One request whose header block is cut into 1 + `continuations` frames.
std::string split_headers(RawH2Server& s, uint32_t id, int continuations, size_t extra_headers = 16) {
  raw::Fields fields = raw::request_fields("/cont");
  for (size_t i = 0; i < extra_headers; ++i)
    fields.emplace_back("x-h" + std::to_string(i), std::string(40, static_cast<char>('a' + i % 26)));
  std::string block = s.enc.encode(fields);
  size_t pieces = static_cast<size_t>(continuations) + 1;
  EXPECT_GE(block.size(), pieces);
  std::string wire;
  size_t at = 0;
  for (size_t i = 0; i < pieces; ++i) {
    size_t len = i + 1 == pieces ? block.size() - at : block.size() / pieces;
    std::string_view part(block.data() + at, len);
    at += len;
    uint8_t type = i == 0 ? raw::HEADERS : raw::CONTINUATION;
    uint8_t flags = (i == 0 ? raw::END_STREAM : 0) | (i + 1 == pieces ? raw::END_HEADERS : 0);
    wire += raw::frame(type, flags, id, part);
  }
  return wire;
}

TEST(H2Abuse, ContinuationsUpToTheLimitAreAccepted) {
  RawH2Server s;  // max_continuations = 8
  s.handshake();
  ASSERT_TRUE(s.send(split_headers(s, 1, 8)));
  auto f = s.frames();
  ASSERT_EQ(s.factory.calls.size(), 1u);
  EXPECT_EQ(s.factory.calls[0]->head.headers.get_or("x-h3", ""), std::string(40, 'd'));
  EXPECT_NE(find(f, raw::HEADERS, 1), nullptr);
  EXPECT_EQ(count_type(f, raw::GOAWAY), 0u);
}

TEST(H2Abuse, TooManyContinuationsCloseTheConnection) {
  RawH2Server s;
  s.handshake();
  EXPECT_FALSE(s.send(split_headers(s, 1, 9)));
  auto f = s.frames();
  const Frame* g = find(f, raw::GOAWAY);
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->error_code(), static_cast<uint32_t>(NGHTTP2_ENHANCE_YOUR_CALM));
  EXPECT_EQ(s.sink.abuse_closes, 1u);
  EXPECT_TRUE(s.factory.calls.empty());
  EXPECT_FALSE(s.send(raw::frame(raw::PING, 0, 0, std::string(8, 'x'))));
}

TEST(H2Abuse, OversizedHeaderListResetsOnlyThatStream) {
  H2ServerOptions o;
  o.max_header_list_bytes = 4096;
  RawH2Server s(o);
  s.handshake();
  raw::Fields big = raw::request_fields("/big");
  for (int i = 0; i < 10; ++i) big.emplace_back("x-big-" + std::to_string(i), std::string(600, 'v'));
  ASSERT_TRUE(s.send(s.headers(1, big)));
  auto f = s.frames();
  const Frame* rst = find(f, raw::RST_STREAM, 1);
  ASSERT_NE(rst, nullptr) << "oversized header block accepted";
  EXPECT_EQ(count_type(f, raw::GOAWAY), 0u);
  EXPECT_EQ(s.sink.header_overflow, 1u);
  EXPECT_TRUE(s.factory.calls.empty());

  // The connection goes on, and its HPACK state survived the skipped block.
  ASSERT_TRUE(s.send(s.headers(3, raw::request_fields("/after", {{"x-big-1", std::string(600, 'v')}}))));
  f = s.frames();
  ASSERT_EQ(s.factory.calls.size(), 1u);
  EXPECT_EQ(s.factory.calls[0]->head.path, "/after");
  EXPECT_EQ(s.factory.calls[0]->head.headers.get_or("x-big-1", ""), std::string(600, 'v'));
  EXPECT_NE(find(f, raw::HEADERS, 3), nullptr);
}

TEST(H2Abuse, TooManyHeaderFieldsResetTheStream) {
  H2ServerOptions o;
  o.max_headers_count = 20;
  RawH2Server s(o);
  s.handshake();
  raw::Fields many = raw::request_fields("/many");
  for (int i = 0; i < 30; ++i) many.emplace_back("x-" + std::to_string(i), "v");
  ASSERT_TRUE(s.send(s.headers(1, many)));
  auto f = s.frames();
  EXPECT_NE(find(f, raw::RST_STREAM, 1), nullptr);
  EXPECT_EQ(s.sink.header_overflow, 1u);
  EXPECT_TRUE(s.factory.calls.empty());
}

TEST(H2Abuse, OversizedTrailersResetTheStreamAndTellTheHandler) {
  H2ServerOptions o;
  o.max_header_list_bytes = 4096;
  RawH2Server s(o);
  s.factory.on_end = nullptr;
  s.handshake();
  ASSERT_TRUE(s.send(s.headers(1, raw::request_fields("/t"), raw::END_HEADERS)));
  raw::Fields big;
  for (int i = 0; i < 10; ++i) big.emplace_back("x-trailer-" + std::to_string(i), std::string(600, 't'));
  ASSERT_TRUE(s.send(s.headers(1, big)));
  s.frames();
  EXPECT_NE(s.find_seen(raw::RST_STREAM, 1), nullptr);
  ASSERT_EQ(s.factory.calls.size(), 1u);
  EXPECT_FALSE(s.factory.calls[0]->got_trailers);
  EXPECT_TRUE(s.factory.calls[0]->reset.has_value()) << "handler left waiting for a request that was reset";
}

// ---- malformed input -----------------------------------------------------------

struct MalformedCase {
  const char* name;
  std::string bytes;
  uint32_t goaway_code;
};

// gtest prints the case by name, not as bytes.
void PrintTo(const MalformedCase& c, std::ostream* os) { *os << c.name; }

class H2Malformed : public ::testing::TestWithParam<MalformedCase> {};

TEST_P(H2Malformed, ConnectionErrorSendsGoawayAndResetsInFlightStreams) {
  RawH2Server s;
  s.factory.on_end = nullptr;  // stream 1 stays in flight
  s.handshake();
  ASSERT_TRUE(s.send(s.headers(1, raw::request_fields("/inflight"))));
  s.frames();
  ASSERT_EQ(s.factory.calls.size(), 1u);

  s.send(GetParam().bytes);
  auto f = s.frames();
  const Frame* g = find(f, raw::GOAWAY);
  ASSERT_NE(g, nullptr) << GetParam().name;
  EXPECT_EQ(g->error_code(), GetParam().goaway_code);
  EXPECT_EQ(g->last_stream_id(), 1u);
  EXPECT_TRUE(s.read_failed);
  EXPECT_TRUE(s.io.closing);
  EXPECT_EQ(s.sink.protocol_error_closes, 1u);
  EXPECT_EQ(s.sink.abuse_closes, 0u);
  const ServerCall& c = *s.factory.calls[0];
  ASSERT_TRUE(c.reset.has_value());
  EXPECT_EQ(*c.reset, ResetReason::ProtocolError);
  EXPECT_FALSE(s.send(s.headers(3, raw::request_fields("/late"))));
  EXPECT_EQ(s.factory.calls.size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(
    Frames, H2Malformed,
    ::testing::Values(
        MalformedCase{"data_on_stream_0", raw::frame(raw::DATA, 0, 0, "x"), NGHTTP2_PROTOCOL_ERROR},
        MalformedCase{"zero_window_update", raw::frame(raw::WINDOW_UPDATE, 0, 0, raw::u32(0)),
                      NGHTTP2_PROTOCOL_ERROR},
        MalformedCase{"continuation_without_headers", raw::frame(raw::CONTINUATION, raw::END_HEADERS, 1, "\x82"),
                      NGHTTP2_PROTOCOL_ERROR},
        MalformedCase{"settings_enable_push_2",
                      raw::frame(raw::SETTINGS, 0, 0, std::string("\x00\x02", 2) + raw::u32(2)),
                      NGHTTP2_PROTOCOL_ERROR},
        MalformedCase{"short_ping", raw::frame(raw::PING, 0, 0, std::string(7, 'p')), NGHTTP2_FRAME_SIZE_ERROR},
        MalformedCase{"settings_ack_with_payload", raw::frame(raw::SETTINGS, raw::ACK, 0, std::string(6, '\0')),
                      NGHTTP2_FRAME_SIZE_ERROR}),
    [](const ::testing::TestParamInfo<MalformedCase>& i) { return std::string(i.param.name); });

TEST(H2Abuse, HeadersOnEvenStreamIsAConnectionError) {
  RawH2Server s;
  s.handshake();
  // Built here: the header block needs the connection's own encoder.
  s.send(s.headers(2, raw::request_fields("/even")));
  auto f = s.frames();
  const Frame* g = find(f, raw::GOAWAY);
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->error_code(), static_cast<uint32_t>(NGHTTP2_PROTOCOL_ERROR));
  EXPECT_TRUE(s.read_failed);
  EXPECT_EQ(s.sink.protocol_error_closes, 1u);
  EXPECT_TRUE(s.factory.calls.empty());
}

TEST(H2Abuse, Http1BytesOnAnH2ConnectionAreRefused) {
  RawH2Server s;
  EXPECT_FALSE(s.send("GET / HTTP/1.1\r\nhost: x\r\n\r\n"));
  s.frames();
  EXPECT_EQ(s.sink.protocol_error_closes, 1u);
  EXPECT_TRUE(s.factory.calls.empty());
}

TEST(H2Abuse, MalformedRequestsResetOnlyTheirStream) {
  RawH2Server s;
  s.handshake();
  // No :path.
  ASSERT_TRUE(s.send(s.headers(1, {{":method", "GET"}, {":scheme", "http"}, {":authority", "a"}})));
  // Upper-case header name.
  ASSERT_TRUE(s.send(s.headers(3, raw::request_fields("/x", {{"X-Upper", "1"}}))));
  // Connection-specific header.
  ASSERT_TRUE(s.send(s.headers(5, raw::request_fields("/x", {{"connection", "keep-alive"}}))));
  // content-length that disagrees with the body.
  ASSERT_TRUE(s.send(s.headers(7, raw::request_fields("/x", {{"content-length", "10"}}), raw::END_HEADERS) +
                     raw::frame(raw::DATA, raw::END_STREAM, 7, "abc")));
  auto f = s.frames();
  for (uint32_t id : {1u, 3u, 5u, 7u}) {
    const Frame* r = find(f, raw::RST_STREAM, id);
    ASSERT_NE(r, nullptr) << "stream " << id;
    EXPECT_EQ(r->error_code(), static_cast<uint32_t>(NGHTTP2_PROTOCOL_ERROR)) << "stream " << id;
  }
  EXPECT_EQ(count_type(f, raw::GOAWAY), 0u);
  // Three are malformed heads; nghttp2 finds the content-length mismatch at END_STREAM
  // and resets without its invalid-frame callback.
  EXPECT_EQ(s.sink.rx_messaging_error, 3u);
  // Only stream 7 got as far as a handler (its head was valid); it was reset.
  ASSERT_EQ(s.factory.calls.size(), 1u);
  EXPECT_EQ(s.factory.calls[0]->head.path, "/x");
  ASSERT_TRUE(s.factory.calls[0]->reset.has_value());
  EXPECT_EQ(*s.factory.calls[0]->reset, ResetReason::ProtocolError);
  // And the connection still serves.
  ASSERT_TRUE(s.send(s.headers(9, raw::request_fields("/fine"))));
  f = s.frames();
  EXPECT_NE(find(f, raw::HEADERS, 9), nullptr);
}

// ---- flow control, seen on the wire ----------------------------------------------

// DATA frames of at most the default SETTINGS_MAX_FRAME_SIZE.
std::string data_frames(uint32_t stream, const std::string& body, bool end) {
  std::string wire;
  for (size_t at = 0; at < body.size(); at += 16384) {
    bool last = at + 16384 >= body.size();
    wire += raw::frame(raw::DATA, last && end ? raw::END_STREAM : 0, stream, std::string_view(body).substr(at, 16384));
  }
  return wire;
}

TEST(H2Abuse, CreditIsReturnedOnlyForDeliveredBytes) {
  H2ServerOptions o;
  o.initial_stream_window = 48 * 1024;
  o.connection_window = 64 * 1024;
  RawH2Server s(o);
  s.factory.on_headers = [](ServerCall& c) { c.stream->pause_request_body(true); };
  s.factory.on_end = nullptr;
  s.handshake();
  ASSERT_TRUE(s.send(s.headers(1, raw::request_fields("/upload"), raw::END_HEADERS)));
  // 40 KiB: past half of both windows, where nghttp2 would send WINDOW_UPDATEs.
  const std::string body = pattern_body(40 * 1024);
  ASSERT_TRUE(s.send(data_frames(1, body, false)));
  auto f = s.frames();
  ASSERT_EQ(s.factory.calls.size(), 1u);
  ServerCall& c = *s.factory.calls[0];
  EXPECT_EQ(c.data_calls, 0);
  EXPECT_EQ(count_type(f, raw::WINDOW_UPDATE), 0u) << "credit returned for bytes the handler never took";

  c.stream->pause_request_body(false);
  s.settle();
  f = s.frames();
  EXPECT_TRUE(c.body == body);
  const Frame* ws = find(f, raw::WINDOW_UPDATE, 1);
  const Frame* wc = find(f, raw::WINDOW_UPDATE, 0);
  ASSERT_NE(ws, nullptr) << "stream credit not returned after delivery";
  ASSERT_NE(wc, nullptr) << "connection credit not returned after delivery";
  EXPECT_EQ(raw::get_u32(ws->payload, 0), body.size());
  EXPECT_EQ(raw::get_u32(wc->payload, 0), body.size());
}

TEST(H2Abuse, DataBeyondTheStreamWindowIsRefused) {
  H2ServerOptions o;
  o.initial_stream_window = 16 * 1024;
  o.connection_window = 1024 * 1024;
  RawH2Server s(o);
  s.factory.on_headers = [](ServerCall& c) { c.stream->pause_request_body(true); };
  s.factory.on_end = nullptr;
  s.handshake();
  ASSERT_TRUE(s.send(s.headers(1, raw::request_fields("/upload"), raw::END_HEADERS)));
  s.send(raw::frame(raw::DATA, 0, 1, std::string(16 * 1024, 'd')) + raw::frame(raw::DATA, 0, 1, "overflow"));
  s.frames();
  ASSERT_EQ(s.factory.calls.size(), 1u);
  const ServerCall& c = *s.factory.calls[0];
  EXPECT_EQ(c.data_calls, 0);
  const Frame* r = s.find_seen(raw::RST_STREAM, 1);
  const Frame* g = s.find_seen(raw::GOAWAY);
  ASSERT_TRUE(r != nullptr || g != nullptr) << "server accepted data beyond the window";
  EXPECT_EQ((r != nullptr ? r : g)->error_code(), static_cast<uint32_t>(NGHTTP2_FLOW_CONTROL_ERROR));
  ASSERT_TRUE(c.reset.has_value());
  EXPECT_EQ(*c.reset, ResetReason::ProtocolError);
}

// ---- drain, seen on the wire ---------------------------------------------------

TEST(H2Abuse, DrainIsTwoStepAndRefusesStreamsAfterTheFinalGoaway) {
  RawH2Server s;
  s.factory.on_end = nullptr;
  s.handshake();
  ASSERT_TRUE(s.send(s.headers(1, raw::request_fields("/inflight"))));
  s.frames();
  ASSERT_EQ(s.factory.calls.size(), 1u);

  s.server->start_drain();
  s.settle();
  auto f = s.frames();
  const Frame* notice = find(f, raw::GOAWAY);
  ASSERT_NE(notice, nullptr);
  EXPECT_EQ(notice->error_code(), static_cast<uint32_t>(NGHTTP2_NO_ERROR));
  EXPECT_EQ(notice->last_stream_id(), 0x7fffffffu) << "first GOAWAY must not cut off streams in flight";
  const Frame* ping = find(f, raw::PING);
  ASSERT_NE(ping, nullptr);

  // A stream the client sent before it saw the notice is still served.
  ASSERT_TRUE(s.send(s.headers(3, raw::request_fields("/racing"))));
  ASSERT_TRUE(s.send(raw::frame(raw::PING, raw::ACK, 0, ping->payload)));
  f = s.frames();
  const Frame* final_goaway = find(f, raw::GOAWAY);
  ASSERT_NE(final_goaway, nullptr);
  EXPECT_EQ(final_goaway->error_code(), static_cast<uint32_t>(NGHTTP2_NO_ERROR));
  EXPECT_EQ(final_goaway->last_stream_id(), 3u);
  ASSERT_EQ(s.factory.calls.size(), 2u);

  // After the final GOAWAY a new stream reaches no handler.
  s.send(s.headers(5, raw::request_fields("/too-late")));
  s.frames();
  EXPECT_EQ(s.factory.calls.size(), 2u) << "stream opened after the final GOAWAY was processed";
  EXPECT_FALSE(s.io.closing) << "closed with streams in flight";

  // In-flight streams finish, then the connection closes by itself.
  s.factory.calls[0]->respond(200, "one");
  s.factory.calls[1]->respond(200, "two");
  s.settle();
  f = s.frames();
  EXPECT_EQ(count_type(f, raw::HEADERS, 1), 1u);
  EXPECT_EQ(count_type(f, raw::HEADERS, 3), 1u);
  EXPECT_TRUE(s.io.closing);
  EXPECT_EQ(s.sink.goaway_sent, 2u);
  EXPECT_EQ(s.sink.protocol_error_closes + s.sink.abuse_closes, 0u);
}

}  // namespace
}  // namespace infergate::gateway::testing
