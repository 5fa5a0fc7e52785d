// Run-time configuration through the real binary: POST /config applied like kubectl apply,
// DELETE /config, dry runs, revert, GET/POST /weights, file watching, --state-dir across a
// restart, and every rejected change leaving the old configuration serving.
#include <csignal>
#include <filesystem>

#include "tests/e2e/canary_util.h"

namespace infergate::e2e {
namespace {

using nlohmann::json;

json body_of(const HttpResponse& r) { return json::parse(r.body, nullptr, false); }

void expect_rejected(const HttpResponse& r, int status, const std::string& needle) {
  EXPECT_EQ(r.status, status) << r.body;
  EXPECT_EQ(r.header("content-type"), "application/json");
  json j = body_of(r);
  ASSERT_TRUE(j.is_object() && j.contains("error")) << r.body;
  EXPECT_NE(j["error"].get<std::string>().find(needle), std::string::npos) << r.body;
}

constexpr const char* kEchoRoute = R"(apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: echo}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches: [{path: {type: Exact, value: /echo}}]
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier: {set: [{name: x-added-by, value: post-config}]}
    backendRefs: [{group: inference.networking.k8s.io, kind: InferencePool, name: pool}]
)";

TEST(AdminConfig, PostAppliesLikeKubectlApplyAndDeleteRemoves) {
  Modelsim sim;
  GatewaySetup setup = one_upstream(sim);
  setup.route_prefix = "/v1";
  Gateway gw(setup);
  ASSERT_EQ(http_request(gw.port(), "GET", "/echo").status, 404);

  HttpResponse r = gw.admin("POST", "/config", kEchoRoute);
  ASSERT_EQ(r.status, 200) << r.body;
  json j = body_of(r);
  EXPECT_EQ(j["version"], 2);
  ASSERT_EQ(j["applied"].size(), 1u);
  EXPECT_EQ(j["applied"][0]["kind"], "HTTPRoute");
  EXPECT_EQ(j["applied"][0]["action"], "created");
  HttpResponse echo = http_request(gw.port(), "GET", "/echo");
  ASSERT_EQ(echo.status, 200);
  EXPECT_NE(echo.body.find("post-config"), std::string::npos) << echo.body;

  // The same document again changes nothing.
  j = body_of(gw.admin("POST", "/config", kEchoRoute));
  EXPECT_EQ(j["applied"][0]["action"], "unchanged");
  EXPECT_EQ(j["version"], 2);

  // The dump shows the run-time change and where the route came from.
  json dump = body_of(gw.admin("GET", "/config_dump"));
  ASSERT_EQ(dump["overlay"].size(), 1u);
  EXPECT_EQ(dump["overlay"][0]["name"], "echo");
  EXPECT_EQ(dump["overlay"][0]["source"], "POST /config");

  // A dry run validates without applying.
  std::string changed = kEchoRoute;
  changed.replace(changed.find("post-config"), 11, "dry-run");
  j = body_of(gw.admin("POST", "/config?dry_run=true", changed));
  EXPECT_EQ(j["dry_run"], true);
  EXPECT_EQ(j["version"], 2);
  EXPECT_NE(http_request(gw.port(), "GET", "/echo").body.find("post-config"), std::string::npos);

  HttpResponse del = gw.admin("DELETE", "/config?kind=HTTPRoute&name=echo");
  ASSERT_EQ(del.status, 200) << del.body;
  EXPECT_EQ(body_of(del)["version"], 3);
  EXPECT_EQ(http_request(gw.port(), "GET", "/echo").status, 404);
  EXPECT_EQ(http_request(gw.port(), "GET", "/v1/models").status, 200);
  expect_rejected(gw.admin("DELETE", "/config?kind=HTTPRoute&name=echo"), 404, "no HTTPRoute default/echo");
  expect_rejected(gw.admin("DELETE", "/config"), 404, "needs ?kind=KIND&name=NAME");
  EXPECT_EQ(gw.stat("infergate.config.reload_success"), 3);
}

TEST(AdminConfig, RejectedChangesNameTheProblemAndKeepServing) {
  Modelsim sim;
  GatewaySetup setup = one_upstream(sim);
  Gateway gw(setup);
  const double failures_before = gw.stat("infergate.config.reload_failure");

  struct Bad {
    std::string body;
    std::string needle;
  };
  const Bad cases[] = {
      {"", "holds no YAML documents"},
      {"kind: [\n", "POST /config:1: document 1: YAML syntax error"},
      {"apiVersion: v1\nkind: Service\nspec: {}\n", "metadata: is required"},
      {"apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n", "unknown kind \"Widget\""},
      // A field out of range, reported at its line of the posted text.
      {"apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r2}\nspec:\n"
       "  parentRefs: [{name: gw}]\n  rules:\n  - backendRefs:\n    - {name: pool, kind: InferencePool, weight: -1}\n",
       "POST /config:8: document 1 (HTTPRoute/r2): spec.rules[0].backendRefs[0].weight: must be between 0 and 1000000"},
      // A parent that is not there.
      {"apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r3}\nspec:\n"
       "  parentRefs: [{name: nogw}]\n",
       "spec.parentRefs[0]: Gateway \"default/nogw\" is not defined"},
      // A change that breaks a resource it does not touch: the route's pool goes away.
      {"apiVersion: inference.networking.k8s.io/v1\nkind: InferencePool\nmetadata: {name: pool}\nspec:\n"
       "  selector: {matchLabels: {app: sim}}\n  targetPorts: [{number: 0}]\n",
       "spec.targetPorts[0].number"},
  };
  for (const auto& c : cases) {
    expect_rejected(gw.admin("POST", "/config", c.body), 400, c.needle);
    EXPECT_EQ(config_version(gw), 1) << c.needle;
    EXPECT_EQ(http_request(gw.port(), "GET", "/v1/models").status, 200) << c.needle;
  }
  EXPECT_EQ(gw.stat("infergate.config.reload_failure"), failures_before + 6) << "every rejected change is counted";
  expect_rejected(gw.admin("GET", "/config"), 405, "takes POST,DELETE");
  EXPECT_TRUE(gw.process().running());
}

TEST(AdminConfig, AnUnresolvedBackendGetsItsShareOf500sAsTheGatewayApiSays) {
  Modelsim v1({"--name", "v1"});
  Modelsim v2({"--name", "v2"});
  Gateway gw([&](uint16_t port, uint16_t admin) { return two_version_config(port, admin, v1.port(), v2.port(), 100, 0); });
  HttpResponse r = gw.admin("POST", "/config",
                            "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: canary}\nspec:\n"
                            "  parentRefs: [{name: gw}]\n  rules:\n  - backendRefs:\n"
                            "    - {group: inference.networking.k8s.io, kind: InferencePool, name: pool-v1, weight: 75}\n"
                            "    - {group: inference.networking.k8s.io, kind: InferencePool, name: pool-v3, weight: 25}\n");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("InferencePool \\\"default/pool-v3\\\" is not defined; requests routed to it get 500"),
            std::string::npos)
      << r.body;
  auto seen = count_instances(gw.port(), 100);
  EXPECT_NEAR(seen["status 500"], 25, 2);
  EXPECT_EQ(seen["v1"] + seen["status 500"], 100);
}

TEST(Weights, GetAndPostMoveTrafficExactly) {
  Modelsim v1({"--name", "v1"});
  Modelsim v2({"--name", "v2"});
  Gateway gw([&](uint16_t port, uint16_t admin) { return two_version_config(port, admin, v1.port(), v2.port(), 90, 10); });

  json w = body_of(gw.admin("GET", "/weights"));
  ASSERT_EQ(w["rules"].size(), 1u);
  const json& rule = w["rules"][0];
  EXPECT_EQ(rule["kind"], "HTTPRoute");
  EXPECT_EQ(rule["name"], "canary");
  EXPECT_EQ(rule["backends"][0]["name"], "pool-v1");
  EXPECT_EQ(rule["backends"][0]["percent"], 90.0);
  EXPECT_EQ(rule["backends"][1]["percent"], 10.0);

  auto seen = count_instances(gw.port(), 200);
  EXPECT_NEAR(seen["v2"], 20, 2) << "90/10 over 200 requests";
  EXPECT_EQ(seen["v1"] + seen["v2"], 200);

  HttpResponse r = set_canary_weights(gw, 50, 50);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body_of(r)["version"], 2);
  EXPECT_EQ(body_of(r)["rules"][0]["backends"][1]["weight"], 50);
  seen = count_instances(gw.port(), 200);
  EXPECT_NEAR(seen["v2"], 100, 2);

  // Roll back in one step.
  ASSERT_EQ(set_canary_weights(gw, 100, 0).status, 200);
  seen = count_instances(gw.port(), 50);
  EXPECT_EQ(seen["v1"], 50);

  // Bad requests: a clear error, nothing changes.
  expect_rejected(gw.admin("POST", "/weights", "not json", {{"Content-Type", "application/json"}}), 400, "must be a JSON object");
  expect_rejected(gw.admin("POST", "/weights", R"({"weights":{"pool-v1":1}})"), 400, "\"name\"");
  expect_rejected(gw.admin("POST", "/weights", R"({"name":"canary","weights":{"pool-v3":1}})"), 400,
                  "no backendRef named \"pool-v3\"");
  expect_rejected(gw.admin("POST", "/weights", R"({"name":"canary","weights":{"pool-v1":-1}})"), 400,
                  "whole number");
  expect_rejected(gw.admin("POST", "/weights", R"({"name":"canary","weights":{"pool-v1":0,"pool-v2":0}})"), 400,
                  "every backend would have weight 0");
  expect_rejected(gw.admin("POST", "/weights", R"({"name":"other","weights":{"a":1}})"), 400,
                  "no HTTPRoute or VirtualService default/other");
  expect_rejected(gw.admin("POST", "/weights", R"({"name":"canary","weight":{"a":1}})"), 400, "unknown field \"weight\"");
  EXPECT_EQ(config_version(gw), 3);
}

TEST(Reload, FileChangesApplyWithoutASignalAndBrokenOnesAreRefusedOnce) {
  Modelsim v1({"--name", "v1"});
  Modelsim v2({"--name", "v2"});
  Gateway gw([&](uint16_t port, uint16_t admin) { return two_version_config(port, admin, v1.port(), v2.port(), 100, 0); });
  EXPECT_EQ(count_instances(gw.port(), 10)["v1"], 10);
  gw.write_config(two_version_config(gw.port(), gw.admin_port(), v1.port(), v2.port(), 0, 100));
  ASSERT_TRUE(gw.wait_stat_at_least("infergate.config.version", 2, scaled(5000))) << gw.process().describe();
  EXPECT_EQ(count_instances(gw.port(), 10)["v2"], 10);

  gw.write_config("apiVersion: [\n");
  ASSERT_TRUE(gw.wait_stat_at_least("infergate.config.reload_failure", 1, scaled(5000)));
  std::this_thread::sleep_for(scaled(500));
  EXPECT_EQ(gw.stat("infergate.config.reload_failure"), 1) << "one broken save is one rejection";
  EXPECT_EQ(gw.stat("infergate.config.version"), 2);
  EXPECT_EQ(count_instances(gw.port(), 10)["v2"], 10);
}

TEST(Reload, AFileEditWinsOverAnOlderRuntimeChange) {
  Modelsim v1({"--name", "v1"});
  Modelsim v2({"--name", "v2"});
  Gateway gw([&](uint16_t port, uint16_t admin) { return two_version_config(port, admin, v1.port(), v2.port(), 100, 0); });
  ASSERT_EQ(set_canary_weights(gw, 0, 100).status, 200);
  EXPECT_EQ(count_instances(gw.port(), 10)["v2"], 10);

  // Another document of the file changes: the run-time weights stay.
  gw.write_config(two_version_config(gw.port(), gw.admin_port(), v1.port(), v2.port(), 100, 0, 1,
                                     "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: note}\n"));
  ASSERT_TRUE(gw.wait_stat_at_least("infergate.config.version", 3, scaled(5000)));
  EXPECT_EQ(count_instances(gw.port(), 10)["v2"], 10);

  // The route itself is edited in the file: the file is newer and wins.
  gw.write_config(two_version_config(gw.port(), gw.admin_port(), v1.port(), v2.port(), 1, 0, 1,
                                     "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: note}\n"));
  ASSERT_TRUE(gw.wait_stat_at_least("infergate.config.version", 4, scaled(5000)));
  EXPECT_EQ(count_instances(gw.port(), 10)["v1"], 10);
  EXPECT_TRUE(gw.process().wait_err("dropped: the file's version is newer", scaled(1000)));
  EXPECT_TRUE(body_of(gw.admin("GET", "/config_dump"))["overlay"].empty());
}

TEST(Reload, RevertServesTheFilesAgain) {
  Modelsim v1({"--name", "v1"});
  Modelsim v2({"--name", "v2"});
  Gateway gw([&](uint16_t port, uint16_t admin) { return two_version_config(port, admin, v1.port(), v2.port(), 100, 0); });
  ASSERT_EQ(set_canary_weights(gw, 0, 100).status, 200);
  expect_rejected(gw.admin("POST", "/config/revert?kind=Gateway&name=gw"), 404, "has no run-time change");
  HttpResponse r = gw.admin("POST", "/config/revert?all=true");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body_of(r)["reverted"][0]["name"], "canary");
  EXPECT_EQ(count_instances(gw.port(), 10)["v1"], 10);
}

TEST(StateDir, RuntimeChangesSurviveARestart) {
  Modelsim v1({"--name", "v1"});
  Modelsim v2({"--name", "v2"});
  TempDir state;
  const std::string dir = state.file("state");
  auto render = [&](uint16_t port, uint16_t admin) { return two_version_config(port, admin, v1.port(), v2.port(), 100, 0); };
  {
    Gateway gw(render, {"--state-dir", dir});
    ASSERT_EQ(set_canary_weights(gw, 25, 75).status, 200);
    ASSERT_EQ(gw.terminate(scaled(5000)), 0);
  }
  Gateway gw(render, {"--state-dir", dir});
  json w = body_of(gw.admin("GET", "/weights"));
  EXPECT_EQ(w["rules"][0]["backends"][1]["weight"], 75) << w.dump();
  EXPECT_TRUE(gw.process().wait_err("restored 1 run-time change", scaled(1000))) << gw.process().err();
  auto seen = count_instances(gw.port(), 100);
  EXPECT_NEAR(seen["v2"], 75, 2);

}

TEST(StateDir, SavedChangesThatNoLongerFitTheFilesAreSetAside) {
  Modelsim v1({"--name", "v1"});
  Modelsim v2({"--name", "v2"});
  TempDir state;
  const std::string dir = state.file("state");
  const std::string pool_x =
      "apiVersion: inference.networking.k8s.io/v1\nkind: InferencePool\nmetadata: {name: pool-x}\nspec:\n"
      "  selector: {matchLabels: {version: v2}}\n  targetPorts: [{number: 8000}]\n";
  {
    Gateway gw([&](uint16_t port, uint16_t admin) {
      return two_version_config(port, admin, v1.port(), v2.port(), 100, 0, 1, pool_x);
    }, {"--state-dir", dir});
    HttpResponse r = gw.admin("POST", "/config",
                              "apiVersion: inference.networking.x-k8s.io/v1alpha2\nkind: InferenceModel\nmetadata: {name: x}\n"
                              "spec:\n  modelName: x\n  poolRef: {name: pool-x}\n");
    ASSERT_EQ(r.status, 200) << r.body;
    ASSERT_EQ(gw.terminate(scaled(5000)), 0);
  }
  // The files no longer have pool-x, which the saved InferenceModel needs (an error: GIE model
  // kinds must name a pool of their namespace).
  Gateway gw([&](uint16_t port, uint16_t admin) { return two_version_config(port, admin, v1.port(), v2.port(), 100, 0); },
             {"--state-dir", dir});
  EXPECT_TRUE(gw.process().wait_err("starting from the files alone", scaled(1000))) << gw.process().err();
  EXPECT_TRUE(std::filesystem::exists(dir + "/overlay.json.rejected"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/overlay.json"));
  EXPECT_EQ(count_instances(gw.port(), 5)["v1"], 5);
  EXPECT_TRUE(body_of(gw.admin("GET", "/config_dump"))["overlay"].empty());
}

}  // namespace
}  // namespace infergate::e2e
