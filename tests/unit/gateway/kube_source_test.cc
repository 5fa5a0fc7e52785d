// The Kubernetes source against a scripted API: kubeconfig reading, the informer's list /
// watch / 410 / backoff cycle, and the cluster layer it builds (which objects are ours).
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>

#include <deque>
#include <filesystem>
#include <fstream>

#include "gateway/kube/cluster_access.h"
#include "gateway/kube/cluster_source.h"
#include "gateway/kube/informer.h"

namespace infergate::gateway::kube {
namespace {

using nlohmann::json;

// Answers requests from a script (by path prefix, first match, consumed) and keeps watches
// open until the test ends them.
class FakeApi : public ApiClient {
 public:
  struct Watch {
    std::string target;
    std::function<void(std::string_view)> on_event;
    Done on_end;
    bool cancelled = false;
  };
  class FakeHandle : public WatchHandle {
   public:
    explicit FakeHandle(std::shared_ptr<Watch> w) : w_(std::move(w)) {}
    void cancel() override { w_->cancelled = true; }
    ~FakeHandle() override { cancel(); }

   private:
    std::shared_ptr<Watch> w_;
  };

  explicit FakeApi(boost::asio::io_context& io) : io_(io) {}

  void answer(std::string prefix, int status, json body) { script_.push_back({std::move(prefix), status, body.dump()}); }

  void request(std::string_view method, std::string target, std::string, std::string, Done done) override {
    requests.push_back(std::string(method) + " " + target);
    for (auto it = script_.begin(); it != script_.end(); ++it) {
      if (target.rfind(it->prefix, 0) != 0) continue;
      ApiResponse r{"", it->status, it->body};
      script_.erase(it);
      boost::asio::post(io_, [done = std::move(done), r] { done(r); });
      return;
    }
    // Unscripted: every resource not under test is simply empty.
    boost::asio::post(io_, [done = std::move(done)] {
      done(ApiResponse{"", 200, R"({"metadata":{"resourceVersion":"1"},"items":[]})"});
    });
  }

  std::unique_ptr<WatchHandle> watch(std::string target, std::function<void(std::string_view)> on_event,
                                     Done on_end) override {
    auto w = std::make_shared<Watch>(Watch{target, std::move(on_event), std::move(on_end)});
    watches.push_back(w);
    return std::make_unique<FakeHandle>(w);
  }

  std::shared_ptr<Watch> open_watch(std::string_view plural) {
    for (auto it = watches.rbegin(); it != watches.rend(); ++it)
      if (!(*it)->cancelled && (*it)->target.find(std::string("/").append(plural).append("?")) != std::string::npos)
        return *it;
    return nullptr;
  }

  std::vector<std::string> requests;
  std::vector<std::shared_ptr<Watch>> watches;

 private:
  struct Scripted {
    std::string prefix;
    int status;
    std::string body;
  };
  boost::asio::io_context& io_;
  std::deque<Scripted> script_;
};

const ApiResource& routes() { return *find_resource("gateway.networking.k8s.io", "HTTPRoute"); }

json object(const std::string& name, const std::string& rv, json spec = json::object()) {
  return {{"metadata", {{"name", name}, {"namespace", "default"}, {"resourceVersion", rv}}}, {"spec", spec}};
}

void run(boost::asio::io_context& io) {
  io.restart();
  io.poll();
}

TEST(KubeInformer, ListsPageByPageThenWatchesFromTheListsVersion) {
  boost::asio::io_context io;
  FakeApi api(io);
  api.answer("/apis/gateway.networking.k8s.io/v1/httproutes?limit=500", 200,
             {{"metadata", {{"resourceVersion", "10"}, {"continue", "tok"}}}, {"items", {object("a", "5")}}});
  api.answer("/apis/gateway.networking.k8s.io/v1/httproutes?limit=500&continue=tok", 200,
             {{"metadata", {{"resourceVersion", "12"}}}, {"items", {object("b", "7")}}});
  std::vector<json> listed;
  std::vector<std::string> events;
  Informer inf(io, api, routes(), "", {[&](std::vector<json> items) { listed = std::move(items); },
                                       [&](const std::string& t, json o) { events.push_back(t + " " + o["metadata"]["name"].get<std::string>()); }});
  inf.start();
  run(io);
  ASSERT_TRUE(inf.synced());
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0]["kind"], "HTTPRoute") << "list items get their kind back for the parsers";
  EXPECT_EQ(listed[1]["apiVersion"], "gateway.networking.k8s.io/v1");
  auto w = api.open_watch("httproutes");
  ASSERT_TRUE(w);
  EXPECT_NE(w->target.find("resourceVersion=12"), std::string::npos) << w->target;
  EXPECT_NE(w->target.find("allowWatchBookmarks=true"), std::string::npos);
  w->on_event(R"({"type":"ADDED","object":{"metadata":{"name":"c","namespace":"default","resourceVersion":"13"}}})");
  w->on_event(R"({"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"20"}}})");
  w->on_event("not json");
  w->on_event(R"({"type":"DELETED","object":{"metadata":{"name":"a","namespace":"default","resourceVersion":"21"}}})");
  EXPECT_EQ(events, (std::vector<std::string>{"ADDED c", "DELETED a"}));
  EXPECT_EQ(inf.resource_version(), "21");
}

TEST(KubeInformer, A410InTheWatchMeansListAgain) {
  boost::asio::io_context io;
  FakeApi api(io);
  int lists = 0;
  Informer inf(io, api, routes(), "", {[&](std::vector<json>) { ++lists; }, nullptr});
  inf.start();
  run(io);
  ASSERT_EQ(lists, 1);
  auto w = api.open_watch("httproutes");
  ASSERT_TRUE(w);
  w->on_event(R"({"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired"}})");
  run(io);
  EXPECT_EQ(lists, 2);
  EXPECT_EQ(inf.counters().relists, 1u);
  auto again = api.open_watch("httproutes");
  ASSERT_TRUE(again);
  EXPECT_NE(again, w);
}

TEST(KubeInformer, AWatchThatFailsBacksOffAndResumesFromTheLastVersion) {
  boost::asio::io_context io;
  FakeApi api(io);
  Informer inf(io, api, routes(), "", {[](std::vector<json>) {}, nullptr});
  inf.start();
  run(io);
  auto w = api.open_watch("httproutes");
  ASSERT_TRUE(w);
  w->on_event(R"({"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"33"}}})");
  const size_t before = api.watches.size();
  w->on_end(ApiResponse{"watch: connection reset", 0, ""});
  run(io);
  EXPECT_EQ(api.watches.size(), before) << "no new watch before the backoff";
  io.restart();
  io.run_for(std::chrono::milliseconds(2000));  // backoff 800 ms + up to 800 ms jitter
  ASSERT_GT(api.watches.size(), before);
  EXPECT_NE(api.watches.back()->target.find("resourceVersion=33"), std::string::npos) << api.watches.back()->target;
  EXPECT_EQ(inf.counters().lists, 1u) << "a dropped watch resumes; it does not list again";
}

TEST(KubeInformer, AnUninstalledKindIsEmptyAndSynced) {
  boost::asio::io_context io;
  FakeApi api(io);
  api.answer("/apis/gateway.networking.k8s.io/v1/httproutes", 404, {{"kind", "Status"}, {"code", 404}});
  bool replaced = false;
  Informer inf(io, api, routes(), "", {[&](std::vector<json> items) { replaced = items.empty(); }, nullptr});
  inf.start();
  run(io);
  EXPECT_TRUE(inf.synced());
  EXPECT_FALSE(inf.served());
  EXPECT_TRUE(replaced);
  EXPECT_FALSE(api.open_watch("httproutes"));
}

TEST(KubeClusterSource, OnlyGatewaysOfOurClassAndTheirRoutesAreLoaded) {
  boost::asio::io_context io;
  FakeApi api(io);
  auto list = [](json items) { return json{{"metadata", {{"resourceVersion", "5"}}}, {"items", items}}; };
  api.answer("/apis/gateway.networking.k8s.io/v1/gatewayclasses", 200,
             list({{{"metadata", {{"name", "ours"}}}, {"spec", {{"controllerName", "infergate.dev/gateway-controller"}}}},
                   {{"metadata", {{"name", "theirs"}}}, {"spec", {{"controllerName", "example.com/other"}}}}}));
  api.answer("/apis/gateway.networking.k8s.io/v1/gateways", 200,
             list({object("gw-ours", "1", {{"gatewayClassName", "ours"}}), object("gw-theirs", "1", {{"gatewayClassName", "theirs"}})}));
  api.answer("/apis/gateway.networking.k8s.io/v1/httproutes", 200,
             list({object("r-ours", "1", {{"parentRefs", {{{"name", "gw-ours"}}}}}),
                   object("r-theirs", "1", {{"parentRefs", {{{"name", "gw-theirs"}}}}})}));
  api.answer("/api/v1/pods", 200,
             list({{{"metadata", {{"name", "p"}, {"namespace", "default"}, {"labels", {{"app", "a"}}}}},
                    {"status", {{"podIP", "10.0.0.9"}, {"conditions", {{{"type", "Ready"}, {"status", "True"}}}}}}}}));
  int changes = 0;
  ClusterSourceOptions opts;
  opts.debounce = std::chrono::milliseconds(0);
  ClusterSource source(io, api, opts, [&] { ++changes; });
  source.start();
  io.restart();
  io.run_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(source.synced());
  EXPECT_EQ(changes, 1) << "the first full set is announced once";
  std::set<std::string> names;
  for (const auto& m : *source.manifests()) {
    names.insert(m.key.kind + "/" + m.key.name);
    EXPECT_EQ(m.origin, config::Manifest::Origin::Kubernetes);
    EXPECT_EQ(m.text.find("\"status\""), std::string::npos) << "status is the writer's business, not config";
  }
  EXPECT_EQ(names, (std::set<std::string>{"Gateway/gw-ours", "HTTPRoute/r-ours"}));
  ASSERT_EQ(source.endpoints()->size(), 1u);
  EXPECT_EQ(source.endpoints()->at(0).address, "10.0.0.9");

  // A pod turning NotReady is a change of endpoints only; the manifests are reused.
  auto manifests_before = source.manifests();
  auto w = api.open_watch("pods");
  ASSERT_TRUE(w);
  w->on_event(R"({"type":"MODIFIED","object":{"metadata":{"name":"p","namespace":"default","resourceVersion":"9"},"status":{"podIP":"10.0.0.9","conditions":[{"type":"Ready","status":"False"}]}}})");
  io.restart();
  io.run_for(std::chrono::milliseconds(20));
  EXPECT_EQ(changes, 2);
  EXPECT_TRUE(source.endpoints()->empty());
  EXPECT_EQ(source.manifests(), manifests_before);
  // A status-only pod change that changes no endpoint announces nothing.
  w->on_event(R"({"type":"MODIFIED","object":{"metadata":{"name":"p","namespace":"default","resourceVersion":"10"},"status":{"podIP":"10.0.0.9","restartCount":1,"conditions":[{"type":"Ready","status":"False"}]}}})");
  io.restart();
  io.run_for(std::chrono::milliseconds(20));
  EXPECT_EQ(changes, 2);
}

TEST(KubeClusterSource, TheSecretsOurListenersNameAreReadByNameOnly) {
  boost::asio::io_context io;
  FakeApi api(io);
  auto list = [](json items) { return json{{"metadata", {{"resourceVersion", "5"}}}, {"items", items}}; };
  api.answer("/apis/gateway.networking.k8s.io/v1/gatewayclasses", 200,
             list({{{"metadata", {{"name", "ours"}}}, {"spec", {{"controllerName", "infergate.dev/gateway-controller"}}}}}));
  json listener = {{"name", "https"}, {"port", 443}, {"protocol", "HTTPS"},
                   {"tls", {{"certificateRefs", {{{"name", "cert"}}, {{"name", "absent"}}}}}}};
  api.answer("/apis/gateway.networking.k8s.io/v1/gateways", 200,
             list({object("gw", "1", {{"gatewayClassName", "ours"}, {"listeners", {listener}}})}));
  api.answer("/api/v1/namespaces/default/secrets/cert", 200,
             {{"metadata", {{"name", "cert"}, {"namespace", "default"}, {"resourceVersion", "9"}}},
              {"type", "kubernetes.io/tls"},
              {"data", {{"tls.crt", "Y2VydA=="}, {"tls.key", "a2V5"}}}});
  api.answer("/api/v1/namespaces/default/secrets/absent", 404, {{"kind", "Status"}, {"code", 404}});
  ClusterSourceOptions opts;
  opts.debounce = std::chrono::milliseconds(0);
  ClusterSource source(io, api, opts, nullptr);
  source.start();
  io.restart();
  io.run_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(source.synced());
  std::set<std::string> names;
  for (const auto& m : *source.manifests()) names.insert(m.key.kind + "/" + m.key.name);
  EXPECT_EQ(names, (std::set<std::string>{"Gateway/gw", "Secret/cert"})) << "a missing Secret is no manifest";
  for (const auto& r : api.requests) {
    EXPECT_EQ(r.find("/secrets?"), std::string::npos) << "Secrets are never listed or watched: " << r;
  }
  EXPECT_EQ(api.open_watch("secrets"), nullptr);
}

// Watch events and list answers of any JSON shape are read, never thrown on: json::value() on
// a member of another type threw type_error out of the control thread's handler, which ended
// the gateway (what the kube_watch fuzz target checks).
TEST(KubeClusterSource, EventsOfAnyShapeAreReadNeverThrown) {
  boost::asio::io_context io;
  FakeApi api(io);
  auto list = [](json items) { return json{{"metadata", {{"resourceVersion", "5"}}}, {"items", items}}; };
  api.answer("/apis/gateway.networking.k8s.io/v1/gatewayclasses", 200,
             list({{{"metadata", {{"name", "ours"}, {"generation", "7"}}},
                    {"spec", {{"controllerName", "infergate.dev/gateway-controller"}}}}}));
  api.answer("/apis/gateway.networking.k8s.io/v1/gateways", 200,
             list({object("gw", "1", {{"gatewayClassName", "ours"}, {"listeners", "x"}}), json("not an object")}));
  api.answer("/apis/gateway.networking.k8s.io/v1/httproutes", 200, json{{"metadata", "x"}, {"items", json::array()}});
  ClusterSourceOptions opts;
  opts.debounce = std::chrono::milliseconds(0);
  ClusterSource source(io, api, opts, nullptr);
  source.start();
  ASSERT_NO_THROW(run(io));
  ASSERT_NO_THROW(run(io));
  ASSERT_TRUE(source.synced());
  auto gateways = api.open_watch("gateways");
  auto routes_watch = api.open_watch("httproutes");
  auto classes = api.open_watch("gatewayclasses");
  auto rollouts = api.open_watch("rollouts");
  ASSERT_TRUE(gateways && routes_watch && classes && rollouts);
  for (const char* line : {
           R"({"type":"ADDED","object":{"metadata":{"name":"r","resourceVersion":7},"spec":{"parentRefs":"gw"}}})",
           R"({"type":"ADDED","object":{"metadata":{"name":"r2"},"spec":{"parentRefs":[{"name":"gw","kind":1,"namespace":[]}]}}})",
           R"({"type":"MODIFIED","object":"x"})",
           R"({"type":"ADDED","object":{"metadata":{"name":"s"},"spec":"x"}})",
           R"({"type":"ERROR","object":{"code":"410"}})",
       }) {
    ASSERT_NO_THROW(routes_watch->on_event(line)) << line;
    ASSERT_NO_THROW(run(io)) << line;
  }
  ASSERT_NO_THROW(gateways->on_event(
      R"({"type":"MODIFIED","object":{"metadata":{"name":"gw","namespace":"default"},"spec":{"gatewayClassName":"ours",)"
      R"("listeners":[{"tls":{"certificateRefs":[{"name":"c","kind":7,"namespace":{}}]}}]}}})"));
  // Another class of odd shape (ours, changed so, would rightly stop being ours: its spec names
  // no controller).
  ASSERT_NO_THROW(classes->on_event(R"({"type":"ADDED","object":{"metadata":{"name":"other","generation":{}},"spec":[]}})"));
  ASSERT_NO_THROW(rollouts->on_event(R"({"type":"ADDED","object":{"metadata":{"name":"ro"},"status":"x"}})"));
  ASSERT_NO_THROW(run(io));
  ASSERT_NO_THROW(source.manifests());
  ASSERT_NO_THROW(source.endpoints());
  EXPECT_NO_THROW(source.our_gateway_classes());
  EXPECT_NO_THROW(source.rollout_states());
  // The Gateway with the odd listener is still ours and loaded, with the well-formed route.
  std::set<std::string> names;
  for (const auto& m : *source.manifests()) names.insert(m.key.kind + "/" + m.key.name);
  EXPECT_TRUE(names.count("Gateway/gw")) << "the Gateway is still ours";
  EXPECT_TRUE(names.count("HTTPRoute/r2")) << "a parentRef's odd members read as their defaults";
}

TEST(KubeClusterAccess, KubeconfigCurrentContextWithTokenAndInlineCa) {
  const auto dir = std::filesystem::temp_directory_path() / ("kubecfg-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "token") << "from-file\n";
  std::ofstream(dir / "config") << R"(apiVersion: v1
kind: Config
current-context: test
clusters:
- name: c
  cluster: {server: "https://127.0.0.1:6443", certificate-authority-data: "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t"}
contexts:
- name: other
  context: {cluster: nope, user: nope}
- name: test
  context: {cluster: c, user: u, namespace: llm}
users:
- name: u
  user: {tokenFile: token}
)";
  std::string error;
  auto a = kubeconfig_access((dir / "config").string(), &error);
  ASSERT_TRUE(a) << error;
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 6443);
  EXPECT_TRUE(a->tls);
  EXPECT_EQ(a->ns, "llm");
  EXPECT_EQ(a->ca_pem, "-----BEGIN CERTIFICATE-----");
  EXPECT_EQ(a->authorization(), "Bearer from-file");
  std::ofstream(dir / "token") << "rotated\n";
  EXPECT_EQ(a->authorization(), "Bearer rotated") << "projected tokens rotate: the file is read again";

  std::ofstream(dir / "bad") << "current-context: missing\ncontexts: []\n";
  EXPECT_FALSE(kubeconfig_access((dir / "bad").string(), &error));
  EXPECT_NE(error.find("context \"missing\" not found"), std::string::npos) << error;
  EXPECT_FALSE(kubeconfig_access((dir / "absent").string(), &error));
  std::filesystem::remove_all(dir);
}

TEST(KubeClusterAccess, ServerUrls) {
  ClusterAccess a;
  std::string error;
  ASSERT_TRUE(parse_server_url("https://[::1]:8443", &a, &error)) << error;
  EXPECT_EQ(a.host, "::1");
  EXPECT_EQ(a.port, 8443);
  ASSERT_TRUE(parse_server_url("http://api.local", &a, &error));
  EXPECT_FALSE(a.tls);
  EXPECT_EQ(a.port, 80);
  EXPECT_FALSE(parse_server_url("ftp://x", &a, &error));
  EXPECT_FALSE(parse_server_url("https://x:99999", &a, &error));
}

}  // namespace
}  // namespace infergate::gateway::kube
