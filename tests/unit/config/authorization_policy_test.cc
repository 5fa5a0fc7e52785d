// Istio AuthorizationPolicy as the loader reads and checks it: every field into the model,
// and every rejection as the exact diagnostic (file, line, document, resource, field path).
#include <gtest/gtest.h>

#include <cctype>

#include "config/loader.h"
#include "test_util.h"

namespace infergate::config {
namespace {

using testing::has_diagnostic;
using testing::line_of;
using testing::render;

std::string policy(const std::string& spec, const std::string& meta = "{name: ap}") {
  return "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: " + meta + "\nspec:\n" + spec;
}

LoadResult load(const std::string& yaml) { return load_string(yaml, "authz.yaml"); }

// ---- What loads, field by field ---------------------------------------------------------------

TEST(AuthorizationPolicyConfig, EveryField) {
  const LoadResult r = load(R"(apiVersion: security.istio.io/v1beta1
kind: AuthorizationPolicy
metadata: {name: full, namespace: llm, creationTimestamp: "2025-01-02T03:04:05Z"}
spec:
  selector: {matchLabels: {app: triton-inference-server}}
  action: DENY
  rules:
  - from:
    - source:
        principals: ["cluster.local/ns/a/sa/b", "*"]
        notPrincipals: ["cluster.local/ns/x/*"]
        namespaces: ["llm-*"]
        notNamespaces: ["*-test"]
        ipBlocks: ["10.0.0.0/8", "192.168.1.7"]
        notIpBlocks: ["2001:db8::/32"]
        remoteIpBlocks: ["::1"]
        notRemoteIpBlocks: ["172.16.0.0/12"]
    - source:
        serviceAccounts: ["frontend/chat-ui", "local-sa"]
        notServiceAccounts: ["ops/admin"]
    to:
    - operation:
        hosts: ["API.Example.com", "*.example.com"]
        notHosts: ["Admin.example.com"]
        ports: ["8080", "443"]
        notPorts: ["9090"]
        methods: ["GET", "POST"]
        notMethods: ["DELETE"]
        paths: ["/v1/*", "/echo"]
        notPaths: ["*/internal"]
    when:
    - key: request.headers[X-Tenant]
      values: ["gold", "silver*"]
      notValues: ["silver-trial"]
    - {key: source.ip, values: ["10.1.0.0/16"], notValues: ["10.1.2.3"]}
    - {key: remote.ip, values: ["fd00::/8"]}
    - {key: source.namespace, values: ["llm-clients"]}
    - {key: source.principal, notValues: ["*"]}
    - {key: source.serviceAccount, values: ["sa1", "other/sa2"]}
    - {key: destination.ip, values: ["10.9.9.9"]}
    - {key: destination.port, values: ["8080"], notValues: ["9090"]}
    - {key: connection.sni, values: ["*.example.com"]}
  - {}
)");
  ASSERT_TRUE(r.ok()) << render(r.errors);
  EXPECT_TRUE(r.warnings.empty()) << render(r.warnings);
  ASSERT_EQ(r.config->authorization_policies.size(), 1u);
  const AuthorizationPolicy& p = r.config->authorization_policies[0];
  EXPECT_EQ(p.ns, "llm");
  EXPECT_EQ(p.name, "full");
  EXPECT_EQ(p.creation_timestamp, "2025-01-02T03:04:05Z");
  EXPECT_EQ(p.source.line, 1);
  EXPECT_EQ(p.action, AuthzAction::Deny);
  EXPECT_EQ(p.selector, (std::map<std::string, std::string>{{"app", "triton-inference-server"}}));
  EXPECT_FALSE(p.has_target_refs);
  ASSERT_EQ(p.rules.size(), 2u);
  const AuthzRule& rule = p.rules[0];
  ASSERT_EQ(rule.from.size(), 2u);
  const AuthzSource& s = rule.from[0];
  EXPECT_EQ(s.principals, (std::vector<std::string>{"cluster.local/ns/a/sa/b", "*"}));
  EXPECT_EQ(s.not_principals, (std::vector<std::string>{"cluster.local/ns/x/*"}));
  EXPECT_EQ(s.namespaces, (std::vector<std::string>{"llm-*"}));
  EXPECT_EQ(s.not_namespaces, (std::vector<std::string>{"*-test"}));
  ASSERT_EQ(s.ip_blocks.size(), 2u);
  EXPECT_EQ(s.ip_blocks[0].prefix, 96 + 8);
  EXPECT_EQ(s.ip_blocks[1].prefix, 128);
  ASSERT_EQ(s.not_ip_blocks.size(), 1u);
  EXPECT_EQ(s.not_ip_blocks[0].prefix, 32);
  ASSERT_EQ(s.remote_ip_blocks.size(), 1u);
  EXPECT_EQ(s.remote_ip_blocks[0].prefix, 128);
  ASSERT_EQ(s.not_remote_ip_blocks.size(), 1u);
  EXPECT_EQ(s.not_remote_ip_blocks[0].prefix, 96 + 12);
  // "sa" alone is the policy's namespace, as Istio reads it.
  EXPECT_EQ(rule.from[1].service_accounts, (std::vector<std::string>{"frontend/chat-ui", "llm/local-sa"}));
  EXPECT_EQ(rule.from[1].not_service_accounts, (std::vector<std::string>{"ops/admin"}));
  ASSERT_EQ(rule.to.size(), 1u);
  const AuthzOperation& o = rule.to[0];
  EXPECT_EQ(o.hosts, (std::vector<std::string>{"api.example.com", "*.example.com"}));  // lower-cased
  EXPECT_EQ(o.not_hosts, (std::vector<std::string>{"admin.example.com"}));
  EXPECT_EQ(o.ports, (std::vector<uint16_t>{8080, 443}));
  EXPECT_EQ(o.not_ports, (std::vector<uint16_t>{9090}));
  EXPECT_EQ(o.methods, (std::vector<std::string>{"GET", "POST"}));
  EXPECT_EQ(o.not_methods, (std::vector<std::string>{"DELETE"}));
  EXPECT_EQ(o.paths, (std::vector<std::string>{"/v1/*", "/echo"}));
  EXPECT_EQ(o.not_paths, (std::vector<std::string>{"*/internal"}));
  ASSERT_EQ(rule.when.size(), 9u);
  EXPECT_EQ(rule.when[0].kind, AuthzKey::RequestHeader);
  EXPECT_EQ(rule.when[0].key, "request.headers[X-Tenant]");
  EXPECT_EQ(rule.when[0].header, "x-tenant");
  EXPECT_EQ(rule.when[0].values, (std::vector<std::string>{"gold", "silver*"}));
  EXPECT_EQ(rule.when[0].not_values, (std::vector<std::string>{"silver-trial"}));
  EXPECT_EQ(rule.when[1].kind, AuthzKey::SourceIp);
  EXPECT_EQ(rule.when[1].ip_values.size(), 1u);
  EXPECT_EQ(rule.when[1].not_ip_values.size(), 1u);
  EXPECT_EQ(rule.when[2].kind, AuthzKey::RemoteIp);
  EXPECT_EQ(rule.when[3].kind, AuthzKey::SourceNamespace);
  EXPECT_EQ(rule.when[3].values, (std::vector<std::string>{"llm-clients"}));
  EXPECT_EQ(rule.when[4].kind, AuthzKey::SourcePrincipal);
  EXPECT_EQ(rule.when[4].not_values, (std::vector<std::string>{"*"}));
  EXPECT_EQ(rule.when[5].kind, AuthzKey::SourceServiceAccount);
  EXPECT_EQ(rule.when[5].values, (std::vector<std::string>{"llm/sa1", "other/sa2"}));
  EXPECT_EQ(rule.when[6].kind, AuthzKey::DestinationIp);
  EXPECT_EQ(rule.when[6].ip_values.size(), 1u);
  EXPECT_EQ(rule.when[7].kind, AuthzKey::DestinationPort);
  EXPECT_EQ(rule.when[7].port_values, (std::vector<uint16_t>{8080}));
  EXPECT_EQ(rule.when[7].not_port_values, (std::vector<uint16_t>{9090}));
  EXPECT_EQ(rule.when[8].kind, AuthzKey::ConnectionSni);
  // The empty rule `{}` is kept: it matches every request.
  EXPECT_TRUE(p.rules[1].from.empty() && p.rules[1].to.empty() && p.rules[1].when.empty());
}

TEST(AuthorizationPolicyConfig, ActionsAndEmptySpecs) {
  const LoadResult r = load(policy("  {}\n", "{name: allow-nothing}") + "---\n" +
                            "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: no-spec}\n"
                            "---\n" + policy("  action: ALLOW\n  rules: [{}]\n", "{name: allow-all}") + "---\n" +
                            policy("  action: AUDIT\n", "{name: audit}") + "---\n" +
                            policy("  action: DENY\n  rules: [{}]\n", "{name: deny-all}"));
  ASSERT_TRUE(r.ok()) << render(r.errors);
  const auto& ps = r.config->authorization_policies;
  ASSERT_EQ(ps.size(), 5u);
  // Order as loaded.
  EXPECT_EQ(ps[0].name, "allow-nothing");
  EXPECT_EQ(ps[0].action, AuthzAction::Allow);
  EXPECT_TRUE(ps[0].rules.empty());
  EXPECT_EQ(ps[1].name, "no-spec");
  EXPECT_EQ(ps[1].action, AuthzAction::Allow);
  EXPECT_TRUE(ps[1].rules.empty());
  EXPECT_EQ(ps[2].rules.size(), 1u);
  EXPECT_EQ(ps[3].action, AuthzAction::Audit);
  EXPECT_TRUE(ps[3].rules.empty());
  EXPECT_EQ(ps[4].action, AuthzAction::Deny);
  EXPECT_EQ(ps[4].rules.size(), 1u);
}

TEST(AuthorizationPolicyConfig, TargetRefs) {
  const std::string yaml =
      policy("  targetRefs:\n  - {group: gateway.networking.k8s.io, kind: Gateway, name: edge}\n"
             "  - {group: gateway.networking.k8s.io, kind: Gateway, name: other, namespace: gw-ns}\n"
             "  - {kind: Service, name: llm}\n  rules: [{}]\n",
             "{name: refs, namespace: gw-ns}") +
      "---\n" +
      policy("  targetRef: {group: gateway.networking.k8s.io, kind: Gateway, name: single}\n  rules: [{}]\n",
             "{name: one}") +
      "---\n" + policy("  targetRefs:\n  - {group: networking.istio.io, kind: ServiceEntry, name: ext}\n", "{name: se}");
  const LoadResult r = load(yaml);
  ASSERT_TRUE(r.ok()) << render(r.errors);
  const auto& ps = r.config->authorization_policies;
  ASSERT_EQ(ps.size(), 3u);
  EXPECT_TRUE(ps[0].has_target_refs);
  ASSERT_EQ(ps[0].gateway_refs.size(), 2u);
  EXPECT_EQ(ps[0].gateway_refs[0].ns, "gw-ns");
  EXPECT_EQ(ps[0].gateway_refs[0].name, "edge");
  EXPECT_EQ(ps[0].gateway_refs[1].name, "other");
  EXPECT_TRUE(ps[1].has_target_refs);
  ASSERT_EQ(ps[1].gateway_refs.size(), 1u);
  EXPECT_EQ(ps[1].gateway_refs[0].ns, "default");
  EXPECT_EQ(ps[1].gateway_refs[0].name, "single");
  // A ServiceEntry target is enforced by a waypoint: kept, but it selects no Gateway here.
  EXPECT_TRUE(ps[2].has_target_refs);
  EXPECT_TRUE(ps[2].gateway_refs.empty());
  const std::string at = "authz.yaml:" + std::to_string(line_of(yaml, "kind: Service,")) + ": ";
  EXPECT_TRUE(has_diagnostic(r.warnings, at + "document 1 (AuthorizationPolicy/refs): spec.targetRefs[2]: targetRef to "
                                              "Service \"llm\" is enforced by a waypoint, not by this gateway; the "
                                              "policy does not apply here"))
      << render(r.warnings);
  EXPECT_EQ(r.warnings.size(), 2u) << render(r.warnings);
}

TEST(AuthorizationPolicyConfig, EmptySelectorIsNamespaceWideWithAWarning) {
  const std::string yaml = policy("  selector: {}\n  rules: [{}]\n");
  const LoadResult r = load(yaml);
  ASSERT_TRUE(r.ok()) << render(r.errors);
  EXPECT_TRUE(r.config->authorization_policies[0].selector.empty());
  EXPECT_TRUE(has_diagnostic(r.warnings, "authz.yaml:" + std::to_string(line_of(yaml, "selector:")) +
                                             ": document 1 (AuthorizationPolicy/ap): spec.selector: workload selector "
                                             "specified without labels; the policy is namespace-wide"))
      << render(r.warnings);
}

TEST(AuthorizationPolicyConfig, IpForms) {
  const LoadResult r = load(policy(
      "  rules:\n  - from:\n    - source:\n        ipBlocks: [\"0.0.0.0/0\", \"::/0\", \"::ffff:10.0.0.1\", "
      "\"10.1.0.0/8\", \"fe80::1/64\", \"1.2.3.4/32\"]\n"));
  ASSERT_TRUE(r.ok()) << render(r.errors);
  const auto& b = r.config->authorization_policies[0].rules[0].from[0].ip_blocks;
  ASSERT_EQ(b.size(), 6u);
  EXPECT_EQ(b[0].prefix, 96);
  EXPECT_EQ(b[1].prefix, 0);
  EXPECT_EQ(b[2].prefix, 128);
  EXPECT_EQ(b[3].prefix, 104);  // bits past the prefix are allowed (Go's netip accepts them)
  EXPECT_EQ(b[4].prefix, 64);
  EXPECT_EQ(b[5].prefix, 128);
}

// ---- Every rejection and warning --------------------------------------------------------------

enum class Kind { Error, Warning };

struct Case {
  std::string label;
  std::string spec;    // under `spec:` of AuthorizationPolicy/ap (document 1)
  std::string needle;  // the line the diagnostic names
  std::string rest;    // "path: message"
  Kind kind = Kind::Error;
};

const std::string kFromRule = "  rules:\n  - from:\n    - source:\n";
const std::string kToRule = "  rules:\n  - to:\n    - operation:\n";
std::string when(const std::string& condition) { return "  rules:\n  - when:\n    - " + condition + "\n"; }

const Case kCases[] = {
    // --- action / provider / selectors -------------------------------------------------------
    {"custom", "  action: CUSTOM\n  provider: {name: ext}\n  rules: [{}]\n", "action:",
     "spec.action: action CUSTOM (ext_authz) is not supported"},
    {"unknown action", "  action: REJECT\n", "action:",
     "spec.action: \"REJECT\" is not one of: ALLOW, DENY, AUDIT, CUSTOM"},
    {"provider without custom", "  action: ALLOW\n  provider: {name: ext}\n", "provider:",
     "spec.provider: provider must not be set with non CUSTOM action, found ALLOW"},
    {"deny without rules", "  action: DENY\n", "action:",
     "spec.rules: DENY action without rules is meaningless as it will never be triggered, add an empty rule `{}` "
     "if you want it be triggered for every request"},
    {"deny with empty rules", "  action: DENY\n  rules: []\n", "action:",
     "spec.rules: DENY action without rules is meaningless as it will never be triggered, add an empty rule `{}` "
     "if you want it be triggered for every request"},
    {"selector and targetRefs",
     "  selector: {matchLabels: {app: a}}\n  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: g}]\n",
     "selector:", "spec: only one of targetRefs or workloadSelector can be set"},
    {"targetRef and targetRefs",
     "  targetRef: {group: gateway.networking.k8s.io, kind: Gateway, name: g}\n"
     "  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: g}]\n",
     "targetRef:", "spec: only one of targetRefs or workloadSelector can be set"},
    {"wildcard selector", "  selector: {matchLabels: {app: \"tri*\"}}\n", "selector:",
     "spec.selector.matchLabels.app: wildcard is not supported in selector: \"app=tri*\""},
    {"targetRef other kind", "  targetRefs:\n  - {group: apps, kind: Deployment, name: d}\n", "- {group: apps",
     "spec.targetRefs[0]: targetRef must be to one of gateway.networking.k8s.io/Gateway, core/Service, "
     "networking.istio.io/ServiceEntry, gateway.networking.k8s.io/GatewayClass but was apps/Deployment"},
    {"targetRef gateway class", "  targetRefs:\n  - {group: gateway.networking.k8s.io, kind: GatewayClass, name: c}\n",
     "- {group", "spec.targetRefs[0]: targetRef to a GatewayClass is not supported (name the Gateway instead)"},
    {"targetRef cross namespace",
     "  targetRefs:\n  - {group: gateway.networking.k8s.io, kind: Gateway, name: g, namespace: other}\n", "- {group",
     "spec.targetRefs[0].namespace: targetRef namespace must not be set; cross namespace referencing is not supported"},
    {"targetRef without name", "  targetRef: {group: gateway.networking.k8s.io, kind: Gateway}\n", "targetRef:",
     "spec.targetRef.name: is required"},
    {"targetRef of a service", "  targetRef: {kind: Service, name: llm}\n", "targetRef:",
     "spec.targetRef: targetRef to Service \"llm\" is enforced by a waypoint, not by this gateway; the policy does "
     "not apply here",
     Kind::Warning},
    {"unknown spec field", "  rule: []\n", "rule:",
     "spec.rule: unknown field \"rule\" (known: selector, targetRef, targetRefs, action, provider, rules)"},
    // --- rules / from ------------------------------------------------------------------------
    {"null rule", "  rules: [~]\n", "rules:", "spec.rules[0]: rule must not be null (write {} to match every request)"},
    {"unknown rule field", "  rules:\n  - {form: []}\n", "- {form",
     "spec.rules[0].form: unknown field \"form\" (known: from, to, when)"},
    {"empty from", "  rules:\n  - from: []\n", "- from:", "spec.rules[0].from: must not be empty"},
    {"from without source", "  rules:\n  - from:\n    - {}\n", "- {}", "spec.rules[0].from[0].source: is required"},
    {"empty source", kFromRule + "        {}\n", "        {}", "spec.rules[0].from[0].source: must not be empty"},
    {"request principals", kFromRule + "        requestPrincipals: [\"*\"]\n", "requestPrincipals:",
     "spec.rules[0].from[0].source.requestPrincipals: requestPrincipals needs JWT authentication "
     "(RequestAuthentication), which is not supported"},
    {"not request principals", kFromRule + "        notRequestPrincipals: [\"*\"]\n", "notRequestPrincipals:",
     "spec.rules[0].from[0].source.notRequestPrincipals: notRequestPrincipals needs JWT authentication "
     "(RequestAuthentication), which is not supported"},
    {"misspelt source field", kFromRule + "        principal: [a]\n", "principal:",
     "spec.rules[0].from[0].source.principal: unknown field \"principal\" (known: principals, notPrincipals, "
     "requestPrincipals, notRequestPrincipals, namespaces, notNamespaces, serviceAccounts, notServiceAccounts, "
     "ipBlocks, notIpBlocks, remoteIpBlocks, notRemoteIpBlocks)"},
    {"empty principal", kFromRule + "        principals: [\"\"]\n", "principals:",
     "spec.rules[0].from[0].source.principals[0]: empty value not allowed"},
    {"principals not a list", kFromRule + "        principals: a\n", "principals:",
     "spec.rules[0].from[0].source.principals: must be a list, got a scalar"},
    {"bad ip", kFromRule + "        ipBlocks: [\"10.0.0.1\", \"10.0.0.300\"]\n", "ipBlocks:",
     "spec.rules[0].from[0].source.ipBlocks[1]: bad IP address \"10.0.0.300\""},
    {"bad cidr", kFromRule + "        notRemoteIpBlocks: [\"10.0.0.0/33\"]\n", "notRemoteIpBlocks:",
     "spec.rules[0].from[0].source.notRemoteIpBlocks[0]: bad CIDR range \"10.0.0.0/33\""},
    {"bad v6 cidr", kFromRule + "        notIpBlocks: [\"2001:db8::/129\"]\n", "notIpBlocks:",
     "spec.rules[0].from[0].source.notIpBlocks[0]: bad CIDR range \"2001:db8::/129\""},
    {"bad remote ip", kFromRule + "        remoteIpBlocks: [\"host.example\"]\n", "remoteIpBlocks:",
     "spec.rules[0].from[0].source.remoteIpBlocks[0]: bad IP address \"host.example\""},
    {"service accounts with principals", kFromRule + "        principals: [a]\n        serviceAccounts: [b]\n",
     "principals:", "spec.rules[0].from[0].source: cannot set serviceAccounts with namespaces or principals"},
    {"service account wildcard", kFromRule + "        serviceAccounts: [\"ns/*\"]\n", "serviceAccounts:",
     "spec.rules[0].from[0].source.serviceAccounts[0]: wildcard not allowed"},
    {"service account format", kFromRule + "        notServiceAccounts: [\"a/b/c\"]\n", "notServiceAccounts:",
     "spec.rules[0].from[0].source.notServiceAccounts[0]: expected format 'serviceAccount' or "
     "'namespace/serviceAccount', found \"a/b/c\""},
    {"inner wildcard", kFromRule + "        principals: [\"cluster.local/ns/*/sa/x\"]\n", "principals:",
     "spec.rules[0].from[0].source.principals[0]: \"cluster.local/ns/*/sa/x\": '*' is a wildcard only as the "
     "first or the last character; here it is matched literally",
     Kind::Warning},
    // --- to ----------------------------------------------------------------------------------
    {"empty to", "  rules:\n  - to: []\n", "- to:", "spec.rules[0].to: must not be empty"},
    {"empty operation", kToRule + "        {}\n", "        {}", "spec.rules[0].to[0].operation: must not be empty"},
    {"bad port", kToRule + "        ports: [\"80\", \"http\"]\n", "ports:",
     "spec.rules[0].to[0].operation.ports[1]: bad port \"http\" (must be a number from 0 to 65535)"},
    {"port out of range", kToRule + "        notPorts: [\"70000\"]\n", "notPorts:",
     "spec.rules[0].to[0].operation.notPorts[0]: bad port \"70000\" (must be a number from 0 to 65535)"},
    {"path template", kToRule + "        paths: [\"/v1/{*}/chat\"]\n", "paths:",
     "spec.rules[0].to[0].operation.paths[0]: path templates ({*}, {**}) are not supported"},
    {"stray brace", kToRule + "        notPaths: [\"/a{b\"]\n", "notPaths:",
     "spec.rules[0].to[0].operation.notPaths[0]: contains '{' or '}' beyond a supported path template"},
    {"empty method", kToRule + "        methods: [GET, \"\"]\n", "methods:",
     "spec.rules[0].to[0].operation.methods[1]: empty value not allowed"},
    {"misspelt operation field", kToRule + "        path: [/a]\n", "path:",
     "spec.rules[0].to[0].operation.path: unknown field \"path\" (known: hosts, notHosts, ports, notPorts, "
     "methods, notMethods, paths, notPaths)"},
    // --- when --------------------------------------------------------------------------------
    {"unknown key", when("{key: source.ipaddr, values: [a]}"), "key:",
     "spec.rules[0].when[0].key: unknown attribute \"source.ipaddr\" (known: request.headers[<name>], source.ip, "
     "remote.ip, source.namespace, source.principal, source.serviceAccount, destination.ip, destination.port, "
     "connection.sni)"},
    {"jwt key", when("{key: \"request.auth.claims[iss]\", values: [a]}"), "key:",
     "spec.rules[0].when[0].key: \"request.auth.claims[iss]\" needs JWT authentication (RequestAuthentication), "
     "which is not supported"},
    {"filter metadata key", when("{key: \"experimental.envoy.filters.a[b]\", values: [a]}"), "key:",
     "spec.rules[0].when[0].key: \"experimental.envoy.filters.a[b]\" reads Envoy filter metadata, which is not "
     "supported"},
    {"destination namespace", when("{key: destination.namespace, values: [a]}"), "key:",
     "spec.rules[0].when[0].key: attribute destination.namespace is replaced by the metadata.namespace"},
    {"destination labels", when("{key: \"destination.labels[app]\", values: [a]}"), "key:",
     "spec.rules[0].when[0].key: attribute destination.labels[app] is replaced by the workload selector"},
    {"header key without name", when("{key: \"request.headers[]\", values: [a]}"), "key:",
     "spec.rules[0].when[0].key: bad key \"request.headers[]\": should have format request.headers[<name>]"},
    {"header key unclosed", when("{key: \"request.headers[x-a\", values: [a]}"), "key:",
     "spec.rules[0].when[0].key: bad key \"request.headers[x-a\": should have format request.headers[<name>]"},
    {"empty key", when("{key: \"\", values: [a]}"), "key:", "spec.rules[0].when[0].key: must not be empty"},
    {"missing key", when("{values: [a]}"), "values:", "spec.rules[0].when[0].key: is required"},
    {"no values", when("{key: source.ip}"), "key:",
     "spec.rules[0].when[0]: at least one of values or notValues must be set for key source.ip"},
    {"bad ip value", when("{key: source.ip, values: [\"10.0.0.0/40\"]}"), "key:",
     "spec.rules[0].when[0].values[0]: bad CIDR range \"10.0.0.0/40\""},
    {"bad port value", when("{key: destination.port, notValues: [\"-1\"]}"), "key:",
     "spec.rules[0].when[0].notValues[0]: bad port \"-1\" (must be a number from 0 to 65535)"},
    {"bad service account value", when("{key: source.serviceAccount, values: [\"/sa\"]}"), "key:",
     "spec.rules[0].when[0].values[0]: expected format 'serviceAccount' or 'namespace/serviceAccount', found \"/sa\""},
    {"unknown when field", when("{key: source.ip, value: [a]}"), "key:",
     "spec.rules[0].when[0].value: unknown field \"value\" (known: key, values, notValues)"},
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.label; }

class AuthorizationPolicyErrors : public ::testing::TestWithParam<Case> {};

TEST_P(AuthorizationPolicyErrors, Reported) {
  const Case& c = GetParam();
  const std::string yaml = policy(c.spec);
  const LoadResult r = load(yaml);
  const int line = line_of(yaml, c.needle);
  ASSERT_GT(line, 0) << "no line with " << c.needle;
  const std::string expected =
      "authz.yaml:" + std::to_string(line) + ": document 1 (AuthorizationPolicy/ap): " + c.rest;
  if (c.kind == Kind::Error) {
    EXPECT_FALSE(r.ok());
    EXPECT_TRUE(has_diagnostic(r.errors, expected)) << "expected: " << expected << "\ngot:\n" << render(r.errors);
  } else {
    EXPECT_TRUE(r.ok()) << render(r.errors);
    EXPECT_TRUE(has_diagnostic(r.warnings, expected)) << "expected: " << expected << "\ngot:\n"
                                                      << render(r.warnings);
  }
}

INSTANTIATE_TEST_SUITE_P(All, AuthorizationPolicyErrors, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           std::string name;
                           for (char ch : info.param.label) name += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
                           return name;
                         });

TEST(AuthorizationPolicyConfig, ErrorRejectsTheWholeConfigAndKeepsStrictnessLocal) {
  // An unknown field inside an AuthorizationPolicy is an error; one in a later networking
  // kind stays the warning the loader gives foreign kinds.
  const std::string yaml = policy("  rules: [{}]\n") + "---\n" +
                           "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  selector: {app: a}\n"
                           "  ports: [{port: 80}]\n  bogus: 1\n";
  const LoadResult ok = load(yaml);
  ASSERT_TRUE(ok.ok()) << render(ok.errors);
  bool service_warning = false;
  for (const auto& w : ok.warnings)
    service_warning = service_warning || w.message == "unknown field \"bogus\", ignored";
  EXPECT_TRUE(service_warning) << render(ok.warnings);
  const LoadResult bad = load(policy("  rules: [{}]\n  bogus: 1\n"));
  EXPECT_FALSE(bad.ok());
  EXPECT_FALSE(bad.config.has_value());
}

}  // namespace
}  // namespace infergate::config
