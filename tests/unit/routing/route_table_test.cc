// RouteTable::build: what a compiled route carries, listener attachment, bad input.
#include "routing/route_table.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "config/loader.h"
#include "routing_test_util.h"

namespace infergate::routing {
namespace {

using namespace testing;
using std::chrono::milliseconds;

TEST(RouteTable, CarriesNamesBackendsFiltersAndTimeouts) {
  config::HttpRoute r = http_route("llm", {rule({prefix("/v1")}, {service("svc", 3, 8000)}),
                                           rule({prefix("/v2")}, {pool("pool", 1)})},
                                   {}, "team");
  r.rules[0].backend_refs[0].ns = "team";
  r.rules[1].backend_refs[0].ns = "team";
  r.rules[1].name = "canary";
  r.rules[1].timeouts.request = milliseconds(1500);
  r.rules[1].timeouts.backend_request = milliseconds(500);
  config::HttpRouteFilter f;
  f.type = config::FilterType::RequestHeaderModifier;
  f.header_modifier.set.push_back({"x-version", "v2"});
  r.rules[1].filters.push_back(f);
  r.meta.source = {"gw.yaml", 3, 40};
  r.rules[1].line = 52;
  config::Config c = with_routes({r});
  c.gateway.timeouts.request = milliseconds(60000);
  c.gateway.timeouts.per_try = milliseconds(20000);
  auto t = build(c);

  ASSERT_EQ(t->routes().size(), 2u);
  const Route& first = t->routes()[0];
  EXPECT_EQ(first.name, "team/llm/rule0");
  EXPECT_EQ(first.route_ns, "team");
  EXPECT_EQ(first.route_name, "llm");
  EXPECT_EQ(first.rule_index, 0u);
  ASSERT_EQ(first.backends.size(), 1u);
  EXPECT_EQ(first.backends[0].cluster, "service/team/svc/8000");
  EXPECT_EQ(first.backends[0].weight, 3u);
  EXPECT_EQ(first.request_timeout, milliseconds(60000));  // GatewayConfig defaults
  EXPECT_EQ(first.per_try_timeout, milliseconds(20000));

  const Route& second = t->routes()[1];
  EXPECT_EQ(second.name, "team/llm/canary");
  EXPECT_EQ(second.backends[0].cluster, "inferencepool/team/pool");
  EXPECT_EQ(second.request_timeout, milliseconds(1500));
  EXPECT_EQ(second.per_try_timeout, milliseconds(500));
  ASSERT_EQ(second.filters.size(), 1u);
  EXPECT_EQ(second.filters[0].header_modifier.set[0].value, "v2");
  EXPECT_EQ(second.source.file, "gw.yaml");
  EXPECT_EQ(second.source.line, 52);

  EXPECT_EQ(t->match(request("GET", "/v2/x"), ""), &second);
}

TEST(RouteTable, ZeroTimeoutOnTheRuleMeansNoneEvenWithAGatewayDefault) {
  config::HttpRoute r = http_route("r", {rule({prefix("/")})});
  r.rules[0].timeouts.request = milliseconds(0);
  config::Config c = with_routes({r});
  c.gateway.timeouts.request = milliseconds(60000);
  EXPECT_EQ(build(c)->routes()[0].request_timeout, milliseconds(0));
}

TEST(RouteTable, ListenerAttachmentFollowsParentRefs) {
  config::Config c;
  c.listeners = {listener("http", 8080), listener("admin", 9090)};
  config::Listener other = listener("http", 7070);
  other.gateway_name = "gw2";
  c.listeners.push_back(other);

  auto all = http_route("all", {rule({prefix("/")})});
  auto section = http_route("section", {rule({prefix("/s")})});
  section.parent_refs[0].section_name = "admin";
  auto by_port = http_route("by-port", {rule({prefix("/p")})});
  by_port.parent_refs[0].port = 8080;
  auto elsewhere = http_route("elsewhere", {rule({prefix("/e")})});
  elsewhere.parent_refs[0].name = "gw2";
  c.routes = {all, section, by_port, elsewhere};
  auto t = build(c);

  EXPECT_EQ(matched(*t, request("GET", "/s"), "default/gw/admin"), "default/section/rule0");
  EXPECT_EQ(matched(*t, request("GET", "/s"), "default/gw/http"), "default/all/rule0");
  EXPECT_EQ(matched(*t, request("GET", "/p"), "default/gw/http"), "default/by-port/rule0");
  EXPECT_EQ(matched(*t, request("GET", "/p"), "default/gw/admin"), "default/all/rule0");
  EXPECT_EQ(matched(*t, request("GET", "/e"), "default/gw2/http"), "default/elsewhere/rule0");
  EXPECT_EQ(matched(*t, request("GET", "/"), "default/gw2/http"), "404");
  EXPECT_EQ(matched(*t, request("GET", "/"), "default/nope/http"), "404");
  // "" ignores listeners: every route competes.
  EXPECT_EQ(matched(*t, request("GET", "/e"), ""), "default/elsewhere/rule0");
}

TEST(RouteTable, UnresolvedForeignParentAttachesEverywhere) {
  config::Config c;
  c.listeners = {listener("a", 8080), listener("b", 8081)};
  auto r = http_route("gke", {rule({prefix("/")})});
  r.parent_refs[0].kind = "InferenceGateway";
  r.parent_refs[0].name = "inference-gateway";
  r.parent_refs[0].unresolved_foreign = true;
  c.routes = {r};
  auto t = build(c);
  EXPECT_EQ(matched(*t, request("GET", "/"), "default/gw/a"), "default/gke/rule0");
  EXPECT_EQ(matched(*t, request("GET", "/"), "default/gw/b"), "default/gke/rule0");
}

TEST(RouteTable, BadRegexDropsOnlyItsRuleWithADiagnostic) {
  auto r = http_route("r", {rule({regex("/v1/(chat")}), rule({prefix("/ok")})});
  r.meta.source = {"gw.yaml", 2, 10};
  r.rules[0].matches[0].line = 17;
  std::vector<config::Diagnostic> errors;
  auto t = RouteTable::build(with_routes({r}), &errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].file, "gw.yaml");
  EXPECT_EQ(errors[0].line, 17);
  EXPECT_EQ(errors[0].path, "spec.rules[0].matches[0]");
  EXPECT_NE(errors[0].message.find("invalid regular expression"), std::string::npos);
  ASSERT_EQ(t->routes().size(), 1u);
  EXPECT_EQ(matched(*t, request("GET", "/ok")), "default/r/rule1");
  EXPECT_EQ(matched(*t, request("GET", "/v1/chat")), "404");
  // A null error sink is allowed.
  EXPECT_EQ(RouteTable::build(with_routes({r}), nullptr)->routes().size(), 1u);
}

TEST(RouteTable, EmptyConfigGivesAnEmptyTable) {
  auto t = build(config::Config{});
  ASSERT_NE(t, nullptr);
  EXPECT_TRUE(t->routes().empty());
  EXPECT_EQ(t->match(request("GET", "/"), ""), nullptr);
}

// From YAML through the loader: the route table sees what an operator wrote.
TEST(RouteTable, BuildsFromLoadedYaml) {
  const std::string yaml = R"(apiVersion: infergate.dev/v1alpha1
kind: GatewayConfig
metadata: {name: gc}
spec:
  endpoints:
  - {name: a, address: 127.0.0.1, port: 18001, labels: {app: m, version: v1}}
  - {name: b, address: 127.0.0.1, port: 18002, labels: {app: m, version: v2}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  listeners:
  - {name: http, port: 8080, protocol: HTTP, hostname: "*.Example.com"}
---
apiVersion: v1
kind: Service
metadata: {name: v2}
spec: {selector: {app: m, version: v2}, ports: [{port: 80, targetPort: 8000}]}
---
apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: {name: pool}
spec: {selector: {matchLabels: {app: m}}, targetPorts: [{number: 8000}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: llm}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches: []
    backendRefs:
    - {name: pool, group: inference.networking.k8s.io, kind: InferencePool, weight: 90}
    - {name: v2, port: 80, weight: 10}
  - matches:
    - headers: [{name: X-Canary, value: "true"}]
    backendRefs: [{name: v2, port: 80}]
)";
  config::LoadResult loaded = config::load_string(yaml, "gw.yaml");
  ASSERT_TRUE(loaded.ok()) << (loaded.errors.empty() ? "" : loaded.errors[0].to_string());
  auto t = build(*loaded.config);
  const std::string l = "default/gw/http";
  // `matches: []` is "no matches": everything (Gateway API default PathPrefix "/").
  EXPECT_EQ(matched(*t, request("POST", "/v1/chat/completions", "api.example.com"), l),
            "default/llm/rule0");
  EXPECT_EQ(matched(*t, request("POST", "/v1", "api.example.com", {{"x-canary", "true"}}), l),
            "default/llm/rule1");
  // The listener's hostname, written in mixed case, still matches lower-cased authorities.
  EXPECT_EQ(matched(*t, request("GET", "/", "API.EXAMPLE.COM"), l), "default/llm/rule0");
  EXPECT_EQ(matched(*t, request("GET", "/", "example.org"), l), "404");
}


// ReplacePrefixMatch needs the prefix that actually matched: a rule with several PathPrefix
// matches reports the one the route table took, not the longest of the rule.
TEST(RouteTable, MatchDetailReportsThePathPrefixThatMatched) {
  config::HttpRoute r = http_route("llm", {rule({with_header(prefix("/v1"), "x-short", "1"), prefix("/v1/chat/")},
                                                {service("svc", 1, 8000)}),
                                           rule({exact("/health")}, {service("svc", 1, 8000)})});
  auto t = build(with_routes({r}));

  EXPECT_EQ(t->match_detail(request("GET", "/v1/chat/completions"), "").path_prefix, "/v1/chat");
  EXPECT_EQ(t->match_detail(request("GET", "/v1/chat/completions", "gw.example.com", {{"x-short", "1"}}), "")
                .path_prefix,
            "/v1/chat");  // the longer prefix still has precedence over the header match
  EXPECT_EQ(t->match_detail(request("GET", "/v1/models", "gw.example.com", {{"x-short", "1"}}), "").path_prefix,
            "/v1");
  const RouteMatch health = t->match_detail(request("GET", "/health"), "");
  ASSERT_NE(health.route, nullptr);
  EXPECT_EQ(health.path_prefix, "");  // Exact matches carry no prefix
  EXPECT_EQ(t->match_detail(request("GET", "/nothing"), "").route, nullptr);
}

}  // namespace
}  // namespace infergate::routing
