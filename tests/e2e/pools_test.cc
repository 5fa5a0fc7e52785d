// InferencePool endpoint picking through the real gateway and real model servers (modelsim):
// prefix-cache affinity, LoRA-adapter affinity, shedding by criticality when every server is
// saturated, passive outlier ejection and recovery, readiness with retries on a fallback.
#include <nlohmann/json.hpp>

#include <atomic>
#include <map>
#include <set>
#include <thread>

#include "tests/e2e/e2e_test.h"

namespace infergate::e2e {
namespace {

std::string chat(std::string_view model, std::string_view system, std::string_view question, unsigned max_tokens = 4) {
  return std::string(R"({"model":")") + std::string(model) + R"(","messages":[{"role":"system","content":")" +
         std::string(system) + R"("},{"role":"user","content":")" + std::string(question) +
         R"("}],"max_tokens":)" + std::to_string(max_tokens) + "}";
}

// A system prompt of ~2,000 characters, different per group.
std::string system_prompt(int group) {
  std::string s;
  while (s.size() < 2000) s += "You are assistant number " + std::to_string(group) + " and you answer briefly. ";
  return s;
}

GatewaySetup pool_of(const std::vector<std::unique_ptr<Modelsim>>& sims, const std::string& spec_extra = {}) {
  GatewaySetup s;
  s.workers = 2;
  for (size_t i = 0; i < sims.size(); ++i) s.endpoints.push_back(Upstream{"sim-" + std::to_string(i), sims[i]->port()});
  s.gateway_spec_extra = spec_extra;
  return s;
}

std::vector<std::unique_ptr<Modelsim>> start_sims(size_t n, const std::vector<std::string>& args = {}) {
  std::vector<std::unique_ptr<Modelsim>> sims;
  for (size_t i = 0; i < n; ++i) {
    std::vector<std::string> a = args;
    a.insert(a.end(), {"--name", "sim-" + std::to_string(i)});
    sims.push_back(std::make_unique<Modelsim>(a));
  }
  return sims;
}

nlohmann::json pool_json(Gateway& gw) {
  auto j = nlohmann::json::parse(gw.admin("GET", "/pools").body, nullptr, false);
  return j.is_object() && j["pools"].size() == 1 ? j["pools"][0] : nlohmann::json();
}

// Every endpoint of the pool has been scraped recently.
bool all_fresh(Gateway& gw) {
  const auto p = pool_json(gw);
  if (p.is_null()) return false;
  for (const auto& e : p["endpoints"])
    if (e.value("stale", true)) return false;
  return true;
}

// Sends `groups` x `per_group` conversations one after another; returns the servers each
// group's requests reached.
std::map<int, std::set<std::string>> send_groups(Gateway& gw, int groups, int per_group) {
  std::map<int, std::set<std::string>> seen;
  for (int q = 0; q < per_group; ++q) {
    for (int g = 0; g < groups; ++g) {
      HttpResponse r = http_request(gw.port(), "POST", "/v1/chat/completions", {},
                                    chat("sim-model", system_prompt(g), "question " + std::to_string(q)));
      EXPECT_EQ(r.status, 200) << r.body;
      seen[g].insert(r.header("x-modelsim-instance"));
    }
  }
  return seen;
}

TEST(InferencePools, PrefixAffinityKeepsASharedSystemPromptOnOneServer) {
  auto sims = start_sims(4);
  Gateway gw(pool_of(sims));
  ASSERT_TRUE(wait_until([&] { return all_fresh(gw); }, scaled(3000)));
  const auto seen = send_groups(gw, 6, 4);
  std::set<std::string> used;
  for (const auto& [g, servers] : seen) {
    EXPECT_EQ(servers.size(), 1u) << "group " << g << " was spread over " << servers.size() << " servers";
    used.insert(servers.begin(), servers.end());
  }
  EXPECT_GE(used.size(), 2u) << "six groups all went to one server";
  // 18 of the 24 requests found their prefix: each ~2,000-character system prompt is ~32 of
  // its ~33 blocks.
  const double hit = gw.stat_sum("endpoint_picker.prefix_blocks_hit");
  const double total = gw.stat_sum("endpoint_picker.prefix_blocks");
  EXPECT_GT(total, 0);
  EXPECT_GT(hit / total, 0.6) << hit << " of " << total << " blocks";
  EXPECT_EQ(gw.stat_sum("endpoint_picker.picked"), 24);
  const auto p = pool_json(gw);
  EXPECT_EQ(p["picker"]["profile"], "infergate") << p.dump();
  EXPECT_EQ(p["picker"]["scorers"]["prefixCache"], 3) << p.dump();

  // Round robin, for contrast, spreads every group.
  Gateway rr(pool_of(sims, "  endpointPicker: {profile: round-robin}\n"));
  size_t spread = 0;
  for (const auto& [g, servers] : send_groups(rr, 6, 4)) spread += servers.size() > 1;
  EXPECT_EQ(spread, 6u);
  EXPECT_EQ(pool_json(rr)["picker"]["profile"], "round-robin");
}

TEST(InferencePools, LoraRequestsGoWhereTheirAdapterIsLoaded) {
  // One adapter slot per server, 20 ms per engine step.
  auto sims = start_sims(2, {"--lora", "x,y", "--max-loras", "1", "--decode-base-ms", "20"});
  Gateway gw(pool_of(sims));
  ASSERT_TRUE(wait_until([&] { return all_fresh(gw); }, scaled(3000)));
  auto running_on = [&](const std::string& adapter) {
    const auto p = pool_json(gw);
    for (const auto& e : p["endpoints"]) {
      if (e.value("stale", true)) continue;
      for (const auto& a : e["running_adapters"])
        if (a == adapter) return e["name"].get<std::string>();
    }
    return std::string();
  };
  // Long requests keep adapter x loaded on one server and y on the other.
  std::vector<std::thread> long_ones;
  std::atomic<int> long_ok{0};
  auto start_long = [&](const std::string& adapter) {
    long_ones.emplace_back([&, adapter] {
      long_ok += http_request(gw.port(), "POST", "/v1/chat/completions", {}, chat(adapter, "long", "q", 150),
                              scaled(20000))
                     .status == 200;
    });
  };
  start_long("x");
  ASSERT_TRUE(wait_until([&] { return !running_on("x").empty(); }, scaled(3000))) << pool_json(gw).dump();
  start_long("y");
  ASSERT_TRUE(wait_until([&] { return !running_on("y").empty(); }, scaled(3000))) << pool_json(gw).dump();
  const std::string x_home = running_on("x"), y_home = running_on("y");
  ASSERT_NE(x_home, y_home);
  // Each server's only slot is busy: a request for x anywhere but x's server would wait for
  // the slot there. Short requests follow their adapter.
  for (int i = 0; i < 6; ++i) {
    const std::string adapter = i % 2 ? "y" : "x";
    HttpResponse r = http_request(gw.port(), "POST", "/v1/chat/completions", {}, chat(adapter, "short", std::to_string(i)));
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.header("x-modelsim-instance"), adapter == "x" ? x_home : y_home) << adapter;
  }
  for (auto& t : long_ones) t.join();
  EXPECT_EQ(long_ok.load(), 2);
}

TEST(InferencePools, SheddableRequestsAre429WhenEveryServerIsSaturated) {
  // One sequence at a time, ~0.3 s each: seven requests make a queue of six.
  auto sims = start_sims(1, {"--max-num-seqs", "1", "--itl-ms", "15", "--output-tokens", "20"});
  GatewaySetup setup = pool_of(sims);
  setup.extra_documents =
      "apiVersion: inference.networking.x-k8s.io/v1alpha2\nkind: InferenceModel\nmetadata: {name: batch}\n"
      "spec:\n  modelName: batch\n  criticality: Sheddable\n  poolRef: {name: pool}\n"
      "  targetModels: [{name: sim-model}]\n---\n"
      "apiVersion: inference.networking.x-k8s.io/v1alpha2\nkind: InferenceModel\nmetadata: {name: chat}\n"
      "spec:\n  modelName: chat\n  criticality: Critical\n  poolRef: {name: pool}\n"
      "  targetModels: [{name: sim-model}]\n---\n"
      "apiVersion: inference.networking.x-k8s.io/v1alpha2\nkind: InferenceObjective\nmetadata: {name: background}\n"
      "spec:\n  priority: -1\n  poolRef: {name: pool}\n";
  Gateway gw(setup);
  ASSERT_TRUE(wait_until([&] { return all_fresh(gw); }, scaled(3000)));
  // Not saturated: a sheddable request is served.
  EXPECT_EQ(http_request(gw.port(), "POST", "/v1/chat/completions", {}, chat("batch", "s", "q")).status, 200);

  std::atomic<int> critical_ok{0};
  std::vector<std::thread> load;
  for (int i = 0; i < 7; ++i)
    load.emplace_back([&] {
      if (http_request(gw.port(), "POST", "/v1/chat/completions", {}, chat("chat", "s", "q", 20), scaled(20000)).status ==
          200)
        ++critical_ok;
    });
  ASSERT_TRUE(wait_until(
      [&] {
        const auto p = pool_json(gw);
        return !p.is_null() && !p["endpoints"][0].value("stale", true) &&
               p["endpoints"][0].value("queue_size", 0.0) >= 5;
      },
      scaled(3000)))
      << pool_json(gw).dump();
  HttpResponse shed = http_request(gw.port(), "POST", "/v1/chat/completions", {}, chat("batch", "s", "q"));
  EXPECT_EQ(shed.status, 429) << shed.body;
  EXPECT_NE(shed.body.find("saturated"), std::string::npos) << shed.body;
  // A critical model's request names a sheddable objective: the objective decides.
  HttpResponse by_objective = http_request(gw.port(), "POST", "/v1/chat/completions",
                                           {{"x-gateway-inference-objective", "background"}}, chat("chat", "s", "q"));
  EXPECT_EQ(by_objective.status, 429) << by_objective.body;
  // Critical requests still go through (they wait in the server's queue).
  EXPECT_EQ(http_request(gw.port(), "POST", "/v1/chat/completions", {}, chat("chat", "s", "q"), scaled(20000)).status,
            200);
  for (auto& t : load) t.join();
  EXPECT_EQ(critical_ok.load(), 7);
  EXPECT_EQ(gw.stat_sum("endpoint_picker.shed"), 2);
  EXPECT_TRUE(gw.wait_log("\" 429 RL ", scaled(3000))) << "the access log shows the RL flag";
  // The queue drained: sheddable requests are served again.
  ASSERT_TRUE(wait_until([&] { return pool_json(gw)["endpoints"][0].value("queue_size", 1.0) == 0 && all_fresh(gw); },
                         scaled(5000)));
  EXPECT_EQ(http_request(gw.port(), "POST", "/v1/chat/completions", {}, chat("batch", "s", "q")).status, 200);
}

TEST(InferencePools, AFailingServerIsEjectedAndComesBack) {
  auto sims = start_sims(2);
  Gateway gw(pool_of(sims,
                     "  endpointPicker:\n"
                     "    outlierDetection: {consecutive5xxErrors: 3, baseEjectionTime: 1s, maxEjectionPercent: 50}\n"));
  ASSERT_TRUE(wait_until([&] { return all_fresh(gw); }, scaled(3000)));
  HttpResponse faults = http_request(sims[1]->port(), "POST", "/modelsim/faults", {}, R"({"error_rate": 1.0})");
  ASSERT_EQ(faults.status, 200) << faults.body;
  std::map<std::string, int> ok, failed;
  for (int i = 0; i < 40; ++i) {
    HttpResponse r = http_request(gw.port(), "POST", "/v1/chat/completions", {}, chat("sim-model", "s", std::to_string(i)));
    (r.status == 200 ? ok : failed)[r.header("x-modelsim-instance")]++;
  }
  EXPECT_EQ(failed["sim-1"], 3) << "ejected after three 5xx in a row";
  EXPECT_EQ(ok["sim-0"], 37);
  EXPECT_EQ(pool_json(gw)["endpoints"][1]["health_flags"], "/failed_outlier_check");
  EXPECT_EQ(pool_json(gw)["ready"], 1);

  // Healthy again, it is picked again once the ejection time is over.
  ASSERT_EQ(http_request(sims[1]->port(), "POST", "/modelsim/faults", {}, R"({"error_rate": 0})").status, 200);
  ASSERT_TRUE(wait_until([&] { return pool_json(gw)["ready"] == 2; }, scaled(3000)));
  std::map<std::string, int> after;
  for (int i = 0; i < 40; ++i) {
    HttpResponse r = http_request(gw.port(), "POST", "/v1/chat/completions", {},
                                  chat("sim-model", "recovery " + std::to_string(i), "q"));
    EXPECT_EQ(r.status, 200);
    after[r.header("x-modelsim-instance")]++;
  }
  EXPECT_GT(after["sim-1"], 5) << "the recovered server was not picked again";
}

TEST(InferencePools, AServerThatGoesAwayCostsNoRequestAndIsNotReady) {
  auto sims = start_sims(2);
  Gateway gw(pool_of(sims));
  ASSERT_TRUE(wait_until([&] { return all_fresh(gw); }, scaled(3000)));
  sims[1]->process().kill_now();
  // Before any scrape noticed, attempts on the dead server fail to connect and retry on the
  // picker's fallback: no client sees an error.
  int ok = 0;
  for (int i = 0; i < 30; ++i)
    ok += http_request(gw.port(), "POST", "/v1/chat/completions", {}, chat("sim-model", "s", std::to_string(i))).status ==
          200;
  EXPECT_EQ(ok, 30);
  // Three refused scrapes in a row: not ready, and no longer tried at all.
  ASSERT_TRUE(wait_until([&] { return pool_json(gw)["endpoints"][1]["health_flags"] == "/failed_active_hc"; },
                         scaled(3000)))
      << pool_json(gw).dump();
  EXPECT_EQ(pool_json(gw)["ready"], 1);
  const double retries = gw.stat_sum("upstream_rq_retry");
  for (int i = 0; i < 10; ++i)
    EXPECT_EQ(http_request(gw.port(), "POST", "/v1/chat/completions", {}, chat("sim-model", "s", "x")).status, 200);
  EXPECT_EQ(gw.stat_sum("upstream_rq_retry"), retries);
}

}  // namespace
}  // namespace infergate::e2e
