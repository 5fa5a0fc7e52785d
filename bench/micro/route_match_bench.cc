// Cost of one route match (RouteTable::match) at 10 and 1,000 routes.
//
// Every table is built from generated YAML through config::load_string, exactly as the
// gateway loads manifests, so the benchmark measures the compiled form the proxy serves
// with (precedence order, host groups, RE2 programs), not a hand-built one. Each case first
// checks that the request reaches the route it is meant to reach, so a change in
// precedence cannot silently turn a worst case into a best case.
//
//   build/route_match_bench [--benchmark_filter=prefix_last]
#include <benchmark/benchmark.h>

#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/loader.h"
#include "routing/route_table.h"

namespace {

using infergate::RequestHead;
namespace config = infergate::config;
namespace routing = infergate::routing;

constexpr std::string_view kListener = "default/bench/http";
constexpr std::string_view kHost = "bench.example.com";

const std::string kBase = R"(apiVersion: infergate.dev/v1alpha1
kind: GatewayConfig
metadata: {name: bench}
spec:
  endpoints:
  - {name: pod, address: 10.0.0.1, labels: {app: llm}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: bench}
spec:
  listeners: [{name: http, port: 8080, protocol: HTTP}]
---
apiVersion: v1
kind: Service
metadata: {name: llm}
spec:
  selector: {app: llm}
  ports: [{port: 80, targetPort: 8000}]
)";

// Zero-padded so that name order (the last precedence tie-breaker) is index order.
std::string id(int i) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d", i);
  return buf;
}

// HTTPRoute "r<i>" with `hostnames` (a flow sequence, may be "[]") and one `match`.
std::string http_route(int i, const std::string& hostnames, const std::string& match) {
  return "---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r" +
         id(i) + "}\nspec:\n  parentRefs: [{name: bench}]\n  hostnames: " + hostnames +
         "\n  rules:\n  - matches: [" + match + "]\n    backendRefs: [{name: llm, port: 80}]\n";
}

std::string route_name(int i) { return "default/r" + id(i) + "/rule0"; }

// What a client sends besides the route-relevant parts: header matches scan past these.
RequestHead request(std::string_view path, std::string_view authority,
                    std::vector<std::pair<std::string, std::string>> extra = {}) {
  RequestHead h;
  h.method = "POST";
  h.path = path;
  h.authority = authority;
  h.headers.add("user-agent", "openai-python/1.40.0");
  h.headers.add("accept", "application/json");
  h.headers.add("content-type", "application/json");
  h.headers.add("content-length", "187");
  h.headers.add("x-request-id", "4bf92f35-77b3-4da6-a3ce-929d0e0e4736");
  for (const auto& [name, value] : extra) h.headers.add(name, value);
  return h;
}

struct Case {
  std::string yaml;
  RequestHead head;
  std::string want;  // route name the request must reach; "" = no route (404)
};

// (a) One hostname, distinct PathPrefix matches of equal length: the precedence order is
// name order, so the last route is scanned after every other one.
Case prefix_routes(int n, int target) {
  Case c{kBase, request("/svc" + id(target) + "/v1/chat/completions", kHost), route_name(target)};
  for (int i = 0; i < n; ++i)
    c.yaml += http_route(i, "[" + std::string(kHost) + "]",
                         "{path: {type: PathPrefix, value: /svc" + id(i) + "}}");
  return c;
}
Case prefix_last(int n) { return prefix_routes(n, n - 1); }
Case prefix_first(int n) { return prefix_routes(n, 0); }

// (b) One route per hostname: the host lookup is a hash, the scan is one route long.
Case distinct_hosts(int n) {
  const std::string host = "h" + id(n - 1) + ".example.com";
  Case c{kBase, request("/v1/chat/completions", host), route_name(n - 1)};
  for (int i = 0; i < n; ++i)
    c.yaml += http_route(i, "[h" + id(i) + ".example.com]", "{path: {type: PathPrefix, value: /v1}}");
  return c;
}

// (c) Same host and path, told apart by a header (a model name, as GIE routes by model).
Case header_routes(int n, bool regex) {
  const std::string value = "model-" + id(n - 1) + (regex ? "-v2" : "");
  Case c{kBase, request("/v1/chat/completions", kHost, {{"x-model", value}}), route_name(n - 1)};
  for (int i = 0; i < n; ++i) {
    const std::string header =
        regex ? "{name: x-model, type: RegularExpression, value: 'model-" + id(i) + "(-v[0-9]+)?'}"
              : "{name: x-model, type: Exact, value: model-" + id(i) + "}";
    c.yaml += http_route(i, "[" + std::string(kHost) + "]",
                         "{path: {type: PathPrefix, value: /v1}, headers: [" + header + "]}");
  }
  return c;
}
Case header_exact(int n) { return header_routes(n, false); }
Case header_regex(int n) { return header_routes(n, true); }

// (d) Known host, unknown path: every route is tried, then 404.
Case no_match(int n) {
  Case c = prefix_routes(n, 0);
  c.head = request("/nothing/here", kHost);
  c.want.clear();
  return c;
}

// (e) One VirtualService with n http[] entries, Istio first-match order; the last one hits.
Case virtual_service(int n) {
  Case c{kBase, request("/svc" + id(n - 1) + "/v1/chat/completions", kHost), "default/vs/h" + id(n - 1)};
  c.yaml += "---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: vs}\n"
            "spec:\n  hosts: [" + std::string(kHost) + "]\n  http:\n";
  for (int i = 0; i < n; ++i)
    c.yaml += "  - name: h" + id(i) + "\n    match: [{uri: {prefix: /svc" + id(i) +
              "}}]\n    route: [{destination: {host: llm}}]\n";
  return c;
}

void RouteMatch(benchmark::State& state, Case (*make)(int)) {
  const Case c = make(static_cast<int>(state.range(0)));
  config::LoadResult loaded = config::load_string(c.yaml, "bench.yaml");
  if (!loaded.ok()) {
    state.SkipWithError(loaded.errors.empty() ? "no config" : loaded.errors[0].to_string().c_str());
    return;
  }
  std::vector<config::Diagnostic> errors;
  const auto table = routing::RouteTable::build(*loaded.config, &errors);
  if (!errors.empty()) {
    state.SkipWithError(errors[0].to_string().c_str());
    return;
  }
  const routing::Route* hit = table->match(c.head, kListener);
  if ((hit ? hit->name : std::string()) != c.want) {
    state.SkipWithError(("matched " + (hit ? hit->name : "nothing") + ", want " + c.want).c_str());
    return;
  }
  for (auto _ : state) benchmark::DoNotOptimize(table->match(c.head, kListener));
  state.counters["routes"] = static_cast<double>(table->routes().size());
}

#define ROUTE_CASE(name) BENCHMARK_CAPTURE(RouteMatch, name, &name)->Arg(10)->Arg(1000)
ROUTE_CASE(prefix_first);
ROUTE_CASE(prefix_last);
ROUTE_CASE(distinct_hosts);
ROUTE_CASE(header_exact);
ROUTE_CASE(header_regex);
ROUTE_CASE(no_match);
ROUTE_CASE(virtual_service);

}  // namespace

BENCHMARK_MAIN();
