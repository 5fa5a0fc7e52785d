// Streaming: SSE tokens reach the client as the model server produces them (never
// buffered whole), and an upstream that dies mid-stream shows up downstream as a
// truncated response (HTTP/1.1: closed without the last chunk; HTTP/2: RST_STREAM).
#include "tests/e2e/e2e_test.h"

namespace infergate::e2e {
namespace {

struct Path {
  const char* name;
  bool h2_downstream;
  bool h2c_upstream;
};

void PrintTo(const Path& p, std::ostream* os) { *os << p.name; }

const Path kPaths[] = {
    {"h1_to_h1", false, false},
    {"h1_to_h2c", false, true},
    {"h2_to_h2c", true, true},
    {"h2_to_h1", true, false},
};

class Sse : public ::testing::TestWithParam<Path> {};

TEST_P(Sse, EventsArriveIncrementally) {
  E2E_REQUIRE_TOOL(curl_bin, "curl");
  const Path& p = GetParam();
  constexpr int kItlMs = 200, kTokens = 5;
  Modelsim sim({"--itl-ms", std::to_string(kItlMs)});
  Gateway gw(one_upstream(sim, p.h2c_upstream));

  // curl -N writes every piece the moment it arrives; the harness stamps each read of
  // its stdout, so the stamps are arrival times at the client (give or take a pipe).
  std::vector<std::string> argv = {curl_bin,
                                   "-sS",
                                   "-N",
                                   "--max-time",
                                   "20",
                                   p.h2_downstream ? "--http2-prior-knowledge" : "--http1.1",
                                   "-H",
                                   "content-type: application/json",
                                   "--data",
                                   chat_body(kTokens, true),
                                   gw.url("/v1/chat/completions")};
  const auto start = Clock::now();
  Process client(argv);
  auto code = client.wait_exit(scaled(15000));
  ASSERT_TRUE(code) << "curl did not finish";
  ASSERT_EQ(*code, 0) << client.describe();

  const auto chunks = client.out_chunks();
  std::optional<Clock::time_point> first_event, done;
  int chunks_with_events = 0;
  for (const auto& c : chunks) {
    if (c.bytes.find("data: {") != std::string::npos) {
      ++chunks_with_events;
      if (!first_event) first_event = c.at;
    }
    if (c.bytes.find("data: [DONE]") != std::string::npos) done = c.at;
  }
  ASSERT_TRUE(first_event && done) << client.out();
  const std::string all = client.out();
  size_t events = 0;
  for (size_t at = all.find("data: {"); at != std::string::npos; at = all.find("data: {", at + 1)) ++events;
  EXPECT_EQ(events, static_cast<size_t>(kTokens)) << all;

  // The model server spaces the tokens kItlMs apart, so the last one leaves about
  // (kTokens - 1) * kItlMs after the first. A gateway that buffered the response would
  // deliver the first event together with the last.
  const auto total = *done - start;
  const auto first = *first_event - start;
  EXPECT_LT(first, total - milliseconds(kItlMs))
      << "first event after " << std::chrono::duration_cast<milliseconds>(first).count() << " ms of "
      << std::chrono::duration_cast<milliseconds>(total).count() << " ms";
  EXPECT_GE(chunks_with_events, 3) << "events arrived in too few pieces";
}

INSTANTIATE_TEST_SUITE_P(Paths, Sse, ::testing::ValuesIn(kPaths), [](const auto& info) {
  return std::string(info.param.name);
});

class UpstreamDies : public ::testing::TestWithParam<Path> {};

TEST_P(UpstreamDies, MidStreamTruncatesTheResponse) {
  const Path& p = GetParam();
  Modelsim sim({"--itl-ms", "50"});
  Gateway gw(one_upstream(sim, p.h2c_upstream));
  const std::string body = chat_body(20, true);
  // The model server sends two events, then drops the stream (h1: closes the
  // connection; h2: RST_STREAM).
  const Headers hooks = {{"x-modelsim-abort-after", "2"}, {"content-type", "application/json"}};

  RawSocket s(gw.port());
  if (!p.h2_downstream) {
    std::string req = "POST /v1/chat/completions HTTP/1.1\r\nHost: e2e\r\nContent-Length: " +
                      std::to_string(body.size()) + "\r\n";
    for (const auto& [k, v] : hooks) req += k + ": " + v + "\r\n";
    ASSERT_TRUE(s.send(req + "\r\n" + body));
    EXPECT_TRUE(s.read_until_closed(scaled(10000))) << "connection left open after the upstream died";
    auto r = parse_http_response(s.received(), true);
    ASSERT_TRUE(r) << s.received();
    EXPECT_EQ(r->status, 200);
    EXPECT_TRUE(r->chunked);
    EXPECT_FALSE(r->complete) << "the truncated response ended like a whole one: " << s.received();
    EXPECT_NE(r->body.find("data: {"), std::string::npos) << "events before the failure were lost";
    EXPECT_EQ(r->body.find("[DONE]"), std::string::npos);
  } else {
    ASSERT_TRUE(s.send(h2::client_preface()));
    ASSERT_TRUE(s.send(h2::request_headers(1, "POST", "/v1/chat/completions", hooks, /*end_stream=*/false)));
    ASSERT_TRUE(s.send(h2::frame(h2::kData, h2::kEndStream, 1, body)));
    const auto until = Clock::now() + scaled(10000);
    const h2::Frame* reset = nullptr;
    std::vector<h2::Frame> frames;
    while (!reset && !s.closed() && Clock::now() < until) {
      s.read_some(65536, milliseconds(100));
      frames = h2::parse_frames(s.received());
      for (const auto& f : frames)
        if (f.type == h2::kRstStream && f.stream == 1) reset = &f;
    }
    ASSERT_NE(reset, nullptr) << "no RST_STREAM for the broken stream (" << frames.size() << " frames)";
    EXPECT_NE(h2::error_code(*reset), 0u);
    bool saw_headers = false, saw_data = false, ended = false;
    for (const auto& f : frames) {
      if (f.stream != 1) continue;
      saw_headers = saw_headers || f.type == h2::kHeaders;
      saw_data = saw_data || (f.type == h2::kData && !f.payload.empty());
      ended = ended || ((f.type == h2::kData || f.type == h2::kHeaders) && (f.flags & h2::kEndStream));
    }
    EXPECT_TRUE(saw_headers);
    EXPECT_TRUE(saw_data) << "events before the failure were lost";
    EXPECT_FALSE(ended) << "the truncated response ended like a whole one";
    EXPECT_FALSE(s.closed()) << "one broken stream must not take the connection down";
  }

  // The upstream failure was counted, and the access log says why.
  const auto until = Clock::now() + scaled(3000);
  double failures = 0;
  while (Clock::now() < until) {
    failures = gw.stat_sum(".upstream_rq_rx_reset") + gw.stat_sum(".upstream_cx_destroy_remote_with_active_rq");
    if (failures >= 1) break;
    std::this_thread::sleep_for(milliseconds(20));
  }
  EXPECT_GE(failures, 1);
  ASSERT_TRUE(gw.wait_log("/v1/chat/completions", scaled(5000)));
  const std::string line = gw.log_line("/v1/chat/completions");
  EXPECT_TRUE(line.find(" 200 UC ") != std::string::npos || line.find(" 200 UR ") != std::string::npos) << line;

  // The next request is fine.
  EXPECT_EQ(http_request(gw.port(), "GET", "/v1/models").status, 200);
}

INSTANTIATE_TEST_SUITE_P(Paths, UpstreamDies, ::testing::ValuesIn(kPaths), [](const auto& info) {
  return std::string(info.param.name);
});

TEST(Streaming, UpstreamClosingBeforeHeadersIs503) {
  Modelsim sim;
  Gateway gw(one_upstream(sim));
  // Non-streaming with an abort hook: the model server closes before any byte.
  HttpResponse r = http_request(gw.port(), "POST", "/v1/chat/completions",
                                {{"x-modelsim-abort-after", "1"}, {"content-type", "application/json"}},
                                chat_body(5, false));
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body.rfind("upstream connect error or disconnect/reset before headers", 0), 0u) << r.body;
  ASSERT_TRUE(gw.wait_log("/v1/chat/completions", scaled(5000)));
  EXPECT_NE(gw.log_line("/v1/chat/completions").find(" 503 UC"), std::string::npos)
      << gw.log_line("/v1/chat/completions");
}

}  // namespace
}  // namespace infergate::e2e
