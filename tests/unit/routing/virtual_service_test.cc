// VirtualServices in the route table: Istio's order (first match wins), hosts, listeners,
// merging with other VirtualServices and HTTPRoutes, and what each route carries (clusters
// named outbound|port|subset|fqdn, normalised weights, retries, timeouts, actions).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "istio_test_util.h"
#include "routing_test_util.h"

namespace infergate::routing {
namespace {

using namespace testing;
using std::chrono::milliseconds;

const std::string kV1 = "outbound|80|v1|llm.default.svc.cluster.local";
const std::string kV2 = "outbound|80|v2|llm.default.svc.cluster.local";
const std::string kAll = "outbound|80||llm.default.svc.cluster.local";

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Share of `n` Weyl-sequence draws that pick each backend of `r`.
std::vector<double> split(const Route& r, int n = 10000) {
  std::vector<int> counts(r.backends.size(), 0);
  WeightedSequence seq(12345);
  for (int i = 0; i < n; ++i) {
    size_t b = r.pick_backend(seq.next());
    if (b != Route::npos) ++counts[b];
  }
  std::vector<double> out;
  for (int c : counts) out.push_back(static_cast<double>(c) / n);
  return out;
}

// Seed 000 end to end through the route table: "version: v1" -> subset v1, everything else
// -> subset v2, whose lone destination's "weight: 10" still means every request.
TEST(VirtualService, SeedCanaryRoutesAsIstioDoes) {
  const std::string dir = ROUTING_TEST_SEED_DIR;
  config::LoadResult loaded =
      config::load_documents({{"seed000.yaml", read(dir + "/seed000_istio_canary.yaml")},
                              {"companion.yaml", read(dir + "/seed000_companion.yaml")}});
  ASSERT_TRUE(loaded.ok()) << (loaded.errors.empty() ? "" : loaded.errors[0].to_string());
  auto t = build(*loaded.config);
  const std::string l = "default/llm-gateway/http";
  const char* v1 = "outbound|8080|v1|llm-service.default.svc.cluster.local";
  const char* v2 = "outbound|8080|v2|llm-service.default.svc.cluster.local";

  const Route* r = t->match(request("POST", "/v1/chat/completions", "llm-service", {{"version", "v1"}}), l);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->name, "default/llm-virtual-service/http0");
  EXPECT_EQ(r->kind, RouteKind::VirtualService);
  ASSERT_EQ(r->backends.size(), 1u);
  EXPECT_EQ(r->backends[0].cluster, v1);

  for (const auto& [authority, version] :
       std::vector<std::pair<std::string, std::string>>{{"llm-service", "v2"},
                                                        {"llm-service:8080", ""},
                                                        {"llm-service.default", "v3"},
                                                        {"llm-service.default.svc.cluster.local", ""}}) {
    RequestHead head = request("POST", "/v1/chat/completions", authority);
    if (!version.empty()) head.headers.add("version", version);
    const Route* canary = t->match(head, l);
    ASSERT_NE(canary, nullptr) << authority;
    EXPECT_EQ(canary->name, "default/llm-virtual-service/http1");
    ASSERT_EQ(canary->backends.size(), 1u);
    EXPECT_EQ(canary->backends[0].cluster, v2);
    EXPECT_EQ(canary->backends[0].weight, 100u);
    EXPECT_EQ(split(*canary), std::vector<double>{1.0});  // every request, not 10 %
  }
  // Not a name of llm-service: no virtual host.
  EXPECT_EQ(t->match(request("GET", "/", "other.example.com"), l), nullptr);
}

TEST(VirtualService, FirstMatchWinsInWrittenOrder) {
  auto t = build_istio(virtual_service("order", R"(  hosts: ["*"]
  http:
  - name: broad
    match: [{uri: {prefix: /v1}}]
    route: [{destination: {host: llm, subset: v1}}]
  - name: narrow
    match: [{uri: {exact: /v1/chat}}]
    route: [{destination: {host: llm, subset: v2}}]
  - name: either
    match:
    - {uri: {prefix: /a}}
    - name: b
      uri: {prefix: /b}
    route: [{destination: {host: llm}}]
)"));
  // An exact match after a broader prefix never wins: Istio keeps written order (unlike the
  // Gateway API's precedence by specificity).
  EXPECT_EQ(matched(*t, request("GET", "/v1/chat"), kGw), "default/order/broad");
  EXPECT_EQ(matched(*t, request("GET", "/a/x"), kGw), "default/order/either");
  // Several matches of one entry are ORed; each is its own route (Istio: one Envoy route per
  // match, named "<http name>.<match name>").
  const Route* b = t->match(request("GET", "/b/x"), kGw);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->name, "default/order/either.b");
  EXPECT_EQ(b->rule_index, 2u);
  EXPECT_EQ(b->match_index, 1u);
  EXPECT_EQ(matched(*t, request("GET", "/c"), kGw), "404");
}

TEST(VirtualService, NothingAfterACatchAllAndMergedCatchAllsGoLast) {
  auto t = build_istio(
      virtual_service("old", R"(  hosts: [llm.example.com]
  http:
  - name: all
    route: [{destination: {host: llm, subset: v1}}]
  - name: after
    match: [{uri: {prefix: /after}}]
    route: [{destination: {host: llm}}]
)", ", creationTimestamp: \"2024-01-01T00:00:00Z\"") +
      "---\n" +
      virtual_service("new", R"(  hosts: [llm.example.com]
  http:
  - name: special
    match: [{uri: {prefix: /special}}]
    route: [{destination: {host: llm, subset: v2}}]
  - name: everything
    match: [{uri: {regex: ".*"}}]
    route: [{destination: {host: llm}}]
)", ", creationTimestamp: \"2024-06-01T00:00:00Z\""));
  // The older VirtualService's catch-all moved behind the newer one's specific route...
  EXPECT_EQ(matched(*t, request("GET", "/special", "llm.example.com"), kGw), "default/new/special");
  // ...and still comes before the newer one's catch-all (merge order is kept among them).
  EXPECT_EQ(matched(*t, request("GET", "/x", "llm.example.com"), kGw), "default/old/all");
  // What followed a catch-all in its own VirtualService was unreachable and stays so.
  EXPECT_EQ(matched(*t, request("GET", "/after", "llm.example.com"), kGw), "default/old/all");
}

TEST(VirtualService, ComesBeforeHttpRoutesOfTheSameHostOnly) {
  config::Config c = load_istio(virtual_service("vs", R"(  hosts: [llm.example.com]
  http:
  - match: [{uri: {prefix: /v1}}]
    route: [{destination: {host: llm}}]
)") + R"(---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: hr}
spec:
  parentRefs: [{name: gw}]
  hostnames: [llm.example.com, other.example.com]
  rules:
  - matches: [{path: {type: Exact, value: /v1/models}}]
    backendRefs: [{name: llm, port: 80}]
)");
  auto t = build(c);
  EXPECT_EQ(matched(*t, request("GET", "/v1/models", "llm.example.com"), kGw), "default/vs/http0");
  EXPECT_EQ(matched(*t, request("GET", "/v1/models", "other.example.com"), kGw), "default/hr/rule0");
  // Nothing in the VirtualService matches: the HTTPRoutes of the host still get their turn.
  EXPECT_EQ(matched(*t, request("GET", "/v2", "llm.example.com"), kGw), "404");
  c.virtual_services[0].http[0].matches[0].uri->value = "/v2";
  auto t2 = build(c);
  EXPECT_EQ(matched(*t2, request("GET", "/v1/models", "llm.example.com"), kGw), "default/hr/rule0");
}

TEST(VirtualService, HostsAreServiceNamesWildcardsOrAny) {
  auto t = build_istio(
      virtual_service("svc", "  hosts: [llm]\n  http: [{route: [{destination: {host: llm}}]}]\n") +
      "---\n" +
      virtual_service("wild", "  hosts: [\"*.example.com\"]\n"
                              "  http: [{route: [{destination: {host: llm, subset: v1}}]}]\n") +
      "---\n" +
      virtual_service("exact", "  hosts: [a.example.com]\n"
                               "  http: [{route: [{destination: {host: llm, subset: v2}}]}]\n") +
      "---\n" +
      virtual_service("any", "  hosts: [\"*\"]\n"
                             "  http: [{match: [{uri: {prefix: /any}}], route: [{destination: {host: llm}}]}]\n"));
  for (const std::string host : {"llm", "LLM:80", "llm.default", "llm.default.svc",
                                 "llm.default.svc.cluster.local", "llm.default.svc.cluster.local."})
    EXPECT_EQ(matched(*t, request("GET", "/", host), kGw), "default/svc/http0") << host;
  EXPECT_EQ(matched(*t, request("GET", "/", "b.example.com"), kGw), "default/wild/http0");
  EXPECT_EQ(matched(*t, request("GET", "/", "a.example.com"), kGw), "default/exact/http0");
  EXPECT_EQ(matched(*t, request("GET", "/", "example.com"), kGw), "404");
  // A host group without a match falls through to less specific ones ("*").
  EXPECT_EQ(matched(*t, request("GET", "/any", "nowhere.test"), kGw), "default/any/http0");
  EXPECT_EQ(matched(*t, request("GET", "/any", "llm"), kGw), "default/svc/http0");
}

TEST(VirtualService, GatewaysAndPortsChooseListeners) {
  auto t = build_istio(
      virtual_service("on-gw", "  hosts: [\"*\"]\n  gateways: [gw]\n"
                               "  http: [{match: [{uri: {prefix: /gw}}], route: [{destination: {host: llm}}]}]\n") +
      "---\n" +
      virtual_service("on-edge", "  hosts: [\"*.example.com\"]\n  gateways: [default/edge]\n"
                                 "  http: [{match: [{uri: {prefix: /edge}}], route: [{destination: {host: llm}}]}]\n") +
      "---\n" +
      virtual_service("mesh", "  hosts: [\"*\"]\n  gateways: [mesh]\n"
                              "  http: [{match: [{uri: {prefix: /mesh}}], route: [{destination: {host: llm}}]}]\n") +
      "---\n" +
      virtual_service("per-match", R"(  hosts: ["*"]
  gateways: [gw]
  http:
  - match:
    - {uri: {prefix: /pm}, gateways: [edge]}
    - {uri: {prefix: /port}, port: 9090}
    route: [{destination: {host: llm}}]
)"));
  EXPECT_EQ(matched(*t, request("GET", "/gw"), kGw), "default/on-gw/http0");
  EXPECT_EQ(matched(*t, request("GET", "/gw", "x.example.com"), kEdge), "404");
  EXPECT_EQ(matched(*t, request("GET", "/edge", "x.example.com"), kEdge), "default/on-edge/http0");
  EXPECT_EQ(matched(*t, request("GET", "/edge", "x.example.com"), kGw), "404");
  // The edge listener only serves *.example.com: the VirtualService's host is narrowed to it.
  EXPECT_EQ(matched(*t, request("GET", "/edge", "x.example.org"), kEdge), "404");
  // "mesh" (and no gateways at all) = every listener of ours.
  EXPECT_EQ(matched(*t, request("GET", "/mesh"), kGw), "default/mesh/http0");
  EXPECT_EQ(matched(*t, request("GET", "/mesh", "x.example.com"), kEdge), "default/mesh/http0");
  // A match's own gateways replace the VirtualService's; its port narrows further.
  EXPECT_EQ(matched(*t, request("GET", "/pm", "x.example.com"), kEdge), "default/per-match/http0");
  EXPECT_EQ(matched(*t, request("GET", "/pm"), kGw), "404");
  EXPECT_EQ(matched(*t, request("GET", "/port"), kGw), "404");  // gw listens on 8080
  // "" ignores listeners: everything competes.
  EXPECT_EQ(matched(*t, request("GET", "/port", "x.example.com"), kEdge), "404");
  EXPECT_EQ(matched(*t, request("GET", "/port"), ""), "default/per-match/http0");
}

TEST(VirtualService, UndefinedGatewayAttachesEverywhereAndSourceMatchesAreNeverTaken) {
  config::LoadResult r = config::load_string(
      kIstioBase + "---\n" +
          virtual_service("vs", R"(  hosts: ["*"]
  gateways: [istio-system/ingress]
  http:
  - name: from-web
    match: [{sourceLabels: {app: web}}]
    route: [{destination: {host: llm, subset: v1}}]
  - name: rest
    route: [{destination: {host: llm}}]
)"),
      "vs.yaml");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.warnings.size(), 2u);
  auto t = build(*r.config);
  EXPECT_EQ(matched(*t, request("GET", "/"), kGw), "default/vs/rest");
  EXPECT_EQ(matched(*t, request("GET", "/", "a.example.com"), kEdge), "default/vs/rest");
  for (const auto& route : t->routes()) EXPECT_NE(route.name, "default/vs/from-web");
}

TEST(VirtualService, DestinationsBecomeOutboundClustersWithIstioWeights) {
  auto t = build_istio(virtual_service("w", R"(  hosts: ["*"]
  http:
  - match: [{uri: {prefix: /split}}]
    route:
    - destination: {host: llm, subset: v1}
      weight: 90
    - destination: {host: llm.default.svc.cluster.local, subset: v2, port: {number: 80}}
      weight: 10
  - match: [{uri: {prefix: /relative}}]
    route:
    - destination: {host: llm, subset: v1}
      weight: 3
    - destination: {host: llm, subset: v2}
      weight: 1
    - destination: {host: llm}
      weight: 0
  - route:
    - destination: {host: llm}
      weight: 0
)"));
  const Route* s = t->match(request("GET", "/split"), kGw);
  ASSERT_NE(s, nullptr);
  ASSERT_EQ(s->backends.size(), 2u);
  EXPECT_EQ(s->backends[0].cluster, kV1);
  EXPECT_EQ(s->backends[1].cluster, kV2);
  EXPECT_EQ(s->total_weight, 100u);
  auto shares = split(*s);
  EXPECT_NEAR(shares[0], 0.90, 0.01);
  EXPECT_NEAR(shares[1], 0.10, 0.01);

  const Route* rel = t->match(request("GET", "/relative"), kGw);
  ASSERT_NE(rel, nullptr);
  shares = split(*rel);
  EXPECT_NEAR(shares[0], 0.75, 0.01);
  EXPECT_NEAR(shares[1], 0.25, 0.01);
  EXPECT_EQ(shares[2], 0.0);  // weight 0 next to others: no traffic
  EXPECT_EQ(rel->backends[2].cluster, kAll);

  // A lone destination of weight 0 still gets everything (Istio: a plain cluster route).
  const Route* lone = t->match(request("GET", "/other"), kGw);
  ASSERT_NE(lone, nullptr);
  EXPECT_EQ(lone->backends[0].weight, 100u);
  EXPECT_EQ(split(*lone), std::vector<double>{1.0});
}

TEST(VirtualService, RoutesCarryIstioPolicies) {
  config::Config c = load_istio(virtual_service("p", R"(  hosts: ["*"]
  http:
  - name: full
    match: [{uri: {prefix: /v1/}}]
    route:
    - destination: {host: llm, subset: v1}
      headers: {request: {set: {x-subset: v1}}, response: {add: {x-from: v1}}}
    timeout: 45s
    retries: {attempts: 4, perTryTimeout: 3s, retryOn: "gateway-error,429"}
    fault:
      delay: {fixedDelay: 2s, percentage: {value: 12.5}}
      abort: {grpcStatus: UNAVAILABLE, percentage: {value: 1}}
    mirror: {host: llm, subset: v2}
    mirrorPercentage: {value: 5}
    rewrite: {uri: /v2/, authority: backend.local}
    headers: {request: {remove: [x-secret]}, response: {set: {x-gw: infergate}}}
  - name: defaults
    match: [{uri: {exact: /defaults}}]
    route: [{destination: {host: llm}}]
  - name: no-retry
    match: [{uri: {exact: /no-retry}}]
    route: [{destination: {host: llm}}]
    retries: {attempts: 0}
  - name: regex-rewrite
    match: [{uri: {regex: "/models/.*"}}]
    route: [{destination: {host: llm}}]
    rewrite: {uriRegexRewrite: {match: "^/models/(.*)$", rewrite: "/v1/models/\\1"}}
  - name: redirect
    match: [{uri: {exact: /old}}]
    redirect: {uri: /new, scheme: https, redirectCode: 302}
  - name: teapot
    match: [{uri: {exact: /tea}}]
    directResponse: {status: 418, body: {string: short and stout}}
)"));
  c.gateway.timeouts.request = milliseconds(60000);
  c.gateway.timeouts.per_try = milliseconds(7000);
  auto t = build(c);

  const Route* full = t->match(request("POST", "/v1/chat?stream=true"), kGw);
  ASSERT_NE(full, nullptr);
  EXPECT_EQ(full->request_timeout, milliseconds(45000));
  EXPECT_EQ(full->per_try_timeout, milliseconds(3000));
  ASSERT_TRUE(full->retry);
  EXPECT_EQ(full->retry->attempts, 4u);
  EXPECT_EQ(full->retry->retry_on,
            (std::vector<std::string>{"gateway-error", "retriable-status-codes"}));
  EXPECT_EQ(full->retry->codes, std::vector<uint16_t>{429});
  ASSERT_TRUE(full->fault);
  EXPECT_EQ(full->fault->delay, milliseconds(2000));
  EXPECT_EQ(full->fault->delay_per_million, 125000u);
  EXPECT_EQ(full->fault->abort_grpc_status, "UNAVAILABLE");
  EXPECT_EQ(full->fault->abort_per_million, 10000u);
  ASSERT_EQ(full->mirrors.size(), 1u);
  EXPECT_EQ(full->mirrors[0].cluster, kV2);
  EXPECT_EQ(full->mirrors[0].per_million, 50000u);
  ASSERT_TRUE(full->path_rewrite);
  EXPECT_EQ(full->path_rewrite->apply("/v1/chat?stream=true"), "/v2/chat?stream=true");
  // Route filters: request headers, response headers, then the authority rewrite.
  ASSERT_EQ(full->filters.size(), 3u);
  EXPECT_EQ(full->filters[0].type, config::FilterType::RequestHeaderModifier);
  EXPECT_EQ(full->filters[0].header_modifier.remove, std::vector<std::string>{"x-secret"});
  EXPECT_EQ(full->filters[1].type, config::FilterType::ResponseHeaderModifier);
  EXPECT_EQ(full->filters[2].type, config::FilterType::URLRewrite);
  EXPECT_EQ(full->filters[2].url_rewrite->hostname, "backend.local");
  EXPECT_FALSE(full->filters[2].url_rewrite->path.has_value());
  // Destination headers ride on the backend, applied only when it is chosen.
  ASSERT_EQ(full->backends[0].filters.size(), 2u);
  EXPECT_EQ(full->backends[0].filters[0].header_modifier.set[0].value, "v1");
  EXPECT_EQ(full->backends[0].filters[1].header_modifier.add[0].name, "x-from");
  EXPECT_FALSE(full->redirect || full->direct_response);

  // No retries written: Istio's default policy. No timeout: the GatewayConfig's.
  const Route* d = t->match(request("GET", "/defaults"), kGw);
  ASSERT_NE(d, nullptr);
  ASSERT_TRUE(d->retry);
  EXPECT_EQ(d->retry->attempts, 2u);
  EXPECT_EQ(d->retry->retry_on,
            (std::vector<std::string>{"connect-failure", "refused-stream", "unavailable",
                                      "cancelled", "retriable-status-codes"}));
  EXPECT_EQ(d->retry->codes, std::vector<uint16_t>{503});
  EXPECT_EQ(d->request_timeout, milliseconds(60000));
  EXPECT_EQ(d->per_try_timeout, milliseconds(7000));
  EXPECT_FALSE(d->fault || d->path_rewrite);
  EXPECT_TRUE(d->filters.empty());

  const Route* nr = t->match(request("GET", "/no-retry"), kGw);
  ASSERT_NE(nr, nullptr);
  EXPECT_FALSE(nr->retry.has_value());

  const Route* rr = t->match(request("GET", "/models/llama?x=1"), kGw);
  ASSERT_NE(rr, nullptr);
  ASSERT_TRUE(rr->path_rewrite);
  EXPECT_EQ(rr->path_rewrite->apply("/models/llama?x=1"), "/v1/models/llama?x=1");

  const Route* redirect = t->match(request("GET", "/old?q=1", "llm.example.com:8080"), kGw);
  ASSERT_NE(redirect, nullptr);
  ASSERT_TRUE(redirect->redirect);
  EXPECT_TRUE(redirect->backends.empty());
  EXPECT_EQ(redirect->redirect->code, 302);
  EXPECT_EQ(redirect->redirect->location(request("GET", "/old?q=1", "llm.example.com:8080"), 8080),
            "https://llm.example.com/new?q=1");

  const Route* tea = t->match(request("GET", "/tea"), kGw);
  ASSERT_NE(tea, nullptr);
  ASSERT_TRUE(tea->direct_response);
  EXPECT_EQ(tea->direct_response->status, 418);
  EXPECT_EQ(tea->direct_response->body, "short and stout");
  EXPECT_EQ(tea->pick_backend(0), Route::npos);
}

TEST(VirtualService, ConsistentHashOfTheDestinationRuleRidesOnTheBackend) {
  config::Config c3 = load_istio(virtual_service("h", R"(  hosts: ["*"]
  http:
  - match: [{uri: {prefix: /cookie}}]
    route:
    - destination: {host: llm, subset: v1}
  - route:
    - destination: {host: llm, subset: v2}
)"));
  // Give rule "llm" a consistent hash on a cookie and subset v2 a header instead (the subset's
  // load balancer replaces the rule's).
  config::IstioLoadBalancer cookie;
  cookie.policy = config::IstioLbPolicy::ConsistentHash;
  cookie.consistent_hash = config::IstioConsistentHash{
      config::IstioConsistentHash::Key::Cookie, "session", "/", std::nullopt};
  c3.destination_rules[0].traffic_policy = config::IstioTrafficPolicy{cookie, {}, {}, {}};
  config::IstioLoadBalancer header = cookie;
  header.consistent_hash = config::IstioConsistentHash{
      config::IstioConsistentHash::Key::Header, "x-user", "", std::nullopt};
  c3.destination_rules[0].subsets[1].traffic_policy = config::IstioTrafficPolicy{header, {}, {}, {}};
  auto t3 = build(c3);
  const Route* by_cookie = t3->match(request("GET", "/cookie"), kGw);
  ASSERT_NE(by_cookie, nullptr);
  ASSERT_TRUE(by_cookie->backends[0].hash_policy);
  EXPECT_EQ(by_cookie->backends[0].hash_policy->key, HashPolicy::Key::Cookie);
  EXPECT_EQ(by_cookie->backends[0].hash_policy->name, "session");
  const Route* by_header = t3->match(request("GET", "/"), kGw);
  ASSERT_NE(by_header, nullptr);
  ASSERT_TRUE(by_header->backends[0].hash_policy);
  EXPECT_EQ(by_header->backends[0].hash_policy->key, HashPolicy::Key::Header);
  EXPECT_EQ(by_header->backends[0].hash_policy->name, "x-user");
}

// A hand-built Config that skipped the loader: unresolved destinations are reported, and
// their route still exists (it answers 500: no such cluster), nothing crashes.
TEST(VirtualService, UnresolvedDestinationInAHandBuiltConfigIsReported) {
  config::Config c;
  c.listeners.push_back(listener("http", 8080));
  config::VirtualService vs;
  vs.meta.name = "raw";
  vs.meta.source = {"raw.yaml", 1, 3};
  vs.hosts = {"*"};
  config::VsHttpRoute h;
  h.line = 9;
  config::VsRouteDestination d;
  d.destination.host = "nowhere";
  d.effective_weight = 100;
  d.line = 10;
  h.route.push_back(d);
  vs.http.push_back(h);
  c.virtual_services.push_back(vs);
  std::vector<config::Diagnostic> errors;
  auto t = RouteTable::build(c, &errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].to_string(),
            "raw.yaml:10: document 1 (VirtualService/raw): spec.http[0].route[0].destination: "
            "destination is not resolved to a Service port");
  ASSERT_NE(t->match(request("GET", "/"), "default/gw/http"), nullptr);
}

}  // namespace
}  // namespace infergate::routing
