// VirtualService and DestinationRule as the loader reads them: every field into the model,
// Istio's defaults and normalisations, host resolution outside a cluster.
#include <gtest/gtest.h>

#include "config/istio_refs.h"
#include "istio_test_base.h"

namespace infergate::config {
namespace {

using std::chrono::milliseconds;
using testing::load_istio;
using testing::render;

const std::string kFullVs = R"(apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: full, creationTimestamp: "2024-01-01T00:00:00Z"}
spec:
  hosts: [llm.example.com, "*.llm.example.com"]
  gateways: [gw, mesh]
  http:
  - name: canary
    match:
    - name: m0
      uri: {prefix: /v1}
      method: {exact: POST}
      authority: {regex: "llm[.].*"}
      scheme: {exact: http}
      headers:
        X-Version: {exact: v2}
        x-any: {}
        x-star: {regex: "*"}
      withoutHeaders:
        x-debug: {prefix: "on"}
      queryParams:
        lora: {regex: "adapter-[0-9]+"}
      ignoreUriCase: true
      port: 8080
      gateways: [default/gw]
    - uri: {exact: /v1/models}
    route:
    - destination: {host: llm, subset: v1}
      weight: 90
      headers:
        request:
          set: {x-version: v1}
        response:
          remove: [x-internal]
    - destination: {host: llm.default.svc.cluster.local, subset: v2, port: {number: 80}}
      weight: 10
    timeout: 30s
    retries: {attempts: 3, perTryTimeout: 2s, retryOn: "5xx,reset,503"}
    fault:
      delay: {fixedDelay: 1.5s, percentage: {value: 0.5}}
      abort: {httpStatus: 503, percentage: {value: 10}}
    mirror: {host: two.team, port: {number: 81}}
    mirrorPercentage: {value: 25}
    rewrite: {uri: /v2, authority: upstream.local}
    headers:
      request:
        set: {x-a: "1"}
        add: {x-b: "2"}
        remove: [x-c]
      response:
        set: {x-served-by: infergate}
  - name: moved
    match: [{uri: {regex: "/old/.*"}}]
    redirect: {uri: /new, authority: new.example.com, redirectCode: 308, derivePort: FROM_REQUEST_PORT}
  - name: static
    directResponse: {status: 418, body: {string: teapot}}
  - route: [{destination: {host: llm}}]
    retries: {attempts: 0}
    mirrors:
    - destination: {host: llm, subset: v1}
      percentage: {value: 100}
)";

TEST(IstioLoad, VirtualServiceFieldsReachTheModel) {
  auto l = load_istio(kFullVs);
  ASSERT_TRUE(l.r.ok()) << render(l.r.errors);
  EXPECT_TRUE(l.r.warnings.empty()) << render(l.r.warnings);
  ASSERT_EQ(l.r.config->virtual_services.size(), 1u);
  const VirtualService& vs = l.r.config->virtual_services[0];
  EXPECT_EQ(vs.meta.source.document, 6);
  EXPECT_EQ(vs.hosts, (std::vector<std::string>{"llm.example.com", "*.llm.example.com"}));
  EXPECT_EQ(vs.gateways, (std::vector<std::string>{"gw", "mesh"}));
  ASSERT_EQ(vs.http.size(), 4u);

  const VsHttpRoute& h = vs.http[0];
  EXPECT_EQ(h.name, "canary");
  EXPECT_EQ(h.line, l.line("- name: canary"));
  ASSERT_EQ(h.matches.size(), 2u);
  const VsMatch& m = h.matches[0];
  EXPECT_EQ(m.name, "m0");
  ASSERT_TRUE(m.uri);
  EXPECT_EQ(m.uri->type, IstioMatchType::Prefix);
  EXPECT_EQ(m.uri->value, "/v1");
  EXPECT_EQ(m.method->value, "POST");
  EXPECT_EQ(m.authority->type, IstioMatchType::Regex);
  EXPECT_EQ(m.scheme->value, "http");
  ASSERT_EQ(m.headers.size(), 3u);
  EXPECT_EQ(m.headers[0].name, "x-version");  // lower-cased, as Envoy compares them
  EXPECT_EQ(m.headers[1].match.type, IstioMatchType::Present);
  EXPECT_EQ(m.headers[2].match.type, IstioMatchType::Present);  // regex "*"
  ASSERT_EQ(m.without_headers.size(), 1u);
  EXPECT_EQ(m.without_headers[0].match.type, IstioMatchType::Prefix);
  ASSERT_EQ(m.query_params.size(), 1u);
  EXPECT_EQ(m.query_params[0].name, "lora");
  EXPECT_TRUE(m.ignore_uri_case);
  EXPECT_EQ(m.port, 8080);
  EXPECT_EQ(m.gateways, std::vector<std::string>{"default/gw"});
  EXPECT_FALSE(m.source_restricted);
  EXPECT_EQ(h.matches[1].uri->type, IstioMatchType::Exact);

  ASSERT_EQ(h.route.size(), 2u);
  EXPECT_EQ(h.route[0].destination.service_name, "llm");
  EXPECT_EQ(h.route[0].destination.service_port, 80);  // the Service's only port
  EXPECT_EQ(h.route[0].weight, 90u);
  EXPECT_EQ(h.route[0].effective_weight, 90u);
  ASSERT_EQ(h.route[0].headers.request.set.size(), 1u);
  EXPECT_EQ(h.route[0].headers.response.remove, std::vector<std::string>{"x-internal"});
  EXPECT_EQ(h.route[1].destination.service_ns, "default");
  EXPECT_EQ(h.route[1].destination.subset, "v2");
  EXPECT_EQ(h.route[1].effective_weight, 10u);
  EXPECT_EQ(istio_cluster_name(h.route[1].destination),
            "outbound|80|v2|llm.default.svc.cluster.local");

  EXPECT_EQ(h.timeout, milliseconds(30000));
  ASSERT_TRUE(h.retries);
  EXPECT_EQ(h.retries->attempts, 3u);
  EXPECT_EQ(h.retries->per_try_timeout, milliseconds(2000));
  EXPECT_EQ(h.retries->retry_on, (std::vector<std::string>{"5xx", "reset"}));
  EXPECT_EQ(h.retries->retry_on_codes, std::vector<uint16_t>{503});
  ASSERT_TRUE(h.fault && h.fault->delay && h.fault->abort);
  EXPECT_EQ(h.fault->delay->fixed_delay, milliseconds(1500));
  EXPECT_EQ(h.fault->delay->per_million, 5000u);  // 0.5 %
  EXPECT_EQ(h.fault->abort->http_status, 503);
  EXPECT_EQ(h.fault->abort->per_million, 100000u);
  ASSERT_EQ(h.mirrors.size(), 1u);
  EXPECT_EQ(h.mirrors[0].destination.service_ns, "team");
  EXPECT_EQ(h.mirrors[0].destination.service_port, 81);
  EXPECT_EQ(h.mirrors[0].per_million, 250000u);
  ASSERT_TRUE(h.rewrite);
  EXPECT_EQ(h.rewrite->uri, "/v2");
  EXPECT_EQ(h.rewrite->authority, "upstream.local");
  EXPECT_EQ(h.headers.request.set[0].name, "x-a");
  EXPECT_EQ(h.headers.request.add[0].value, "2");
  EXPECT_EQ(h.headers.request.remove, std::vector<std::string>{"x-c"});
  EXPECT_EQ(h.headers.response.set[0].value, "infergate");

  ASSERT_TRUE(vs.http[1].redirect);
  EXPECT_EQ(vs.http[1].redirect->uri, "/new");
  EXPECT_EQ(vs.http[1].redirect->authority, "new.example.com");
  EXPECT_EQ(vs.http[1].redirect->code, 308);
  EXPECT_TRUE(vs.http[1].redirect->derive_port_from_request);
  ASSERT_TRUE(vs.http[2].direct_response);
  EXPECT_EQ(vs.http[2].direct_response->status, 418);
  EXPECT_EQ(vs.http[2].direct_response->body, "teapot");
  EXPECT_EQ(vs.http[3].retries->attempts, 0u);
  ASSERT_EQ(vs.http[3].mirrors.size(), 1u);
  EXPECT_EQ(vs.http[3].mirrors[0].list_index, 0);
  EXPECT_EQ(vs.http[3].mirrors[0].per_million, 1000000u);
}

TEST(IstioLoad, DestinationRuleFieldsReachTheModel) {
  auto l = load_istio(R"(apiVersion: networking.istio.io/v1alpha3
kind: DestinationRule
metadata: {name: two, namespace: team}
spec:
  host: two
  trafficPolicy:
    loadBalancer:
      consistentHash: {httpHeaderName: X-User}
    connectionPool:
      tcp: {maxConnections: 100, connectTimeout: 250ms}
      http: {http1MaxPendingRequests: 10, http2MaxRequests: 1000, maxRequestsPerConnection: 5}
    outlierDetection:
      consecutive5xxErrors: 3
      interval: 5s
      baseEjectionTime: 1m
      maxEjectionPercent: 50
  subsets:
  - name: rr
    labels: {app: two}
    trafficPolicy:
      loadBalancer: {simple: ROUND_ROBIN}
  - name: cookie
    trafficPolicy:
      loadBalancer:
        consistentHash:
          httpCookie: {name: session, path: /, ttl: 1h}
)");
  ASSERT_TRUE(l.r.ok()) << render(l.r.errors);
  // Read into the model, but not enforced yet: the operator is told.
  ASSERT_EQ(l.r.warnings.size(), 1u) << render(l.r.warnings);
  EXPECT_NE(l.r.warnings[0].to_string().find("maxRequestsPerConnection: is not supported; ignored"), std::string::npos);
  const Config& c = *l.r.config;
  const DestinationRule* dr = c.find_destination_rule("team", "two");
  ASSERT_NE(dr, nullptr);
  EXPECT_EQ(dr->host, "two");
  ASSERT_TRUE(dr->traffic_policy && dr->traffic_policy->load_balancer);
  EXPECT_EQ(dr->traffic_policy->load_balancer->policy, IstioLbPolicy::ConsistentHash);
  EXPECT_EQ(dr->traffic_policy->load_balancer->consistent_hash->name, "x-user");
  const auto& cp = *dr->traffic_policy->connection_pool;
  EXPECT_EQ(cp.tcp_max_connections, 100u);
  EXPECT_EQ(cp.connect_timeout, milliseconds(250));
  EXPECT_EQ(cp.http1_max_pending_requests, 10u);
  EXPECT_EQ(cp.http2_max_requests, 1000u);
  EXPECT_EQ(cp.max_requests_per_connection, 5u);
  const auto& od = *dr->traffic_policy->outlier_detection;
  EXPECT_EQ(od.consecutive_5xx_errors, 3u);
  EXPECT_EQ(od.interval, milliseconds(5000));
  EXPECT_EQ(od.base_ejection_time, milliseconds(60000));
  EXPECT_EQ(od.max_ejection_percent, 50u);

  // A subset's policy replaces the rule's part by part (Istio's merge).
  const DestinationRuleSubset* rr = c.find_subset("team", "two", "rr");
  ASSERT_NE(rr, nullptr);
  IstioTrafficPolicy merged = merged_traffic_policy(*dr, rr);
  EXPECT_EQ(merged.load_balancer->policy, IstioLbPolicy::RoundRobin);
  EXPECT_EQ(merged.connection_pool->tcp_max_connections, 100u);
  EXPECT_EQ(merged.outlier_detection->consecutive_5xx_errors, 3u);
  const DestinationRuleSubset* cookie = c.find_subset("team", "two", "cookie");
  ASSERT_NE(cookie, nullptr);
  EXPECT_TRUE(cookie->labels.empty());
  const IstioTrafficPolicy cookie_policy = merged_traffic_policy(*dr, cookie);
  const auto& ch = *cookie_policy.load_balancer->consistent_hash;
  EXPECT_EQ(ch.key, IstioConsistentHash::Key::Cookie);
  EXPECT_EQ(ch.name, "session");
  EXPECT_EQ(ch.cookie_ttl, milliseconds(3600000));
  EXPECT_EQ(c.find_subset("team", "two", "nope"), nullptr);
  EXPECT_EQ(c.find_subset("default", "two", "rr"), nullptr);
}

// "name", "name.ns", "name.ns.svc", "name.ns.svc.cluster.local"; short names in the
// referring resource's namespace; anything else names no Service.
TEST(IstioLoad, HostsResolveToServicesLikeClusterDns) {
  auto l = load_istio("");
  ASSERT_TRUE(l.r.ok()) << render(l.r.errors);
  const Config& c = *l.r.config;
  struct Case {
    std::string host, ns, want;  // want: "ns/name" or ""
  };
  const Case cases[] = {
      {"llm", "default", "default/llm"},
      {"llm", "team", ""},
      {"two", "team", "team/two"},
      {"two.team", "default", "team/two"},
      {"two.team.svc", "default", "team/two"},
      {"two.team.svc.cluster.local", "default", "team/two"},
      {"two.team.svc.cluster.other", "default", ""},
      {"two.team.example.com", "default", ""},
      {"*.team.svc.cluster.local", "default", ""},
      {"llm.example.com", "default", ""},
  };
  for (const auto& k : cases) {
    const Service* s = resolve_istio_host(c, k.host, k.ns);
    EXPECT_EQ(s ? s->meta.ns + "/" + s->meta.name : "", k.want) << k.host << " in " << k.ns;
  }
  EXPECT_EQ(istio_service_hostnames("team", "two", "team"),
            (std::vector<std::string>{"two", "two.team", "two.team.svc",
                                      "two.team.svc.cluster.local"}));
  EXPECT_EQ(istio_service_hostnames("team", "two", "default").size(), 3u);
  auto g = istio_gateway_ref("gw", "team");
  EXPECT_EQ(g.ns + "/" + g.name, "team/gw");
  g = istio_gateway_ref("edge/gw", "team");
  EXPECT_EQ(g.ns + "/" + g.name, "edge/gw");
  g = istio_gateway_ref("gw.edge.svc.cluster.local", "team");
  EXPECT_EQ(g.ns + "/" + g.name, "edge/gw");
  EXPECT_TRUE(istio_gateway_ref("mesh", "team").mesh);
}

// Istio's weights: relative; a missing weight is 0 when there are several destinations.
TEST(IstioLoad, WeightsAreRelativeAndAMissingOneIsZeroWithAWarning) {
  auto l = load_istio(R"(apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: w}
spec:
  hosts: [llm]
  http:
  - route:
    - destination: {host: llm, subset: v1}
      weight: 3
    - destination: {host: llm, subset: v2}
      weight: 1
  - route:
    - destination: {host: llm, subset: v1}
      weight: 100
    - destination: {host: llm, subset: v2}
)");
  ASSERT_TRUE(l.r.ok()) << render(l.r.errors);
  const auto& http = l.r.config->virtual_services[0].http;
  EXPECT_EQ(http[0].route[0].effective_weight, 3u);
  EXPECT_EQ(http[0].route[1].effective_weight, 1u);
  EXPECT_EQ(http[1].route[0].effective_weight, 100u);
  EXPECT_EQ(http[1].route[1].effective_weight, 0u);
  ASSERT_EQ(l.r.warnings.size(), 1u) << render(l.r.warnings);
  EXPECT_EQ(l.r.warnings[0].to_string(),
            l.at("- destination: {host: llm, subset: v2}",
                 "document 6 (VirtualService/w): spec.http[1].route[1]: has no weight, so it "
                 "receives no traffic (Istio reads a missing weight as 0 when a route has "
                 "several destinations)",
                 2));
}

TEST(IstioLoad, OlderResourcesComeFirst) {
  auto l = load_istio(R"(apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: b-new}
spec:
  hosts: [b.example.com]
  http: [{route: [{destination: {host: llm}}]}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: c-old, creationTimestamp: "2023-05-01T00:00:00Z"}
spec:
  hosts: [c.example.com]
  http: [{route: [{destination: {host: llm}}]}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: a-new}
spec:
  hosts: [a.example.com]
  http: [{route: [{destination: {host: llm}}]}]
)");
  ASSERT_TRUE(l.r.ok()) << render(l.r.errors);
  std::vector<std::string> names;
  for (const auto& vs : l.r.config->virtual_services) names.push_back(vs.meta.name);
  EXPECT_EQ(names, (std::vector<std::string>{"c-old", "a-new", "b-new"}));
}

}  // namespace
}  // namespace infergate::config
