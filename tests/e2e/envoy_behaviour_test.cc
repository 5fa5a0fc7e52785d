// Envoy's connection-manager behaviour that clients and upstreams rely on: request ids,
// forwarding headers, x-envoy-upstream-service-time, hop-by-hop removal, and local
// replies (404 NR, 503 UH/UF, 504 UT) with their access-log response flags.
#include <regex>

#include "tests/e2e/e2e_test.h"

namespace infergate::e2e {
namespace {

// The headers modelsim's /echo saw, as a JSON object.
nlohmann::json echoed_headers(const HttpResponse& r) {
  EXPECT_EQ(r.status, 200) << r.body;
  auto j = nlohmann::json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("headers")) {
    ADD_FAILURE() << "not an echo: " << r.body;
    return nlohmann::json::object();
  }
  return j["headers"];
}

const std::regex kUuid4("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");

TEST(EnvoyBehaviour, RequestIdIsGeneratedWhenAbsentAndKeptWhenPresent) {
  Modelsim sim;
  Gateway gw(one_upstream(sim));

  auto generated = echoed_headers(http_request(gw.port(), "GET", "/echo?id=none"));
  ASSERT_TRUE(generated.contains("x-request-id")) << generated.dump();
  const std::string id = generated["x-request-id"];
  EXPECT_TRUE(std::regex_match(id, kUuid4)) << id;
  auto second = echoed_headers(http_request(gw.port(), "GET", "/echo?id=none2"));
  EXPECT_NE(second["x-request-id"], id) << "request ids repeat";

  auto kept = echoed_headers(http_request(gw.port(), "GET", "/echo?id=given", {{"x-request-id", "client-id-42"}}));
  EXPECT_EQ(kept["x-request-id"], "client-id-42");

  // Both ids are in the access log, with the request they belong to.
  EXPECT_TRUE(gw.wait_log("\"client-id-42\"", scaled(5000))) << gw.process().out();
  EXPECT_NE(gw.log_line("/echo?id=none ").find("\"" + id + "\""), std::string::npos) << gw.process().out();
}

TEST(EnvoyBehaviour, ForwardedHeadersAndUpstreamServiceTime) {
  Modelsim sim;
  Gateway gw(one_upstream(sim));

  HttpResponse r = http_request(gw.port(), "GET", "/echo", {{"x-modelsim-delay-ms", "100"}});
  auto h = echoed_headers(r);
  EXPECT_EQ(h["x-forwarded-for"], "127.0.0.1");
  EXPECT_EQ(h["x-forwarded-proto"], "http");
  // The upstream's own time, in ms: at least the 100 ms the model server waited.
  ASSERT_TRUE(r.has_header("x-envoy-upstream-service-time"));
  EXPECT_GE(std::stoi(r.header("x-envoy-upstream-service-time")), 100);
  EXPECT_EQ(r.header("server"), "infergate");
  EXPECT_FALSE(r.header("date").empty());

  // An existing chain is appended to, never replaced.
  auto chained = echoed_headers(http_request(gw.port(), "GET", "/echo", {{"X-Forwarded-For", "203.0.113.7"}}));
  EXPECT_EQ(chained["x-forwarded-for"], "203.0.113.7, 127.0.0.1");
  // A client cannot claim https on a plain-text listener.
  auto proto = echoed_headers(http_request(gw.port(), "GET", "/echo", {{"X-Forwarded-Proto", "https"}}));
  EXPECT_EQ(proto["x-forwarded-proto"], "http");
}

TEST(EnvoyBehaviour, HopByHopHeadersAreNotForwarded) {
  Modelsim sim;
  Gateway gw(one_upstream(sim));
  auto h = echoed_headers(http_request(gw.port(), "GET", "/echo",
                                       {{"Connection", "x-foo, X-Bar"},
                                        {"X-Foo", "1"},
                                        {"X-Bar", "2"},
                                        {"X-Kept", "3"},
                                        {"Keep-Alive", "timeout=5"},
                                        {"Proxy-Connection", "keep-alive"},
                                        {"TE", "gzip"}}));
  for (const char* name : {"connection", "x-foo", "x-bar", "keep-alive", "proxy-connection", "te", "upgrade",
                           "transfer-encoding"})
    EXPECT_FALSE(h.contains(name)) << name << " was forwarded: " << h.dump();
  EXPECT_EQ(h["x-kept"], "3");

  // "TE: trailers" is the one TE value that goes on.
  auto te = echoed_headers(http_request(gw.port(), "GET", "/echo", {{"TE", "trailers"}}));
  EXPECT_EQ(te["te"], "trailers");
}

TEST(EnvoyBehaviour, NoRouteIs404WithFlagNR) {
  Modelsim sim;
  GatewaySetup setup = one_upstream(sim);
  setup.route_prefix = "/v1";
  Gateway gw(setup);

  HttpResponse r = http_request(gw.port(), "GET", "/not-routed");
  EXPECT_EQ(r.status, 404);
  EXPECT_TRUE(r.body.empty()) << r.body;
  EXPECT_EQ(r.header("content-length"), "0");
  EXPECT_FALSE(r.has_header("x-envoy-upstream-service-time")) << "a local reply has no upstream time";
  EXPECT_EQ(gw.stat("http.ingress_http.no_route"), 1);
  EXPECT_EQ(gw.stat("http.ingress_http.downstream_rq_4xx"), 1);
  ASSERT_TRUE(gw.wait_log("/not-routed", scaled(5000)));
  EXPECT_NE(gw.log_line("/not-routed").find("\" 404 NR "), std::string::npos) << gw.log_line("/not-routed");
}

TEST(EnvoyBehaviour, NoEndpointIs503NoHealthyUpstreamWithFlagUH) {
  Modelsim sim;
  GatewaySetup setup = one_upstream(sim);
  setup.pool_app = "nothing-matches";  // the pool selects no endpoint
  Gateway gw(setup);

  HttpResponse r = http_request(gw.port(), "GET", "/echo");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, "no healthy upstream");
  EXPECT_EQ(gw.stat_sum(".upstream_cx_none_healthy"), 1);
  EXPECT_EQ(gw.stat("http.ingress_http.downstream_rq_5xx"), 1);
  ASSERT_TRUE(gw.wait_log("\"GET /echo HTTP/1.1\"", scaled(5000)));
  EXPECT_NE(gw.log_line("\"GET /echo HTTP/1.1\"").find(" 503 UH "), std::string::npos) << gw.process().out();
}

TEST(EnvoyBehaviour, DeadEndpointsAre503WithFlagUF) {
  // Two endpoints on ports nothing listens on.
  GatewaySetup setup;
  setup.endpoints = {Upstream{"dead-1", free_port()}, Upstream{"dead-2", free_port()}};
  Gateway gw(setup);

  HttpResponse r = http_request(gw.port(), "GET", "/echo");
  EXPECT_EQ(r.status, 503);
  EXPECT_TRUE(r.body == "no healthy upstream" || r.body.rfind("upstream connect error", 0) == 0) << r.body;
  EXPECT_GE(gw.stat_sum(".upstream_cx_connect_fail"), 1);
  ASSERT_TRUE(gw.wait_log("\"GET /echo HTTP/1.1\"", scaled(5000)));
  const std::string line = gw.log_line("\"GET /echo HTTP/1.1\"");
  EXPECT_TRUE(std::regex_search(line, std::regex(" 503 [A-Z,]*(UF|UH)[A-Z,]* "))) << line;
}

TEST(EnvoyBehaviour, RouteTimeoutIs504WithFlagUT) {
  Modelsim sim;
  GatewaySetup setup = one_upstream(sim);
  setup.route_timeout = "300ms";
  Gateway gw(setup);

  const auto start = Clock::now();
  HttpResponse r = http_request(gw.port(), "GET", "/echo", {{"x-modelsim-delay-ms", "5000"}});
  const auto took = Clock::now() - start;
  EXPECT_EQ(r.status, 504);
  EXPECT_EQ(r.body, "upstream request timeout");
  // It did not wait for the model server.
  EXPECT_LT(took, milliseconds(4500));
  EXPECT_EQ(gw.stat_sum(".upstream_rq_timeout"), 1);
  EXPECT_EQ(gw.stat("http.ingress_http.downstream_rq_timeout"), 1);
  ASSERT_TRUE(gw.wait_log("\"GET /echo HTTP/1.1\"", scaled(5000)));
  EXPECT_NE(gw.log_line("\"GET /echo HTTP/1.1\"").find(" 504 UT "), std::string::npos) << gw.process().out();

  // A request within the timeout is unaffected.
  EXPECT_EQ(http_request(gw.port(), "GET", "/echo", {{"x-modelsim-delay-ms", "10"}}).status, 200);
}

TEST(EnvoyBehaviour, PerTryTimeoutRetriesAnotherEndpointThen504) {
  Modelsim a, b;
  GatewaySetup setup;
  setup.endpoints.push_back(Upstream{"sim-a", a.port()});
  setup.endpoints.push_back(Upstream{"sim-b", b.port()});
  setup.route_timeout = "10s";
  setup.backend_timeout = "300ms";
  Gateway gw(setup);

  const auto start = Clock::now();
  HttpResponse r = http_request(gw.port(), "GET", "/echo", {{"x-modelsim-delay-ms", "5000"}});
  const auto took = Clock::now() - start;
  EXPECT_EQ(r.status, 504);
  EXPECT_EQ(r.body, "upstream request timeout");
  // Two attempts of 300 ms each, far below the 10 s request timeout.
  EXPECT_LT(took, milliseconds(4000));
  EXPECT_EQ(gw.stat_sum(".upstream_rq_per_try_timeout"), 2);
  EXPECT_EQ(gw.stat_sum(".upstream_rq_retry"), 1);
  ASSERT_TRUE(gw.wait_log("\"GET /echo HTTP/1.1\"", scaled(5000)));
  const std::string line = gw.log_line("\"GET /echo HTTP/1.1\"");
  EXPECT_TRUE(std::regex_search(line, std::regex(" 504 UT,URX "))) << line;
  // A fast answer is unaffected.
  EXPECT_EQ(http_request(gw.port(), "GET", "/echo", {{"x-modelsim-delay-ms", "10"}}).status, 200);
}

TEST(EnvoyBehaviour, StreamIdleTimeoutIs408WithFlagSI) {
  Modelsim sim;
  GatewaySetup setup = one_upstream(sim);
  setup.gateway_spec_extra = "  timeouts: {streamIdle: 400ms}\n";
  Gateway gw(setup);

  HttpResponse r = http_request(gw.port(), "GET", "/echo", {{"x-modelsim-delay-ms", "5000"}});
  EXPECT_EQ(r.status, 408);
  EXPECT_EQ(r.body, "stream timeout");
  EXPECT_EQ(gw.stat("http.ingress_http.downstream_rq_idle_timeout"), 1);
  ASSERT_TRUE(gw.wait_log("\"GET /echo HTTP/1.1\"", scaled(5000)));
  const std::string line = gw.log_line("\"GET /echo HTTP/1.1\"");
  EXPECT_NE(line.find(" 408 SI "), std::string::npos) << line;
  // A stream that keeps producing tokens more often than the idle timeout lives on.
  Modelsim slow({"--itl-ms", "150"});
  GatewaySetup streaming = one_upstream(slow);
  streaming.gateway_spec_extra = "  timeouts: {streamIdle: 400ms}\n";
  Gateway gw2(streaming);
  HttpResponse s = http_request(gw2.port(), "POST", "/v1/chat/completions", {{"content-type", "application/json"}},
                                chat_body(8, true));
  EXPECT_EQ(s.status, 200);
  EXPECT_NE(s.body.find("[DONE]"), std::string::npos) << s.body;
}

TEST(EnvoyBehaviour, UpstreamErrorStatusIsPassedThroughWithoutFlags) {
  Modelsim sim;
  Gateway gw(one_upstream(sim));
  HttpResponse r = http_request(gw.port(), "GET", "/echo", {{"x-modelsim-status", "503"}});
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("injected status"), std::string::npos) << r.body;
  EXPECT_EQ(gw.stat_sum(".upstream_rq_5xx"), 1);
  ASSERT_TRUE(gw.wait_log("\"GET /echo HTTP/1.1\"", scaled(5000)));
  EXPECT_NE(gw.log_line("\"GET /echo HTTP/1.1\"").find(" 503 - "), std::string::npos) << gw.process().out();
}

TEST(EnvoyBehaviour, AccessLogLineHasEnvoyFormat) {
  Modelsim sim;
  Gateway gw(one_upstream(sim));
  ASSERT_EQ(http_request(gw.port(), "POST", "/upload", {{"User-Agent", "e2e-agent"}, {"x-request-id", "fmt-1"}},
                         std::string(123, 'a'))
                .status,
            200);
  ASSERT_TRUE(gw.wait_log("fmt-1", scaled(5000)));
  const std::string line = gw.log_line("fmt-1");
  // [START] "METHOD PATH PROTOCOL" CODE FLAGS RX TX DURATION UPSTREAM_TIME "XFF" "UA" "ID" "AUTHORITY" "HOST"
  const std::regex envoy(
      R"(\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\] "POST /upload HTTP/1\.1" 200 - 123 \d+ \d+ \d+ "127\.0\.0\.1" "e2e-agent" "fmt-1" "127\.0\.0\.1:\d+" "127\.0\.0\.1:\d+")");
  EXPECT_TRUE(std::regex_match(line, envoy)) << line;
}

}  // namespace
}  // namespace infergate::e2e
