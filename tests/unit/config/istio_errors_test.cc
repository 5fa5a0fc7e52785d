// Every VirtualService / DestinationRule problem the loader reports, one table row each: the
// exact diagnostic (file, line, document, resource, field path, message), and whether it is an
// error (the config is rejected) or a warning (Istio accepts it; so do we).
#include <gtest/gtest.h>

#include "istio_test_base.h"

namespace infergate::config {
namespace {

using testing::has_diagnostic;
using testing::load_istio;
using testing::render;

std::string vs(const std::string& spec, const std::string& name = "vs") {
  return "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: " + name +
         "}\nspec:\n" + spec;
}
std::string dr(const std::string& spec, const std::string& name = "rule") {
  return "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: " + name +
         "}\nspec:\n" + spec;
}
// A valid http route to Service llm, for cases about something else.
const std::string kRoute = "  - route: [{destination: {host: llm}}]\n";

enum class Kind { Error, Warning };

struct Case {
  std::string label;
  std::string yaml;    // appended to kIstioBase (document 6 onwards)
  std::string needle;  // the line the diagnostic names
  std::string rest;    // "document N (Kind/name): path: message"
  Kind kind = Kind::Error;
  int nth = 1;
};

const Case kCases[] = {
    // --- VirtualService shape --------------------------------------------------------------
    {"no hosts", vs("  http:\n" + kRoute), "  http:",
     "document 6 (VirtualService/vs): spec.hosts: virtual service must have at least one host"},
    {"invalid host", vs("  hosts: [bad_host!]\n  http:\n" + kRoute), "hosts:",
     "document 6 (VirtualService/vs): spec.hosts[0]: \"bad_host!\" is not a valid host"},
    {"duplicate hosts", vs("  hosts: [\"*.example.com\", a.example.com]\n  http:\n" + kRoute),
     "hosts:",
     "document 6 (VirtualService/vs): spec.hosts[1]: duplicate hosts in virtual service: "
     "*.example.com & a.example.com"},
    {"no routes at all", vs("  hosts: [llm]\n"), "hosts:",
     "document 6 (VirtualService/vs): spec: http, tcp or tls must be provided in virtual "
     "service"},
    {"route and redirect", vs("  hosts: [llm]\n  http:\n  - redirect: {uri: /x}\n"
                              "    route: [{destination: {host: llm}}]\n"),
     "- redirect:",
     "document 6 (VirtualService/vs): spec.http[0]: HTTP route cannot contain both route and "
     "redirect"},
    {"neither route nor redirect", vs("  hosts: [llm]\n  http:\n  - name: empty\n"), "- name: empty",
     "document 6 (VirtualService/vs): spec.http[0]: HTTP route or redirect is required"},
    {"redirect and fault", vs("  hosts: [llm]\n  http:\n  - redirect: {uri: /x}\n"
                              "    fault: {abort: {httpStatus: 500, percentage: {value: 1}}}\n"),
     "- redirect:",
     "document 6 (VirtualService/vs): spec.http[0]: HTTP route cannot contain both fault and "
     "redirect"},
    {"delegate", vs("  hosts: [llm]\n  http:\n  - delegate: {name: other}\n"), "delegate:",
     "document 6 (VirtualService/vs): spec.http[0].delegate: delegate VirtualServices are not "
     "supported"},
    {"unknown version", "apiVersion: networking.istio.io/v2\nkind: VirtualService\n"
                        "metadata: {name: v}\nspec: {hosts: [llm]}\n",
     "apiVersion: networking.istio.io/v2",
     "document 6 (VirtualService/v): apiVersion: kind VirtualService is not supported in "
     "apiVersion \"networking.istio.io/v2\""},
    {"duplicate VirtualService", vs("  hosts: [a.example.com]\n  http:\n" + kRoute, "twin") +
                                     "---\n" + vs("  hosts: [b.example.com]\n  http:\n" + kRoute, "twin"),
     "apiVersion: networking.istio.io/v1",
     "document 7 (VirtualService/twin): metadata.name: duplicate VirtualService "
     "\"default/twin\" (first defined at {first})",
     Kind::Error, 2},
    {"invalid gateway name", vs("  hosts: [llm]\n  gateways: [Bad_GW]\n  http:\n" + kRoute),
     "gateways:", "document 6 (VirtualService/vs): spec.gateways[0]: invalid gateway name "
                  "\"Bad_GW\""},
    // --- matches ---------------------------------------------------------------------------
    {"two match kinds", vs("  hosts: [llm]\n  http:\n  - match:\n    - uri: {exact: /a, prefix: /b}\n"
                           "    route: [{destination: {host: llm}}]\n"),
     "uri:", "document 6 (VirtualService/vs): spec.http[0].match[0].uri: only one of exact, "
             "prefix or regex may be set"},
    {"bad uri regex", vs("  hosts: [llm]\n  http:\n  - match:\n    - uri: {regex: \"(\"}\n"
                         "    route: [{destination: {host: llm}}]\n"),
     "uri:", "document 6 (VirtualService/vs): spec.http[0].match[0].uri.regex: invalid regular "
             "expression (RE2 syntax): missing ): ("},
    {"bad header regex", vs("  hosts: [llm]\n  http:\n  - match:\n    - headers:\n"
                            "        x-model: {regex: \"[a-\"}\n"
                            "    route: [{destination: {host: llm}}]\n"),
     "x-model:", "document 6 (VirtualService/vs): spec.http[0].match[0].headers.x-model.regex: "
                 "invalid regular expression (RE2 syntax): missing ]: [a-"},
    {"null header match", vs("  hosts: [llm]\n  http:\n  - match:\n    - headers:\n"
                             "        x-model:\n    route: [{destination: {host: llm}}]\n"),
     "x-model:", "document 6 (VirtualService/vs): spec.http[0].match[0].headers.x-model: cannot "
                 "be null (write {} to match any value)"},
    {"bad header name", vs("  hosts: [llm]\n  http:\n  - match:\n    - headers:\n"
                           "        \"x model\": {exact: a}\n"
                           "    route: [{destination: {host: llm}}]\n"),
     "x model", "document 6 (VirtualService/vs): spec.http[0].match[0].headers.x model: header "
                "name \"x model\" is not a valid header name"},
    {"bad match port", vs("  hosts: [llm]\n  http:\n  - match: [{port: 70000}]\n" 
                          "    route: [{destination: {host: llm}}]\n"),
     "match:", "document 6 (VirtualService/vs): spec.http[0].match[0].port: must be between 0 "
               "and 65535"},
    // --- destinations and weights ------------------------------------------------------------
    {"total weight 0", vs("  hosts: [llm]\n  http:\n  - route:\n"
                          "    - destination: {host: llm, subset: v1}\n      weight: 0\n"
                          "    - destination: {host: llm, subset: v2}\n      weight: 0\n"),
     "- route:", "document 6 (VirtualService/vs): spec.http[0].route: total destination weight = 0"},
    {"negative weight", vs("  hosts: [llm]\n  http:\n  - route:\n"
                           "    - destination: {host: llm}\n      weight: -1\n"),
     "weight: -1", "document 6 (VirtualService/vs): spec.http[0].route[0].weight: must be "
                   "between 0 and 2147483647"},
    {"no destination host", vs("  hosts: [llm]\n  http:\n  - route: [{destination: {subset: v1}}]\n"),
     "- route:", "document 6 (VirtualService/vs): spec.http[0].route[0].destination.host: is "
                 "required"},
    {"wildcard destination", vs("  hosts: [llm]\n  http:\n  - route: [{destination: {host: \"*\"}}]\n"),
     "- route:", "document 6 (VirtualService/vs): spec.http[0].route[0].destination.host: "
                 "invalid destination host \"*\""},
    {"unknown Service", vs("  hosts: [llm]\n  http:\n  - route: [{destination: {host: nope}}]\n"),
     "- route:", "document 6 (VirtualService/vs): spec.http[0].route[0].destination.host: host "
                 "\"nope\" names no Service defined here (a short name is read in namespace "
                 "\"default\")"},
    {"short name in another namespace", vs("  hosts: [llm]\n  http:\n  - route: [{destination: {host: two}}]\n"),
     "- route:", "document 6 (VirtualService/vs): spec.http[0].route[0].destination.host: host "
                 "\"two\" names no Service defined here (a short name is read in namespace "
                 "\"default\")"},
    {"undefined subset", vs("  hosts: [llm]\n  http:\n  - route: [{destination: {host: llm, subset: v3}}]\n"),
     "- route:", "document 6 (VirtualService/vs): spec.http[0].route[0].destination.subset: "
                 "subset \"v3\" of Service \"default/llm\" is not defined by any "
                 "DestinationRule"},
    {"invalid subset name", vs("  hosts: [llm]\n  http:\n  - route: [{destination: {host: llm, subset: V1}}]\n"),
     "- route:", "document 6 (VirtualService/vs): spec.http[0].route[0].destination.subset: "
                 "subset name \"V1\" is invalid (must be a DNS label)"},
    {"port not on Service", vs("  hosts: [llm]\n  http:\n"
                               "  - route: [{destination: {host: llm, port: {number: 81}}}]\n"),
     "- route:", "document 6 (VirtualService/vs): spec.http[0].route[0].destination.port.number: "
                 "Service \"default/llm\" has no port 81"},
    {"port needed", vs("  hosts: [llm]\n  http:\n  - route: [{destination: {host: two.team}}]\n"),
     "- route:", "document 6 (VirtualService/vs): spec.http[0].route[0].destination.port: is "
                 "required: Service \"team/two\" has 2 ports"},
    {"mirror to unknown Service", vs("  hosts: [llm]\n  http:\n  - route: [{destination: {host: llm}}]\n"
                                     "    mirror: {host: shadow}\n"),
     "mirror:", "document 6 (VirtualService/vs): spec.http[0].mirror.host: host \"shadow\" names "
                "no Service defined here (a short name is read in namespace \"default\")"},
    {"mirror percentage above 100", vs("  hosts: [llm]\n  http:\n  - route: [{destination: {host: llm}}]\n"
                                       "    mirror: {host: llm}\n    mirrorPercentage: {value: 150}\n"),
     "mirrorPercentage:", "document 6 (VirtualService/vs): spec.http[0].mirrorPercentage.value: "
                          "must be between 0 and 100"},
    // --- policies -----------------------------------------------------------------------------
    {"retry policy with 0 attempts", vs("  hosts: [llm]\n  http:\n" + kRoute +
                                        "    retries: {attempts: 0, retryOn: 5xx}\n"),
     "retries:", "document 6 (VirtualService/vs): spec.http[0].retries: http retry policy "
                 "configured when attempts are set to 0 (disabled)"},
    {"bad retryOn", vs("  hosts: [llm]\n  http:\n" + kRoute +
                       "    retries: {attempts: 2, retryOn: \"5xx,sometimes\"}\n"),
     "retries:", "document 6 (VirtualService/vs): spec.http[0].retries.retryOn: \"sometimes\" is "
                 "not a valid retryOn policy"},
    {"bad timeout", vs("  hosts: [llm]\n  http:\n" + kRoute + "    timeout: soon\n"),
     "timeout:", ""},  // message is parse_duration's; only located here
    {"empty fault", vs("  hosts: [llm]\n  http:\n" + kRoute + "    fault: {}\n"),
     "fault:", "document 6 (VirtualService/vs): spec.http[0].fault: HTTP fault injection must "
               "have an abort and/or a delay"},
    {"abort status out of range", vs("  hosts: [llm]\n  http:\n" + kRoute +
                                     "    fault: {abort: {httpStatus: 700, percentage: {value: 1}}}\n"),
     "fault:", "document 6 (VirtualService/vs): spec.http[0].fault.abort.httpStatus: must be "
               "between 200 and 599"},
    {"unknown gRPC status", vs("  hosts: [llm]\n  http:\n" + kRoute +
                               "    fault: {abort: {grpcStatus: TEAPOT, percentage: {value: 1}}}\n"),
     "fault:", "document 6 (VirtualService/vs): spec.http[0].fault.abort.grpcStatus: gRPC status "
               "\"TEAPOT\" is not supported (e.g. UNAVAILABLE)"},
    {"exponential delay", vs("  hosts: [llm]\n  http:\n" + kRoute +
                             "    fault: {delay: {exponentialDelay: 1s, percentage: {value: 1}}}\n"),
     "fault:", "document 6 (VirtualService/vs): spec.http[0].fault.delay.exponentialDelay: "
               "exponentialDelay is not supported (Istio does not support it either)"},
    {"uri and uriRegexRewrite", vs("  hosts: [llm]\n  http:\n" + kRoute +
                                   "    rewrite: {uri: /a, uriRegexRewrite: {match: ^/b, rewrite: /c}}\n"),
     "rewrite:", "document 6 (VirtualService/vs): spec.http[0].rewrite: rewrite may only contain "
                 "one of uri or uriRegexRewrite"},
    {"empty rewrite", vs("  hosts: [llm]\n  http:\n" + kRoute + "    rewrite: {}\n"),
     "rewrite:", "document 6 (VirtualService/vs): spec.http[0].rewrite: rewrite must specify at "
                 "least one of uri, uriRegexRewrite or authority"},
    {"bad rewrite regex", vs("  hosts: [llm]\n  http:\n" + kRoute +
                             "    rewrite: {uriRegexRewrite: {match: \"(\", rewrite: /c}}\n"),
     "rewrite:", "document 6 (VirtualService/vs): spec.http[0].rewrite.uriRegexRewrite.match: "
                 "invalid regular expression (RE2 syntax): missing ): ("},
    {"authority set twice", vs("  hosts: [llm]\n  http:\n" + kRoute +
                               "    rewrite: {authority: a.local}\n"
                               "    headers: {request: {set: {host: b.local}}}\n"),
     "- route:", "document 6 (VirtualService/vs): spec.http[0].headers: authority header cannot "
                 "be set multiple times: have \"a.local\", attempting to set \"b.local\""},
    {"pseudo header removed", vs("  hosts: [llm]\n  http:\n" + kRoute +
                                 "    headers: {response: {remove: [\":status\"]}}\n"),
     "headers:", "document 6 (VirtualService/vs): spec.http[0].headers.response.remove[0]: "
                 "\":status\" is not a valid header name"},
    {"unsupported redirect code", vs("  hosts: [llm]\n  http:\n  - redirect: {uri: /x, redirectCode: 305}\n"),
     "redirect:", "document 6 (VirtualService/vs): spec.http[0].redirect.redirectCode: 305 is not "
                  "a supported redirect code (301, 302, 303, 307 or 308)"},
    {"redirect to nowhere", vs("  hosts: [llm]\n  http:\n  - redirect: {redirectCode: 302}\n"),
     "redirect:", "document 6 (VirtualService/vs): spec.http[0].redirect: redirect must specify "
                  "uri, authority, scheme, or port"},
    {"direct response status", vs("  hosts: [llm]\n  http:\n  - directResponse: {status: 99}\n"),
     "directResponse:", "document 6 (VirtualService/vs): spec.http[0].directResponse.status: must "
                        "be between 200 and 599"},
    // --- DestinationRule -------------------------------------------------------------------
    {"rule without host", dr("  subsets: [{name: a}]\n"), "subsets:",
     "document 6 (DestinationRule/rule): spec.host: is required"},
    {"duplicate subset", dr("  host: llm\n  subsets:\n  - {name: a}\n  - {name: a}\n"),
     "- {name: a}", "document 6 (DestinationRule/rule): spec.subsets[1].name: duplicate subset "
                    "\"a\"",
     Kind::Error, 2},
    {"subset without name", dr("  host: llm\n  subsets:\n  - labels: {version: v1}\n"),
     "- labels:", "document 6 (DestinationRule/rule): spec.subsets[0].name: is required"},
    {"empty traffic policy", dr("  host: llm\n  trafficPolicy: {}\n"), "trafficPolicy:",
     "document 6 (DestinationRule/rule): spec.trafficPolicy: traffic policy must have at least "
     "one field"},
    {"simple and consistentHash",
     dr("  host: llm\n  trafficPolicy:\n    loadBalancer:\n      simple: RANDOM\n"
        "      consistentHash: {httpHeaderName: x-user}\n"),
     "simple: RANDOM", "document 6 (DestinationRule/rule): spec.trafficPolicy.loadBalancer: only "
                       "one of simple or consistentHash may be set"},
    {"unknown simple policy", dr("  host: llm\n  trafficPolicy: {loadBalancer: {simple: FASTEST}}\n"),
     "trafficPolicy:", "document 6 (DestinationRule/rule): spec.trafficPolicy.loadBalancer.simple: "
                       "\"FASTEST\" is not one of: UNSPECIFIED, LEAST_CONN, RANDOM, PASSTHROUGH, "
                       "ROUND_ROBIN, LEAST_REQUEST"},
    {"hash on two keys",
     dr("  host: llm\n  trafficPolicy:\n    loadBalancer:\n      consistentHash:\n"
        "        httpHeaderName: x-user\n        useSourceIp: true\n"),
     "httpHeaderName:", "document 6 (DestinationRule/rule): spec.trafficPolicy.loadBalancer."
                        "consistentHash: exactly one of httpHeaderName, httpCookie, useSourceIp or "
                        "httpQueryParameterName must be set"},
    {"cookie without name",
     dr("  host: llm\n  trafficPolicy:\n    loadBalancer:\n      consistentHash:\n"
        "        httpCookie: {ttl: 1h}\n"),
     "httpCookie:", "document 6 (DestinationRule/rule): spec.trafficPolicy.loadBalancer."
                    "consistentHash.httpCookie.name: name required for HttpCookie"},
    {"empty connection pool", dr("  host: llm\n  trafficPolicy: {connectionPool: {}}\n"),
     "trafficPolicy:", "document 6 (DestinationRule/rule): spec.trafficPolicy.connectionPool: "
                       "connection pool must have at least one field"},
    {"negative max connections",
     dr("  host: llm\n  trafficPolicy: {connectionPool: {tcp: {maxConnections: -1}}}\n"),
     "trafficPolicy:", "document 6 (DestinationRule/rule): spec.trafficPolicy.connectionPool.tcp."
                       "maxConnections: must be between 0 and 2147483647"},
    {"ejection percent above 100",
     dr("  host: llm\n  trafficPolicy: {outlierDetection: {maxEjectionPercent: 120}}\n"),
     "trafficPolicy:", "document 6 (DestinationRule/rule): spec.trafficPolicy.outlierDetection."
                       "maxEjectionPercent: must be between 0 and 100"},
    {"zero interval", dr("  host: llm\n  trafficPolicy: {outlierDetection: {interval: 0s}}\n"),
     "trafficPolicy:", "document 6 (DestinationRule/rule): spec.trafficPolicy.outlierDetection."
                       "interval: duration must be at least 1ms"},
    {"duplicate DestinationRule", dr("  host: llm\n", "llm"), "apiVersion: networking.istio.io/v1",
     "document 6 (DestinationRule/llm): metadata.name: duplicate DestinationRule "
     "\"default/llm\" (first defined at {base-rule})"},

    // --- warnings: Istio accepts these -------------------------------------------------------
    {"lone destination weight", vs("  hosts: [llm]\n  http:\n  - route:\n"
                                   "    - destination: {host: llm}\n      weight: 25\n"),
     "weight: 25", "document 6 (VirtualService/vs): spec.http[0].route[0].weight: weight 25 on "
                   "the only destination is ignored: it receives all traffic (Istio routes a lone "
                   "destination at 100%)",
     Kind::Warning},
    {"gateway not here", vs("  hosts: [llm]\n  gateways: [edge/istio-gw]\n  http:\n" + kRoute),
     "gateways:", "document 6 (VirtualService/vs): spec.gateways[0]: gateway \"edge/istio-gw\" is "
                  "not a Gateway defined here (Istio Gateways are not supported); the "
                  "VirtualService attaches to every listener",
     Kind::Warning},
    {"legacy gateway name", vs("  hosts: [llm]\n  gateways: [gw.default.svc.cluster.local]\n  http:\n" + kRoute),
     "gateways:", "document 6 (VirtualService/vs): spec.gateways[0]: using legacy gateway name "
                  "format \"gw.default.svc.cluster.local\"; prefer the <namespace>/<name> format",
     Kind::Warning},
    {"source labels", vs("  hosts: [llm]\n  http:\n  - match:\n    - sourceLabels: {app: web}\n"
                         "    route: [{destination: {host: llm}}]\n"),
     "sourceLabels:", "document 6 (VirtualService/vs): spec.http[0].match[0].sourceLabels: selects "
                      "client workloads, which do not exist outside a mesh: this match is never "
                      "taken",
     Kind::Warning},
    {"tcp routes", vs("  hosts: [llm]\n  tcp: [{route: [{destination: {host: llm}}]}]\n"),
     "tcp:", "document 6 (VirtualService/vs): spec.tcp: TCP and TLS routes are not supported; "
             "ignored",
     Kind::Warning},
    {"fault without percentage", vs("  hosts: [llm]\n  http:\n" + kRoute +
                                    "    fault: {abort: {httpStatus: 503}}\n"),
     "fault:", "document 6 (VirtualService/vs): spec.http[0].fault.abort: has no percentage: Istio "
               "injects this fault into no request (write percentage: {value: 100} for every "
               "request)",
     Kind::Warning},
    {"deprecated mirrorPercent", vs("  hosts: [llm]\n  http:\n" + kRoute +
                                    "    mirror: {host: llm}\n    mirrorPercent: 5\n"),
     "mirrorPercent:", "document 6 (VirtualService/vs): spec.http[0].mirrorPercent: using "
                       "deprecated setting \"mirrorPercent\", use \"mirrorPercentage\" instead",
     Kind::Warning},
    {"cors policy", vs("  hosts: [llm]\n  http:\n" + kRoute + "    corsPolicy: {allowOrigins: []}\n"),
     "corsPolicy:", "document 6 (VirtualService/vs): spec.http[0].corsPolicy: is not supported "
                    "yet; ignored",
     Kind::Warning},
    {"unknown field", vs("  hosts: [llm]\n  http:\n" + kRoute + "    retires: {attempts: 1}\n"),
     "retires:", "document 6 (VirtualService/vs): spec.http[0].retires: unknown field "
                 "\"retires\", ignored",
     Kind::Warning},
    {"shared host", vs("  hosts: [llm]\n  http:\n" + kRoute, "a") + "---\n" +
                        vs("  hosts: [llm.default.svc.cluster.local]\n  http:\n" + kRoute, "b"),
     "apiVersion: networking.istio.io/v1",
     "document 7 (VirtualService/b): spec.hosts: host \"llm.default.svc.cluster.local\" is also "
     "served by VirtualService/a ({first}); their http routes are merged, older "
     "VirtualService first and catch-all routes last (Istio's gateway merge)",
     Kind::Warning, 2},
    {"rule for no Service", dr("  host: nothing.example.com\n"), "apiVersion: networking.istio.io/v1",
     "document 6 (DestinationRule/rule): spec.host: host \"nothing.example.com\" names no Service "
     "defined here; the rule applies to nothing",
     Kind::Warning},
    {"subset selecting nothing", dr("  host: two.team\n  subsets:\n  - {name: gpu, labels: {gpu: h100}}\n"),
     "- {name: gpu", "document 6 (DestinationRule/rule): spec.subsets[0].labels: subset \"gpu\" "
                     "selects no endpoint of Service \"team/two\" (GatewayConfig spec.endpoints "
                     "labels)",
     Kind::Warning},
    {"second rule for a Service", dr("  host: llm.default\n  subsets: [{name: v1, labels: {version: v2}}]\n"),
     "apiVersion: networking.istio.io/v1",
     "document 6 (DestinationRule/rule): spec.host: Service \"default/llm\" is also the host of "
     "DestinationRule/llm ({base-rule}); Istio merges them: subsets combine (an earlier "
     "subset of the same name wins) and the older rule's traffic policy applies",
     Kind::Warning},
    {"LEAST_CONN", dr("  host: llm\n  trafficPolicy: {loadBalancer: {simple: LEAST_CONN}}\n"),
     "trafficPolicy:", "document 6 (DestinationRule/rule): spec.trafficPolicy.loadBalancer.simple: "
                       "LEAST_CONN is deprecated; read as LEAST_REQUEST (as Istio does)",
     Kind::Warning},
    {"ISTIO_MUTUAL without mesh certificate", dr("  host: llm\n  trafficPolicy:\n    tls: {mode: ISTIO_MUTUAL}\n"),
     "tls:", "document 6 (DestinationRule/rule): spec.trafficPolicy.tls.mode: ISTIO_MUTUAL presents the "
             "gateway's mesh certificate and verifies the server against the mesh CA: GatewayConfig/gc "
             "(istio.yaml:1) spec.tls needs certFile, keyFile and caFile (missing: certFile, keyFile, caFile)"},
};

class IstioDiagnostics : public ::testing::TestWithParam<Case> {};

// `rest` with {first} (where the first document of `extra` starts) and {base-rule} (where
// kIstioBase's DestinationRule starts) filled in.
std::string expand(const testing::IstioLoaded& l, std::string rest) {
  auto replace = [&](const std::string& token, const std::string& with) {
    if (auto p = rest.find(token); p != std::string::npos) rest.replace(p, token.size(), with);
  };
  replace("{first}", "istio.yaml:" + std::to_string(l.line("apiVersion:")));
  replace("{base-rule}",
          "istio.yaml:" + std::to_string(testing::line_of(testing::kIstioBase,
                                                          "kind: DestinationRule") - 1));
  return rest;
}

TEST_P(IstioDiagnostics, ReportedExactly) {
  Case k = GetParam();
  auto l = load_istio(k.yaml);
  k.rest = expand(l, k.rest);
  if (k.kind == Kind::Error) {
    EXPECT_FALSE(l.r.ok());
    EXPECT_FALSE(l.r.config.has_value());
    if (k.rest.empty()) {
      // Only the place is checked (the message belongs to another module).
      bool found = false;
      for (const auto& d : l.r.errors) found = found || d.line == l.line(k.needle, k.nth);
      EXPECT_TRUE(found) << render(l.r.errors);
      return;
    }
    EXPECT_TRUE(has_diagnostic(l.r.errors, l.at(k.needle, k.rest, k.nth))) << render(l.r.errors);
  } else {
    EXPECT_TRUE(l.r.ok()) << render(l.r.errors);
    EXPECT_TRUE(has_diagnostic(l.r.warnings, l.at(k.needle, k.rest, k.nth)))
        << "wanted " << l.at(k.needle, k.rest, k.nth) << "\n" << render(l.r.warnings);
  }
}

INSTANTIATE_TEST_SUITE_P(Table, IstioDiagnostics, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           std::string name;
                           for (char c : info.param.label)
                             name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
                           return name;
                         });

// Documents that are not mappings where mappings belong, and other hostile shapes: reported,
// never crashed on.
TEST(IstioDiagnostics, HostileShapesAreReportedNotCrashedOn) {
  const std::string shapes[] = {
      vs("  hosts: llm\n  http: {}\n"),
      vs("  hosts: [[llm]]\n  http: [[]]\n"),
      vs("  hosts: [llm]\n  http:\n  - match: {uri: /x}\n    route: nope\n"),
      vs("  hosts: [llm]\n  http:\n  - route: [{destination: llm, weight: x}]\n"),
      vs("  hosts: [llm]\n  http:\n  - route: [{destination: {host: llm, port: 80}}]\n"),
      vs("  hosts: [llm]\n  http:\n  - match: [{headers: [x]}]\n    route: [{destination: {host: llm}}]\n"),
      vs("  hosts: [llm]\n  http:\n  - route: [{destination: {host: llm}}]\n    headers: {request: {set: [a]}}\n"),
      vs("  hosts: [llm]\n  http:\n  - route: [{destination: {host: llm}}]\n    mirrorPercentage: {value: abc}\n"),
      dr("  host: [llm]\n  subsets: {name: v1}\n"),
      dr("  host: llm\n  trafficPolicy: {loadBalancer: {consistentHash: []}}\n"),
      "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: x}\nspec: 7\n",
      "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: x}\n",
  };
  for (const auto& s : shapes) {
    auto l = load_istio(s);
    EXPECT_FALSE(l.r.ok()) << s << render(l.r.warnings);
    for (const auto& d : l.r.errors) {
      EXPECT_FALSE(d.message.empty());
      EXPECT_GT(d.line, 0) << d.to_string();
    }
  }
}

}  // namespace
}  // namespace infergate::config
