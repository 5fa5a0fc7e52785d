// Every rejection names file, document, resource, field path and line.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "config/loader.h"
#include "test_util.h"

namespace infergate::config {
namespace {

using testing::has_diagnostic;
using testing::render;

// Documents 1-5, reused as the valid base of most cases (line numbers matter below).
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
// kBase has 47 lines; the next document starts on line 48 ("---") / 49.

LoadResult load_with(const std::string& extra) {
  return load_string(kBase + "---\n" + extra, "gateway.yaml");
}

TEST(LoadErrors, BaseIsValid) {
  LoadResult r = load_string(kBase, "gateway.yaml");
  ASSERT_TRUE(r.ok()) << render(r.errors);
  EXPECT_TRUE(r.warnings.empty()) << render(r.warnings);
}

TEST(LoadErrors, WeightOutOfRange) {
  LoadResult r = load_with(R"(apiVersion: gateway.networking.k8s.io/v1
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
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(r.config.has_value());
  EXPECT_TRUE(has_diagnostic(r.errors,
                             "gateway.yaml:63: document 5 (HTTPRoute/llm-route): "
                             "spec.rules[0].backendRefs[1].weight: must be between 0 and 1000000"))
      << render(r.errors);
}

TEST(LoadErrors, YamlSyntaxErrorNamesLineAndDocumentAndOthersStillChecked) {
  LoadResult r = load_with("apiVersion: v1\nkind: [unclosed\n---\nkind: Nope\napiVersion: x/v1\n");
  ASSERT_FALSE(r.ok());
  ASSERT_EQ(r.errors.size(), 2u) << render(r.errors);
  EXPECT_EQ(r.errors[0].document, 5);
  EXPECT_EQ(r.errors[0].line, 51) << render(r.errors);
  EXPECT_NE(r.errors[0].message.find("YAML syntax error"), std::string::npos);
  EXPECT_EQ(r.errors[1].to_string(),
            "gateway.yaml:52: document 6 (Nope/): kind: unknown kind \"Nope\" (apiVersion \"x/v1\")");
}

TEST(LoadErrors, UnknownKindNamesApiVersionAndKind) {
  LoadResult r = load_with("apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n");
  EXPECT_TRUE(has_diagnostic(r.errors, "gateway.yaml:49: document 5 (Widget/w): kind: unknown "
                                       "kind \"Widget\" (apiVersion \"example.com/v1\")"))
      << render(r.errors);
}

TEST(LoadErrors, KnownKindInUnknownVersion) {
  LoadResult r = load_with("apiVersion: gateway.networking.k8s.io/v9\nkind: HTTPRoute\n"
                           "metadata: {name: r}\n");
  EXPECT_TRUE(has_diagnostic(r.errors, "gateway.yaml:49: document 5 (HTTPRoute/r): apiVersion: "
                                       "kind HTTPRoute is not supported in apiVersion "
                                       "\"gateway.networking.k8s.io/v9\""))
      << render(r.errors);
}

TEST(LoadErrors, MissingApiVersionOrKind) {
  LoadResult r = load_with("kind: Service\nmetadata: {name: x}\n");
  EXPECT_TRUE(has_diagnostic(r.errors, "gateway.yaml:49: document 5 (Service/x): apiVersion: is required"))
      << render(r.errors);
  r = load_with("- just\n- a list\n");
  EXPECT_TRUE(has_diagnostic(r.errors, "gateway.yaml:49: document 5: a document must be a "
                                       "mapping with apiVersion and kind"))
      << render(r.errors);
}

TEST(LoadErrors, UnknownFieldIsAnErrorInOurOwnKind) {
  LoadResult r = load_string("apiVersion: infergate.dev/v1alpha1\nkind: GatewayConfig\n"
                             "spec:\n  timeouts:\n    conect: 1s\n",
                             "own.yaml");
  EXPECT_TRUE(has_diagnostic(r.errors, "own.yaml:5: document 1 (GatewayConfig/): "
                                       "spec.timeouts.conect: unknown field \"conect\" (known: "
                                       "connect, request, perTry, idle, streamIdle, drain)"))
      << render(r.errors);
}

TEST(LoadErrors, UnknownFieldIsAWarningInForeignKinds) {
  LoadResult r = load_with(R"(apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: r
spec:
  parentRefs: [{name: gw}]
  futureField: 1
  rules:
  - backendRefs: [{name: svc, port: 80}]
)");
  ASSERT_TRUE(r.ok()) << render(r.errors);
  EXPECT_TRUE(has_diagnostic(r.warnings, "gateway.yaml:55: document 5 (HTTPRoute/r): "
                                         "spec.futureField: unknown field \"futureField\", ignored"))
      << render(r.warnings);
}

TEST(LoadErrors, WrongTypes) {
  LoadResult r = load_string(R"(apiVersion: infergate.dev/v1alpha1
kind: GatewayConfig
spec:
  workers: "4"
  admin:
    port: abc
  endpoints: {name: x}
  limits: []
)",
                             "types.yaml");
  EXPECT_TRUE(has_diagnostic(r.errors, "types.yaml:4: document 1 (GatewayConfig/): spec.workers: "
                                       "must be an integer, got \"4\""))
      << render(r.errors);
  EXPECT_TRUE(has_diagnostic(r.errors, "types.yaml:6: document 1 (GatewayConfig/): "
                                       "spec.admin.port: must be an integer, got \"abc\""))
      << render(r.errors);
  EXPECT_TRUE(has_diagnostic(r.errors, "types.yaml:7: document 1 (GatewayConfig/): "
                                       "spec.endpoints: must be a list, got a mapping"))
      << render(r.errors);
  EXPECT_TRUE(has_diagnostic(r.errors, "types.yaml:8: document 1 (GatewayConfig/): spec.limits: "
                                       "must be a mapping, got a list"))
      << render(r.errors);
}

TEST(LoadErrors, OutOfRangeAndBadEnum) {
  LoadResult r = load_with(R"(apiVersion: gateway.networking.k8s.io/v1
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
  EXPECT_TRUE(has_diagnostic(r.errors, "gateway.yaml:56: document 5 (Gateway/gw2): "
                                       "spec.listeners[0].port: must be between 1 and 65535"))
      << render(r.errors);
  EXPECT_TRUE(has_diagnostic(r.errors, "gateway.yaml:60: document 5 (Gateway/gw2): "
                                       "spec.listeners[1].protocol: \"TCP\" is not one of: HTTP, "
                                       "HTTPS"))
      << render(r.errors);
}

TEST(LoadErrors, MissingRequiredFields) {
  LoadResult r = load_with(R"(apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: r
spec:
  parentRefs: [{name: gw}]
  rules:
  - backendRefs:
    - port: 80
    - name: svc
)");
  EXPECT_TRUE(has_diagnostic(r.errors, "gateway.yaml:57: document 5 (HTTPRoute/r): "
                                       "spec.rules[0].backendRefs[0].name: is required"))
      << render(r.errors);
  EXPECT_TRUE(has_diagnostic(r.errors, "gateway.yaml:58: document 5 (HTTPRoute/r): "
                                       "spec.rules[0].backendRefs[1].port: is required for a "
                                       "Service backend"))
      << render(r.errors);
  r = load_with("apiVersion: v1\nkind: Service\nmetadata: {}\nspec: {ports: [{port: 1}]}\n");
  EXPECT_TRUE(has_diagnostic(r.errors, "gateway.yaml:51: document 5 (Service/): metadata.name: is required"))
      << render(r.errors);
}

TEST(LoadErrors, DuplicateResourceNames) {
  LoadResult r = load_with("apiVersion: v1\nkind: Service\nmetadata: {name: svc}\n"
                           "spec: {selector: {app: m}, ports: [{port: 80}]}\n");
  EXPECT_TRUE(has_diagnostic(r.errors, "gateway.yaml:49: document 5 (Service/svc): metadata.name: "
                                       "duplicate Service \"default/svc\" (first defined at "
                                       "gateway.yaml:38)"))
      << render(r.errors);
  // Same name in another namespace is a different Service.
  r = load_with("apiVersion: v1\nkind: Service\nmetadata: {name: svc, namespace: other}\n"
                "spec: {selector: {app: m}, ports: [{port: 80}]}\n");
  EXPECT_TRUE(r.ok()) << render(r.errors);
}

TEST(LoadErrors, DuplicateKeysInAMapping) {
  LoadResult r = load_with("apiVersion: v1\nkind: Service\nmetadata: {name: s2}\n"
                           "spec:\n  selector: {app: m}\n  selector: {app: n}\n  ports: [{port: 80}]\n");
  EXPECT_TRUE(has_diagnostic(r.errors, "gateway.yaml:54: document 5 (Service/s2): spec.selector: "
                                       "duplicate key"))
      << render(r.errors);
}

TEST(LoadErrors, DanglingReferences) {
  LoadResult r = load_with(R"(apiVersion: gateway.networking.k8s.io/v1
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
  const std::string p = "gateway.yaml:";
  EXPECT_TRUE(has_diagnostic(r.errors, p + "55: document 5 (HTTPRoute/r): spec.parentRefs[0]: "
                                           "Gateway \"default/nogw\" is not defined"))
      << render(r.errors);
  EXPECT_TRUE(has_diagnostic(r.errors, p + "56: document 5 (HTTPRoute/r): spec.parentRefs[1]: "
                                           "Gateway \"default/gw\" has no listener named \"https\""))
      << render(r.errors);
  EXPECT_TRUE(has_diagnostic(r.errors, p + "60: document 5 (HTTPRoute/r): "
                                           "spec.rules[0].backendRefs[0]: Service "
                                           "\"default/nosvc\" is not defined"))
      << render(r.errors);
  EXPECT_TRUE(has_diagnostic(r.errors, p + "62: document 5 (HTTPRoute/r): "
                                           "spec.rules[0].backendRefs[1].port: Service "
                                           "\"default/svc\" has no port 81"))
      << render(r.errors);
  EXPECT_TRUE(has_diagnostic(r.errors, p + "64: document 5 (HTTPRoute/r): "
                                           "spec.rules[0].backendRefs[2]: InferencePool "
                                           "\"default/nopool\" is not defined"))
      << render(r.errors);
}

TEST(LoadErrors, ForeignParentKindIsOnlyAWarning) {
  LoadResult r = load_with(R"(apiVersion: gateway.networking.k8s.io/v1
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
  ASSERT_TRUE(r.ok()) << render(r.errors);
  EXPECT_EQ(r.warnings.size(), 1u) << render(r.warnings);
}

TEST(LoadErrors, SelectorSelectingNothingIsAWarning) {
  LoadResult r = load_with(R"(apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferencePool
metadata:
  name: empty
spec:
  selector: {app: nothing-has-this}
  targetPortNumber: 8000
)");
  ASSERT_TRUE(r.ok()) << render(r.errors);
  EXPECT_TRUE(has_diagnostic(r.warnings, "gateway.yaml:49: document 5 (InferencePool/empty): "
                                         "spec.selector: selects no endpoint (GatewayConfig "
                                         "spec.endpoints labels)"))
      << render(r.warnings);
  EXPECT_EQ(r.config->pools[1].target_ports, std::vector<uint16_t>{8000});
}

TEST(LoadErrors, BadDurationAndTimeoutOrder) {
  LoadResult r = load_with(R"(apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: r
spec:
  parentRefs: [{name: gw}]
  rules:
  - timeouts:
      request: 10 seconds
  - timeouts:
      request: 10s
      backendRequest: 20s
)");
  EXPECT_TRUE(has_diagnostic(r.errors,
                             "gateway.yaml:57: document 5 (HTTPRoute/r): "
                             "spec.rules[0].timeouts.request: invalid duration \"10 seconds\": "
                             "expected e.g. \"10s\", \"500ms\", \"1h30m\", \"1.5s\""))
      << render(r.errors);
  EXPECT_TRUE(has_diagnostic(r.errors, "gateway.yaml:60: document 5 (HTTPRoute/r): "
                                       "spec.rules[1].timeouts.backendRequest: must not be longer "
                                       "than timeouts.request"))
      << render(r.errors);
}

TEST(LoadErrors, InvalidRegularExpression) {
  LoadResult r = load_with(R"(apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: r
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches:
    - path: {type: RegularExpression, value: "/v1/(chat"}
)");
  ASSERT_EQ(r.errors.size(), 1u) << render(r.errors);
  EXPECT_EQ(r.errors[0].path, "spec.rules[0].matches[0].path.value");
  EXPECT_EQ(r.errors[0].line, 57);
  EXPECT_NE(r.errors[0].message.find("invalid regular expression"), std::string::npos);
}

TEST(LoadErrors, IgnoredAndNotYetSupportedKindsAreWarnings) {
  LoadResult r = load_with(R"(apiVersion: v1
kind: Namespace
metadata: {name: llm}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-all}
---
apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferenceModel
metadata: {name: chat}
spec: {modelName: chat, poolRef: {name: pool}}
)");
  ASSERT_TRUE(r.ok()) << render(r.errors);
  ASSERT_EQ(r.warnings.size(), 3u) << render(r.warnings);
  EXPECT_EQ(r.warnings[0].to_string(),
            "gateway.yaml:49: document 5 (Namespace/llm): v1 Namespace is not used by the "
            "gateway; ignored");
  EXPECT_EQ(r.warnings[2].document, 7);
}

TEST(LoadErrors, SecondGatewayConfigAndListenerPortClash) {
  LoadResult r = load_with(R"(apiVersion: infergate.dev/v1alpha1
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
  EXPECT_TRUE(has_diagnostic(r.errors, "gateway.yaml:49: document 5 (GatewayConfig/again): only "
                                       "one GatewayConfig is allowed (first at gateway.yaml:1)"))
      << render(r.errors);
  EXPECT_TRUE(has_diagnostic(r.errors,
                             "gateway.yaml:58: document 6 (Gateway/gw2): spec.listeners: port "
                             "8080 is already used by listener \"default/gw/http\" at "
                             "gateway.yaml:21 (one listener per port is supported)"))
      << render(r.errors);
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
