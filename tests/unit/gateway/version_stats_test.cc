// Per-version label sets resolved from real configs, and what record() makes of outcomes.
#include "gateway/proxy/version_stats.h"

#include <gtest/gtest.h>

#include "config/loader.h"
#include "gateway/control/snapshot.h"

namespace infergate::gateway {
namespace {

struct Built {
  std::shared_ptr<const Snapshot> snap;
  metrics::Registry registry{1};
  pools::EndpointRegistry endpoints;

  explicit Built(const config::LoadResult& loaded) {
    EXPECT_TRUE(loaded.ok()) << (loaded.errors.empty() ? "" : loaded.errors[0].message);
    std::vector<config::Diagnostic> errors;
    snap = build_snapshot(std::make_shared<config::Config>(*loaded.config), 1, "test", endpoints, registry, &errors);
    EXPECT_TRUE(errors.empty());
  }
  const routing::Route& route(size_t i = 0) const { return snap->routes->routes().at(i); }
  std::string text() const { return registry.prometheus_text(); }
};

const char* kPools = R"(
apiVersion: infergate.dev/v1alpha1
kind: GatewayConfig
metadata: {name: t}
spec:
  endpoints:
  - {name: a, address: 127.0.0.1, port: 9001, labels: {app: llm, version: v1}}
  - {name: b, address: 127.0.0.1, port: 9002, labels: {app: llm, version: v2}}
  - {name: c, address: 127.0.0.1, port: 9003, labels: {app: llm, version: v3}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  listeners: [{name: http, port: 8080, protocol: HTTP}]
---
apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: {name: base}
spec: {selector: {matchLabels: {version: v1}}, targetPorts: [{number: 8000}]}
---
apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: {name: mixed}
spec: {selector: {matchLabels: {app: llm}}, targetPorts: [{number: 8000}]}
---
apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferenceModel
metadata: {name: food}
spec:
  modelName: food-review
  poolRef: {name: base}
  targetModels: [{name: food-review-1, weight: 90}, {name: food-review-2, weight: 10}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: llm, namespace: prod}
spec:
  parentRefs: [{name: gw, namespace: default}]
  rules:
  - matches: [{headers: [{name: X-Gateway-Model-Name, value: chat-model}]}]
    backendRefs:
    - {group: inference.networking.k8s.io, kind: InferencePool, name: base, namespace: default}
  - backendRefs:
    - {group: inference.networking.k8s.io, kind: InferencePool, name: base, namespace: default, weight: 90}
    - {group: inference.networking.k8s.io, kind: InferencePool, name: mixed, namespace: default, weight: 10}
)";

TEST(VersionStats, PoolVersionsComeFromCommonEndpointLabelsElseThePoolName) {
  Built b(config::load_string(kPools, "pools.yaml"));
  const routing::Route& split = b.route(1);
  ASSERT_EQ(split.backends.size(), 2u);
  auto base = b.snap->version_stats->find(&split.backends[0], std::nullopt, "");
  auto mixed = b.snap->version_stats->find(&split.backends[1], std::nullopt, "");
  ASSERT_TRUE(base.version && mixed.version);
  ASSERT_TRUE(base.objective && mixed.objective) << "InferencePools have objective series";
  EXPECT_NE(base.version, mixed.version);
  base.version->requests[1].inc();
  mixed.version->requests[1].inc(2);
  const std::string text = b.text();
  EXPECT_NE(text.find(R"(infergate_version_requests_total{adapter="",backend="base",model="",response_code_class="2xx",route="prod/llm",version="v1"} 1)"),
            std::string::npos)
      << text.substr(0, 3000);
  EXPECT_NE(text.find(R"(infergate_version_requests_total{adapter="",backend="mixed",model="",response_code_class="2xx",route="prod/llm",version="mixed"} 2)"),
            std::string::npos);
}

TEST(VersionStats, ModelsTheConfigNamesGetTheirOwnSeriesOthersShareOne) {
  Built b(config::load_string(kPools, "pools.yaml"));
  const VersionStats& vs = *b.snap->version_stats;
  const routing::BackendRef* base = &b.route(1).backends[0];
  const auto none = vs.find(base, std::nullopt, "");
  const auto chat = vs.find(base, "chat-model", "");  // named by a route match
  const auto food = vs.find(base, "food-review", "");
  const auto food1 = vs.find(base, "food-review", "food-review-1");
  const auto food2 = vs.find(base, "food-review", "food-review-2");
  const auto stranger = vs.find(base, "gpt-unknown", "");
  const auto stranger2 = vs.find(base, "another-one", "");
  for (auto s : {none, chat, food, food1, food2, stranger}) ASSERT_NE(s.version, nullptr);
  EXPECT_NE(chat.version, none.version);
  EXPECT_NE(food1.version, food.version);
  EXPECT_NE(food1.version, food2.version);
  EXPECT_EQ(stranger.version, stranger2.version) << "unknown models share model=\"other\"";
  EXPECT_NE(stranger.version, none.version);
  EXPECT_EQ(food1.objective, vs.find(&b.route(0).backends[0], "food-review", "food-review-1").objective)
      << "objective series are per model and target, whatever the route";
  food2.version->requests[1].inc();
  food2.objective->requests.inc();
  stranger.version->requests[3].inc();
  const std::string text = b.text();
  EXPECT_NE(text.find(R"(infergate_version_requests_total{adapter="food-review-2",backend="base",model="food-review",response_code_class="2xx",route="prod/llm",version="v1"} 1)"),
            std::string::npos);
  EXPECT_NE(text.find(R"(inference_objective_request_total{model_name="food-review",target_model_name="food-review-2"} 1)"),
            std::string::npos);
  EXPECT_NE(text.find(R"(model="other",response_code_class="4xx",route="prod/llm",version="v1"} 1)"), std::string::npos);
  EXPECT_EQ(vs.find(nullptr, std::nullopt, "").version, nullptr);
}

TEST(VersionStats, WithoutBodyRoutingThereIsOneLabelSetPerBackend) {
  std::string yaml = kPools;
  yaml.replace(yaml.find("spec:\n  endpoints:"), 18, "spec:\n  bodyRouting: {enabled: false}\n  endpoints:");
  Built b(config::load_string(yaml, "pools.yaml"));
  // rule0 -> base; rule1 -> base, mixed: two label sets (rule0 and rule1 share route and backend).
  EXPECT_EQ(b.snap->version_stats->label_sets(), 2u);
  const auto* base = &b.route(1).backends[0];
  EXPECT_EQ(b.snap->version_stats->find(base, "food-review", "").version,
            b.snap->version_stats->find(base, std::nullopt, "").version);
}

TEST(VersionStats, IstioSubsetIsTheVersion) {
  Built b(config::load_path(INFERGATE_SOURCE_DIR "/examples/istio-canary"));
  bool saw_v1 = false, saw_v2 = false;
  for (const routing::Route& r : b.snap->routes->routes())
    for (const routing::BackendRef& ref : r.backends) {
      auto s = b.snap->version_stats->find(&ref, std::nullopt, "");
      ASSERT_NE(s.version, nullptr) << ref.cluster;
      EXPECT_EQ(s.objective, nullptr) << "Services have no objective series";
      s.version->requests[1].inc();
    }
  const std::string text = b.text();
  saw_v1 = text.find(R"(backend="llm-service",model="",response_code_class="2xx",route="default/llm-virtual-service",version="v1"})") != std::string::npos;
  saw_v2 = text.find(R"(backend="llm-service",model="",response_code_class="2xx",route="default/llm-virtual-service",version="v2"})") != std::string::npos;
  EXPECT_TRUE(saw_v1 && saw_v2) << text.substr(0, 4000);
}

TEST(VersionStats, RecordCountsClassesFlagsTokensAndTimes) {
  Built b(config::load_string(kPools, "pools.yaml"));
  const auto s = b.snap->version_stats->find(&b.route(1).backends[0], "food-review", "food-review-1");
  using std::chrono::milliseconds;
  RequestOutcome streamed;
  streamed.status = 200;
  streamed.duration = milliseconds(1100);
  streamed.ttft = milliseconds(100);
  streamed.last_byte = milliseconds(1000);
  streamed.stream_events = 12;
  streamed.input_tokens = 30;
  streamed.output_tokens = 10;  // usage wins over the event count
  VersionStats::record(s, streamed);
  RequestOutcome failed;
  failed.status = 503;
  failed.local_reply = true;
  failed.flags.set(ResponseFlag::NoHealthyUpstream);
  failed.duration = milliseconds(1);
  VersionStats::record(s, failed);
  RequestOutcome reset;
  reset.flags.set(ResponseFlag::DownstreamConnectionTermination);
  VersionStats::record(s, reset);
  RequestOutcome server_error;
  server_error.status = 500;
  VersionStats::record(s, server_error);

  EXPECT_EQ(s.version->requests[1].value(), 1u);
  EXPECT_EQ(s.version->requests[4].value(), 2u);
  EXPECT_EQ(s.version->reset.value(), 1u);
  EXPECT_EQ(s.version->input_tokens.value(), 30u);
  EXPECT_EQ(s.version->output_tokens.value(), 10u);
  const auto tpot = s.version->tpot.snapshot();
  ASSERT_EQ(tpot.count, 1u);
  EXPECT_NEAR(tpot.sum, 0.1, 1e-9) << "900 ms after the first token over 9 more tokens";
  EXPECT_EQ(s.version->ttft.snapshot().count, 1u) << "only 2xx answers have a first token";
  EXPECT_EQ(s.version->duration.snapshot().count, 4u);
  const std::string text = b.text();
  EXPECT_NE(text.find(R"(response_flag="UH",route="prod/llm",version="v1"} 1)"), std::string::npos);
  EXPECT_NE(text.find(R"(response_flag="DC",route="prod/llm",version="v1"} 1)"), std::string::npos);
  EXPECT_EQ(text.find(R"(response_flag="UF")"), std::string::npos) << "flags never seen stay hidden";
  EXPECT_NE(text.find(R"(error_code="ServiceUnavailable",model_name="food-review",target_model_name="food-review-1"} 1)"),
            std::string::npos);
  EXPECT_NE(text.find(R"(error_code="Internal",model_name="food-review",target_model_name="food-review-1"} 1)"),
            std::string::npos);
  EXPECT_NE(text.find(R"(error_code="ModelServerError",model_name="food-review",target_model_name="food-review-1"} 1)"),
            std::string::npos);
  const auto ntpot = s.objective->normalized_tpot.snapshot();
  ASSERT_EQ(ntpot.count, 1u);
  EXPECT_NEAR(ntpot.sum, 0.11, 1e-9);
  EXPECT_EQ(s.objective->output_tokens.snapshot().sum, 10);
}

}  // namespace
}  // namespace infergate::gateway
