// Every rejection names file, document, resource, field path and line.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "config/loader.h"
#include "test_util.h"

namespace infergate::config {
namespace {

using testing::has_diagnostic;
using testing::line_of;
using testing::render;

// Documents 1-4, the valid base of most cases. Expected line numbers are looked up in the
// text (line_of), so this fixture can be edited freely.
const std::string kBase = R"(apiVersion: infergate.dev/v1alpha1
kind: GatewayConfig
metadata:
  name: base
spec:
  endpoints:
  - name: a
    address: 10.0.0.1
    labels: {app: m, version: v1}
  - name: b
    address: 10.0.0.2
    port: 9000
    labels: {app: m, version: v2}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: gw
spec:
  listeners:
  - name: http
    port: 8080
    protocol: HTTP
---
apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata:
  name: pool
spec:
  selector:
    matchLabels: {app: m}
  targetPorts:
  - number: 8000
---
apiVersion: v1
kind: Service
metadata:
  name: svc
spec:
  selector: {app: m, version: v2}
  ports:
  - port: 80
    targetPort: 8000
)";

// The head of an HTTPRoute "r" on Gateway "gw"; tests append its rules.
const std::string kRouteR = R"(apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: r
spec:
  parentRefs: [{name: gw}]
)";

// kBase followed by more documents (document 5 onwards), loaded as "gateway.yaml".
struct Loaded {
  std::string extra;
  LoadResult r;

  // "gateway.yaml:<line>: " where <line> is the file line of the nth line of `extra` holding
  // `needle`. A needle that is not there fails the test instead of matching line 0.
  std::string at(std::string_view needle, int nth = 1) const {
    int l = line_of(extra, needle, nth);
    EXPECT_GT(l, 0) << "fixture has no line with \"" << needle << "\"";
    return "gateway.yaml:" + std::to_string(l + base_lines()) + ": ";
  }
  int line(std::string_view needle, int nth = 1) const {
    return line_of(extra, needle, nth) + base_lines();
  }
  // Whether a diagnostic reads exactly "<file>:<line of needle>: " + rest.
  ::testing::AssertionResult has_error(std::string_view needle, const std::string& rest) const {
    return has(r.errors, needle, rest);
  }
  ::testing::AssertionResult has_warning(std::string_view needle, const std::string& rest) const {
    return has(r.warnings, needle, rest);
  }
  ::testing::AssertionResult has(const std::vector<Diagnostic>& ds, std::string_view needle,
                                 const std::string& rest) const {
    const std::string expected = at(needle) + rest;
    if (has_diagnostic(ds, expected)) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "no diagnostic\n  " << expected << "\namong\n"
                                         << render(ds);
  }
  // kBase's lines and the "---" line after them.
  static int base_lines() {
    return static_cast<int>(std::count(kBase.begin(), kBase.end(), '\n')) + 1;
  }
};

// "gateway.yaml:<line>" of a line in kBase.
std::string base_at(std::string_view needle) {
  int l = line_of(kBase, needle);
  EXPECT_GT(l, 0) << "kBase has no line with \"" << needle << "\"";
  return "gateway.yaml:" + std::to_string(l);
}

Loaded load_with(const std::string& extra) {
  return Loaded{extra, load_string(kBase + "---\n" + extra, "gateway.yaml")};
}

TEST(LoadErrors, BaseIsValid) {
  LoadResult r = load_string(kBase, "gateway.yaml");
  ASSERT_TRUE(r.ok()) << render(r.errors);
  EXPECT_TRUE(r.warnings.empty()) << render(r.warnings);
}

TEST(LoadErrors, WeightOutOfRange) {
  Loaded l = load_with(R"(apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: llm-route
spec:
  parentRefs:
  - name: gw
  rules:
  - backendRefs:
    - name: svc
      port: 80
    - name: pool
      group: inference.networking.k8s.io
      kind: InferencePool
      weight: 2000000
)");
  EXPECT_FALSE(l.r.ok());
  EXPECT_FALSE(l.r.config.has_value());
  EXPECT_TRUE(l.has_error("weight: 2000000",
                          "document 5 (HTTPRoute/llm-route): spec.rules[0].backendRefs[1].weight: "
                          "must be between 0 and 1000000"));
}

TEST(LoadErrors, YamlSyntaxErrorNamesLineAndDocumentAndOthersStillChecked) {
  Loaded l = load_with("apiVersion: v1\nkind: [unclosed\n---\nkind: Nope\napiVersion: x/v1\n");
  ASSERT_FALSE(l.r.ok());
  ASSERT_EQ(l.r.errors.size(), 2u) << render(l.r.errors);
  EXPECT_EQ(l.r.errors[0].document, 5);
  // The unclosed list's line, not the next document's "---" where yaml-cpp noticed it.
  EXPECT_EQ(l.r.errors[0].line, l.line("kind: [unclosed")) << render(l.r.errors);
  EXPECT_NE(l.r.errors[0].message.find("YAML syntax error"), std::string::npos);
  EXPECT_EQ(
      l.r.errors[1].to_string(),
      l.at("kind: Nope") + "document 6 (Nope/): kind: unknown kind \"Nope\" (apiVersion \"x/v1\")");
}

TEST(LoadErrors, EveryDocumentMarkerStartsANewDocument) {
  // Five documents after the base; the bad one in the middle spoils only itself.
  Loaded l = load_with(
      "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n"
      "kind: [\n--- \napiVersion: v1\nkind: Namespace\nmetadata: {name: c}\n"
      "---\t# comment\napiVersion: v1\nkind: Namespace\nmetadata: {name: d}\n"
      "---\r\napiVersion: v1\r\nkind: Widget\r\nmetadata: {name: e}\r\n");
  ASSERT_EQ(l.r.errors.size(), 2u) << render(l.r.errors);
  EXPECT_EQ(l.r.errors[0].document, 6);
  EXPECT_EQ(l.r.errors[0].line, l.line("kind: ["));
  EXPECT_EQ(l.r.errors[1].document, 9);
  EXPECT_EQ(l.r.errors[1].resource, "Widget/e");
  EXPECT_EQ(l.r.errors[1].line, l.line("apiVersion: v1", 4));
  ASSERT_EQ(l.r.warnings.size(), 3u) << render(l.r.warnings);
  EXPECT_EQ(l.r.warnings[2].to_string(),
            l.at("apiVersion: v1", 3) +
                "document 8 (Namespace/d): v1 Namespace is not used by "
                "the gateway; ignored");
}

TEST(LoadErrors, UnknownKindNamesApiVersionAndKind) {
  Loaded l = load_with("apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n");
  EXPECT_TRUE(l.has_error(
      "apiVersion: example.com/v1",
      "document 5 (Widget/w): kind: unknown kind \"Widget\" (apiVersion \"example.com/v1\")"));
}

TEST(LoadErrors, KnownKindInUnknownVersion) {
  Loaded l = load_with(
      "apiVersion: gateway.networking.k8s.io/v9\nkind: HTTPRoute\n"
      "metadata: {name: r}\n");
  EXPECT_TRUE(l.has_error("v9",
                          "document 5 (HTTPRoute/r): apiVersion: kind HTTPRoute is not supported "
                          "in apiVersion \"gateway.networking.k8s.io/v9\""));
}

TEST(LoadErrors, MissingApiVersionOrKind) {
  Loaded l = load_with("kind: Service\nmetadata: {name: x}\n");
  EXPECT_TRUE(l.has_error("kind: Service", "document 5 (Service/x): apiVersion: is required"));
  l = load_with("- just\n- a list\n");
  EXPECT_TRUE(
      l.has_error("- just", "document 5: a document must be a mapping with apiVersion and kind"));
}

TEST(LoadErrors, UnknownFieldIsAnErrorInOurOwnKind) {
  const std::string text =
      "apiVersion: infergate.dev/v1alpha1\nkind: GatewayConfig\nspec:\n  timeouts:\n    conect: "
      "1s\n";
  LoadResult r = load_string(text, "own.yaml");
  EXPECT_TRUE(has_diagnostic(r.errors, "own.yaml:" + std::to_string(line_of(text, "conect")) +
                                           ": document 1 (GatewayConfig/): "
                                           "spec.timeouts.conect: unknown field \"conect\" (known: "
                                           "connect, request, perTry, idle, streamIdle, drain, requestHeaders)"))
      << render(r.errors);
}

TEST(LoadErrors, UnknownFieldIsAWarningInForeignKinds) {
  Loaded l = load_with(kRouteR + R"(  futureField: 1
  rules:
  - backendRefs: [{name: svc, port: 80}]
)");
  ASSERT_TRUE(l.r.ok()) << render(l.r.errors);
  EXPECT_TRUE(l.has_warning(
      "futureField",
      "document 5 (HTTPRoute/r): spec.futureField: unknown field \"futureField\", ignored"));
}

TEST(LoadErrors, WrongTypes) {
  const std::string text = R"(apiVersion: infergate.dev/v1alpha1
kind: GatewayConfig
spec:
  workers: "4"
  admin:
    port: abc
  endpoints: {name: x}
  limits: []
)";
  LoadResult r = load_string(text, "types.yaml");
  auto at = [&](std::string_view needle) {
    return "types.yaml:" + std::to_string(line_of(text, needle)) +
           ": document 1 (GatewayConfig/): ";
  };
  EXPECT_TRUE(
      has_diagnostic(r.errors, at("workers") + "spec.workers: must be an integer, got \"4\""))
      << render(r.errors);
  EXPECT_TRUE(has_diagnostic(r.errors,
                             at("port: abc") + "spec.admin.port: must be an integer, got \"abc\""))
      << render(r.errors);
  EXPECT_TRUE(
      has_diagnostic(r.errors, at("endpoints") + "spec.endpoints: must be a list, got a mapping"))
      << render(r.errors);
  EXPECT_TRUE(has_diagnostic(r.errors, at("limits") + "spec.limits: must be a mapping, got a list"))
      << render(r.errors);
}

TEST(LoadErrors, OutOfRangeAndBadEnum) {
  Loaded l = load_with(R"(apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: gw2
spec:
  listeners:
  - name: h
    port: 70000
    protocol: HTTP
  - name: t
    port: 9443
    protocol: TCP
)");
  EXPECT_TRUE(
      l.has_error("port: 70000",
                  "document 5 (Gateway/gw2): spec.listeners[0].port: must be between 1 and 65535"));
  EXPECT_TRUE(l.has_error(
      "protocol: TCP",
      "document 5 (Gateway/gw2): spec.listeners[1].protocol: \"TCP\" is not one of: HTTP, HTTPS"));
}

TEST(LoadErrors, MissingRequiredFields) {
  Loaded l = load_with(kRouteR + R"(  rules:
  - backendRefs:
    - port: 80
    - name: svc
)");
  EXPECT_TRUE(l.has_error(
      "- port: 80", "document 5 (HTTPRoute/r): spec.rules[0].backendRefs[0].name: is required"));
  EXPECT_TRUE(l.has_error("- name: svc",
                          "document 5 (HTTPRoute/r): spec.rules[0].backendRefs[1].port: is "
                          "required for a Service backend"));
  l = load_with("apiVersion: v1\nkind: Service\nmetadata: {}\nspec: {ports: [{port: 1}]}\n");
  EXPECT_TRUE(l.has_error("metadata: {}", "document 5 (Service/): metadata.name: is required"));
}

TEST(LoadErrors, DuplicateResourceNames) {
  Loaded l = load_with(
      "apiVersion: v1\nkind: Service\nmetadata: {name: svc}\n"
      "spec: {selector: {app: m}, ports: [{port: 80}]}\n");
  EXPECT_TRUE(l.has_error("apiVersion: v1",
                          "document 5 (Service/svc): metadata.name: duplicate Service "
                          "\"default/svc\" (first defined at " +
                              base_at("apiVersion: v1") + ")"));
  // Same name in another namespace is a different Service.
  l = load_with(
      "apiVersion: v1\nkind: Service\nmetadata: {name: svc, namespace: other}\n"
      "spec: {selector: {app: m}, ports: [{port: 80}]}\n");
  EXPECT_TRUE(l.r.ok()) << render(l.r.errors);
}

TEST(LoadErrors, DuplicateKeysInAMapping) {
  Loaded l = load_with(
      "apiVersion: v1\nkind: Service\nmetadata: {name: s2}\n"
      "spec:\n  selector: {app: m}\n  selector: {app: n}\n  ports: [{port: 80}]\n");
  EXPECT_TRUE(
      l.has_error("selector: {app: n}", "document 5 (Service/s2): spec.selector: duplicate key"));
}

TEST(LoadErrors, DanglingReferences) {
  Loaded l = load_with(R"(apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: r
spec:
  parentRefs:
  - name: nogw
  - name: gw
    sectionName: https
  rules:
  - backendRefs:
    - name: nosvc
      port: 80
    - name: svc
      port: 81
    - name: nopool
      group: inference.networking.k8s.io
      kind: InferencePool
)");
  const std::string doc = "document 5 (HTTPRoute/r): ";
  EXPECT_TRUE(l.has_error("- name: nogw",
                          doc + "spec.parentRefs[0]: Gateway \"default/nogw\" is not defined"));
  EXPECT_TRUE(l.has_error(
      "- name: gw",
      doc + "spec.parentRefs[1]: Gateway \"default/gw\" has no listener named \"https\""));
  // Unresolved backendRefs are what the Gateway API accepts (ResolvedRefs=False, 500 for their
  // share of requests): warnings, each at its backendRef's line.
  const std::string gets_500 = "; requests routed to it get 500 (ResolvedRefs: False)";
  EXPECT_TRUE(l.has_warning(
      "- name: nosvc", doc + "spec.rules[0].backendRefs[0]: Service \"default/nosvc\" is not defined" + gets_500));
  EXPECT_TRUE(l.has_warning(
      "- name: svc", doc + "spec.rules[0].backendRefs[1].port: Service \"default/svc\" has no port 81" + gets_500));
  EXPECT_TRUE(l.has_warning(
      "- name: nopool",
      doc + "spec.rules[0].backendRefs[2]: InferencePool \"default/nopool\" is not defined" + gets_500));
}

TEST(LoadErrors, ForeignParentKindIsOnlyAWarning) {
  Loaded l = load_with(R"(apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: r
spec:
  parentRefs:
  - name: igw
    group: inference.networking.k8s.io
    kind: InferenceGateway
  rules:
  - backendRefs: [{name: svc, port: 80}]
)");
  ASSERT_TRUE(l.r.ok()) << render(l.r.errors);
  EXPECT_EQ(l.r.warnings.size(), 1u) << render(l.r.warnings);
}

TEST(LoadErrors, SelectorSelectingNothingIsAWarning) {
  Loaded l = load_with(R"(apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferencePool
metadata:
  name: empty
spec:
  selector: {app: nothing-has-this}
  targetPortNumber: 8000
)");
  ASSERT_TRUE(l.r.ok()) << render(l.r.errors);
  EXPECT_TRUE(l.has_warning("apiVersion:",
                            "document 5 (InferencePool/empty): spec.selector: selects no endpoint "
                            "(no ready pod, nor GatewayConfig spec.endpoints entry, has these labels)"));
  EXPECT_EQ(l.r.config->pools[1].target_ports, std::vector<uint16_t>{8000});
}

TEST(LoadErrors, BadDurationAndTimeoutOrder) {
  Loaded l = load_with(kRouteR + R"(  rules:
  - timeouts:
      request: 10 seconds
  - timeouts:
      request: 10s
      backendRequest: 20s
)");
  EXPECT_TRUE(
      l.has_error("request: 10 seconds",
                  "document 5 (HTTPRoute/r): spec.rules[0].timeouts.request: invalid duration \"10 "
                  "seconds\": expected e.g. \"10s\", \"500ms\", \"1h30m\", \"1.5s\""));
  EXPECT_TRUE(l.has_error("backendRequest: 20s",
                          "document 5 (HTTPRoute/r): spec.rules[1].timeouts.backendRequest: must "
                          "not be longer than timeouts.request"));
}

TEST(LoadErrors, InvalidRegularExpression) {
  Loaded l = load_with(kRouteR + R"(  rules:
  - matches:
    - path: {type: RegularExpression, value: "/v1/(chat"}
)");
  ASSERT_EQ(l.r.errors.size(), 1u) << render(l.r.errors);
  EXPECT_EQ(l.r.errors[0].path, "spec.rules[0].matches[0].path.value");
  EXPECT_EQ(l.r.errors[0].line, l.line("RegularExpression"));
  EXPECT_NE(l.r.errors[0].message.find("invalid regular expression"), std::string::npos);
}

TEST(LoadErrors, IgnoredAndNotYetSupportedKindsAreWarnings) {
  Loaded l = load_with(R"(apiVersion: v1
kind: Namespace
metadata: {name: llm}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: istio-gw}
---
apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferenceModel
metadata: {name: chat}
spec: {modelName: chat, poolRef: {name: pool}}
)");
  ASSERT_TRUE(l.r.ok()) << render(l.r.errors);
  // InferenceModel, PeerAuthentication and AuthorizationPolicy are kinds we act on now: no
  // warning for document 7 (their own tests cover them).
  ASSERT_EQ(l.r.warnings.size(), 2u) << render(l.r.warnings);
  EXPECT_EQ(l.r.warnings[0].to_string(),
            l.at("apiVersion: v1") +
                "document 5 (Namespace/llm): v1 Namespace is not used by the "
                "gateway; ignored");
  EXPECT_EQ(l.r.warnings[1].to_string(),
            l.at("networking.istio.io/v1") +
                "document 6 (Gateway/istio-gw): networking.istio.io/v1 "
                "Gateway is not yet supported; ignored for now");
  ASSERT_EQ(l.r.config->inference_models.size(), 1u);
}

TEST(LoadErrors, SecondGatewayConfigAndListenerPortClash) {
  Loaded l = load_with(R"(apiVersion: infergate.dev/v1alpha1
kind: GatewayConfig
metadata: {name: again}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw2}
spec:
  listeners:
  - {name: http, port: 8080, protocol: HTTP}
)");
  EXPECT_TRUE(
      l.has_error("infergate.dev/v1alpha1",
                  "document 5 (GatewayConfig/again): only one GatewayConfig is allowed (first at " +
                      base_at("apiVersion: infergate.dev") + ")"));
  EXPECT_TRUE(l.has_error("port: 8080",
                          "document 6 (Gateway/gw2): spec.listeners: port 8080 is already used by "
                          "listener \"default/gw/http\" at " +
                              base_at("- name: http") +
                              " (listeners share a port only with the same address and protocol and different "
                              "hostnames)"));
}

TEST(LoadErrors, ListenerHostnameIsCheckedAndLowerCased) {
  Loaded l = load_with(R"(apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw2}
spec:
  listeners:
  - {name: a, port: 8081, protocol: HTTP, hostname: "*.API.Example.com"}
  - {name: b, port: 8082, protocol: HTTP, hostname: "bad_host:80"}
)");
  EXPECT_TRUE(l.has_error("bad_host",
                          "document 5 (Gateway/gw2): spec.listeners[1].hostname: \"bad_host:80\" "
                          "is not a valid hostname"));
  l = load_with(
      "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: gw2}\n"
      "spec:\n  listeners: [{name: a, port: 8081, protocol: HTTP, hostname: A.Example.COM}]\n");
  ASSERT_TRUE(l.r.ok()) << render(l.r.errors);
  EXPECT_EQ(l.r.config->listeners.back().hostname, "a.example.com");
}

TEST(LoadErrors, NoMatchesAtAllMeansPathPrefixSlash) {
  for (const char* matches : {"", "    matches: []\n", "    matches:\n"}) {
    Loaded l = load_with(std::string("apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
                                     "metadata: {name: r}\nspec:\n  parentRefs: [{name: gw}]\n"
                                     "  rules:\n  - backendRefs: [{name: svc, port: 80}]\n") +
                         matches);
    ASSERT_TRUE(l.r.ok()) << render(l.r.errors);
    const auto& rule = l.r.config->routes.at(0).rules.at(0);
    ASSERT_EQ(rule.matches.size(), 1u) << matches;
    EXPECT_EQ(rule.matches[0].path.type, PathMatchType::PathPrefix);
    EXPECT_EQ(rule.matches[0].path.value, "/");
  }
}

TEST(LoadErrors, DirectoryLoadsSortedYamlFilesAndResolvesAcrossThem) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("infergate_cfg_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "b.yml") << "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
                                  "metadata: {name: r}\nspec:\n  parentRefs: [{name: gw}]\n"
                                  "  rules: [{backendRefs: [{name: svc, port: 80}]}]\n";
  std::ofstream(dir / "a.yaml") << kBase;
  std::ofstream(dir / "notes.txt") << "not: [yaml";
  LoadResult r = load_path(dir.string());
  EXPECT_TRUE(r.ok()) << render(r.errors);
  if (r.ok()) {
    EXPECT_EQ(r.config->routes[0].meta.source.file, (dir / "b.yml").string());
    EXPECT_EQ(r.config->services[0].meta.source.file, (dir / "a.yaml").string());
  }
  fs::remove_all(dir);
}

TEST(LoadErrors, MissingPathAndEmptyDirectory) {
  LoadResult r = load_path("/nonexistent/infergate.yaml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].file, "/nonexistent/infergate.yaml");
  EXPECT_NE(r.errors[0].message.find("cannot read"), std::string::npos);

  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("infergate_empty_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  r = load_path(dir.string());
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].message, "no *.yaml or *.yml files in directory");
  fs::remove_all(dir);
}

TEST(LoadErrors, EmptyInputIsAnEmptyValidConfig) {
  LoadResult r = load_string("# nothing here\n---\n---\n", "empty.yaml");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.config->routes.empty());
  EXPECT_EQ(r.config->gateway.admin.port, 9901);
}

}  // namespace
}  // namespace infergate::config

namespace infergate::config {
namespace {

// X-Gateway-Model-Name is trusted only from principals named as Istio writes them.
TEST(BodyRoutingConfig, TrustedModelHeaderPrincipals) {
  const std::string ok = "apiVersion: infergate.dev/v1alpha1\nkind: GatewayConfig\nspec:\n  bodyRouting:\n"
                         "    trustedModelHeaderPrincipals: [cluster.local/ns/edge/sa/proxy, \"*\"]\n";
  LoadResult r = load_string(ok, "gw.yaml");
  ASSERT_TRUE(r.errors.empty()) << testing::render(r.errors);
  ASSERT_TRUE(r.config.has_value());
  EXPECT_EQ(r.config->gateway.body_routing.trusted_model_header_principals,
            (std::vector<std::string>{"cluster.local/ns/edge/sa/proxy", "*"}));
  EXPECT_TRUE(load_string("apiVersion: infergate.dev/v1alpha1\nkind: GatewayConfig\nspec: {}\n", "d.yaml")
                  .config->gateway.body_routing.trusted_model_header_principals.empty())
      << "nobody is trusted by default";

  const std::string bad = "apiVersion: infergate.dev/v1alpha1\nkind: GatewayConfig\nspec:\n  bodyRouting:\n"
                          "    trustedModelHeaderPrincipals:\n    - spiffe://cluster.local/ns/edge/sa/proxy\n";
  r = load_string(bad, "bad.yaml");
  EXPECT_TRUE(testing::has_diagnostic(
      r.errors, "bad.yaml:" + std::to_string(testing::line_of(bad, "spiffe://")) +
                    ": document 1 (GatewayConfig/): spec.bodyRouting.trustedModelHeaderPrincipals[0]: must be a "
                    "principal as Istio writes it, e.g. cluster.local/ns/edge/sa/proxy (no spiffe://), or \"*\""))
      << testing::render(r.errors);
}

}  // namespace
}  // namespace infergate::config
