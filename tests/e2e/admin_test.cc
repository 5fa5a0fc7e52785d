// The admin API, Envoy's paths: readiness, server info, stats in Envoy and Prometheus
// form (checked by promtool), config dump, clusters, health-check failing, and JSON
// errors for bad admin requests.
#include "tests/e2e/e2e_test.h"

namespace infergate::e2e {
namespace {

void expect_json_error(const HttpResponse& r, int status, const std::string& what) {
  EXPECT_EQ(r.status, status) << what << ": " << r.body;
  EXPECT_EQ(r.header("content-type"), "application/json") << what;
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  ASSERT_TRUE(j.is_object() && j.contains("error") && j["error"].is_string()) << what << ": " << r.body;
  EXPECT_FALSE(j["error"].get<std::string>().empty()) << what;
}

TEST(Admin, ReadyServerInfoConfigDumpAndClusters) {
  Modelsim sim;
  Gateway gw(one_upstream(sim));
  ASSERT_EQ(http_request(gw.port(), "GET", "/v1/models").status, 200);

  HttpResponse ready = gw.admin("GET", "/ready");
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(ready.body, "LIVE\n");

  HttpResponse info = gw.admin("GET", "/server_info");
  ASSERT_EQ(info.status, 200);
  auto j = nlohmann::json::parse(info.body);
  EXPECT_EQ(j["state"], "LIVE");
  EXPECT_EQ(j["config_version"], 1);
  EXPECT_EQ(j["workers"], 1);
  EXPECT_EQ(j["command_line_options"]["config_path"], gw.config_path());

  HttpResponse dump = gw.admin("GET", "/config_dump");
  ASSERT_EQ(dump.status, 200);
  auto d = nlohmann::json::parse(dump.body);
  EXPECT_EQ(d["version"], 1);
  ASSERT_EQ(d["listeners"].size(), 1u);
  EXPECT_EQ(d["listeners"][0]["port"], gw.port());
  ASSERT_EQ(d["clusters"].size(), 1u);
  const std::string cluster = d["clusters"][0]["name"];
  ASSERT_EQ(d["clusters"][0]["endpoints"].size(), 1u);
  const std::string address = "127.0.0.1:" + std::to_string(sim.port());
  EXPECT_EQ(d["clusters"][0]["endpoints"][0]["address"], address);
  // The request-path safety settings in force (defaults here).
  EXPECT_EQ(d["gateway"]["path_normalization"]["normalization"], "BASE");
  EXPECT_EQ(d["gateway"]["path_normalization"]["path_with_escaped_slashes"], "KEEP_UNCHANGED");
  EXPECT_EQ(d["gateway"]["body_routing"]["max_bytes"], 1024 * 1024);
  EXPECT_TRUE(d["gateway"]["body_routing"]["trusted_model_header_principals"].empty());

  HttpResponse clusters = gw.admin("GET", "/clusters");
  ASSERT_EQ(clusters.status, 200);
  EXPECT_NE(clusters.body.find(cluster + "::" + address + "::rq_total::1"), std::string::npos) << clusters.body;
  EXPECT_NE(clusters.body.find(cluster + "::" + address + "::health_flags::healthy"), std::string::npos)
      << clusters.body;
  HttpResponse cj = gw.admin("GET", "/clusters?format=json");
  ASSERT_EQ(cj.status, 200);
  auto c = nlohmann::json::parse(cj.body);
  EXPECT_EQ(c["cluster_statuses"][0]["host_statuses"][0]["rq_total"], 1);
}

TEST(Admin, StatsAndResetCounters) {
  Modelsim sim;
  Gateway gw(one_upstream(sim));
  for (int i = 0; i < 3; ++i) ASSERT_EQ(http_request(gw.port(), "GET", "/v1/models").status, 200);
  auto s = gw.stats();
  EXPECT_EQ(s["http.ingress_http.downstream_rq_total"], 3);
  EXPECT_EQ(s["http.ingress_http.downstream_rq_2xx"], 3);
  EXPECT_EQ(gw.stat_sum(".upstream_rq_total"), 3);
  EXPECT_EQ(s["infergate.config.version"], 1);

  HttpResponse filtered = gw.admin("GET", "/stats?filter=downstream_rq_2xx");
  ASSERT_EQ(filtered.status, 200);
  EXPECT_EQ(filtered.body, "http.ingress_http.downstream_rq_2xx: 3\n");

  EXPECT_EQ(gw.admin("POST", "/reset_counters").status, 200);
  EXPECT_EQ(gw.stat("http.ingress_http.downstream_rq_total"), 0);
  ASSERT_EQ(http_request(gw.port(), "GET", "/v1/models").status, 200);
  EXPECT_EQ(gw.stat("http.ingress_http.downstream_rq_total"), 1);
}

TEST(Admin, PrometheusTextPassesPromtool) {
  E2E_REQUIRE_TOOL(promtool_bin, "promtool");
  Modelsim sim;
  Gateway gw(one_upstream(sim));
  ASSERT_EQ(http_request(gw.port(), "GET", "/v1/models").status, 200);
  ASSERT_EQ(http_request(gw.port(), "GET", "/not-there", {{"x-modelsim-status", "404"}}).status, 404);

  HttpResponse prom = gw.admin("GET", "/stats/prometheus");
  ASSERT_EQ(prom.status, 200);
  EXPECT_EQ(prom.header("content-type").rfind("text/plain; version=0.0.4", 0), 0u) << prom.header("content-type");
  EXPECT_NE(prom.body.find("# TYPE envoy_http_downstream_rq_total counter"), std::string::npos);
  EXPECT_NE(prom.body.find("envoy_http_downstream_rq_total{envoy_http_conn_manager_prefix=\"ingress_http\"} 2"),
            std::string::npos)
      << prom.body;
  EXPECT_NE(prom.body.find("# TYPE envoy_cluster_upstream_rq_time histogram"), std::string::npos);
  EXPECT_NE(prom.body.find("envoy_cluster_upstream_rq_time_bucket{"), std::string::npos);
  EXPECT_EQ(gw.admin("GET", "/metrics").body.size() > 0, true);

  const std::string file = gw.dir().write("metrics.txt", prom.body);
  ProcessOptions in;
  in.stdin_path = file;
  CommandResult check = run_command({promtool_bin, "check", "metrics"}, scaled(20000), in);
  ASSERT_FALSE(check.timed_out);
  // Exit 1 is a parse error: never acceptable. Exit 3 is lint only; the one lint
  // finding we accept is Envoy's own counter names that do not end in _total
  // (envoy_cluster_upstream_rq_retry and friends), which stay as Envoy names them.
  ASSERT_NE(check.exit_code, 1) << check.out << check.err;
  if (check.exit_code != 0) {
    EXPECT_EQ(check.exit_code, 3) << check.out << check.err;
    const std::string text = check.out + check.err;
    size_t start = 0;
    while (start < text.size()) {
      size_t end = text.find('\n', start);
      if (end == std::string::npos) end = text.size();
      const std::string line = text.substr(start, end - start);
      start = end + 1;
      if (line.empty()) continue;
      EXPECT_TRUE(line.rfind("envoy_", 0) == 0 &&
                  line.find("counter metrics should have \"_total\" suffix") != std::string::npos)
          << "promtool: " << line;
    }
  }
}

TEST(Admin, HealthcheckFailMakesReadyFail) {
  Modelsim sim;
  Gateway gw(one_upstream(sim));
  EXPECT_EQ(gw.admin("POST", "/healthcheck/fail").status, 200);
  HttpResponse ready = gw.admin("GET", "/ready");
  EXPECT_EQ(ready.status, 503);
  EXPECT_EQ(ready.body, "HEALTHCHECK_FAILED\n");
  // Traffic still flows: only the readiness signal changed.
  EXPECT_EQ(http_request(gw.port(), "GET", "/v1/models").status, 200);
  EXPECT_EQ(gw.admin("POST", "/healthcheck/ok").status, 200);
  EXPECT_EQ(gw.admin("GET", "/ready").status, 200);
}

TEST(Admin, BadRequestsGetJsonErrors) {
  Modelsim sim;
  Gateway gw(one_upstream(sim));
  expect_json_error(gw.admin("GET", "/no/such/endpoint"), 404, "unknown path");
  expect_json_error(gw.admin("GET", "/healthcheck/fail"), 405, "GET on a POST-only path");
  expect_json_error(gw.admin("POST", "/ready"), 405, "POST on a GET-only path");
  expect_json_error(gw.admin("GET", "/stats?filter=(unclosed"), 400, "bad filter regex");
  expect_json_error(gw.admin("GET", "/stats?format=xml"), 400, "unknown stats format");
  expect_json_error(gw.admin("POST", "/logging?level=loud"), 400, "unknown log level");
  expect_json_error(gw.admin("POST", "/logging"), 400, "logging without a level");

  // Not HTTP at all.
  RawSocket s(gw.admin_port());
  ASSERT_TRUE(s.send("THIS IS NOT HTTP\r\n\r\n"));
  EXPECT_TRUE(s.read_until_closed(scaled(5000)));
  auto r = parse_http_response(s.received(), true);
  ASSERT_TRUE(r) << s.received();
  expect_json_error(*r, 400, "garbage request");

  // Nothing of that changed the serving state.
  EXPECT_EQ(gw.admin("GET", "/ready").status, 200);
  EXPECT_EQ(gw.admin("GET", "/help").status, 200);
}

// The canary console without a browser (tests/browser drives it in chromium): the page and its
// files from the binary with their Content-Security-Policy, the admin home linking to it for a
// browser, and GET /versions filling with the routed requests.
TEST(Admin, ConsolePageAndVersionsFigures) {
  Modelsim sim;
  Gateway gw(one_upstream(sim));
  for (int i = 0; i < 20; ++i) ASSERT_EQ(http_request(gw.port(), "GET", "/v1/models").status, 200);

  HttpResponse page = gw.admin("GET", "/console");
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(page.header("content-type"), "text/html; charset=utf-8");
  EXPECT_NE(page.body.find("/console/console.js"), std::string::npos);
  EXPECT_NE(page.header("content-security-policy").find("default-src 'self'"), std::string::npos);
  for (const char* file : {"/console/console.js", "/console/console.css", "/console/index.html"})
    EXPECT_EQ(gw.admin("GET", file).status, 200) << file;
  EXPECT_EQ(gw.admin("GET", "/console/console.js").header("content-type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(gw.admin("GET", "/console/nothing.js").status, 404);

  // "/" for a browser: links, the console first; for curl: the text list, which names it too.
  HttpResponse home = gw.admin("GET", "/", {}, {{"Accept", "text/html,application/xhtml+xml"}});
  EXPECT_EQ(home.header("content-type"), "text/html; charset=utf-8");
  EXPECT_NE(home.body.find("<a href=\"/console\">"), std::string::npos) << home.body;
  EXPECT_NE(gw.admin("GET", "/").body.find("/console (GET)"), std::string::npos);

  // The sampler reads the per-version series once a second.
  nlohmann::json v;
  for (int i = 0; i < 50; ++i) {
    v = nlohmann::json::parse(gw.admin("GET", "/versions").body);
    if (!v["versions"].empty() && v["versions"][0]["requests_total"].get<int>() >= 20 &&
        v["versions"][0]["points"]["t"].size() >= 2)
      break;
    std::this_thread::sleep_for(scaled(100));
  }
  ASSERT_EQ(v["versions"].size(), 1u) << v.dump();
  EXPECT_EQ(v["versions"][0]["requests_total"], 20);
  EXPECT_EQ(v["interval_ms"], 1000);
  EXPECT_TRUE(v["versions"][0]["points"].contains("ttft_p90_seconds"));
  const int64_t now = v["now_ms"];
  EXPECT_TRUE(nlohmann::json::parse(gw.admin("GET", "/versions?since=" + std::to_string(now)).body)["versions"][0]["points"]["t"].empty());
  expect_json_error(gw.admin("GET", "/versions?since=yesterday"), 400, "since not a number");
}

}  // namespace
}  // namespace infergate::e2e
