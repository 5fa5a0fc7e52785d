// Flow control through the real gateway and a real model server (modelsim): while the pool's
// only server is busy (GatewayConfig flowControl maxConcurrencyPerEndpoint: 1, so saturation
// does not hang on scrape timing), requests wait in the gateway and go on one at a time as it
// frees: strictly by priority band, round-robin between fairness ids; a band's TTL answers
// 503, a full pool evicts the newest sheddable request, a client that leaves is gone from the
// queue at once, and the queue drains when the server frees.
#include <nlohmann/json.hpp>

#include <atomic>
#include <mutex>
#include <thread>

#include "tests/e2e/e2e_test.h"

namespace infergate::e2e {
namespace {

// "<prefix><n>" (built by appending: GCC 12 warns falsely on "lit" + std::string).
std::string named(const char* prefix, int n) {
  std::string s(prefix);
  s += std::to_string(n);
  return s;
}

// Objectives of the pool: their priorities are the bands.
const char* kObjectives =
    "apiVersion: inference.networking.x-k8s.io/v1alpha2\nkind: InferenceObjective\nmetadata: {name: high}\n"
    "spec:\n  priority: 10\n  poolRef: {name: pool}\n---\n"
    "apiVersion: inference.networking.x-k8s.io/v1alpha2\nkind: InferenceObjective\nmetadata: {name: standard}\n"
    "spec:\n  priority: 0\n  poolRef: {name: pool}\n---\n"
    "apiVersion: inference.networking.x-k8s.io/v1alpha2\nkind: InferenceObjective\nmetadata: {name: batch}\n"
    "spec:\n  priority: -1\n  poolRef: {name: pool}\n";

struct FlowEnv {
  Modelsim sim;
  std::unique_ptr<Gateway> gw;

  // One server, ~15 ms per token; `flow` is the flowControl mapping's inside.
  explicit FlowEnv(const std::string& flow, unsigned workers = 2)
      : sim({"--name", "sim-0", "--max-num-seqs", "1", "--ttft-ms", "5", "--itl-ms", "15", "--output-tokens", "200"}) {
    GatewaySetup s;
    s.workers = workers;
    s.endpoints.push_back(Upstream{"sim-0", sim.port()});
    s.gateway_spec_extra = "  flowControl:\n    maxConcurrencyPerEndpoint: 1\n" + flow;
    s.extra_documents = kObjectives;
    gw = std::make_unique<Gateway>(s);
  }

  nlohmann::json flow_json() {
    auto j = nlohmann::json::parse(gw->admin("GET", "/pools").body, nullptr, false);
    if (!j.is_object() || j["pools"].size() != 1) return nullptr;
    return j["pools"][0]["flow_control"];
  }
  size_t queued() {
    const auto f = flow_json();
    return f.is_object() ? f.value("queued", size_t{0}) : 0;
  }
  bool wait_queued(size_t n) { return wait_until([&] { return queued() == n; }, scaled(5000)); }
  // The server runs a request and nothing is in transit: the next arrival waits.
  bool wait_busy() {
    return wait_until(
        [&] {
          auto j = nlohmann::json::parse(gw->admin("GET", "/pools").body, nullptr, false);
          if (!j.is_object() || j["pools"].size() != 1) return false;
          const auto& p = j["pools"][0];
          return p["endpoints"][0].value("rq_active", 0) == 1 && p["flow_control"].value("in_transit", -1) == 0;
        },
        scaled(3000));
  }

  // The value of one Prometheus series of `family` that has every label in `labels`.
  double metric(const std::string& family, const std::vector<std::string>& labels) {
    const std::string text = gw->admin("GET", "/stats/prometheus").body;
    size_t at = 0;
    while ((at = text.find(family + "{", at)) != std::string::npos) {
      const size_t end = text.find('\n', at);
      const std::string line = text.substr(at, end - at);
      at = end;
      bool all = true;
      for (const auto& l : labels) all = all && line.find(l) != std::string::npos;
      if (all) return std::stod(line.substr(line.rfind(' ') + 1));
    }
    return -1;
  }
};

// Requests sent from their own threads; completion order is recorded (one server that runs
// one request at a time: the order they were let through).
struct Senders {
  std::mutex mu;
  std::vector<std::string> done;
  std::map<std::string, HttpResponse> responses;
  std::vector<std::thread> threads;

  void send(uint16_t port, const std::string& name, Headers headers, unsigned max_tokens = 2,
            milliseconds timeout = scaled(30000)) {
    threads.emplace_back([=, this] {
      HttpResponse r = http_request(port, "POST", "/v1/chat/completions", headers, chat_body(max_tokens, false), timeout);
      std::lock_guard lock(mu);
      done.push_back(name);
      responses[name] = std::move(r);
    });
  }
  void join() {
    for (auto& t : threads) t.join();
    threads.clear();
  }
  ~Senders() { join(); }
};

TEST(FlowControl, DispatchIsStrictlyByPriorityBand) {
  FlowEnv env("");
  Senders s;
  // The server busy for ~0.6 s: every request after it waits in the gateway.
  s.send(env.gw->port(), "busy", {}, 40);
  ASSERT_TRUE(env.wait_busy());
  const std::vector<std::pair<std::string, std::string>> arrivals = {
      {"batch-0", "batch"}, {"standard-0", "standard"}, {"high-0", "high"},
      {"batch-1", "batch"}, {"high-1", "high"},         {"standard-1", "standard"}};
  for (size_t i = 0; i < arrivals.size(); ++i) {
    s.send(env.gw->port(), arrivals[i].first, {{"x-gateway-inference-objective", arrivals[i].second}});
    ASSERT_TRUE(env.wait_queued(i + 1)) << env.flow_json().dump();
  }
  const auto bands = env.flow_json()["bands"];
  ASSERT_EQ(bands.size(), 3u) << bands.dump();
  EXPECT_EQ(bands[0]["priority"], 10);  // highest first
  EXPECT_EQ(env.metric("inference_extension_flow_control_queue_size", {"priority=\"10\""}), 2);
  s.join();
  const std::vector<std::string> expected = {"busy",       "high-0",  "high-1", "standard-0",
                                             "standard-1", "batch-0", "batch-1"};
  EXPECT_EQ(s.done, expected);
  for (const auto& [name, r] : s.responses) EXPECT_EQ(r.status, 200) << name << ": " << r.body;
  EXPECT_EQ(env.queued(), 0u);
  EXPECT_EQ(env.metric("infergate_flow_control_requests_total", {"outcome=\"dispatched\"", "priority=\"10\""}), 2);
  EXPECT_EQ(env.metric("infergate_flow_control_requests_total", {"outcome=\"dispatched\"", "priority=\"-1\""}), 2);
  EXPECT_EQ(env.metric("inference_extension_flow_control_queue_size", {"priority=\"10\""}), 0);
  EXPECT_GT(env.metric("inference_extension_flow_control_request_queue_duration_seconds_count",
                       {"outcome=\"dispatched\"", "priority=\"-1\""}),
            0);
}

TEST(FlowControl, TwoFlowsAtTenToOneAlternate) {
  FlowEnv env("");
  Senders s;
  s.send(env.gw->port(), "busy", {}, 40);
  ASSERT_TRUE(env.wait_busy());
  // Tenant a offers 10 requests, then tenant b 1, ... (10:1 over the burst: a's ten arrive first).
  size_t n = 0;
  for (int i = 0; i < 10; ++i) {
    s.send(env.gw->port(), named("a", i), {{"x-gateway-inference-fairness-id", "tenant-a"}});
    ASSERT_TRUE(env.wait_queued(++n));
  }
  s.send(env.gw->port(), "b0", {{"x-gateway-inference-fairness-id", "tenant-b"}});
  ASSERT_TRUE(env.wait_queued(++n));
  s.send(env.gw->port(), "b1", {{"x-gateway-inference-fairness-id", "tenant-b"}});
  ASSERT_TRUE(env.wait_queued(++n));
  EXPECT_EQ(env.flow_json()["bands"][0]["flows"], 2);
  s.join();
  // Round-robin between the flows: b does not wait behind a's whole burst.
  const std::vector<std::string> expected = {"busy", "a0", "b0", "a1", "b1", "a2", "a3",
                                             "a4",   "a5", "a6", "a7", "a8", "a9"};
  EXPECT_EQ(s.done, expected);
}

TEST(FlowControl, BandTtlAnswers503AndTheQueueDrainsWhenTheServerFrees) {
  FlowEnv env("    bands:\n    - {priority: -1, ttl: 300ms}\n");
  Senders s;
  s.send(env.gw->port(), "busy", {}, 60);  // ~0.9 s
  ASSERT_TRUE(env.wait_busy());
  s.send(env.gw->port(), "batch", {{"x-gateway-inference-objective", "batch"}});
  s.send(env.gw->port(), "standard", {{"x-gateway-inference-objective", "standard"}});
  ASSERT_TRUE(env.wait_queued(2));
  // The batch request's band waits 300 ms at most.
  ASSERT_TRUE(env.wait_queued(1)) << "the TTL took it out of the queue";
  s.join();
  const HttpResponse& timed_out = s.responses["batch"];
  EXPECT_EQ(timed_out.status, 503) << timed_out.body;
  EXPECT_NE(timed_out.body.find("ttl"), std::string::npos) << timed_out.body;
  EXPECT_EQ(s.responses["standard"].status, 200) << "it waited until the server freed, then was served";
  EXPECT_EQ(s.responses["busy"].status, 200);
  EXPECT_EQ(env.queued(), 0u);
  EXPECT_TRUE(env.gw->wait_log("\" 503 QT ", scaled(3000))) << "the access log shows the QT flag";
  EXPECT_EQ(env.metric("infergate_flow_control_requests_total", {"outcome=\"timed_out\"", "priority=\"-1\""}), 1);
}

TEST(FlowControl, AFullPoolEvictsTheNewestSheddableAndAFullBandRefuses) {
  FlowEnv env("    maxRequests: 3\n    bands:\n    - {priority: -1, maxRequests: 2}\n");
  Senders s;
  s.send(env.gw->port(), "busy", {}, 60);
  ASSERT_TRUE(env.wait_busy());
  s.send(env.gw->port(), "batch-0", {{"x-gateway-inference-objective", "batch"}});
  ASSERT_TRUE(env.wait_queued(1));
  s.send(env.gw->port(), "batch-1", {{"x-gateway-inference-objective", "batch"}});
  ASSERT_TRUE(env.wait_queued(2));
  // The sheddable band is full: refused at once.
  HttpResponse refused = http_request(env.gw->port(), "POST", "/v1/chat/completions",
                                      {{"x-gateway-inference-objective", "batch"}}, chat_body(2, false));
  EXPECT_EQ(refused.status, 429) << refused.body;
  EXPECT_NE(refused.body.find("queue of priority -1 is full"), std::string::npos) << refused.body;
  s.send(env.gw->port(), "standard-0", {{"x-gateway-inference-objective", "standard"}});
  ASSERT_TRUE(env.wait_queued(3));
  // The pool is full: a standard request takes the place of the newest sheddable one.
  s.send(env.gw->port(), "standard-1", {{"x-gateway-inference-objective", "standard"}});
  ASSERT_TRUE(wait_until(
      [&] {
        std::lock_guard lock(s.mu);
        return s.responses.count("batch-1") == 1;
      },
      scaled(3000)));
  {
    std::lock_guard lock(s.mu);
    EXPECT_EQ(s.responses["batch-1"].status, 429) << s.responses["batch-1"].body;
    EXPECT_NE(s.responses["batch-1"].body.find("evicted"), std::string::npos) << s.responses["batch-1"].body;
  }
  s.join();
  EXPECT_EQ(s.responses["batch-0"].status, 200);
  EXPECT_EQ(s.responses["standard-0"].status, 200);
  EXPECT_EQ(s.responses["standard-1"].status, 200);
  EXPECT_EQ(env.metric("infergate_flow_control_requests_total", {"outcome=\"evicted\"", "priority=\"-1\""}), 1);
  EXPECT_EQ(env.metric("infergate_flow_control_requests_total", {"outcome=\"rejected\"", "priority=\"-1\""}), 1);
}

TEST(FlowControl, AClientThatLeavesIsOutOfTheQueueAtOnce) {
  FlowEnv env("");
  Senders s;
  s.send(env.gw->port(), "busy", {}, 60);
  ASSERT_TRUE(env.wait_busy());
  {
    // A raw client that sends its request and hangs up while it waits.
    RawSocket client(env.gw->port());
    const std::string body = chat_body(2, false);
    client.send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                "Content-Length: " +
                std::to_string(body.size()) + "\r\n\r\n" + body);
    ASSERT_TRUE(env.wait_queued(1));
  }
  EXPECT_TRUE(env.wait_queued(0)) << env.flow_json().dump();
  EXPECT_EQ(env.flow_json().value("in_transit", -1), 0) << "it holds nothing";
  EXPECT_EQ(env.metric("infergate_flow_control_requests_total", {"outcome=\"cancelled\"", "priority=\"0\""}), 1);
  s.join();
  EXPECT_EQ(s.responses["busy"].status, 200);
  // Nothing was left behind: the next request goes straight through.
  EXPECT_EQ(http_request(env.gw->port(), "POST", "/v1/chat/completions", {}, chat_body(2, false)).status, 200);
}

}  // namespace
}  // namespace infergate::e2e

namespace infergate::e2e {
namespace {

// The README's flow-control walk-through, as written (fixed ports 8081, 9904, 18031-18032).
TEST(Examples, FairnessRunsAsTheReadmeSays) {
  E2E_REQUIRE_TOOL(curl_bin, "curl");
  const std::string build = infergate_path().substr(0, infergate_path().rfind('/'));
  CommandResult r = run_command({"/bin/bash", source_path("examples/fairness/run.sh"), build, "--once"},
                                milliseconds(90000 * time_scale()));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("A: 24 requests, 0 not 200"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("B: 3 requests, 0 not 200"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("interactive 200 "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("batch: 16 requests, 0 not 200"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("503 x "), std::string::npos) << "some batch requests waited past their TTL\n" << r.out;
  EXPECT_NE(r.out.find("outcome=\"timed_out\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("outcome=\"dispatched\""), std::string::npos) << r.out;
  // The API key's daily budget: 30 tokens per answer, 100 a day.
  EXPECT_NE(r.out.find("200 x-ratelimit-limit: 100 x-ratelimit-remaining: 10\n"
                       "  429 x-ratelimit-limit: 100 x-ratelimit-remaining: 0\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("infergate_token_budget_tokens_charged_total{budget=\"per-api-key\"} 120"), std::string::npos)
      << r.out;
}

}  // namespace
}  // namespace infergate::e2e
