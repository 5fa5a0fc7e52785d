// H2ClientCodec talking to H2ServerCodec in memory: message round trips, stream
// multiplexing, flow control in both directions, resets and graceful drain.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "h2_test_util.h"

namespace infergate::gateway::testing {
namespace {

HeaderMap trailers_of(std::vector<std::pair<std::string, std::string>> fields) {
  HeaderMap m;
  for (auto& [n, v] : fields) m.add(n, v);
  return m;
}

TEST(H2Codec, RequestAndResponseWithBodiesAndTrailersRoundTrip) {
  H2Pair p;
  p.factory.on_end = [](ServerCall& c) {
    HeaderMap h;
    h.add("X-Upstream", "model-a");
    h.add("set-cookie", "a=1");
    h.add("set-cookie", "b=2");
    h.add("connection", "keep-alive");  // hop-by-hop: must not reach the wire
    c.respond(201, "response body", trailers_of({{"grpc-status", "0"}, {"x-tokens", "42"}}), std::move(h));
  };
  ClientCall& call = p.start(make_request("POST", "/v1/chat/completions?stream=true",
                                          {{"content-type", "application/json"}, {"x-multi", "1"}, {"x-multi", "2"},
                                           {"Cookie", "a=1"}, {"transfer-encoding", "chunked"}}),
                             "{\"model\":\"m\"}", trailers_of({{"x-checksum", "abc"}}));
  p.pump();

  ASSERT_EQ(p.factory.calls.size(), 1u);
  const ServerCall& s = *p.factory.calls[0];
  EXPECT_EQ(s.head.method, "POST");
  EXPECT_EQ(s.head.path, "/v1/chat/completions?stream=true");
  EXPECT_EQ(s.head.authority, "backend.example");
  EXPECT_EQ(s.head.scheme, "http");
  EXPECT_EQ(s.head.version, HttpVersion::Http2);
  EXPECT_EQ(s.head.headers.get_or("content-type", ""), "application/json");
  EXPECT_EQ(s.head.headers.count("x-multi"), 2u);
  EXPECT_EQ(s.head.headers.get_or("cookie", ""), "a=1");
  EXPECT_EQ(s.head.headers.get("transfer-encoding"), nullptr) << "connection-specific header forwarded into h2";
  EXPECT_EQ(s.body, "{\"model\":\"m\"}");
  EXPECT_TRUE(s.got_trailers);
  EXPECT_EQ(s.trailers.get_or("x-checksum", ""), "abc");
  EXPECT_EQ(s.events, (std::vector<std::string>{"headers", "data", "trailers"}));
  EXPECT_FALSE(s.reset.has_value());
  EXPECT_TRUE(s.destroyed) << "handler not released after finish()";

  EXPECT_EQ(call.head.status, 201);
  EXPECT_EQ(call.head.headers.get_or("x-upstream", ""), "model-a");
  EXPECT_EQ(call.head.headers.count("set-cookie"), 2u);
  EXPECT_EQ(call.head.headers.get("connection"), nullptr);
  EXPECT_EQ(call.body, "response body");
  EXPECT_TRUE(call.got_trailers);
  EXPECT_EQ(call.trailers.get_or("grpc-status", ""), "0");
  EXPECT_EQ(call.trailers.get_or("x-tokens", ""), "42");
  EXPECT_EQ(call.events.front(), "ready");
  EXPECT_EQ(call.events.back(), "trailers");
  EXPECT_FALSE(call.reset.has_value());

  EXPECT_EQ(p.server->active_streams(), 0u);
  EXPECT_EQ(p.client->active_streams(), 0u);
  EXPECT_TRUE(p.client->reusable());
  EXPECT_FALSE(p.se.down);
  EXPECT_EQ(p.server->stats().streams_total, 1u);
  EXPECT_EQ(p.server_sink.streams_total, 1u);
  EXPECT_EQ(p.server->stats().tx_reset + p.server->stats().rx_reset, 0u);
}

TEST(H2Codec, HeadersOnlyRequestAndResponse) {
  H2Pair p;
  p.factory.on_end = [](ServerCall& c) { c.respond(204, ""); };
  ClientCall& call = p.start(make_request("GET", "/health"));
  p.pump();
  ASSERT_EQ(p.factory.calls.size(), 1u);
  EXPECT_TRUE(p.factory.calls[0]->headers_end);
  EXPECT_EQ(p.factory.calls[0]->events, (std::vector<std::string>{"headers"}));
  EXPECT_EQ(call.head.status, 204);
  EXPECT_TRUE(call.headers_end);
  EXPECT_TRUE(call.body.empty());
}

TEST(H2Codec, CookieCrumbsAreJoinedAndHostBecomesAuthority) {
  H2Pair p;
  RequestHead r = make_request("GET", "/", {{"host", "from-host.example"}, {"cookie", "a=1"}});
  r.authority.clear();  // the client codec then sends the Host value as :authority
  r.headers.add("cookie", "b=2");
  p.start(std::move(r));
  p.pump();
  ASSERT_EQ(p.factory.calls.size(), 1u);
  const ServerCall& s = *p.factory.calls[0];
  EXPECT_EQ(s.head.authority, "from-host.example");
  EXPECT_EQ(s.head.headers.get("host"), nullptr);
  EXPECT_EQ(s.head.headers.count("cookie"), 1u);
  EXPECT_EQ(s.head.headers.get_or("cookie", ""), "a=1; b=2");
}

TEST(H2Codec, InformationalResponseIsSkippedByTheClient) {
  H2Pair p;
  p.factory.on_end = [](ServerCall& c) {
    ResponseHead info;
    info.status = 103;
    info.headers.add("link", "</style.css>; rel=preload");
    c.stream->send_headers(std::move(info), false);
    c.respond(200, "ok");
  };
  ClientCall& call = p.start(make_request("GET", "/"));
  p.pump();
  EXPECT_EQ(call.head.status, 200);
  EXPECT_EQ(call.head.headers.get("link"), nullptr) << "1xx headers leaked into the final head";
  EXPECT_EQ(call.body, "ok");
  EXPECT_EQ(std::count(call.events.begin(), call.events.end(), "headers"), 1);
}

TEST(H2Codec, LargeBodiesBeyondEveryWindowArriveIntact) {
  H2Pair p;
  const std::string up = pattern_body(3 * 1024 * 1024 + 17, 'a');
  const std::string down = pattern_body(5 * 1024 * 1024 + 3, 'k');
  p.factory.on_end = [&](ServerCall& c) { c.respond(200, down); };
  ClientCall& call = p.start(make_request("POST", "/upload"), up);
  p.pump();
  ASSERT_EQ(p.factory.calls.size(), 1u);
  EXPECT_EQ(p.factory.calls[0]->body.size(), up.size());
  EXPECT_TRUE(p.factory.calls[0]->body == up) << "request body corrupted";
  EXPECT_EQ(call.body.size(), down.size());
  EXPECT_TRUE(call.body == down) << "response body corrupted";
  EXPECT_TRUE(call.data_end);
}

TEST(H2Codec, ManyConcurrentStreamsKeepTheirOwnData) {
  H2Pair p;
  constexpr int kStreams = 64;
  p.factory.on_end = nullptr;  // hold every request until all have arrived
  for (int i = 0; i < kStreams; ++i) {
    p.start(make_request("POST", "/s/" + std::to_string(i)), pattern_body(1000 + 977 * static_cast<size_t>(i),
                                                                          static_cast<char>('a' + i % 20)));
  }
  p.pump();
  ASSERT_EQ(p.factory.calls.size(), static_cast<size_t>(kStreams));
  EXPECT_EQ(p.server->active_streams(), static_cast<size_t>(kStreams));
  EXPECT_EQ(p.client->active_streams(), static_cast<size_t>(kStreams));
  for (const auto& c : p.factory.calls) EXPECT_TRUE(c->ended);

  // Answer in reverse arrival order, each echoing its own body plus its path.
  for (auto it = p.factory.calls.rbegin(); it != p.factory.calls.rend(); ++it) {
    ServerCall& c = **it;
    c.respond(200, c.head.path + "|" + c.body);
  }
  p.pump();
  for (int i = 0; i < kStreams; ++i) {
    const ClientCall& c = *p.calls[static_cast<size_t>(i)];
    ASSERT_TRUE(c.data_end) << i;
    EXPECT_TRUE(c.body == "/s/" + std::to_string(i) + "|" +
                              pattern_body(1000 + 977 * static_cast<size_t>(i), static_cast<char>('a' + i % 20)))
        << "stream " << i << " got someone else's bytes";
  }
  EXPECT_EQ(p.server->active_streams(), 0u);
  EXPECT_EQ(p.client->active_streams(), 0u);
  EXPECT_EQ(p.server_sink.streams_total, static_cast<uint64_t>(kStreams));
  EXPECT_EQ(p.client_sink.streams_total, static_cast<uint64_t>(kStreams));
  // Finished exchanges end with END_STREAM both ways, never with a reset that would
  // count against the peer's rapid-reset budget.
  EXPECT_EQ(p.client_sink.tx_reset, 0u);
  EXPECT_EQ(p.server_sink.rx_reset, 0u);
}

TEST(H2Codec, OversizedResponseHeadersResetTheUpstreamStream) {
  H2ClientOptions co;
  co.max_headers_count = 5;
  H2Pair p(co, {});
  p.factory.on_end = [](ServerCall& c) {
    HeaderMap h;
    for (int i = 0; i < 10; ++i) h.add("x-h" + std::string(1, static_cast<char>('a' + i)), "v");
    c.respond(200, "body", std::nullopt, std::move(h));
  };
  ClientCall& call = p.start(make_request("GET", "/"));
  p.pump();
  EXPECT_FALSE(call.got_headers);
  ASSERT_TRUE(call.reset.has_value());
  EXPECT_EQ(*call.reset, ResetReason::ProtocolError);
  EXPECT_EQ(p.client_sink.header_overflow, 1u);
  EXPECT_TRUE(p.client->reusable()) << "a stream error must not cost the connection";
}

TEST(H2Codec, ClientHonoursServerConcurrencyLimit) {
  H2ServerOptions so;
  so.max_concurrent_streams = 4;
  H2Pair p({}, so);
  p.pump();  // SETTINGS exchange
  p.factory.on_end = nullptr;
  for (const char* path : {"/0", "/1", "/2", "/3"}) p.start(make_request("GET", path));
  EXPECT_FALSE(p.client->can_take_stream());
  ClientCall extra;
  EXPECT_EQ(p.client->new_stream(extra), nullptr);
  p.pump();
  ASSERT_EQ(p.factory.calls.size(), 4u);
  p.factory.calls[0]->respond(200, "x");
  p.pump();
  EXPECT_TRUE(p.client->can_take_stream());
  EXPECT_EQ(p.server_sink.tx_reset, 0u) << "server had to refuse a stream over its limit";
}

// ---- flow control ------------------------------------------------------------

TEST(H2Codec, PausedRequestBodyStopsAtOneStreamWindowAndResumes) {
  H2ServerOptions so;
  so.initial_stream_window = 64 * 1024;
  so.connection_window = 256 * 1024;
  H2Pair p({}, so);
  p.factory.on_headers = [](ServerCall& c) { c.stream->pause_request_body(true); };
  p.factory.on_end = nullptr;
  const std::string body = pattern_body(1024 * 1024);
  ClientCall& call = p.start(make_request("POST", "/big"), body);
  p.pump();

  ASSERT_EQ(p.factory.calls.size(), 1u);
  ServerCall& s = *p.factory.calls[0];
  EXPECT_EQ(s.data_calls, 0) << "body delivered to a paused handler";
  EXPECT_FALSE(s.ended);
  // No credit came back for held bytes, so exactly one stream window crossed the wire.
  ASSERT_NE(call.stream, nullptr);
  EXPECT_EQ(call.stream->buffered_bytes(), body.size() - so.initial_stream_window);

  s.stream->pause_request_body(false);
  p.pump();
  EXPECT_TRUE(s.ended);
  EXPECT_EQ(s.body.size(), body.size());
  EXPECT_TRUE(s.body == body);
  EXPECT_EQ(call.stream->buffered_bytes(), 0u);
  s.respond(200, "done");
  p.pump();
  EXPECT_EQ(call.body, "done");
}

TEST(H2Codec, PauseResumeCyclesKeepOrderAndTrailersComeLast) {
  H2ServerOptions so;
  so.initial_stream_window = 16 * 1024;
  H2Pair p({}, so);
  // The handler pauses after every delivery; the test resumes it one step at a time,
  // so held bytes, the held end and the held trailers all take the slow path.
  auto pause = [](ServerCall& c) { c.stream->pause_request_body(true); };
  p.factory.on_headers = pause;
  p.factory.on_data = pause;
  p.factory.on_end = nullptr;
  const std::string body = pattern_body(200 * 1024 + 5);
  p.start(make_request("POST", "/cycles"), body, trailers_of({{"x-end", "yes"}}));
  p.pump();
  ASSERT_EQ(p.factory.calls.size(), 1u);
  ServerCall& s = *p.factory.calls[0];
  int rounds = 0;
  while (!s.ended && rounds < 1000) {
    ++rounds;
    ASSERT_NE(s.stream, nullptr);
    s.stream->pause_request_body(false);
    p.pump();
  }
  ASSERT_TRUE(s.ended);
  // The client sends its first 65535 bytes (the protocol default window) before it
  // sees our SETTINGS; after that one 16 KiB window per round.
  EXPECT_GE(rounds, 8) << "the body was not held back one window at a time";
  EXPECT_TRUE(s.body == body);
  EXPECT_TRUE(s.got_trailers) << "trailers lost behind held data";
  EXPECT_EQ(s.trailers.get_or("x-end", ""), "yes");
  EXPECT_EQ(s.events.back(), "trailers");
  EXPECT_EQ(std::count(s.events.begin(), s.events.end(), "data-end"), 0);
}

TEST(H2Codec, PausedStreamDoesNotStallTheOthers) {
  H2ServerOptions so;
  so.initial_stream_window = 64 * 1024;
  so.connection_window = 256 * 1024;
  H2Pair p({}, so);
  p.factory.on_headers = [](ServerCall& c) {
    if (c.head.path == "/stalled") c.stream->pause_request_body(true);
  };
  p.factory.on_end = [](ServerCall& c) { c.respond(200, std::to_string(c.body.size())); };
  ClientCall& stalled = p.start(make_request("POST", "/stalled"), pattern_body(512 * 1024));
  ClientCall& flowing = p.start(make_request("POST", "/flowing"), pattern_body(2 * 1024 * 1024));
  p.pump();
  EXPECT_EQ(flowing.body, std::to_string(2 * 1024 * 1024));
  EXPECT_FALSE(stalled.complete());
  ASSERT_EQ(p.factory.calls.size(), 2u);
  ServerCall& s = *p.factory.calls[0];
  ASSERT_EQ(s.head.path, "/stalled");
  s.stream->pause_request_body(false);
  p.pump();
  EXPECT_EQ(stalled.body, std::to_string(512 * 1024));
}

TEST(H2Codec, PausedResponseBuffersOnTheServerAndSignalsWritable) {
  H2ClientOptions co;
  co.initial_stream_window = 64 * 1024;
  H2ServerOptions so;
  so.watermarks.high = 256 * 1024;
  so.watermarks.low = 64 * 1024;
  H2Pair p(co, so);
  const std::string down = pattern_body(2 * 1024 * 1024, 'm');
  p.factory.on_end = [&](ServerCall& c) {
    c.stream->send_headers(ResponseHead{}, false);
    c.stream->send_data(down, true);  // the handler keeps the stream (no finish yet)
  };
  ClientCall& call = p.start(make_request("GET", "/stream"));
  call.after_headers = [](ClientCall& c) { c.stream->pause_response(true); };
  p.pump();
  ASSERT_TRUE(call.got_headers);
  ASSERT_EQ(p.factory.calls.size(), 1u);
  ServerCall& s = *p.factory.calls[0];
  EXPECT_TRUE(call.body.empty()) << "data delivered while paused";
  // The client held one stream window without crediting it; the rest waits on the
  // server, above its high watermark.
  ASSERT_NE(s.stream, nullptr);
  EXPECT_EQ(s.stream->buffered_bytes(), down.size() - co.initial_stream_window);
  EXPECT_EQ(s.writable, 0);

  call.stream->pause_response(false);
  p.pump();
  EXPECT_TRUE(call.data_end);
  EXPECT_EQ(call.body.size(), down.size());
  EXPECT_TRUE(call.body == down);
  EXPECT_EQ(s.writable, 1) << "expected one on_downstream_writable once the buffer drained";
  ASSERT_NE(s.stream, nullptr);
  EXPECT_EQ(s.stream->buffered_bytes(), 0u);
  s.stream->finish();
  p.pump();
  EXPECT_TRUE(s.destroyed);
}

TEST(H2Codec, RequestBodyBacklogReportsUpstreamWritable) {
  H2ClientOptions co;
  co.watermarks.high = 128 * 1024;
  co.watermarks.low = 32 * 1024;
  H2ServerOptions so;
  so.initial_stream_window = 64 * 1024;
  H2Pair p(co, so);
  p.factory.on_headers = [](ServerCall& c) { c.stream->pause_request_body(true); };
  p.factory.on_end = nullptr;
  ClientCall& call = p.start(make_request("POST", "/up"), pattern_body(1024 * 1024));
  p.pump();
  ASSERT_NE(call.stream, nullptr);
  EXPECT_GT(call.stream->buffered_bytes(), co.watermarks.high);
  EXPECT_EQ(call.writable, 0);
  ASSERT_EQ(p.factory.calls.size(), 1u);
  p.factory.calls[0]->stream->pause_request_body(false);
  p.pump();
  EXPECT_EQ(call.stream->buffered_bytes(), 0u);
  EXPECT_GE(call.writable, 1);
  EXPECT_EQ(p.factory.calls[0]->body.size(), 1024u * 1024u);
}

// The same session machinery serves both sides: what one side's tests show for the
// server (held request bodies, write-queue gating) is shown here for the client too.

TEST(H2Codec, PausedResponseHoldsItsEndAndTrailersUntilResumed) {
  H2Pair p;
  p.factory.on_end = [](ServerCall& c) { c.respond(200, "tail", trailers_of({{"x-sum", "7"}})); };
  ClientCall& call = p.start(make_request("GET", "/trailers"));
  call.after_headers = [](ClientCall& c) { c.stream->pause_response(true); };
  p.pump();
  ASSERT_TRUE(call.got_headers);
  EXPECT_TRUE(call.body.empty()) << "data delivered while paused";
  EXPECT_FALSE(call.got_trailers) << "trailers delivered while paused";
  ASSERT_NE(call.stream, nullptr);

  call.stream->pause_response(false);
  p.pump();
  EXPECT_EQ(call.body, "tail");
  EXPECT_FALSE(call.data_end) << "the end came with the data, not with the trailers";
  ASSERT_TRUE(call.got_trailers);
  EXPECT_EQ(call.trailers.get_or("x-sum", ""), "7");
  EXPECT_EQ(call.events.back(), "trailers");
}

TEST(H2Codec, ReleasingAPausedResponseReturnsItsConnectionCredit) {
  H2ClientOptions co;
  co.initial_stream_window = 64 * 1024;
  co.connection_window = 64 * 1024;
  H2Pair p(co, {});
  p.factory.on_end = [](ServerCall& c) {
    c.respond(200, pattern_body(c.head.path == "/held" ? 128 * 1024 : 256 * 1024, 'c'));
  };
  ClientCall& held = p.start(make_request("GET", "/held"));
  held.after_headers = [](ClientCall& c) { c.stream->pause_response(true); };
  p.pump();
  ASSERT_TRUE(held.got_headers);
  EXPECT_TRUE(held.body.empty());

  // The held bytes fill the whole connection window: nothing else can arrive.
  ClientCall& next = p.start(make_request("GET", "/next"));
  p.pump();
  EXPECT_FALSE(next.complete());
  EXPECT_TRUE(next.body.empty());

  // Giving the held stream up credits its bytes back to the connection.
  ASSERT_NE(held.stream, nullptr);
  held.stream->release();
  held.stream = nullptr;
  p.pump();
  EXPECT_TRUE(next.data_end);
  EXPECT_EQ(next.body.size(), 256u * 1024u);
  EXPECT_TRUE(held.body.empty());
  EXPECT_FALSE(held.reset.has_value()) << "a released stream is owed no callback";
}

TEST(H2Codec, ServerOutputStopsAtTheConnectionWriteHigh) {
  H2ServerOptions so;
  so.connection_write_high = 32 * 1024;
  H2Pair p({}, so);
  const std::string down = pattern_body(512 * 1024, 's');
  p.factory.on_end = [&](ServerCall& c) {
    c.stream->send_headers(ResponseHead{}, false);
    c.stream->send_data(down, true);
  };
  p.wire.stall_b_to_a = true;  // the client reads nothing
  ClientCall& call = p.start(make_request("GET", "/slow-reader"));
  p.pump();
  ASSERT_EQ(p.factory.calls.size(), 1u);
  ServerCall& s = *p.factory.calls[0];
  ASSERT_NE(s.stream, nullptr);
  // One frame may cross the mark; the rest waits in the stream's buffer.
  EXPECT_LE(p.se.io.out.size(), so.connection_write_high + 16 * 1024 + 256);
  EXPECT_GE(s.stream->buffered_bytes(), down.size() - so.connection_write_high - 16 * 1024);

  p.wire.stall_b_to_a = false;
  p.pump();
  EXPECT_TRUE(call.data_end);
  EXPECT_TRUE(call.body == down);
  EXPECT_EQ(s.stream->buffered_bytes(), 0u);
}

TEST(H2Codec, ClientOutputStopsAtTheConnectionWriteHigh) {
  H2ClientOptions co;
  co.connection_write_high = 16 * 1024;
  H2Pair p(co, {});
  const std::string up = pattern_body(512 * 1024, 'u');
  p.wire.stall_a_to_b = true;  // the server reads nothing
  ClientCall& call = p.start(make_request("POST", "/slow-upstream"), up);
  p.pump();
  ASSERT_NE(call.stream, nullptr);
  EXPECT_LE(p.ce.io.out.size(), co.connection_write_high + 16 * 1024 + 256);
  EXPECT_GE(call.stream->buffered_bytes(), up.size() - co.connection_write_high - 16 * 1024);
  EXPECT_TRUE(p.factory.calls.empty());

  p.wire.stall_a_to_b = false;
  p.pump();
  ASSERT_EQ(p.factory.calls.size(), 1u);
  EXPECT_TRUE(p.factory.calls[0]->body == up);
  EXPECT_TRUE(call.data_end);
  EXPECT_TRUE(call.body == up) << "the echo came back short";
}

TEST(H2Codec, StatsAddTheSharedAndTheSideCounters) {
  H2ServerStats server;
  H2ServerStats more_server;
  more_server.rx_reset = 2;
  more_server.protocol_error_closes = 1;
  more_server.goaway_sent = 3;
  more_server.abuse_closes = 4;
  server += more_server;
  server += more_server;
  EXPECT_EQ(server.rx_reset, 4u);
  EXPECT_EQ(server.protocol_error_closes, 2u);
  EXPECT_EQ(server.goaway_sent, 6u);
  EXPECT_EQ(server.abuse_closes, 8u);

  H2ClientStats client;
  H2ClientStats more_client;
  more_client.tx_reset = 5;
  more_client.goaway_received = 1;
  client += more_client;
  EXPECT_EQ(client.tx_reset, 5u);
  EXPECT_EQ(client.goaway_received, 1u);
  EXPECT_EQ(client.streams_total, 0u);
}

TEST(H2Codec, BothSidesCountIntoTheirSinks) {
  H2Pair p;
  p.start(make_request("GET", "/counted"));
  p.pump();
  EXPECT_EQ(p.client_sink.streams_total, 1u);
  EXPECT_EQ(p.server_sink.streams_total, 1u);
  EXPECT_EQ(p.client->stats().streams_total, 1u);
  EXPECT_EQ(p.server->stats().streams_total, 1u);
  EXPECT_EQ(p.client_sink.tx_reset + p.server_sink.tx_reset, 0u);
}

// ---- resets ------------------------------------------------------------------

TEST(H2Codec, ClientResetReachesHandlerAsRemoteReset) {
  H2Pair p;
  p.factory.on_end = nullptr;
  ClientCall& call = p.start(make_request("POST", "/upload"));
  call.send_on_ready = false;
  p.pump();
  ASSERT_EQ(call.ready, 1);
  call.stream->send_headers(call.request, false);
  call.stream->send_data("partial", false);
  p.pump();
  ASSERT_EQ(p.factory.calls.size(), 1u);
  EXPECT_EQ(p.factory.calls[0]->body, "partial");

  call.stream->reset();
  call.stream = nullptr;
  p.pump();
  const ServerCall& s = *p.factory.calls[0];
  ASSERT_TRUE(s.reset.has_value());
  EXPECT_EQ(*s.reset, ResetReason::RemoteReset);
  EXPECT_TRUE(s.destroyed);
  EXPECT_FALSE(call.reset.has_value()) << "a reset stream must not call its owner back";
  EXPECT_EQ(p.server_sink.rx_reset, 1u);
  EXPECT_EQ(p.client_sink.tx_reset, 1u);
  EXPECT_EQ(p.server->active_streams(), 0u);
  EXPECT_EQ(p.client->active_streams(), 0u);
  EXPECT_TRUE(p.client->reusable());
}

TEST(H2Codec, ClientResetAfterResponseHeadersReachesHandler) {
  H2Pair p;
  p.factory.on_end = [](ServerCall& c) { c.stream->send_headers(ResponseHead{}, false); };
  ClientCall& call = p.start(make_request("GET", "/sse"));
  p.pump();
  ASSERT_TRUE(call.got_headers);
  call.stream->reset();
  call.stream = nullptr;
  p.pump();
  ASSERT_EQ(p.factory.calls.size(), 1u);
  ASSERT_TRUE(p.factory.calls[0]->reset.has_value());
  EXPECT_EQ(*p.factory.calls[0]->reset, ResetReason::RemoteReset);
}

TEST(H2Codec, ServerResetReachesClientAsRemoteResetAndConnectionStaysUsable) {
  H2Pair p;
  p.factory.on_end = [](ServerCall& c) { c.stream->reset(); };
  ClientCall& call = p.start(make_request("GET", "/fails"));
  p.pump();
  ASSERT_TRUE(call.reset.has_value());
  EXPECT_EQ(*call.reset, ResetReason::RemoteReset);
  ASSERT_EQ(p.factory.calls.size(), 1u);
  EXPECT_FALSE(p.factory.calls[0]->reset.has_value()) << "handler told about its own reset";
  EXPECT_TRUE(p.factory.calls[0]->destroyed);
  EXPECT_EQ(p.client_sink.rx_reset, 1u);
  EXPECT_EQ(p.server_sink.tx_reset, 1u);

  p.factory.on_end = &TestFactory::echo;
  ClientCall& next = p.start(make_request("GET", "/works"));
  p.pump();
  EXPECT_EQ(next.head.status, 200);
  EXPECT_EQ(next.head.headers.get_or("x-path", ""), "/works");
}

TEST(H2Codec, ServerResetMidResponseReachesClient) {
  H2Pair p;
  p.factory.on_end = [](ServerCall& c) {
    c.stream->send_headers(ResponseHead{}, false);
    c.stream->send_data("data: token\n\n", false);
  };
  ClientCall& call = p.start(make_request("GET", "/sse"));
  p.pump();
  EXPECT_EQ(call.body, "data: token\n\n");
  ASSERT_EQ(p.factory.calls.size(), 1u);
  p.factory.calls[0]->stream->reset();
  p.pump();
  ASSERT_TRUE(call.reset.has_value());
  EXPECT_EQ(*call.reset, ResetReason::RemoteReset);
  EXPECT_FALSE(call.data_end);
}

TEST(H2Codec, HandlerFinishingWithoutEndingResetsTheStream) {
  H2Pair p;
  p.factory.on_end = [](ServerCall& c) {
    c.stream->send_headers(ResponseHead{}, false);
    c.stream->finish();  // gave up mid-response
  };
  ClientCall& call = p.start(make_request("GET", "/"));
  p.pump();
  ASSERT_TRUE(call.reset.has_value()) << "client left waiting for a response that will never end";
  EXPECT_EQ(*call.reset, ResetReason::RemoteReset);
}

TEST(H2Codec, RefusedStreamIsRetryable) {
  H2Pair p;
  p.factory.refuse = true;
  ClientCall& call = p.start(make_request("GET", "/"));
  p.pump();
  ASSERT_TRUE(call.reset.has_value());
  EXPECT_EQ(*call.reset, ResetReason::RemoteReset);
  EXPECT_EQ(p.server->active_streams(), 0u);
}

TEST(H2Codec, EarlyResponseCancelsTheRemainingUpload) {
  H2Pair p;
  // Answer 413 as soon as the head arrives, without reading the body.
  p.factory.on_headers = [](ServerCall& c) { c.respond(413, "too big"); };
  p.factory.on_end = nullptr;
  ClientCall& call = p.start(make_request("POST", "/upload"));
  call.send_on_ready = false;
  p.pump();
  call.stream->send_headers(call.request, false);
  p.pump();
  EXPECT_EQ(call.head.status, 413);
  EXPECT_EQ(call.body, "too big");
  EXPECT_TRUE(call.data_end);
  EXPECT_FALSE(call.reset.has_value());
  EXPECT_EQ(p.server->active_streams(), 0u);
  EXPECT_EQ(p.client->active_streams(), 0u);
}

TEST(H2Codec, ConnectionLossResetsEveryOpenStreamOnBothSides) {
  H2Pair p;
  p.factory.on_end = nullptr;
  ClientCall& a = p.start(make_request("GET", "/a"));
  ClientCall& b = p.start(make_request("GET", "/b"));
  p.pump();
  ASSERT_EQ(p.factory.calls.size(), 2u);
  p.ce.io.abort();  // the client's socket dies
  p.pump();
  for (const auto& s : p.factory.calls) {
    ASSERT_TRUE(s->reset.has_value());
    EXPECT_EQ(*s->reset, ResetReason::ConnectionTermination);
  }
  ASSERT_TRUE(a.reset.has_value());
  ASSERT_TRUE(b.reset.has_value());
  EXPECT_EQ(*a.reset, ResetReason::ConnectionTermination);
  EXPECT_FALSE(p.client->reusable());
}

// ---- drain -------------------------------------------------------------------

TEST(H2Codec, DrainLetsInFlightStreamsFinishAndRefusesNewOnes) {
  H2Pair p;
  p.factory.on_end = nullptr;
  ClientCall& inflight = p.start(make_request("POST", "/slow"), "body");
  p.pump();
  ASSERT_EQ(p.factory.calls.size(), 1u);

  p.server->start_drain();
  p.pump();
  EXPECT_FALSE(p.client->can_take_stream()) << "client ignored GOAWAY";
  EXPECT_FALSE(p.client->reusable());
  ClientCall refused;
  EXPECT_EQ(p.client->new_stream(refused), nullptr);
  EXPECT_FALSE(p.se.down) << "connection closed under an in-flight stream";
  EXPECT_EQ(p.server_sink.goaway_sent, 2u) << "expected the shutdown notice and the final GOAWAY";

  p.factory.calls[0]->respond(200, "finished after drain");
  p.pump();
  EXPECT_EQ(inflight.head.status, 200);
  EXPECT_EQ(inflight.body, "finished after drain");
  EXPECT_TRUE(p.ce.io.closing || p.se.io.closing) << "nobody closed the drained connection";
  EXPECT_TRUE(p.se.down);
  EXPECT_EQ(p.factory.calls.size(), 1u);
  EXPECT_EQ(p.server_sink.protocol_error_closes + p.server_sink.abuse_closes, 0u);
}

TEST(H2Codec, StreamsRacingTheShutdownNoticeAreStillServed) {
  H2Pair p;
  p.pump();
  // Both sides produce before either hears from the other: the client opens a
  // stream while the shutdown notice is in flight.
  p.wire.stall_a_to_b = p.wire.stall_b_to_a = true;
  p.server->start_drain();
  ClientCall& racing = p.start(make_request("GET", "/racing"));
  p.pump();
  ASSERT_FALSE(p.se.io.out.empty());
  ASSERT_FALSE(p.ce.io.out.empty());
  p.wire.stall_a_to_b = p.wire.stall_b_to_a = false;
  p.pump();
  ASSERT_EQ(p.factory.calls.size(), 1u) << "two-step GOAWAY refused a stream sent before the notice arrived";
  EXPECT_EQ(racing.head.status, 200);
  EXPECT_FALSE(racing.reset.has_value());
  EXPECT_TRUE(p.se.down);
}

TEST(H2Codec, GoawayFailsStreamsAboveItsLastIdAsRetryable) {
  H2Pair p;
  p.factory.on_end = nullptr;
  ClientCall& first = p.start(make_request("GET", "/1"));
  ClientCall& second = p.start(make_request("GET", "/3"));
  p.pump();
  ASSERT_EQ(p.factory.calls.size(), 2u);
  // A server that processed only stream 1 says so (injected at a frame boundary).
  ASSERT_TRUE(p.client->on_read(raw::frame(raw::GOAWAY, 0, 0, raw::u32(1) + raw::u32(NGHTTP2_NO_ERROR))));
  ASSERT_TRUE(second.reset.has_value());
  EXPECT_EQ(*second.reset, ResetReason::RemoteReset);
  EXPECT_FALSE(first.reset.has_value());
  EXPECT_FALSE(p.client->can_take_stream());
  EXPECT_EQ(p.client_sink.goaway_received, 1u);
  p.factory.calls[0]->respond(200, "kept");
  p.pump();
  EXPECT_EQ(first.body, "kept");
}

TEST(H2Codec, DrainOnIdleConnectionClosesIt) {
  H2Pair p;
  p.start(make_request("GET", "/"));
  p.pump();
  p.server->start_drain();
  p.pump();
  EXPECT_TRUE(p.se.down);
  EXPECT_FALSE(p.client->reusable());
  EXPECT_EQ(p.server_sink.goaway_sent, 2u) << "expected the shutdown notice and the final GOAWAY";
}

}  // namespace
}  // namespace infergate::gateway::testing
