// Per-version metrics seen the way the seeds' users see them: traffic through the real
// gateway to two model-server versions, a real Prometheus scraping the admin port with our
// recording rules loaded, PromQL answers compared with what the test sent; plus the shipped
// rules and Grafana dashboard, checked by promtool and by running every panel's query.
#include <fstream>
#include <sstream>

#include "tests/e2e/canary_util.h"
#include "tests/e2e/prometheus.h"
#include "tests/e2e/e2e_test.h"

namespace infergate::e2e {
namespace {

// Two InferenceModels make "food-review" a name for sim-model on both pools: its requests
// are forwarded as adapter sim-model.
std::string food_review_models() {
  std::string y;
  for (const char* pool : {"pool-v1", "pool-v2"}) {
    y += std::string("apiVersion: inference.networking.x-k8s.io/v1alpha2\nkind: InferenceModel\nmetadata: {name: food-") +
         pool + "}\nspec:\n  modelName: food-review\n  poolRef: {name: " + pool +
         "}\n  targetModels: [{name: sim-model, weight: 100}]\n---\n";
  }
  y.resize(y.size() - 4);
  return y;
}

struct Sent {
  std::map<std::string, int> ok, errors;  // by version
};

// Traffic of every kind the metrics distinguish; counts what each version answered.
Sent send_mix(uint16_t port) {
  Sent sent;
  auto send = [&](const std::string& body, const Headers& h = {}) {
    HttpResponse r = http_request(port, "POST", "/v1/chat/completions", h, body);
    const std::string version = r.header("x-modelsim-instance");
    if (r.status == 200) ++sent.ok[version];
    else if (r.status >= 500) ++sent.errors[version];
    return r;
  };
  for (int i = 0; i < 40; ++i) send(chat_body(8, false));
  const std::string streamed = R"({"model":"sim-model","stream":true,"stream_options":{"include_usage":true},)"
                               R"("messages":[{"role":"user","content":"stream please"}],"max_tokens":8})";
  for (int i = 0; i < 16; ++i) send(streamed);
  for (int i = 0; i < 8; ++i)
    send(R"({"model":"food-review","messages":[{"role":"user","content":"rate this"}],"max_tokens":8})");
  for (int i = 0; i < 12; ++i) send(chat_body(8, false), {{"x-modelsim-status", "503"}});
  return sent;
}

TEST(Observability, PrometheusSeesPerVersionRequestsErrorsAndLatency) {
  E2E_REQUIRE_TOOL(prometheus_bin, "prometheus");
  // v2 is the slow canary: 150 ms to its first token against 5 ms.
  Modelsim v1({"--name", "v1", "--ttft-ms", "5", "--itl-ms", "1"});
  Modelsim v2({"--name", "v2", "--ttft-ms", "150", "--itl-ms", "1"});
  Gateway gw([&](uint16_t port, uint16_t admin) {
    return two_version_config(port, admin, v1.port(), v2.port(), 50, 50, 2, food_review_models());
  });
  Sent sent = send_mix(gw.port());
  ASSERT_GT(sent.ok.count("v1"), 0u);
  ASSERT_GT(sent.ok.count("v2"), 0u);
  ASSERT_GT(sent.errors["v1"] + sent.errors["v2"], 0);

  // What the gateway itself exposes, before Prometheus: tokens from usage, adapters, models.
  const std::string text = gw.admin("GET", "/stats/prometheus").body;
  const int ok_total = sent.ok.at("v1") + sent.ok.at("v2");
  auto sample = [&](const std::string& series) {
    const size_t at = text.find(series + " ");
    return at == std::string::npos ? -1.0 : std::stod(text.substr(at + series.size() + 1));
  };
  double output_tokens = 0;
  for (const char* v : {"v1", "v2"})
    for (const char* model : {"sim-model", "food-review"}) {
      const std::string adapter = std::string(model) == "food-review" ? "sim-model" : "";
      const double n = sample(std::string("infergate_version_output_tokens_total{adapter=\"") + adapter +
                              "\",backend=\"pool-" + v + "\",model=\"" + model +
                              "\",route=\"default/canary\",version=\"" + v + "\"}");
      ASSERT_GE(n, 0) << v << " " << model << "\n" << text.substr(0, 4000);
      output_tokens += n;
    }
  EXPECT_EQ(output_tokens, 8.0 * ok_total) << "every 200 answer reports 8 completion tokens";
  for (const char* v : {"v1", "v2"})
    EXPECT_EQ(sample(std::string("infergate_version_requests_total{adapter=\"\",backend=\"pool-") + v +
                     "\",model=\"food-review\",response_code_class=\"2xx\",route=\"default/canary\",version=\"" + v + "\"}"),
              0)
        << "food-review is always forwarded as an adapter";
  EXPECT_NE(text.find("inference_objective_request_total{model_name=\"food-review\",target_model_name=\"sim-model\"} 8"),
            std::string::npos);

  Prometheus prom(prometheus_bin, gw.admin_port());
  // 200 answers carry the instance that served them, so those compare exactly per version.
  // Injected 503s may also come from the gateway itself (five in a row eject the endpoint:
  // outlier detection answers 503 UH), so errors compare in total.
  const std::string per_version =
      "sum by (version) (infergate_version_requests_total{route=\"default/canary\",response_code_class=\"2xx\"})";
  const bool seen = prom.wait_for(
      per_version, "version",
      [&](const std::map<std::string, double>& got) {
        return got.size() == 2 && got.count("v1") && got.count("v2") && got.at("v1") == sent.ok.at("v1") &&
               got.at("v2") == sent.ok.at("v2");
      },
      scaled(20000));
  ASSERT_TRUE(seen) << "Prometheus: " << nlohmann::json(prom.by(per_version, "version")).dump() << " sent ok "
                    << nlohmann::json(sent.ok).dump() << " " << prom.last_error() << "\n" << prom.describe();
  int errors_sent = 0;
  for (const auto& [v, n] : sent.errors) errors_sent += n;
  auto errors = prom.by("sum by (version) (infergate_version_requests_total{response_code_class=\"5xx\"})", "version");
  EXPECT_EQ(errors["v1"] + errors["v2"], errors_sent) << nlohmann::json(errors).dump();
  for (const char* v : {"v1", "v2"}) EXPECT_GE(errors[v], sent.errors[v]) << v;
  auto objective = prom.by("sum by (model_name) (inference_objective_request_total)", "model_name");
  EXPECT_EQ(objective["food-review"], 8);

  // Quantiles from the cumulative buckets: the slow version's TTFT is where modelsim put it.
  auto ttft = prom.by(
      "histogram_quantile(0.5, sum by (le, version) "
      "(infergate_version_time_to_first_token_seconds_bucket))",
      "version");
  ASSERT_EQ(ttft.size(), 2u) << prom.last_error();
  EXPECT_LT(ttft["v1"], 0.1);
  EXPECT_GT(ttft["v2"], 0.1);
  EXPECT_LT(ttft["v2"], 0.4);
  auto p99 = prom.by("histogram_quantile(0.99, sum by (le, version) (infergate_version_request_duration_seconds_bucket))",
                     "version");
  EXPECT_GT(p99["v2"], p99["v1"]);

  // The recording rules evaluate on these series (rates need two scrapes: wait for them).
  const bool rules = prom.wait_for(
      "infergate:version_request_duration_seconds:p99_1m", "version",
      [](const std::map<std::string, double>& got) { return got.size() == 2; }, scaled(15000));
  EXPECT_TRUE(rules) << prom.last_error();
  EXPECT_TRUE(prom.wait_for(
      "infergate:version_traffic_share:rate1m", "version",
      [](const std::map<std::string, double>& got) { return got.size() == 2; }, scaled(10000)))
      << prom.last_error();

  // Every query of the shipped dashboard runs, and all but the response-flag panel (these
  // requests carry no Envoy flag) return series.
  auto dashboard = nlohmann::json::parse(read_file(source_path("docker/grafana/infergate-versions.json")));
  size_t checked = 0;
  for (const auto& panel : dashboard["panels"]) {
    for (const auto& target : panel["targets"]) {
      std::string expr = target["expr"].get<std::string>();
      for (auto [from, to] : {std::pair<std::string, std::string>{"$route", ".*"}, {"$version", ".*"},
                              {"$__rate_interval", "1m"}}) {
        for (size_t at; (at = expr.find(from)) != std::string::npos;) expr.replace(at, from.size(), to);
      }
      nlohmann::json result = prom.query(expr);
      ASSERT_TRUE(result.is_array()) << panel["title"] << ": " << expr << "\n" << prom.last_error();
      if (panel["title"].get<std::string>().find("response flag") == std::string::npos) {
        EXPECT_FALSE(result.empty()) << panel["title"] << ": " << expr;
      }
      ++checked;
    }
  }
  EXPECT_GE(checked, 10u);
}

// The pool's model server as the scraper sees it: its queue in /pools and in the Inference
// Extension's pool gauges while requests wait, back to 0 after, stale once it is gone.
TEST(Observability, PoolsShowScrapedSignalsAndPoolGaugesAverageThem) {
  // One sequence at a time, ~0.6 s each: of four concurrent requests three wait.
  Modelsim sim({"--max-num-seqs", "1", "--itl-ms", "15", "--output-tokens", "40"});
  Gateway gw(one_upstream(sim));
  auto pool_endpoint = [&] {
    auto j = nlohmann::json::parse(gw.admin("GET", "/pools").body, nullptr, false);
    if (!j.is_object() || j["pools"].size() != 1 || j["pools"][0]["endpoints"].size() != 1) return nlohmann::json();
    return j["pools"][0]["endpoints"][0];
  };
  auto gauge = [&](const std::string& series) {
    const std::string text = gw.admin("GET", "/stats/prometheus").body;
    const size_t at = text.find(series + " ");
    return at == std::string::npos ? -1.0 : std::stod(text.substr(at + series.size() + 1));
  };
  auto wait_until = [](auto done, milliseconds timeout) {
    for (const auto until = Clock::now() + timeout; Clock::now() < until; std::this_thread::sleep_for(milliseconds(20)))
      if (done()) return true;
    return false;
  };
  ASSERT_TRUE(wait_until([&] { return pool_endpoint().value("stale", true) == false; }, scaled(3000)))
      << pool_endpoint().dump();
  EXPECT_EQ(gauge("inference_pool_ready_pods{name=\"pool\"}"), 1);

  std::vector<std::thread> clients;
  std::atomic<int> ok{0};
  for (int i = 0; i < 4; ++i)
    clients.emplace_back([&] {
      if (http_request(gw.port(), "POST", "/v1/chat/completions", {}, chat_body(40, false), scaled(20000)).status == 200)
        ++ok;
    });
  double max_queue = 0, max_gauge = 0;
  wait_until(
      [&] {
        auto e = pool_endpoint();
        if (!e.is_null() && !e.value("stale", true)) max_queue = std::max(max_queue, e.value("queue_size", 0.0));
        max_gauge = std::max(max_gauge, gauge("inference_pool_average_queue_size{name=\"pool\"}"));
        return max_queue >= 2 && max_gauge >= 2;
      },
      scaled(3000));
  for (auto& c : clients) c.join();
  EXPECT_EQ(ok.load(), 4);
  // The access log (stdout here) writes in batches and counts what it wrote.
  EXPECT_TRUE(gw.wait_stat_at_least("access_log.written", 4, scaled(3000)));
  EXPECT_EQ(gw.stat("access_log.dropped"), 0);
  EXPECT_GE(max_queue, 2) << "three requests waited in the model server's queue";
  EXPECT_GE(max_gauge, 2);
  EXPECT_TRUE(wait_until([&] { return gauge("inference_pool_average_queue_size{name=\"pool\"}") == 0; }, scaled(2000)));

  // The model server goes away: its data ages, the scrape errors show, and once three
  // connections in a row were refused it is not ready.
  sim.process().kill_now();
  ASSERT_TRUE(wait_until([&] { return pool_endpoint().value("stale", false); }, scaled(3000)));
  const auto gone = pool_endpoint();
  EXPECT_GT(gone.value("scrape_failures", 0), 0) << gone.dump();
  EXPECT_NE(gone.value("last_error", ""), "") << gone.dump();
  EXPECT_GT(gw.stat("infergate.model_server.scrape_failure"), 0);
  EXPECT_TRUE(wait_until([&] { return gauge("inference_pool_ready_pods{name=\"pool\"}") == 0; }, scaled(3000)));
  EXPECT_EQ(pool_endpoint().value("health_flags", ""), "/failed_active_hc");
}

TEST(Observability, ShippedRulesPassPromtool) {
  E2E_REQUIRE_TOOL(promtool_bin, "promtool");
  CommandResult rules =
      run_command({promtool_bin, "check", "rules", source_path("docker/prometheus/infergate-rules.yml")});
  EXPECT_EQ(rules.exit_code, 0) << rules.out << rules.err;
  EXPECT_NE(rules.out.find("SUCCESS"), std::string::npos) << rules.out;
  CommandResult config =
      run_command({promtool_bin, "check", "config", source_path("docker/prometheus/prometheus.yml")});
  EXPECT_EQ(config.exit_code, 0) << config.out << config.err;
}

}  // namespace
}  // namespace infergate::e2e
