// infergate following a cluster: tests/kube's API server (HTTPS, bearer token) changed with
// the real kubectl, modelsim instances as the pods (each on its own 127.0.0.x address, all on
// the pool's one targetPort, as pods are), the gateway started with --kubeconfig.
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <thread>

#include "tests/e2e/canary_util.h"
#include "tests/e2e/kubernetes_cluster.h"
#include "tests/e2e/paced_load.h"

namespace infergate::e2e {
namespace {

// The documents of a multi-document file whose kind is one of `kinds`.
std::string documents_of(const std::string& text, const std::vector<std::string>& kinds) {
  std::string out, doc;
  std::istringstream in(text + "\n---\n");
  for (std::string line; std::getline(in, line);) {
    if (line == "---") {
      for (const auto& k : kinds)
        if (doc.find("\nkind: " + k + "\n") != std::string::npos) out += "---\n" + doc;
      doc = "\n";
      continue;
    }
    doc += line + "\n";
  }
  return out;
}

// Pods are modelsim instances on 127.0.0.N, all listening on one port (the pool's targetPort).
class Pods {
 public:
  Modelsim& start(const std::string& name, int n) {
    std::vector<std::string> args = {"--name", name, "--address", ip(n)};
    if (port_) {
      args.push_back("--port");
      args.push_back(std::to_string(port_));
    }
    sims_.push_back(std::make_unique<Modelsim>(args));
    port_ = sims_.back()->port();
    return *sims_.back();
  }
  static std::string ip(int n) { return "127.0.0." + std::to_string(n); }
  uint16_t port() const { return port_; }

 private:
  uint16_t port_ = 0;
  std::vector<std::unique_ptr<Modelsim>> sims_;
};

std::string gateway_config(uint16_t admin) {
  return "apiVersion: infergate.dev/v1alpha1\nkind: GatewayConfig\nmetadata: {name: e2e}\nspec:\n  workers: 2\n"
         "  admin: {address: 127.0.0.1, port: " + std::to_string(admin) + "}\n";
}

std::string gateway_object(const std::string& name, uint16_t port) {
  return "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: " + name +
         "}\nspec:\n  gatewayClassName: infergate\n  listeners: [{name: http, port: " + std::to_string(port) +
         ", protocol: HTTP}]\n";
}

// The backends' weights of route `name` as the gateway serves them ("" when absent).
std::string served_weights(Gateway& gw, const std::string& name) {
  auto j = nlohmann::json::parse(gw.admin("GET", "/weights").body, nullptr, false);
  if (!j.is_object()) return {};
  for (const auto& r : j["rules"]) {
    if (r.value("name", "") != name) continue;
    std::string out;
    for (const auto& b : r["backends"]) out += b.value("name", "") + "=" + std::to_string(b.value("weight", 0)) + " ";
    return out;
  }
  return {};
}

template <class Pred>
bool wait_for(Pred pred, milliseconds timeout) {
  const auto until = Clock::now() + timeout;
  while (Clock::now() < until) {
    if (pred()) return true;
    std::this_thread::sleep_for(milliseconds(20));
  }
  return pred();
}

std::map<std::string, int> by_prefix(const std::map<std::string, int>& seen) {
  std::map<std::string, int> out;
  for (const auto& [instance, n] : seen) out[instance.substr(0, instance.rfind('-'))] += n;
  return out;
}

#define REQUIRE_KUBECTL() \
  if (!KubeCluster::have_kubectl()) GTEST_SKIP() << "kubectl not installed"

TEST(Kubernetes, GkeSeedCreatedWithKubectlServesItsSplit) {
  REQUIRE_KUBECTL();
  KubeCluster cluster;
  Pods pods;
  pods.start("llm-a", 2);
  pods.start("llm-b", 3);
  pods.start("llm-new-a", 4);
  cluster.add_gateway_class();
  // Seed 004 (GKE guide): its two InferencePools and routes-to-llm exactly as the guide
  // writes them, `rules:` mapping and InferenceGateway parent included.
  std::string pools = documents_of(read_source("examples/gke-pool-rollout/cluster.yaml"), {"InferencePool"});
  replace_all(pools, "number: 8000", "number: " + std::to_string(pods.port()));
  cluster.create(pools);
  cluster.create(read_source("examples/gke-pool-rollout/routes-to-llm.yaml"));
  cluster.add_pod("llm-a", Pods::ip(2), {{"app", "vllm-llama3-8b-instruct"}, {"nodepool", "current"}});
  cluster.add_pod("llm-b", Pods::ip(3), {{"app", "vllm-llama3-8b-instruct"}, {"nodepool", "current"}});
  cluster.add_pod("llm-new-a", Pods::ip(4), {{"app", "vllm-llama3-8b-instruct"}, {"nodepool", "updated"}});
  Gateway gw(
      [&](uint16_t port, uint16_t admin) {
        cluster.create(gateway_object("my-inference-gateway", port));
        return gateway_config(admin);
      },
      {"--kubeconfig", cluster.kubeconfig()});
  EXPECT_TRUE(gw.process().wait_err("spec.rules: is a mapping, not a list", scaled(1000))) << gw.process().err();
  auto split = by_prefix(count_instances(gw.port(), 400));
  EXPECT_EQ(split["llm"] + split["llm-new"], 400) << "every request answered by a pod of the cluster";
  EXPECT_NEAR(split["llm-new"], 40, 20) << "the guide's 90/10";

  // GKE's HealthCheckPolicies for the two pools (the example's health-check.yaml), created
  // with kubectl, are followed like the rest: every pod of both pools gets checked.
  cluster.create(read_source("examples/gke-pool-rollout/health-check.yaml"));
  auto checked_by = [&](const std::string& pool) {
    auto j = nlohmann::json::parse(gw.admin("GET", "/pools").body, nullptr, false);
    if (!j.is_object()) return std::string();
    for (const auto& p : j["pools"])
      if (p.value("name", "") == pool && p["health_check"].is_object())
        return p["health_check"].value("origin", "");
    return std::string();
  };
  EXPECT_TRUE(wait_for([&] { return checked_by("llm") == "HealthCheckPolicy/default/llm-health"; }, scaled(5000)))
      << gw.admin("GET", "/pools").body;
  EXPECT_EQ(checked_by("llm-new"), "HealthCheckPolicy/default/llm-new-health");
  EXPECT_TRUE(wait_for([&] { return gw.stat("cluster.inferencepool_default_llm.health_check.success") >= 2; },
                       scaled(5000)))
      << "both pods of llm answered their first check";
}

TEST(Kubernetes, IstioSeedCreatedWithKubectlRoutesBySubset) {
  REQUIRE_KUBECTL();
  KubeCluster cluster;
  Pods pods;
  pods.start("v1-a", 5);
  pods.start("v2-a", 6);
  cluster.add_gateway_class();
  // Seed 000 (Istio canary): the Service and DestinationRule the post leaves to the cluster,
  // and its VirtualService verbatim, bound to the Gateway `llm-gateway`; pods labelled by
  // version, selected through the DestinationRule's subsets.
  std::string istio = documents_of(read_source("examples/istio-canary/cluster.yaml"), {"Service", "DestinationRule"});
  replace_all(istio, "targetPort: 8080", "targetPort: " + std::to_string(pods.port()));
  cluster.create(istio + documents_of(read_source("examples/istio-canary/seed.yaml"), {"VirtualService"}));
  cluster.add_pod("v1-a", Pods::ip(5), {{"app", "llm-model"}, {"version", "v1"}});
  cluster.add_pod("v2-a", Pods::ip(6), {{"app", "llm-model"}, {"version", "v2"}});
  Gateway gw(
      [&](uint16_t port, uint16_t admin) {
        cluster.create(gateway_object("llm-gateway", port));
        return gateway_config(admin);
      },
      {"--kubeconfig", cluster.kubeconfig()});
  auto describe = [](const std::map<std::string, int>& m) {
    std::string out;
    for (const auto& [k, v] : m) out += k + "=" + std::to_string(v) + " ";
    return out;
  };
  // The VirtualService's hosts: [llm-service].
  auto v1 = count_instances(gw.port(), 20, {{"Host", "llm-service"}, {"version", "v1"}});
  EXPECT_EQ(v1["v1-a"], 20) << "header version: v1 -> subset v1: " << describe(v1) << gw.process().err();
  auto rest = count_instances(gw.port(), 20, {{"Host", "llm-service"}});
  EXPECT_EQ(rest["v2-a"], 20) << "everything else -> subset v2: " << describe(rest);
}

// Two InferencePools (pool-v1, pool-v2: pods labelled version v1 / v2) and HTTPRoute "canary"
// splitting w1/w2 between them, all created with kubectl.
void create_canary(KubeCluster& cluster, uint16_t target_port, unsigned w1, unsigned w2) {
  std::string y;
  for (const char* v : {"v1", "v2"})
    y += std::string("---\napiVersion: inference.networking.k8s.io/v1\nkind: InferencePool\nmetadata: {name: pool-") + v +
         "}\nspec:\n  selector: {matchLabels: {version: " + v + "}}\n  targetPorts: [{number: " +
         std::to_string(target_port) + "}]\n";
  y += "---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: canary}\nspec:\n"
       "  parentRefs: [{name: gw}]\n  rules:\n  - backendRefs:\n";
  y += "    - {group: inference.networking.k8s.io, kind: InferencePool, name: pool-v1, weight: " + std::to_string(w1) + "}\n";
  y += "    - {group: inference.networking.k8s.io, kind: InferencePool, name: pool-v2, weight: " + std::to_string(w2) + "}\n";
  cluster.create(y);
}

// What Argo Rollouts' Gateway API plugin does: a merge patch of the rule's backendRefs.
std::string weights_patch(unsigned w1, unsigned w2) {
  return R"({"spec":{"rules":[{"backendRefs":[{"group":"inference.networking.k8s.io","kind":"InferencePool","name":"pool-v1","weight":)" +
         std::to_string(w1) + R"(},{"group":"inference.networking.k8s.io","kind":"InferencePool","name":"pool-v2","weight":)" +
         std::to_string(w2) + "}]}]}}";
}

std::string chat_request() {
  const std::string body = chat_body(1, false);
  return "POST /v1/chat/completions HTTP/1.1\r\nHost: llm\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

struct CanaryCluster {
  KubeCluster cluster;
  Pods pods;
  std::unique_ptr<Gateway> gw;

  explicit CanaryCluster(unsigned w1 = 90, unsigned w2 = 10) {
    pods.start("v1-a", 2);
    pods.start("v2-a", 3);
    cluster.add_gateway_class();
    create_canary(cluster, pods.port(), w1, w2);
    cluster.add_pod("v1-a", Pods::ip(2), {{"app", "llm"}, {"version", "v1"}});
    cluster.add_pod("v2-a", Pods::ip(3), {{"app", "llm"}, {"version", "v2"}});
    gw = std::make_unique<Gateway>(
        [&](uint16_t port, uint16_t admin) {
          cluster.create(gateway_object("gw", port));
          return gateway_config(admin);
        },
        std::vector<std::string>{"--kubeconfig", cluster.kubeconfig()});
  }
};

TEST(Kubernetes, WeightPatchesWithKubectlFollowUnderLoadWithoutAnError) {
  REQUIRE_KUBECTL();
  CanaryCluster c;
  PacedLoad load(c.gw->port(), chat_request(), 4, 200);
  load.start();
  for (auto [w1, w2] : {std::pair{90u, 10u}, {50u, 50u}, {0u, 100u}}) {
    c.cluster.kubectl({"patch", "httproute", "canary", "--type=merge", "-p", weights_patch(w1, w2)});
    const std::string want = "pool-v1=" + std::to_string(w1) + " pool-v2=" + std::to_string(w2) + " ";
    const auto patched = Clock::now();
    ASSERT_TRUE(wait_for([&] { return served_weights(*c.gw, "canary") == want; }, scaled(5000)))
        << served_weights(*c.gw, "canary") << "\n" << c.gw->process().describe();
    const auto took = std::chrono::duration_cast<milliseconds>(Clock::now() - patched);
    std::cout << "[ weights " << w1 << "/" << w2 << " served " << took.count() << " ms after kubectl patch returned ]\n";
    auto split = count_instances(c.gw->port(), 100);
    EXPECT_NEAR(split["v2-a"], w2, 12) << w1 << "/" << w2;
  }
  std::this_thread::sleep_for(milliseconds(500));
  load.stop();
  EXPECT_EQ(load.errors(), 0u) << (load.error_reasons().empty() ? "" : load.error_reasons()[0]);
  size_t not_ok = 0;
  for (const auto& s : load.samples()) not_ok += s.status != 200;
  EXPECT_EQ(not_ok, 0u);
  EXPECT_GT(load.samples().size(), 50u) << "the load ran through every patch";
}

TEST(Kubernetes, PoolScalesTwoFiveOneUnderLoadAndANotReadyPodGetsNothingNew) {
  REQUIRE_KUBECTL();
  CanaryCluster c(100, 0);
  // pool-v1 has v1-a; add v1-b, then scale to five, then down to one.
  c.pods.start("v1-b", 4);
  PacedLoad load(c.gw->port(), chat_request(), 4, 200);
  load.start();
  c.cluster.add_pod("v1-b", Pods::ip(4), {{"app", "llm"}, {"version", "v1"}});
  for (int n = 5; n <= 7; ++n) {
    c.pods.start("v1-" + std::string(1, static_cast<char>('a' + n - 3)), n);
    c.cluster.add_pod("v1-" + std::string(1, static_cast<char>('a' + n - 3)), Pods::ip(n), {{"app", "llm"}, {"version", "v1"}});
  }
  std::set<std::string> seen;
  ASSERT_TRUE(wait_for([&] {
    for (const auto& [instance, n] : count_instances(c.gw->port(), 20)) seen.insert(instance);
    return seen.size() == 5;
  }, scaled(5000))) << seen.size() << " of 5 pods served";
  // Down to one: as a kubelet does, each pod turns NotReady, then goes away.
  for (const char* name : {"v1-b", "v1-c", "v1-d", "v1-e"}) c.cluster.set_ready(name, false);
  std::this_thread::sleep_for(milliseconds(1000));
  const auto after = Clock::now();
  for (const char* name : {"v1-b", "v1-c", "v1-d", "v1-e"}) c.cluster.kubectl({"delete", "pod", name, "--wait=false"});
  std::this_thread::sleep_for(milliseconds(500));
  load.stop();
  EXPECT_EQ(load.errors(), 0u) << (load.error_reasons().empty() ? "" : load.error_reasons()[0]);
  size_t not_ok = 0, late = 0;
  for (const auto& s : load.samples()) {
    not_ok += s.status != 200;
    if (s.at > after && s.instance != "v1-a") ++late;
  }
  EXPECT_EQ(not_ok, 0u);
  EXPECT_EQ(late, 0u) << "a pod NotReady for 1 s gets no new request";
}

TEST(Kubernetes, ApiOutagesDroppedWatchesAndGoneKeepServingAndRecover) {
  REQUIRE_KUBECTL();
  CanaryCluster c(100, 0);
  PacedLoad load(c.gw->port(), chat_request(), 2, 100);
  load.start();
  auto expect_follow = [&](unsigned w1, unsigned w2, const char* after) {
    c.cluster.kubectl({"patch", "httproute", "canary", "--type=merge", "-p", weights_patch(w1, w2)});
    const std::string want = "pool-v1=" + std::to_string(w1) + " pool-v2=" + std::to_string(w2) + " ";
    // The informers back off after failures (client-go's 0.8 s doubling, jittered), up to a
    // few seconds after an outage; on a loaded machine kubectl itself takes a while.
    EXPECT_TRUE(wait_for([&] { return served_weights(*c.gw, "canary") == want; }, scaled(20000)))
        << after << ": " << served_weights(*c.gw, "canary");
  };
  // The API server goes away: the gateway keeps serving what it has.
  c.cluster.api().stop();
  std::this_thread::sleep_for(milliseconds(1500));
  EXPECT_EQ(count_instances(c.gw->port(), 20)["v1-a"], 20) << "serving the last good state during the outage";
  try {
    c.cluster.api().start();
  } catch (const std::exception& e) {
    FAIL() << e.what() << "\n" << run_command({"/usr/bin/ss", "-tanpo"}).out;
  }
  expect_follow(50, 50, "API server restart");
  c.cluster.api().drop_watches();
  expect_follow(0, 100, "dropped watches");
  // The route changes while the API server is down and its history is compacted past it: the
  // watches come back from a resourceVersion that is gone (410), and the gateway lists again.
  // (Compacting with the watches up would not do: a watch at the newest version misses nothing.)
  c.cluster.api().stop();
  nlohmann::json route = c.cluster.api().get("gateway.networking.k8s.io", "httproutes", "default", "canary");
  route["spec"]["rules"][0]["backendRefs"][0]["weight"] = 30;
  route["spec"]["rules"][0]["backendRefs"][1]["weight"] = 70;
  ASSERT_TRUE(c.cluster.api().update(route).ok());
  c.cluster.api().compact();
  c.cluster.api().start();
  EXPECT_TRUE(wait_for([&] { return served_weights(*c.gw, "canary") == "pool-v1=30 pool-v2=70 "; }, scaled(20000)))
      << "410 Gone: " << served_weights(*c.gw, "canary");
  auto dump = nlohmann::json::parse(c.gw->admin("GET", "/config_dump").body, nullptr, false);
  uint64_t relists = 0;
  for (const auto& i : dump["kubernetes"]["informers"]) relists += i.value("relists", 0);
  EXPECT_GT(relists, 0u) << dump["kubernetes"].dump();
  load.stop();
  EXPECT_EQ(load.errors(), 0u) << (load.error_reasons().empty() ? "" : load.error_reasons()[0]);
  size_t not_ok = 0;
  for (const auto& s : load.samples()) not_ok += s.status != 200;
  EXPECT_EQ(not_ok, 0u);
}

TEST(Kubernetes, AnInvalidRouteIsReportedAndLeftOutWhileTheOthersServe) {
  REQUIRE_KUBECTL();
  CanaryCluster c(0, 100);
  c.cluster.create("apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: broken}\nspec:\n"
                   "  parentRefs: [{name: gw}]\n  rules:\n  - matches: [{path: {type: RegularExpression, value: \"([\"}}]\n"
                   "    backendRefs: [{group: inference.networking.k8s.io, kind: InferencePool, name: pool-v1}]\n");
  ASSERT_TRUE(c.gw->process().wait_err("HTTPRoute default/broken left out", scaled(5000))) << c.gw->process().err();
  auto stats = parse_stats(c.gw->admin("GET", "/stats").body);
  EXPECT_EQ(stats["infergate.kubernetes.rejected_objects"], 1);
  auto dump = nlohmann::json::parse(c.gw->admin("GET", "/config_dump").body, nullptr, false);
  ASSERT_EQ(dump["kubernetes"]["rejected"].size(), 1u) << dump["kubernetes"].dump();
  EXPECT_EQ(dump["kubernetes"]["rejected"][0]["name"], "broken");
  EXPECT_EQ(count_instances(c.gw->port(), 20)["v2-a"], 20) << "the good route keeps serving";
  // Fixed in the cluster: it is no longer left out.
  c.cluster.kubectl({"patch", "httproute", "broken", "--type=merge", "-p",
                     R"({"spec":{"rules":[{"matches":[{"path":{"type":"PathPrefix","value":"/fixed"}}],"backendRefs":[{"group":"inference.networking.k8s.io","kind":"InferencePool","name":"pool-v1"}]}]}})"});
  EXPECT_TRUE(c.gw->process().wait_err("HTTPRoute default/broken is no longer left out", scaled(5000)));
}


nlohmann::json kubectl_json(KubeCluster& cluster, const std::vector<std::string>& args) {
  std::vector<std::string> a = args;
  a.push_back("-o");
  a.push_back("json");
  CommandResult r = cluster.kubectl(a, false);
  return nlohmann::json::parse(r.out, nullptr, false);
}

// The condition `type` of status.parents[0] ("" when absent).
std::string parent_condition(const nlohmann::json& route, const std::string& type, const char* field = "status") {
  if (!route.is_object() || !route.contains("status") || !route["status"].contains("parents")) return {};
  for (const auto& p : route["status"]["parents"])
    for (const auto& c : p.value("conditions", nlohmann::json::array()))
      if (c.value("type", "") == type) return c.value(field, "");
  return {};
}

TEST(Kubernetes, StatusIsWrittenBackAsGatewayApiControllersDo) {
  REQUIRE_KUBECTL();
  CanaryCluster c(50, 50);
  c.cluster.create("apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: to-missing-pool}\nspec:\n"
                   "  parentRefs: [{name: gw}]\n  rules:\n  - matches: [{path: {type: PathPrefix, value: /missing}}]\n"
                   "    backendRefs: [{group: inference.networking.k8s.io, kind: InferencePool, name: no-such-pool}]\n");
  c.cluster.create("apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: broken}\nspec:\n"
                   "  parentRefs: [{name: gw}]\n  rules:\n  - matches: [{path: {type: RegularExpression, value: \"([\"}}]\n"
                   "    backendRefs: [{group: inference.networking.k8s.io, kind: InferencePool, name: pool-v1}]\n");
  // A route of another controller's Gateway: never given status by us.
  c.cluster.create("apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {name: other}\n"
                   "spec: {controllerName: example.com/other}\n---\napiVersion: gateway.networking.k8s.io/v1\n"
                   "kind: Gateway\nmetadata: {name: other-gw}\nspec:\n  gatewayClassName: other\n"
                   "  listeners: [{name: http, port: 80, protocol: HTTP}]\n---\n"
                   "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: not-ours}\nspec:\n"
                   "  parentRefs: [{name: other-gw}]\n  rules: [{backendRefs: [{name: x, port: 80}]}]\n");
  nlohmann::json good, missing, broken;
  ASSERT_TRUE(wait_for([&] {
    good = kubectl_json(c.cluster, {"get", "httproute", "canary"});
    missing = kubectl_json(c.cluster, {"get", "httproute", "to-missing-pool"});
    broken = kubectl_json(c.cluster, {"get", "httproute", "broken"});
    return parent_condition(good, "ResolvedRefs") == "True" && parent_condition(missing, "ResolvedRefs") == "False" &&
           parent_condition(broken, "Accepted") == "False";
  }, scaled(10000))) << good.dump() << "\n" << missing.dump() << "\n" << broken.dump() << "\n" << c.gw->process().describe();
  EXPECT_EQ(parent_condition(good, "Accepted"), "True");
  EXPECT_EQ(good["status"]["parents"][0].value("controllerName", ""), "infergate.dev/gateway-controller");
  EXPECT_EQ(parent_condition(missing, "Accepted"), "True") << "a missing backend is ResolvedRefs=False, still Accepted";
  EXPECT_EQ(parent_condition(missing, "ResolvedRefs", "reason"), "BackendNotFound");
  EXPECT_FALSE(parent_condition(broken, "Accepted", "message").empty());
  auto gw = kubectl_json(c.cluster, {"get", "gateway", "gw"});
  bool programmed = false;
  for (const auto& cond : gw["status"].value("conditions", nlohmann::json::array()))
    programmed = programmed || (cond.value("type", "") == "Programmed" && cond.value("status", "") == "True");
  EXPECT_TRUE(programmed) << gw.dump();
  // A Gateway created after start: its port opens only after a restart, and status says so.
  c.cluster.create(gateway_object("late", free_port()));
  nlohmann::json late;
  EXPECT_TRUE(wait_for([&] {
    late = kubectl_json(c.cluster, {"get", "gateway", "late"});
    for (const auto& cond : late.value("status", nlohmann::json::object()).value("conditions", nlohmann::json::array()))
      if (cond.value("type", "") == "Programmed") return cond.value("status", "") == "False" && cond.value("reason", "") == "Pending";
    return false;
  }, scaled(10000))) << late.dump();
  auto pool = kubectl_json(c.cluster, {"get", "inferencepool.inference.networking.k8s.io", "pool-v1"});
  EXPECT_TRUE(pool.contains("status") && pool["status"].contains("parents")) << pool.dump();
  auto other = kubectl_json(c.cluster, {"get", "httproute", "not-ours"});
  EXPECT_FALSE(other.contains("status") && other["status"].contains("parents")) << other.dump();

  // Steady state: nothing more is written (status is written on change only).
  c.cluster.api().reset_request_accounting();
  std::this_thread::sleep_for(milliseconds(1500));
  // Only the Lease is renewed (every 2 s); nothing else is written or listed.
  std::vector<std::string> other_requests;
  for (const auto& line : c.cluster.api().request_log())
    if (line.find("/leases/") == std::string::npos) other_requests.push_back(line);
  EXPECT_TRUE(other_requests.empty()) << "no write storm, no polling: " << other_requests.front();
}

// A second gateway replica following the same cluster (its own admin port; the listener port
// is the Gateway's, shared with SO_REUSEPORT as replicas behind one Service would be).
std::unique_ptr<Gateway> second_replica(KubeCluster& cluster) {
  return std::make_unique<Gateway>([&](uint16_t, uint16_t admin) { return gateway_config(admin); },
                                   std::vector<std::string>{"--kubeconfig", cluster.kubeconfig()});
}

double stat(Gateway& gw, const std::string& name) {
  auto stats = parse_stats(gw.admin("GET", "/stats").body);
  auto it = stats.find(name);
  return it == stats.end() ? 0 : it->second;
}

TEST(Kubernetes, TwoReplicasOneLeaderWhichResumesARolloutAfterTheLeaderIsKilled) {
  REQUIRE_KUBECTL();
  CanaryCluster c(100, 0);
  auto replica = second_replica(c.cluster);
  // One of the two leads.
  ASSERT_TRUE(wait_for([&] {
    return stat(*c.gw, "infergate.leader_election.leading") + stat(*replica, "infergate.leader_election.leading") == 1;
  }, scaled(10000))) << c.gw->process().err() << replica->process().err();
  Gateway* leader = stat(*c.gw, "infergate.leader_election.leading") == 1 ? c.gw.get() : replica.get();
  Gateway* follower = leader == c.gw.get() ? replica.get() : c.gw.get();
  auto lease = kubectl_json(c.cluster, {"get", "lease", "infergate-leader"});
  EXPECT_FALSE(lease["spec"].value("holderIdentity", "").empty()) << lease.dump();

  // A rollout: 20 % then wait to be promoted. The leader moves the weights in the API.
  c.cluster.create("apiVersion: infergate.dev/v1alpha1\nkind: Rollout\nmetadata: {name: canary-rollout}\nspec:\n"
                   "  targetRef: {kind: HTTPRoute, name: canary}\n  stable: pool-v1\n  canary: pool-v2\n"
                   "  steps:\n  - setWeight: 20\n  - pause: {}\n  - setWeight: 100\n");
  ASSERT_TRUE(wait_for([&] { return served_weights(*follower, "canary") == "pool-v1=80 pool-v2=20 "; }, scaled(10000)))
      << "the follower serves the weights the leader wrote to the API: " << served_weights(*follower, "canary")
      << leader->process().err();
  nlohmann::json rollout;
  ASSERT_TRUE(wait_for([&] {
    rollout = kubectl_json(c.cluster, {"get", "rollout", "canary-rollout"});
    return rollout.contains("status") && rollout["status"].value("phase", "") == "Paused";
  }, scaled(10000))) << rollout.dump();
  const int step = rollout["status"].value("step", 0);
  EXPECT_EQ(step, 2) << rollout.dump();
  EXPECT_EQ(rollout["status"].value("canaryWeight", -1), 20);
  EXPECT_EQ(stat(*follower, "infergate.kubernetes.status_write_ok"), 0) << "only the leader writes status";
  EXPECT_GT(stat(*leader, "infergate.kubernetes.status_write_ok"), 0);

  // The leader dies without handing the Lease back: the follower takes over once it expires
  // (15 s, client-go's default) and resumes the rollout where it was.
  leader->process().kill_now();
  ASSERT_TRUE(wait_for([&] { return stat(*follower, "infergate.leader_election.leading") == 1; }, scaled(30000)))
      << follower->process().err();
  ASSERT_TRUE(follower->process().wait_err("resumed", scaled(5000))) << follower->process().err();
  auto status = nlohmann::json::parse(follower->admin("GET", "/rollouts").body, nullptr, false);
  ASSERT_TRUE(status.is_object() && status.contains("rollouts") && !status["rollouts"].empty()) << status.dump();
  EXPECT_EQ(status["rollouts"][0].value("phase", ""), "Paused") << status.dump();
  EXPECT_EQ(served_weights(*follower, "canary"), "pool-v1=80 pool-v2=20 ") << "not started again from step 1";
  // Promoted by the new leader: the weights move on in the API.
  EXPECT_EQ(follower->admin("POST", "/rollouts/promote", R"({"name":"canary-rollout"})").status, 200);
  EXPECT_TRUE(wait_for([&] { return served_weights(*follower, "canary") == "pool-v1=0 pool-v2=100 "; }, scaled(10000)))
      << served_weights(*follower, "canary");
}


TEST(Kubernetes, AnHttpsListenerServesTheCertificateOfItsSecret) {
  REQUIRE_KUBECTL();
  if (tool_path("curl").empty()) GTEST_SKIP() << "curl not installed";
  KubeCluster cluster;
  Pods pods;
  pods.start("v1-a", 2);
  cluster.add_gateway_class();
  create_canary(cluster, pods.port(), 100, 0);
  cluster.add_pod("v1-a", Pods::ip(2), {{"app", "llm"}, {"version", "v1"}});
  // The certificate the test API server uses (issued for 127.0.0.1 by the test CA), as a
  // kubernetes.io/tls Secret with base64 data, as the API stores it. (`kubectl create secret
  // tls` would send protobuf, which the test API server does not decode for this type.)
  auto b64 = [](const std::string& file) { return run_command({"/usr/bin/base64", "-w0", file}).out; };
  cluster.create("apiVersion: v1\nkind: Secret\nmetadata: {name: gw-cert}\ntype: kubernetes.io/tls\ndata:\n  tls.crt: " +
                 b64(cluster.certs().cert_pem) + "\n  tls.key: " + b64(cluster.certs().key_pem) + "\n");
  uint16_t https_port = 0;
  Gateway gw(
      [&](uint16_t port, uint16_t admin) {
        https_port = port;
        cluster.create("apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: gw}\nspec:\n"
                       "  gatewayClassName: infergate\n  listeners:\n  - name: https\n    port: " + std::to_string(port) +
                       "\n    protocol: HTTPS\n    tls: {mode: Terminate, certificateRefs: [{name: gw-cert}]}\n");
        return gateway_config(admin);
      },
      {"--kubeconfig", cluster.kubeconfig()});
  CommandResult r = run_command({tool_path("curl"), "-sS", "--cacert", cluster.certs().ca_pem, "-o", "/dev/null", "-w",
                                 "%{http_code}", "-H", "Content-Type: application/json", "-d", chat_body(1, false),
                                 "https://127.0.0.1:" + std::to_string(https_port) + "/v1/chat/completions"});
  EXPECT_EQ(r.out, "200") << r.err << gw.process().err();
}

}  // namespace
}  // namespace infergate::e2e
