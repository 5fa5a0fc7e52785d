// Protocols on both sides: HTTP/1.1 and h2c (prior knowledge) downstream on one port,
// HTTP/1.1 and h2c upstream, keep-alive, chunked request bodies, 100-continue and
// pipelining.
#include <fstream>
#include <future>

#include "tests/e2e/e2e_test.h"

namespace infergate::e2e {
namespace {

TEST(Protocols, Http1AndH2cPriorKnowledgeOnOnePort) {
  E2E_REQUIRE_TOOL(curl_bin, "curl");
  Modelsim sim;
  Gateway gw(one_upstream(sim));

  CommandResult h1 = curl(curl_bin, {"-i", "--http1.1", gw.url("/v1/models")});
  ASSERT_EQ(h1.exit_code, 0) << h1.err;
  EXPECT_EQ(h1.out.rfind("HTTP/1.1 200", 0), 0u) << h1.out;
  EXPECT_NE(h1.out.find("\"sim-model\""), std::string::npos) << h1.out;

  CommandResult h2 = curl(curl_bin, {"-i", "--http2-prior-knowledge", gw.url("/v1/models")});
  ASSERT_EQ(h2.exit_code, 0) << h2.err;
  EXPECT_EQ(h2.out.rfind("HTTP/2 200", 0), 0u) << h2.out;
  EXPECT_NE(h2.out.find("\"sim-model\""), std::string::npos) << h2.out;

  EXPECT_EQ(gw.stat("http.ingress_http.downstream_cx_http1_total"), 1);
  EXPECT_EQ(gw.stat("http.ingress_http.downstream_cx_http2_total"), 1);
  EXPECT_EQ(gw.stat("http.ingress_http.downstream_rq_http1_total"), 1);
  EXPECT_EQ(gw.stat("http.ingress_http.downstream_rq_http2_total"), 1);
  EXPECT_TRUE(gw.wait_log("\"GET /v1/models HTTP/2\" 200", scaled(5000))) << gw.process().out();
  EXPECT_TRUE(gw.wait_log("\"GET /v1/models HTTP/1.1\" 200", scaled(5000))) << gw.process().out();
}

TEST(Protocols, H2cUpstreamMultiplexesOneConnection) {
  E2E_REQUIRE_TOOL(curl_bin, "curl");
  Modelsim sim;
  Gateway gw(one_upstream(sim, /*h2c=*/true));

  nlohmann::json dump = nlohmann::json::parse(gw.admin("GET", "/config_dump").body);
  ASSERT_EQ(dump["clusters"].size(), 1u) << dump.dump(2);
  EXPECT_EQ(dump["clusters"][0]["protocol"], "h2c");

  // Five requests at once, each held 300 ms by the model server: over h2c they share
  // the worker's single upstream connection (HTTP/1.1 would need five).
  std::vector<std::future<HttpResponse>> calls;
  for (int i = 0; i < 5; ++i)
    calls.push_back(std::async(std::launch::async, [&gw, i] {
      return http_request(gw.port(), "GET", "/echo?i=" + std::to_string(i), {{"x-modelsim-delay-ms", "300"}});
    }));
  for (int i = 0; i < 5; ++i) {
    HttpResponse r = calls[i].get();
    EXPECT_EQ(r.status, 200) << i;
    EXPECT_NE(r.body.find("\"/echo?i=" + std::to_string(i) + "\""), std::string::npos) << r.body;
  }
  EXPECT_EQ(gw.stat_sum(".upstream_cx_total"), 1);
  EXPECT_EQ(gw.stat_sum(".upstream_rq_2xx"), 5);

  // h2 downstream to h2 upstream, with a streamed completion.
  CommandResult h2 = curl(curl_bin, {"--http2-prior-knowledge", "-H", "content-type: application/json", "--data",
                                     chat_body(4, true), gw.url("/v1/chat/completions")});
  ASSERT_EQ(h2.exit_code, 0) << h2.err;
  EXPECT_NE(h2.out.find("data: [DONE]"), std::string::npos) << h2.out;
}

TEST(Protocols, NghttpMultiplexesStreamsWithBodies) {
  E2E_REQUIRE_TOOL(nghttp_bin, "nghttp");
  Modelsim sim;
  Gateway gw(one_upstream(sim));
  const std::string body = gw.dir().write("chat.json", chat_body(3, false));
  // Eight concurrent streams on one connection, each POSTing a completion request.
  CommandResult r = run_command({nghttp_bin, "-n", "-v", "-m", "8", "-d", body, "-H", "content-type: application/json",
                                 gw.url("/v1/chat/completions")},
                                scaled(20000));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  size_t ok = 0;
  for (size_t at = r.out.find(":status: 200"); at != std::string::npos; at = r.out.find(":status: 200", at + 1)) ++ok;
  EXPECT_EQ(ok, 8u) << r.out;
  EXPECT_EQ(gw.stat("http.ingress_http.downstream_cx_http2_total"), 1);
  EXPECT_EQ(gw.stat("http.ingress_http.downstream_rq_2xx"), 8);
}

class Trailers : public ::testing::TestWithParam<bool> {};

TEST_P(Trailers, ResponseTrailersPassThrough) {
  const bool h2c_upstream = GetParam();
  Modelsim sim;
  Gateway gw(one_upstream(sim, h2c_upstream));
  const std::string body = chat_body(3, false);

  // HTTP/1.1 client: the trailer arrives after the last chunk.
  RawSocket s(gw.port());
  ASSERT_TRUE(s.send("POST /v1/chat/completions HTTP/1.1\r\nHost: e2e\r\nTE: trailers\r\nx-modelsim-trailers: 1\r\n"
                     "Content-Type: application/json\r\nConnection: close\r\nContent-Length: " +
                     std::to_string(body.size()) + "\r\n\r\n" + body));
  ASSERT_TRUE(s.read_until_closed(scaled(5000))) << s.received();
  auto r = parse_http_response(s.received(), true);
  ASSERT_TRUE(r && r->complete) << s.received();
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(r->chunked);
  EXPECT_EQ(r->header("x-modelsim-tokens"), "3") << s.received();

  // HTTP/2 client: a trailing HEADERS frame.
  if (std::string nghttp = tool_path("nghttp"); !nghttp.empty()) {
    const std::string file = gw.dir().write("chat.json", body);
    CommandResult n = run_command({nghttp, "-n", "-v", "-d", file, "-H", "x-modelsim-trailers: 1", "-H",
                                   "content-type: application/json", gw.url("/v1/chat/completions")},
                                  scaled(10000));
    ASSERT_EQ(n.exit_code, 0) << n.out << n.err;
    EXPECT_NE(n.out.find("x-modelsim-tokens: 3"), std::string::npos) << n.out;
  }
}

INSTANTIATE_TEST_SUITE_P(Upstreams, Trailers, ::testing::Values(false, true),
                         [](const auto& info) { return std::string(info.param ? "h2c_upstream" : "h1_upstream"); });

TEST(Protocols, Http1UpstreamOpensOneConnectionPerConcurrentRequest) {
  Modelsim sim;
  Gateway gw(one_upstream(sim));
  std::vector<std::future<HttpResponse>> calls;
  for (int i = 0; i < 3; ++i)
    calls.push_back(std::async(std::launch::async, [&gw] {
      return http_request(gw.port(), "GET", "/echo", {{"x-modelsim-delay-ms", "300"}});
    }));
  for (auto& c : calls) EXPECT_EQ(c.get().status, 200);
  EXPECT_EQ(gw.stat_sum(".upstream_cx_total"), 3);
}

TEST(Protocols, KeepAliveReusesBothConnections) {
  Modelsim sim;
  Gateway gw(one_upstream(sim));
  RawSocket s(gw.port());
  for (int i = 0; i < 3; ++i) {
    s.clear();
    ASSERT_TRUE(s.send("GET /echo?n=" + std::to_string(i) + " HTTP/1.1\r\nHost: e2e\r\n\r\n"));
    std::optional<HttpResponse> r;
    const auto until = Clock::now() + scaled(5000);
    while (!(r = parse_http_response(s.received(), false)) && !s.closed() && Clock::now() < until)
      s.read_some(65536, milliseconds(200));
    ASSERT_TRUE(r) << "no response " << i << ": " << s.received();
    EXPECT_EQ(r->status, 200);
    EXPECT_NE(r->body.find("/echo?n=" + std::to_string(i)), std::string::npos) << r->body;
    EXPECT_FALSE(s.closed());
  }
  EXPECT_EQ(gw.stat("http.ingress_http.downstream_cx_total"), 1);
  EXPECT_EQ(gw.stat("http.ingress_http.downstream_rq_total"), 3);
  EXPECT_EQ(gw.stat_sum(".upstream_cx_total"), 1);
  EXPECT_EQ(gw.stat_sum(".upstream_rq_total"), 3);
}

TEST(Protocols, ChunkedRequestBodyIsStreamedUp) {
  Modelsim sim;
  Gateway gw(one_upstream(sim));
  RawSocket s(gw.port());
  ASSERT_TRUE(s.send("POST /upload HTTP/1.1\r\nHost: e2e\r\nTransfer-Encoding: chunked\r\n\r\n"));
  size_t total = 0;
  for (size_t size : {1000u, 1u, 70000u}) {
    std::string chunk(size, 'x');
    char hex[16];
    snprintf(hex, sizeof hex, "%zx", size);
    ASSERT_TRUE(s.send(std::string(hex) + "\r\n" + chunk + "\r\n"));
    total += size;
    std::this_thread::sleep_for(milliseconds(30));
  }
  ASSERT_TRUE(s.send("0\r\n\r\n"));
  ASSERT_TRUE(s.read_until("}", scaled(5000))) << s.received();
  auto r = parse_http_response(s.received(), false);
  ASSERT_TRUE(r) << s.received();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "{\"bytes\":" + std::to_string(total) + "}");
}

TEST(Protocols, ChunkedRequestWithTrailersIsAccepted) {
  Modelsim sim;
  Gateway gw(one_upstream(sim));
  RawSocket s(gw.port());
  ASSERT_TRUE(s.send("POST /upload HTTP/1.1\r\nHost: e2e\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "5\r\nhello\r\n0\r\nx-checksum: 1\r\n\r\n"));
  ASSERT_TRUE(s.read_until("}", scaled(5000))) << s.received();
  auto r = parse_http_response(s.received(), false);
  ASSERT_TRUE(r) << s.received();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "{\"bytes\":5}");
}

TEST(Protocols, ExpectContinueIsAnsweredBeforeTheBody) {
  Modelsim sim;
  Gateway gw(one_upstream(sim));
  RawSocket s(gw.port());
  ASSERT_TRUE(s.send("POST /echo HTTP/1.1\r\nHost: e2e\r\nExpect: 100-continue\r\nContent-Length: 1000\r\n\r\n"));
  // The client waits for the interim response before sending the body.
  ASSERT_TRUE(s.read_until("\r\n\r\n", scaled(5000))) << s.received();
  EXPECT_EQ(s.received().rfind("HTTP/1.1 100 Continue\r\n", 0), 0u) << s.received();
  const size_t interim = s.received().find("\r\n\r\n") + 4;
  ASSERT_TRUE(s.send(std::string(1000, 'b')));
  std::optional<HttpResponse> r;
  const auto until = Clock::now() + scaled(5000);
  while (!(r = parse_http_response(std::string_view(s.received()).substr(interim), false)) && !s.closed() &&
         Clock::now() < until)
    s.read_some(65536, milliseconds(200));
  ASSERT_TRUE(r) << s.received();
  EXPECT_EQ(r->status, 200);
  nlohmann::json echo = nlohmann::json::parse(r->body);
  EXPECT_EQ(echo["body_bytes"], 1000);
  // The gateway answered the expectation itself; it does not forward it.
  EXPECT_FALSE(echo["headers"].contains("expect")) << r->body;
}

TEST(Protocols, CurlUploadWithExpectContinue) {
  E2E_REQUIRE_TOOL(curl_bin, "curl");
  Modelsim sim;
  Gateway gw(one_upstream(sim));
  const std::string file = gw.dir().write("body.bin", std::string(300000, 'z'));
  CommandResult r = curl(curl_bin, {"-v", "--http1.1", "-H", "Expect: 100-continue", "--data-binary", "@" + file,
                                    gw.url("/upload")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("HTTP/1.1 100 Continue"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "{\"bytes\":300000}");
}

TEST(Protocols, PipelinedRequestsAreAnsweredInOrder) {
  Modelsim sim;
  Gateway gw(one_upstream(sim));
  RawSocket s(gw.port());
  // The first one is the slowest: its answer must still come first.
  ASSERT_TRUE(s.send("GET /echo?seq=1 HTTP/1.1\r\nHost: e2e\r\nx-modelsim-delay-ms: 300\r\n\r\n"
                     "POST /echo?seq=2 HTTP/1.1\r\nHost: e2e\r\nContent-Length: 3\r\n\r\nabc"
                     "GET /echo?seq=3 HTTP/1.1\r\nHost: e2e\r\nConnection: close\r\n\r\n"));
  ASSERT_TRUE(s.read_until_closed(scaled(5000))) << s.received();
  std::string_view rest = s.received();
  for (int seq = 1; seq <= 3; ++seq) {
    size_t used = 0;
    auto r = parse_http_response(rest, true, &used);
    ASSERT_TRUE(r && r->complete) << "response " << seq << " of: " << s.received();
    EXPECT_EQ(r->status, 200);
    nlohmann::json echo = nlohmann::json::parse(r->body);
    EXPECT_EQ(echo["path"], "/echo?seq=" + std::to_string(seq));
    if (seq == 2) {
      EXPECT_EQ(echo["body_bytes"], 3);
    }
    rest.remove_prefix(used);
  }
  EXPECT_TRUE(rest.empty()) << rest;
}

TEST(Protocols, Http2RequestBodyIsStreamedUp) {
  E2E_REQUIRE_TOOL(curl_bin, "curl");
  Modelsim sim;
  Gateway gw(one_upstream(sim));
  const std::string file = gw.dir().write("body.bin", std::string(200000, 'q'));
  CommandResult up = curl(curl_bin, {"--http2-prior-knowledge", "--data-binary", "@" + file, gw.url("/upload")});
  ASSERT_EQ(up.exit_code, 0) << up.err;
  EXPECT_EQ(up.out, "{\"bytes\":200000}");
}

}  // namespace
}  // namespace infergate::e2e
