// What the metrics cost: recording one request in the per-version and Inference Extension
// families (the request path's share), reading token usage from a response, and one scrape
// of /stats/prometheus with 10 .. 1,000 per-version label sets.
//
// The label sets come from generated configs through build_snapshot, exactly as the gateway
// builds them (ROUTES HTTPRoutes of two InferencePool backends each), so the scrape measures
// the families and label values a real config exposes.
//
//   build/metrics_bench [--benchmark_filter=Scrape]
#include <benchmark/benchmark.h>

#include <memory>
#include <string>

#include "config/loader.h"
#include "gateway/control/snapshot.h"
#include "metrics/token_usage.h"

namespace {

namespace gw = infergate::gateway;
namespace config = infergate::config;
namespace metrics = infergate::metrics;

// `routes` HTTPRoutes, each splitting between InferencePools a and b.
std::string config_with(int routes) {
  std::string y = R"(apiVersion: infergate.dev/v1alpha1
kind: GatewayConfig
metadata: {name: bench}
spec:
  workers: 2
  endpoints:
  - {name: a, address: 10.0.0.1, port: 8000, labels: {app: a, version: v1}}
  - {name: b, address: 10.0.0.2, port: 8000, labels: {app: b, version: v2}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: bench}
spec:
  listeners: [{name: http, port: 8080, protocol: HTTP}]
)";
  for (const char* p : {"a", "b"})
    y += std::string("---\napiVersion: inference.networking.k8s.io/v1\nkind: InferencePool\nmetadata: {name: pool-") + p +
         "}\nspec: {selector: {matchLabels: {app: " + p + "}}, targetPorts: [{number: 8000}]}\n";
  for (int i = 0; i < routes; ++i) {
    y += "---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r" + std::to_string(i) +
         "}\nspec:\n  parentRefs: [{name: bench}]\n  rules:\n  - matches: [{path: {type: PathPrefix, value: /r" +
         std::to_string(i) + "}}]\n    backendRefs:\n" +
         "    - {group: inference.networking.k8s.io, kind: InferencePool, name: pool-a, weight: 90}\n" +
         "    - {group: inference.networking.k8s.io, kind: InferencePool, name: pool-b, weight: 10}\n";
  }
  return y;
}

struct Built {
  metrics::Registry registry{3};
  infergate::pools::EndpointRegistry endpoints;
  std::shared_ptr<const gw::Snapshot> snap;
  explicit Built(int routes) {
    auto loaded = config::load_string(config_with(routes), "bench.yaml");
    if (!loaded.ok()) throw std::runtime_error("bench config rejected: " + loaded.errors.at(0).to_string());
    config::Config cfg = *loaded.config;
    cfg.gateway.body_routing.enabled = false;  // one label set per route backend
    std::vector<config::Diagnostic> errors;
    snap = gw::build_snapshot(std::make_shared<config::Config>(std::move(cfg)), 1, "bench", endpoints, registry, &errors);
  }
};

gw::RequestOutcome streamed_ok() {
  gw::RequestOutcome o;
  o.status = 200;
  o.duration = std::chrono::milliseconds(850);
  o.ttft = std::chrono::milliseconds(120);
  o.last_byte = std::chrono::milliseconds(840);
  o.stream_events = 40;
  o.input_tokens = 512;
  o.output_tokens = 40;
  o.request_bytes = 2300;
  o.response_bytes = 9000;
  return o;
}

// The request path's metrics work once the backend is known: find the series, record.
void BM_RecordRequest(benchmark::State& state) {
  Built b(10);
  const auto& backend = b.snap->routes->routes().front().backends.front();
  const gw::RequestOutcome o = streamed_ok();
  for (auto _ : state) {
    auto s = b.snap->version_stats->find(&backend, std::nullopt, "");
    gw::VersionStats::record(s, o);
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(BM_RecordRequest);

void BM_Scrape(benchmark::State& state) {
  const int label_sets = static_cast<int>(state.range(0));
  Built b(label_sets / 2);
  for (const auto& r : b.snap->routes->routes())
    for (const auto& backend : r.backends)
      gw::VersionStats::record(b.snap->version_stats->find(&backend, std::nullopt, ""), streamed_ok());
  size_t bytes = 0;
  for (auto _ : state) {
    std::string text = b.registry.prometheus_text();
    bytes = text.size();
    benchmark::DoNotOptimize(text);
  }
  state.counters["label_sets"] = static_cast<double>(b.snap->version_stats->label_sets());
  state.counters["MiB"] = static_cast<double>(bytes) / (1 << 20);
}
BENCHMARK(BM_Scrape)->Arg(10)->Arg(100)->Arg(1000)->Unit(benchmark::kMillisecond);

std::string chat_json() {
  std::string content(900, 'x');
  return R"({"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,)"
         R"("message":{"role":"assistant","content":")" +
         content + R"("},"finish_reason":"stop"}],"usage":{"prompt_tokens":512,"completion_tokens":200,"total_tokens":712}})";
}

void BM_TokenUsageJson(benchmark::State& state) {
  const std::string body = chat_json();
  for (auto _ : state) {
    metrics::TokenUsageReader r(metrics::TokenUsageReader::Body::Json);
    r.feed(body);
    benchmark::DoNotOptimize(r.completion_tokens());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
}
BENCHMARK(BM_TokenUsageJson);

// 64 token events of vLLM's shape, then the usage event and [DONE], fed event by event.
void BM_TokenUsageStream(benchmark::State& state) {
  std::vector<std::string> events;
  for (int i = 0; i < 64; ++i)
    events.push_back(R"(data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m",)"
                     R"("choices":[{"index":0,"delta":{"content":" tok"},"finish_reason":null}],"usage":null})"
                     "\n\n");
  events.push_back(R"(data: {"id":"chatcmpl-1","choices":[],"usage":{"prompt_tokens":512,"completion_tokens":64}})"
                   "\n\ndata: [DONE]\n\n");
  size_t bytes = 0;
  for (const auto& e : events) bytes += e.size();
  for (auto _ : state) {
    metrics::TokenUsageReader r(metrics::TokenUsageReader::Body::EventStream);
    for (const auto& e : events) r.feed(e);
    benchmark::DoNotOptimize(r.completion_tokens());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
}
BENCHMARK(BM_TokenUsageStream);

}  // namespace

BENCHMARK_MAIN();
