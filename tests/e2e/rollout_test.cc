// Rollouts run by the gateway: a healthy canary walks its steps under steady load and is
// promoted; a canary gone bad mid-rollout is aborted by its analysis and traffic returns to
// stable without a request lost to the switch; a restart resumes where it was; testers reach
// the canary with its header; the CLI drives it all through the admin API.
#include "tests/e2e/canary_util.h"
#include "tests/e2e/e2e_test.h"
#include "tests/e2e/paced_load.h"
#include "tests/e2e/prometheus.h"

namespace infergate::e2e {
namespace {

// The Rollout document of pool-v1 -> pool-v2 on two_version_config's "canary" route.
std::string rollout_yaml(const std::string& steps, const std::string& analysis) {
  return "apiVersion: infergate.dev/v1alpha1\nkind: Rollout\nmetadata: {name: llm}\nspec:\n"
         "  targetRef: {kind: HTTPRoute, name: canary}\n  stable: pool-v1\n  canary: pool-v2\n"
         "  canaryHeader: {name: x-canary, value: \"1\"}\n  steps:\n" +
         steps + analysis;
}

const std::string kFastAnalysis =
    "  analysis:\n    interval: 500ms\n    window: 2s\n    minRequests: 5\n    failureLimit: 2\n"
    "    gates:\n    - {metric: errorRate, max: 0.05}\n    - {metric: p99Latency, maxRatio: 5}\n";

nlohmann::json rollout_status(Gateway& gw) {
  auto j = nlohmann::json::parse(gw.admin("GET", "/rollouts?name=llm").body, nullptr, false);
  if (!j.is_object() || !j.contains("rollouts") || j["rollouts"].empty()) return nlohmann::json::object();
  return j["rollouts"][0];
}

template <typename Done>
bool wait_rollout(Gateway& gw, Done done, milliseconds timeout) {
  for (const auto until = Clock::now() + timeout; Clock::now() < until; std::this_thread::sleep_for(milliseconds(50)))
    if (done(rollout_status(gw))) return true;
  return false;
}

std::vector<int> weights_applied(const nlohmann::json& status) {
  std::vector<int> out;
  for (const auto& e : status["events"])
    if (e["type"] == "setWeight" || e["type"] == "promoted" || e["type"] == "aborted") out.push_back(e["weight"]);
  return out;
}

std::string chat_request(uint16_t port) {
  const std::string body = chat_body(4, false);
  return "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
         "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

TEST(Rollout, HealthyCanaryWalksItsStepsAndIsPromoted) {
  Modelsim v1({"--name", "v1"});
  Modelsim v2({"--name", "v2"});
  const std::string steps =
      "  - setWeight: 5\n  - pause: {duration: 1s}\n  - setWeight: 10\n  - pause: {duration: 1s}\n"
      "  - setWeight: 25\n  - pause: {duration: 1s}\n  - setWeight: 50\n  - pause: {duration: 1s}\n";
  Gateway gw([&](uint16_t port, uint16_t admin) {
    return two_version_config(port, admin, v1.port(), v2.port(), 100, 0, 2, rollout_yaml(steps, kFastAnalysis));
  });
  PacedLoad load(gw.port(), chat_request(gw.port()), 8, 300 / time_scale());
  load.start();
  const bool done = wait_rollout(gw, [](const auto& s) { return s.value("phase", "") == "Completed"; }, scaled(40000));
  load.stop();
  const auto s = rollout_status(gw);
  ASSERT_TRUE(done) << s.dump(2);
  EXPECT_EQ(weights_applied(s), (std::vector<int>{5, 10, 25, 50, 100})) << s.dump(2);
  EXPECT_EQ(s["canary_weight"], 100);
  EXPECT_EQ(load.errors(), 0u);
  size_t bad = 0, to_v2_late = 0;
  const auto samples = load.samples();
  for (const auto& x : samples) bad += x.status != 200;
  for (size_t i = samples.size() - samples.size() / 20; i < samples.size(); ++i) to_v2_late += samples[i].instance == "v2";
  EXPECT_EQ(bad, 0u);
  EXPECT_GT(samples.size(), 300u);
  EXPECT_GT(to_v2_late, 0u) << "after promotion v2 serves";
  // The route's weights say so too, and the metrics.
  auto w = nlohmann::json::parse(gw.admin("GET", "/weights").body);
  for (const auto& b : w["rules"][0]["backends"]) EXPECT_EQ(b["weight"], b["name"] == "pool-v2" ? 100 : 0) << b.dump();
  EXPECT_NE(gw.admin("GET", "/stats/prometheus").body.find("infergate_rollout_phase{phase=\"Completed\",rollout=\"default/llm\"} 1"),
            std::string::npos);
}

TEST(Rollout, CanaryGoneBadIsAbortedAndTrafficReturnsToStable) {
  Modelsim v1({"--name", "v1"});
  Modelsim v2({"--name", "v2"});
  const std::string steps = "  - setWeight: 25\n  - pause: {duration: 30s}\n  - setWeight: 100\n";
  Gateway gw([&](uint16_t port, uint16_t admin) {
    return two_version_config(port, admin, v1.port(), v2.port(), 100, 0, 2, rollout_yaml(steps, kFastAnalysis));
  });
  PacedLoad load(gw.port(), chat_request(gw.port()), 8, 200 / time_scale());
  load.start();
  ASSERT_TRUE(wait_rollout(
      gw, [](const auto& s) { return s.value("canary_weight", 0) == 25 && s["analysis"].is_object() &&
                                     s["analysis"].value("verdict", "") == "pass"; },
      scaled(10000)))
      << rollout_status(gw).dump(2);
  // v2 goes bad: half of its answers are 500 from now on.
  ASSERT_EQ(http_request(v2.port(), "POST", "/modelsim/faults", {}, R"({"error_rate": 0.5})").status, 200);
  const auto injected = Clock::now();
  const bool aborted = wait_rollout(gw, [](const auto& s) { return s.value("phase", "") == "Aborted"; }, scaled(10000));
  const auto took = Clock::now() - injected;
  // Requests keep flowing across the switch back to stable.
  std::this_thread::sleep_for(milliseconds(1500));
  load.stop();
  const auto s = rollout_status(gw);
  ASSERT_TRUE(aborted) << s.dump(2);
  // The window must first fill with bad answers, then two failed verdicts 500 ms apart.
  EXPECT_LT(took, milliseconds(2 * 500 + 1500) * time_scale()) << "aborted after "
                                                              << std::chrono::duration_cast<milliseconds>(took).count();
  EXPECT_EQ(s["canary_weight"], 0);
  EXPECT_NE(s["events"].back()["message"].get<std::string>().find("errorRate"), std::string::npos) << s.dump(2);
  // Every failure is the bad canary's: one of v2's injected 500s, or the gateway's 503 UH once
  // outlier detection ejected v2's only endpoint (the per-version metrics count those for v2).
  // None comes from the switch itself.
  EXPECT_EQ(load.errors(), 0u) << nlohmann::json(load.error_reasons()).dump();
  const auto samples = load.samples();
  size_t failed = 0, v2_after = 0;
  const auto settled = samples.back().at - milliseconds(1000);
  for (const auto& x : samples) {
    if (x.status != 200 && !(x.status == 500 && x.instance == "v2")) ++failed;
    if (x.at > settled && x.instance == "v2") ++v2_after;
  }
  double v2_ejected = 0;
  std::istringstream text(gw.admin("GET", "/stats/prometheus").body);
  for (std::string line; std::getline(text, line);)
    if (line.rfind("infergate_version_request_errors_total{", 0) == 0 && line.find("response_flag=\"UH\"") != std::string::npos &&
        line.find("version=\"v2\"") != std::string::npos)
      v2_ejected += std::stod(line.substr(line.rfind(' ') + 1));
  EXPECT_EQ(static_cast<double>(failed), v2_ejected) << "failures the canary did not cause";
  EXPECT_EQ(v2_after, 0u) << "after the abort stable serves everything";
}

TEST(Rollout, RestartResumesTheStepAndTheCliDrivesIt) {
  Modelsim v1({"--name", "v1"});
  Modelsim v2({"--name", "v2"});
  TempDir state;
  const std::string steps = "  - setWeight: 10\n  - pause: {}\n  - setWeight: 50\n  - pause: {}\n  - setWeight: 100\n";
  auto render = [&](uint16_t port, uint16_t admin) {
    return two_version_config(port, admin, v1.port(), v2.port(), 100, 0, 1,
                              rollout_yaml(steps, "  analysis: {interval: 200ms, minRequests: 0}\n"));
  };
  const std::vector<std::string> args = {"--state-dir", state.path()};
  {
    Gateway gw(render, args);
    ASSERT_TRUE(wait_rollout(gw, [](const auto& s) { return s.value("phase", "") == "Paused"; }, scaled(5000)));
    EXPECT_EQ(rollout_status(gw)["canary_weight"], 10);
    // Testers reach the canary with its header whatever the weights.
    auto seen = count_instances(gw.port(), 20, {{"x-canary", "1"}});
    EXPECT_EQ(seen["v2"], 20) << nlohmann::json(seen).dump();
    EXPECT_EQ(gw.terminate(scaled(10000)), 0);
  }
  Gateway gw(render, args);
  const auto s = rollout_status(gw);
  EXPECT_EQ(s.value("phase", ""), "Paused") << s.dump(2);
  EXPECT_EQ(s.value("step", 0), 2);
  EXPECT_EQ(s.value("canary_weight", 0), 10);
  EXPECT_EQ(s["events"].back()["type"], "resumed") << "the restart is recorded";
  auto seen = count_instances(gw.port(), 200);
  EXPECT_GT(seen["v2"], 5) << nlohmann::json(seen).dump();
  EXPECT_LT(seen["v2"], 45) << "still 10 % after the restart: " << nlohmann::json(seen).dump();

  // The CLI, as an operator runs it.
  const std::string admin = "127.0.0.1:" + std::to_string(gw.admin_port());
  CommandResult status = run_command({infergate_path(), "rollout", "status", "llm", "--admin", admin});
  EXPECT_EQ(status.exit_code, 0) << status.err;
  EXPECT_NE(status.out.find("default/llm  Paused  step 2/5  canary pool-v2 at 10%"), std::string::npos) << status.out;
  CommandResult resume = run_command({infergate_path(), "rollout", "resume", "llm", "--admin", admin});
  EXPECT_EQ(resume.exit_code, 0) << resume.err;
  EXPECT_NE(resume.out.find("at 50%"), std::string::npos) << resume.out;
  CommandResult bad = run_command({infergate_path(), "rollout", "pause", "llm", "--admin", admin});
  EXPECT_EQ(bad.exit_code, 1) << "a paused rollout cannot be paused: " << bad.out;
  EXPECT_NE(bad.err.find("only a progressing rollout can be paused"), std::string::npos) << bad.err;
  CommandResult promote =
      run_command({infergate_path(), "rollout", "promote", "llm", "--admin", admin, "--reason", "looks good"});
  EXPECT_EQ(promote.exit_code, 0) << promote.err;
  EXPECT_NE(promote.out.find("Completed"), std::string::npos) << promote.out;
  EXPECT_NE(promote.out.find("promoted by an operator (looks good)"), std::string::npos) << promote.out;
  EXPECT_EQ(run_command({infergate_path(), "rollout", "promote", "nope", "--admin", admin}).exit_code, 1);
  EXPECT_EQ(run_command({infergate_path(), "rollout", "launch", "llm"}).exit_code, 2);
  seen = count_instances(gw.port(), 20);
  EXPECT_EQ(seen["v2"], 20) << nlohmann::json(seen).dump();
}

TEST(Rollout, BadRolloutsAreRefusedWithTheirFieldPath) {
  Modelsim v1({"--name", "v1"});
  Modelsim v2({"--name", "v2"});
  Gateway gw([&](uint16_t port, uint16_t admin) {
    return two_version_config(port, admin, v1.port(), v2.port(), 100, 0, 1);
  });
  auto post = [&](const std::string& yaml) { return gw.admin("POST", "/config", yaml); };
  std::string wrong_canary = rollout_yaml("  - setWeight: 10\n", "");
  wrong_canary.replace(wrong_canary.find("canary: pool-v2"), 15, "canary: pool-v9");
  HttpResponse r = post(wrong_canary);
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("spec.canary"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("pool-v9"), std::string::npos) << r.body;
  r = post(rollout_yaml("  - setWeight: 150\n", ""));
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("spec.steps[0].setWeight"), std::string::npos) << r.body;
  r = post(rollout_yaml("  - {setWeight: 10, pause: {}}\n", ""));
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("exactly one of setWeight or pause"), std::string::npos) << r.body;
  r = post(rollout_yaml("  - setWeight: 10\n", "  analysis: {gates: [{metric: errorRate}]}\n"));
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("needs max, maxRatio or maxIncrease"), std::string::npos) << r.body;
  EXPECT_EQ(gw.admin("POST", "/rollouts/abort?name=llm").status, 404);
  EXPECT_EQ(gw.admin("POST", "/rollouts/abort").status, 400);
}

// Reload rules: new steps keep the rollout where it is; a new canary starts it again.
TEST(Rollout, ReloadKeepsTheStepUnlessTheTargetChanges) {
  Modelsim v1({"--name", "v1"});
  Modelsim v2({"--name", "v2"});
  const std::string steps = "  - setWeight: 10\n  - pause: {}\n  - setWeight: 100\n";
  Gateway gw([&](uint16_t port, uint16_t admin) {
    return two_version_config(port, admin, v1.port(), v2.port(), 100, 0, 1,
                              rollout_yaml(steps, "  analysis: {interval: 200ms, minRequests: 0}\n"));
  });
  ASSERT_TRUE(wait_rollout(gw, [](const auto& s) { return s.value("phase", "") == "Paused"; }, scaled(5000)));
  // More steps: same phase and step, the event says why.
  HttpResponse r = gw.admin("POST", "/config",
                            rollout_yaml("  - setWeight: 10\n  - pause: {}\n  - setWeight: 30\n  - setWeight: 100\n",
                                         "  analysis: {interval: 200ms, minRequests: 0}\n"));
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_TRUE(wait_rollout(gw, [](const auto& s) { return s["steps"].size() == 4; }, scaled(3000)));
  auto s = rollout_status(gw);
  EXPECT_EQ(s.value("phase", ""), "Paused") << s.dump(2);
  EXPECT_EQ(s.value("step", 0), 2);
  EXPECT_EQ(s["events"].back()["type"], "updated");
  // Another canary is another rollout: back to step 1 (pool-v1 -> pool-v2 is still the route's
  // split; swapping the roles changes the identity).
  std::string swapped = rollout_yaml(steps, "  analysis: {interval: 200ms, minRequests: 0}\n");
  swapped.replace(swapped.find("stable: pool-v1"), 15, "stable: pool-v2");
  swapped.replace(swapped.find("canary: pool-v2"), 15, "canary: pool-v1");
  r = gw.admin("POST", "/config", swapped);
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_TRUE(wait_rollout(gw, [](const auto& s) { return s.value("canary", "") == "pool-v1"; }, scaled(3000)));
  ASSERT_TRUE(wait_rollout(gw, [](const auto& s) { return s.value("phase", "") == "Paused"; }, scaled(3000)));
  s = rollout_status(gw);
  bool restarted = false;
  for (const auto& e : s["events"]) restarted |= e["type"] == "restarted";
  EXPECT_TRUE(restarted) << s.dump(2);
  EXPECT_EQ(s.value("canary_weight", 0), 10) << "pool-v1 is now the canary at 10 %";
  // Removed: the rollout stops and the weights stay.
  r = gw.admin("DELETE", "/config?kind=Rollout&name=llm");
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = nlohmann::json::parse(gw.admin("GET", "/rollouts").body);
  EXPECT_TRUE(j["rollouts"].empty()) << j.dump(2);
  auto seen = count_instances(gw.port(), 100);
  EXPECT_GT(seen["v2"], 60) << nlohmann::json(seen).dump();
}

// A Prometheus gate: a query above its bound aborts; Prometheus unreachable only holds the
// rollout (inconclusive), it never aborts it.
TEST(Rollout, PrometheusGatesAbortOnTheirBoundAndWaitWhenUnreachable) {
  E2E_REQUIRE_TOOL(prometheus_bin, "prometheus");
  Modelsim v1({"--name", "v1"});
  Modelsim v2({"--name", "v2"});
  Prometheus prom(prometheus_bin, free_port());
  ASSERT_TRUE(prom.wait_for("vector(1)", "", [](const auto& got) { return got.size() == 1; }, scaled(15000)))
      << prom.last_error();
  const std::string down = "http://127.0.0.1:" + std::to_string(free_port());
  auto analysis = [](const std::string& address, const std::string& query) {
    return "  analysis:\n    interval: 300ms\n    minRequests: 0\n    gates:\n    - prometheus: {address: " +
           address + ", query: '" + query + "', max: 0.5}\n";
  };
  const std::string steps = "  - setWeight: 10\n  - pause: {duration: 1s}\n  - setWeight: 100\n";
  Gateway gw([&](uint16_t port, uint16_t admin) {
    return two_version_config(port, admin, v1.port(), v2.port(), 100, 0, 1, rollout_yaml(steps, analysis(down, "vector(0.1)")));
  });
  ASSERT_TRUE(wait_rollout(
      gw, [](const auto& s) { return s["analysis"].is_object() && s["analysis"].value("verdict", "") == "inconclusive"; },
      scaled(5000)));
  std::this_thread::sleep_for(milliseconds(1500));
  auto s = rollout_status(gw);
  EXPECT_EQ(s.value("phase", ""), "Progressing") << s.dump(2);
  EXPECT_EQ(s.value("canary_weight", 0), 10) << "waits at its step while Prometheus is unreachable";
  EXPECT_NE(s["analysis"]["reasons"][0].get<std::string>().find("connect"), std::string::npos) << s.dump(2);
  // Reachable, and the query is above its bound: two failed verdicts abort.
  HttpResponse r = gw.admin("POST", "/config", rollout_yaml(steps, analysis(prom.url(), "vector(0.9)")));
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_TRUE(wait_rollout(gw, [](const auto& s) { return s.value("phase", "") == "Aborted"; }, scaled(8000)))
      << rollout_status(gw).dump(2);
  s = rollout_status(gw);
  EXPECT_NE(s["events"].back()["message"].get<std::string>().find("vector(0.9)"), std::string::npos) << s.dump(2);
}

// examples/rollouts: each scenario's manifests (the seed's as written plus its Rollout) load,
// as run.sh puts them together.
TEST(Rollout, ExampleScenariosValidate) {
  const std::vector<std::vector<std::string>> scenarios = {
      {"examples/istio-canary/seed.yaml", "examples/istio-canary/cluster.yaml", "examples/rollouts/istio.yaml"},
      {"examples/gke-pool-rollout/routes-to-llm.yaml", "examples/gke-pool-rollout/cluster.yaml",
       "examples/rollouts/gke.yaml"},
      {"examples/gke-pool-rollout/base-model/routes-to-llm.yaml", "examples/gke-pool-rollout/base-model/cluster.yaml",
       "examples/rollouts/base-model.yaml"},
      {"examples/rollouts/lora/cluster.yaml", "examples/rollouts/lora/rollout.yaml"}};
  for (const auto& files : scenarios) {
    TempDir dir;
    for (size_t i = 0; i < files.size(); ++i) {
      const std::string text = read_file(source_path(files[i]));
      ASSERT_FALSE(text.empty()) << files[i];
      dir.write(std::to_string(i) + ".yaml", text);
    }
    CommandResult r = run_command({infergate_path(), "--check", "--config", dir.path()});
    EXPECT_EQ(r.exit_code, 0) << files.back() << "\n" << r.out << r.err;
    EXPECT_NE(r.out.find(" 1 Rollouts"), std::string::npos) << r.out;
  }
}

}  // namespace
}  // namespace infergate::e2e
