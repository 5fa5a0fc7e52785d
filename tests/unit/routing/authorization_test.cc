// AuthorizationEngine: which policies apply to the gateway, Istio's DENY / ALLOW / AUDIT order,
// and every source / operation / condition field with its wildcard forms. Policies are written
// as YAML and read by the loader (its own tests cover the parsing), so each case reads as the
// AuthorizationPolicy an operator would write.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/loader.h"
#include "routing/authorization.h"

namespace infergate::routing {
namespace {

config::WorkloadIdentity triton() {
  config::WorkloadIdentity w;
  w.ns = "llm";
  w.labels = {{"app", "triton-inference-server"}, {"version", "v2"}};
  return w;
}

// Policies from YAML documents (each a full AuthorizationPolicy).
std::vector<config::AuthorizationPolicy> policies(const std::string& yaml) {
  const config::LoadResult r = config::load_string(yaml, "authz.yaml");
  std::string errors;
  for (const auto& d : r.errors) errors += d.to_string() + "\n";
  EXPECT_TRUE(r.ok()) << errors;
  return r.ok() ? r.config->authorization_policies : std::vector<config::AuthorizationPolicy>{};
}

// One AuthorizationPolicy document; `meta` is its metadata mapping.
std::string ap(const std::string& name, const std::string& spec, const std::string& ns = "llm") {
  return "---\napiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: " + name +
         ", namespace: " + ns + "}\nspec:\n" + spec;
}

AuthorizationEngine engine(const std::string& yaml, const config::WorkloadIdentity& w = triton(),
                           std::string_view default_ns = "default") {
  return AuthorizationEngine::build(policies(yaml), w, default_ns);
}

// A request with owned storage; view() is what the gateway passes.
struct Req {
  std::string principal, source_ip = "10.0.0.5", authority = "llm.example.com", method = "POST",
                         path = "/v1/chat/completions", sni, gateway_ns = "llm", gateway_name = "edge", remote_ip,
                         destination_ip;
  uint16_t port = 8080;
  HeaderMap headers;

  AuthzRequest view() const {
    AuthzRequest r;
    r.principal = principal;
    r.source_ip = source_ip;
    r.authority = authority;
    r.method = method;
    r.path = path;
    r.port = port;
    r.sni = sni;
    r.headers = &headers;
    r.gateway_ns = gateway_ns;
    r.gateway_name = gateway_name;
    r.remote_ip = remote_ip;
    r.destination_ip = destination_ip;
    return r;
  }
};

Req from(std::string principal) {
  Req r;
  r.principal = std::move(principal);
  return r;
}

bool allowed(const AuthorizationEngine& e, const Req& r) { return e.evaluate(r.view()).allowed; }

// ALLOW policy with one rule whose body is `rule` (indented under "  - ").
AuthorizationEngine allow_rule(const std::string& rule) { return engine(ap("p", "  rules:\n  - " + rule + "\n")); }

// ---- The seed scenario -----------------------------------------------------------------------

const std::string kSeed = ap("triton-clients",
                             "  selector:\n    matchLabels:\n      app: triton-inference-server\n  action: ALLOW\n"
                             "  rules:\n  - from:\n    - source:\n        namespaces: [\"llm-clients\"]\n"
                             "    - source:\n        principals: [\"cluster.local/ns/frontend/sa/chat-ui\"]\n");

TEST(Authorization, SeedOnlyTheNamespaceAndTheServiceAccountReachTriton) {
  const AuthorizationEngine e = engine(kSeed);
  ASSERT_FALSE(e.empty());
  ASSERT_EQ(e.policy_names(), (std::vector<std::string>{"llm.triton-clients"}));
  EXPECT_EQ(e.action_name(0), "ALLOW");
  AuthzDecision d = e.evaluate(from("cluster.local/ns/llm-clients/sa/batch").view());
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.deciding_policy, 0);
  d = e.evaluate(from("cluster.local/ns/frontend/sa/chat-ui").view());
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.deciding_policy, 0);
  for (const char* other : {"cluster.local/ns/frontend/sa/admin", "cluster.local/ns/llm-clients-x/sa/a",
                            "cluster.local/ns/default/sa/chat-ui", ""}) {
    d = e.evaluate(from(other).view());
    EXPECT_FALSE(d.allowed) << other;
    EXPECT_EQ(d.deciding_policy, -1) << other;
  }
}

TEST(Authorization, SeedPolicyDoesNotApplyToAnotherWorkload) {
  config::WorkloadIdentity w = triton();
  w.labels = {{"app", "vllm"}};
  const AuthorizationEngine e = engine(kSeed, w);
  EXPECT_TRUE(e.empty());
  const AuthzDecision d = e.evaluate(from("").view());
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.deciding_policy, -1);
}

// ---- Evaluation order ------------------------------------------------------------------------

TEST(Authorization, AllowNothingDeniesEverything) {
  const AuthorizationEngine e = engine(ap("allow-nothing", "  {}\n"));
  ASSERT_FALSE(e.empty());
  EXPECT_FALSE(allowed(e, from("cluster.local/ns/llm-clients/sa/a")));
  EXPECT_FALSE(allowed(e, from("")));
}

TEST(Authorization, AllowAllAllowsEverything) {
  const AuthorizationEngine e = engine(ap("allow-nothing", "  {}\n") + ap("allow-all", "  rules: [{}]\n"));
  const AuthzDecision d = e.evaluate(from("").view());
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.deciding_policy, 1);  // the ALLOW that allowed
}

TEST(Authorization, DenyWinsOverAllow) {
  const AuthorizationEngine e = engine(ap("allow-all", "  rules: [{}]\n") +
                                       ap("no-admin", "  action: DENY\n  rules:\n  - to:\n    - operation: {paths: [\"/admin*\"]}\n"));
  EXPECT_EQ(e.action_name(1), "DENY");
  Req r;
  r.path = "/admin/users";
  AuthzDecision d = e.evaluate(r.view());
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.deciding_policy, 1);
  r.path = "/v1/models";
  d = e.evaluate(r.view());
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.deciding_policy, 0);
}

TEST(Authorization, NoApplicableAllowAllowsAndAnUnmatchedAllowDenies) {
  const std::string deny = ap("no-delete", "  action: DENY\n  rules:\n  - to:\n    - operation: {methods: [DELETE]}\n");
  AuthorizationEngine e = engine(deny);
  AuthzDecision d = e.evaluate(Req{}.view());
  EXPECT_TRUE(d.allowed);  // only a DENY applies, and it does not match
  EXPECT_EQ(d.deciding_policy, -1);
  e = engine(deny + ap("gets", "  rules:\n  - to:\n    - operation: {methods: [GET]}\n"));
  d = e.evaluate(Req{}.view());  // POST
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.deciding_policy, -1);
}

TEST(Authorization, FirstMatchingAllowDecides) {
  const AuthorizationEngine e = engine(ap("gets", "  rules:\n  - to:\n    - operation: {methods: [GET]}\n") +
                                       ap("posts", "  rules:\n  - to:\n    - operation: {methods: [POST]}\n") +
                                       ap("all", "  rules: [{}]\n"));
  EXPECT_EQ(e.evaluate(Req{}.view()).deciding_policy, 1);
  Req get;
  get.method = "GET";
  EXPECT_EQ(e.evaluate(get.view()).deciding_policy, 0);
}

TEST(Authorization, AuditNeverDecidesButIsReported) {
  const std::string audit = ap("audit-posts", "  action: AUDIT\n  rules:\n  - to:\n    - operation: {methods: [POST]}\n");
  AuthorizationEngine e = engine(audit + ap("audit-nothing", "  action: AUDIT\n"));
  EXPECT_EQ(e.action_name(0), "AUDIT");
  AuthzDecision d = e.evaluate(Req{}.view());
  EXPECT_TRUE(d.allowed);  // AUDIT is not an ALLOW: no ALLOW applies
  EXPECT_EQ(d.deciding_policy, -1);
  ASSERT_EQ(d.audit_count, 1u);
  EXPECT_EQ(d.audit[0], 0);
  Req get;
  get.method = "GET";
  EXPECT_EQ(e.evaluate(get.view()).audit_count, 0u);
  // Denied requests are audited too.
  e = engine(ap("deny-all", "  action: DENY\n  rules: [{}]\n") + audit);
  d = e.evaluate(Req{}.view());
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.deciding_policy, 0);
  ASSERT_EQ(d.audit_count, 1u);
  EXPECT_EQ(d.audit[0], 1);
  // An allow-nothing ALLOW still denies when an AUDIT matched.
  e = engine(audit + ap("allow-nothing", "  {}\n"));
  d = e.evaluate(Req{}.view());
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.audit_count, 1u);
}

TEST(Authorization, AuditBufferIsBounded) {
  std::string yaml;
  for (int i = 0; i < 10; ++i) yaml += ap("audit-" + std::to_string(i), "  action: AUDIT\n  rules: [{}]\n");
  const AuthorizationEngine e = engine(yaml);
  const AuthzDecision d = e.evaluate(Req{}.view());
  ASSERT_EQ(d.audit_count, AuthzDecision::kMaxAudit);
  EXPECT_EQ(d.audit_dropped, 2u);
  for (size_t i = 0; i < d.audit_count; ++i) EXPECT_EQ(static_cast<size_t>(d.audit[i]), i);
}

// ---- Which policies apply --------------------------------------------------------------------

TEST(Authorization, NamespaceSelectorAndRootNamespace) {
  const AuthorizationEngine e = engine(
      ap("ns-wide", "  rules: [{}]\n") +                                                   // applies
      ap("other-ns", "  rules: [{}]\n", "team") +                                          // another namespace
      ap("mesh", "  rules: [{}]\n", "istio-system") +                                      // root, no selector
      ap("mesh-sel", "  selector: {matchLabels: {app: triton-inference-server}}\n  rules: [{}]\n",
         "istio-system") +                                                                  // root + selector: mesh-wide
      ap("mesh-other", "  selector: {matchLabels: {app: vllm}}\n  rules: [{}]\n", "istio-system") +
      ap("subset", "  selector: {matchLabels: {version: v2}}\n  rules: [{}]\n") +          // labels ⊆ workload
      ap("superset", "  selector: {matchLabels: {version: v2, tier: gold}}\n  rules: [{}]\n") +
      ap("empty-selector", "  selector: {}\n  rules: [{}]\n"));
  EXPECT_EQ(e.policy_names(), (std::vector<std::string>{"llm.ns-wide", "istio-system.mesh", "istio-system.mesh-sel",
                                                        "llm.subset", "llm.empty-selector"}));
}

TEST(Authorization, WorkloadNamespaceDefaultsAndRootNamespaceIsConfigurable) {
  config::WorkloadIdentity w;
  w.root_namespace = "mesh-root";
  const AuthorizationEngine e = engine(ap("here", "  rules: [{}]\n", "edge") +
                                       ap("root", "  rules: [{}]\n", "mesh-root") +
                                       ap("old-root", "  rules: [{}]\n", "istio-system"),
                                       w, "edge");
  EXPECT_EQ(e.policy_names(), (std::vector<std::string>{"edge.here", "mesh-root.root"}));
}

TEST(Authorization, TargetRefsApplyPerGateway) {
  const AuthorizationEngine e = engine(
      ap("edge-only",
         "  targetRefs:\n  - {group: gateway.networking.k8s.io, kind: Gateway, name: edge}\n"
         "  action: DENY\n  rules: [{}]\n",
         "gw") +
      ap("waypoint", "  targetRefs:\n  - {kind: Service, name: llm}\n  action: DENY\n  rules: [{}]\n", "gw"));
  // Namespace and selector do not matter for targetRefs; a Service ref never selects us.
  ASSERT_EQ(e.policy_names(), (std::vector<std::string>{"gw.edge-only"}));
  Req r;
  r.gateway_ns = "gw";
  r.gateway_name = "edge";
  EXPECT_FALSE(allowed(e, r));
  r.gateway_name = "internal";
  EXPECT_TRUE(allowed(e, r));
  r.gateway_ns = "llm";
  r.gateway_name = "edge";  // a Gateway of that name in another namespace
  EXPECT_TRUE(allowed(e, r));
}

TEST(Authorization, TargetedAllowOnAnotherGatewayDoesNotCountAsApplying) {
  const AuthorizationEngine e = engine(
      ap("edge-gets", "  targetRef: {group: gateway.networking.k8s.io, kind: Gateway, name: edge}\n"
                      "  rules:\n  - to:\n    - operation: {methods: [GET]}\n"));
  Req r;  // POST through llm/edge: the ALLOW applies and does not match
  EXPECT_FALSE(allowed(e, r));
  r.gateway_name = "other";  // no ALLOW applies here
  EXPECT_TRUE(allowed(e, r));
}

// ---- from.source -----------------------------------------------------------------------------

TEST(Authorization, PrincipalForms) {
  struct {
    std::string value, principal;
    bool match;
  } cases[] = {
      {"cluster.local/ns/a/sa/b", "cluster.local/ns/a/sa/b", true},
      {"cluster.local/ns/a/sa/b", "cluster.local/ns/a/sa/bb", false},
      {"cluster.local/ns/a/*", "cluster.local/ns/a/sa/x", true},
      {"cluster.local/ns/a/*", "cluster.local/ns/ab/sa/x", false},
      {"*/sa/chat-ui", "td.example/ns/z/sa/chat-ui", true},
      {"*/sa/chat-ui", "td.example/ns/z/sa/chat", false},
      {"*", "cluster.local/ns/a/sa/b", true},
      {"*", "", false},  // "*" is any authenticated principal
      {"cluster.local/ns/a/sa/b", "", false},
  };
  for (const auto& c : cases) {
    const AuthorizationEngine e = allow_rule("from:\n    - source: {principals: [\"" + c.value + "\"]}");
    EXPECT_EQ(allowed(e, from(c.principal)), c.match) << c.value << " vs " << c.principal;
  }
}

TEST(Authorization, NotPrincipalsHoldWithoutAnIdentity) {
  // Envoy's not_id over an absent principal is true: a plaintext request is "not" any
  // principal. An ALLOW on notPrincipals lets it in; a DENY on notPrincipals: ["*"] is how
  // Istio documents "deny requests without mTLS".
  AuthorizationEngine e = allow_rule("from:\n    - source: {notPrincipals: [\"cluster.local/ns/evil/*\"]}");
  EXPECT_TRUE(allowed(e, from("")));
  EXPECT_TRUE(allowed(e, from("cluster.local/ns/good/sa/a")));
  EXPECT_FALSE(allowed(e, from("cluster.local/ns/evil/sa/a")));
  e = engine(ap("require-mtls", "  action: DENY\n  rules:\n  - from:\n    - source: {notPrincipals: [\"*\"]}\n"));
  EXPECT_FALSE(allowed(e, from("")));
  EXPECT_TRUE(allowed(e, from("cluster.local/ns/a/sa/b")));
  e = engine(ap("require-ns", "  action: DENY\n  rules:\n  - from:\n    - source: {notNamespaces: [\"llm-clients\"]}\n"));
  EXPECT_FALSE(allowed(e, from("")));
  EXPECT_FALSE(allowed(e, from("cluster.local/ns/other/sa/b")));
  EXPECT_TRUE(allowed(e, from("cluster.local/ns/llm-clients/sa/b")));
}

TEST(Authorization, NamespaceForms) {
  struct {
    std::string value, principal;
    bool match;
  } cases[] = {
      {"llm-clients", "cluster.local/ns/llm-clients/sa/a", true},
      {"llm-clients", "cluster.local/ns/llm-clients-2/sa/a", false},
      {"llm-*", "cluster.local/ns/llm-batch/sa/a", true},
      {"llm-*", "cluster.local/ns/frontend/sa/llm-x", false},  // the sa part is not the namespace
      {"*-prod", "cluster.local/ns/web-prod/sa/a", true},
      {"*", "cluster.local/ns/x/sa/a", true},
      {"*", "spiffe-less-principal", false},  // no /ns/ part: no namespace
      {"*", "", false},
  };
  for (const auto& c : cases) {
    const AuthorizationEngine e = allow_rule("from:\n    - source: {namespaces: [\"" + c.value + "\"]}");
    EXPECT_EQ(allowed(e, from(c.principal)), c.match) << c.value << " vs " << c.principal;
  }
}

TEST(Authorization, ServiceAccounts) {
  AuthorizationEngine e = allow_rule("from:\n    - source: {serviceAccounts: [\"frontend/chat-ui\", \"batch\"]}");
  EXPECT_TRUE(allowed(e, from("cluster.local/ns/frontend/sa/chat-ui")));
  EXPECT_TRUE(allowed(e, from("cluster.local/ns/llm/sa/batch")));  // "batch" = the policy's namespace
  EXPECT_FALSE(allowed(e, from("cluster.local/ns/other/sa/batch")));
  EXPECT_FALSE(allowed(e, from("cluster.local/ns/frontend/sa/chat-ui-2")));
  EXPECT_FALSE(allowed(e, from("")));
  e = allow_rule("from:\n    - source: {notServiceAccounts: [\"frontend/chat-ui\"]}");
  EXPECT_FALSE(allowed(e, from("cluster.local/ns/frontend/sa/chat-ui")));
  EXPECT_TRUE(allowed(e, from("cluster.local/ns/frontend/sa/other")));
  EXPECT_TRUE(allowed(e, from("")));
}

Req at(std::string ip) {
  Req r;
  r.source_ip = std::move(ip);
  return r;
}

TEST(Authorization, IpBlocksV4AndV6) {
  AuthorizationEngine e = allow_rule("from:\n    - source: {ipBlocks: [\"10.0.0.0/8\", \"192.168.1.7\", \"2001:db8::/32\"]}");
  EXPECT_TRUE(allowed(e, at("10.200.3.4")));
  EXPECT_FALSE(allowed(e, at("11.0.0.1")));
  EXPECT_TRUE(allowed(e, at("192.168.1.7")));
  EXPECT_FALSE(allowed(e, at("192.168.1.8")));
  EXPECT_TRUE(allowed(e, at("2001:db8:ffff::1")));
  EXPECT_FALSE(allowed(e, at("2001:db9::1")));
  EXPECT_TRUE(allowed(e, at("::ffff:10.1.1.1")));  // an IPv4 peer on a dual-stack socket
  EXPECT_FALSE(allowed(e, at("not-an-address")));
  EXPECT_FALSE(allowed(e, at("")));
  // Odd prefix lengths, and the families kept apart: ::/0 is not every IPv4 address.
  e = allow_rule("from:\n    - source: {ipBlocks: [\"172.16.0.0/12\", \"::/0\"]}");
  EXPECT_TRUE(allowed(e, at("172.31.255.255")));
  EXPECT_FALSE(allowed(e, at("172.32.0.0")));
  EXPECT_TRUE(allowed(e, at("fe80::1")));
  EXPECT_FALSE(allowed(e, at("8.8.8.8")));
  e = allow_rule("from:\n    - source: {ipBlocks: [\"0.0.0.0/0\"]}");
  EXPECT_TRUE(allowed(e, at("8.8.8.8")));
  EXPECT_FALSE(allowed(e, at("::1")));
  e = allow_rule("from:\n    - source: {ipBlocks: [\"fe80::/10\"], notIpBlocks: [\"fe80::bad\"]}");
  EXPECT_TRUE(allowed(e, at("fe80::1")));
  EXPECT_TRUE(allowed(e, at("febf::1")));
  EXPECT_FALSE(allowed(e, at("fec0::1")));
  EXPECT_FALSE(allowed(e, at("fe80::bad")));
}

TEST(Authorization, RemoteIpBlocksUseTheOriginalClient) {
  const AuthorizationEngine e =
      allow_rule("from:\n    - source: {remoteIpBlocks: [\"203.0.113.0/24\"], notRemoteIpBlocks: [\"203.0.113.9\"]}");
  Req r = at("203.0.113.5");
  EXPECT_TRUE(allowed(e, r));  // no remote address given: the peer is the client
  r.remote_ip = "198.51.100.1";
  EXPECT_FALSE(allowed(e, r));
  r.source_ip = "10.0.0.1";
  r.remote_ip = "203.0.113.7";
  EXPECT_TRUE(allowed(e, r));
  r.remote_ip = "203.0.113.9";
  EXPECT_FALSE(allowed(e, r));
}

// ---- to.operation ----------------------------------------------------------------------------

Req host(std::string authority) {
  Req r;
  r.authority = std::move(authority);
  return r;
}

TEST(Authorization, HostsCaseInsensitiveWithOrWithoutPort) {
  AuthorizationEngine e = allow_rule("to:\n    - operation: {hosts: [\"LLM.example.com\"]}");
  EXPECT_TRUE(allowed(e, host("llm.example.com")));
  EXPECT_TRUE(allowed(e, host("LLM.EXAMPLE.COM")));
  EXPECT_TRUE(allowed(e, host("llm.example.com:8080")));  // the port stripped matches too
  EXPECT_FALSE(allowed(e, host("llm.example.org")));
  EXPECT_FALSE(allowed(e, host("")));
  e = allow_rule("to:\n    - operation: {hosts: [\"llm.example.com:8443\"]}");
  EXPECT_TRUE(allowed(e, host("llm.example.com:8443")));  // as given
  EXPECT_FALSE(allowed(e, host("llm.example.com:8080")));
  EXPECT_FALSE(allowed(e, host("llm.example.com")));
  e = allow_rule("to:\n    - operation: {hosts: [\"*.example.com\", \"api.*\"]}");
  EXPECT_TRUE(allowed(e, host("a.b.Example.com:80")));
  EXPECT_TRUE(allowed(e, host("api.internal")));
  EXPECT_FALSE(allowed(e, host("example.com")));
  e = allow_rule("to:\n    - operation: {hosts: [\"[::1]\", \"*\"]}");
  EXPECT_TRUE(allowed(e, host("[::1]:8080")));
  EXPECT_TRUE(allowed(e, host("anything")));
  EXPECT_FALSE(allowed(e, host("")));  // "*" needs a value
  // notHosts: the port cannot be used to slip past a DENY.
  e = engine(ap("no-admin", "  action: DENY\n  rules:\n  - to:\n    - operation: {hosts: [\"admin.example.com\"]}\n"));
  EXPECT_FALSE(allowed(e, host("Admin.Example.com:8080")));
  e = allow_rule("to:\n    - operation: {notHosts: [\"admin.example.com\"]}");
  EXPECT_FALSE(allowed(e, host("admin.example.com:443")));
  EXPECT_TRUE(allowed(e, host("llm.example.com")));
}

TEST(Authorization, PortsMethodsPaths) {
  AuthorizationEngine e = allow_rule("to:\n    - operation: {ports: [\"8080\", \"8443\"], notPorts: [\"9090\"]}");
  Req r;
  EXPECT_TRUE(allowed(e, r));
  r.port = 9090;
  EXPECT_FALSE(allowed(e, r));
  r.port = 80;
  EXPECT_FALSE(allowed(e, r));
  e = allow_rule("to:\n    - operation: {notPorts: [\"9090\"]}");
  EXPECT_TRUE(allowed(e, r));

  e = allow_rule("to:\n    - operation: {methods: [GET, \"P*\"], notMethods: [PATCH]}");
  for (const auto& [method, ok] : std::vector<std::pair<std::string, bool>>{
           {"GET", true}, {"POST", true}, {"PUT", true}, {"PATCH", false}, {"get", false}, {"DELETE", false}}) {
    r.method = method;
    EXPECT_EQ(allowed(e, r), ok) << method;  // methods are case-sensitive
  }

  e = allow_rule("to:\n    - operation: {paths: [\"/v1/*\", \"/echo\", \"*.json\"], notPaths: [\"/v1/admin*\"]}");
  for (const auto& [path, ok] : std::vector<std::pair<std::string, bool>>{{"/v1/chat/completions", true},
                                                                          {"/v1/", true},
                                                                          {"/v1", false},
                                                                          {"/echo", true},
                                                                          {"/echo/", false},
                                                                          {"/schema.json", true},
                                                                          {"/v1/admin/keys", false},
                                                                          {"/V1/models", false}}) {
    r.method = "GET";
    r.path = path;
    EXPECT_EQ(allowed(e, r), ok) << path;
  }
}

// ---- when ------------------------------------------------------------------------------------

AuthorizationEngine when(const std::string& condition) { return allow_rule("when:\n    - " + condition); }

TEST(Authorization, WhenRequestHeaders) {
  AuthorizationEngine e = when("{key: \"request.headers[X-Tenant]\", values: [gold, \"silver*\"], notValues: [silver-trial]}");
  Req r;
  EXPECT_FALSE(allowed(e, r));  // absent: values cannot match
  r.headers.add("x-tenant", "gold");
  EXPECT_TRUE(allowed(e, r));
  r.headers.set("x-tenant", "silver-plus");
  EXPECT_TRUE(allowed(e, r));
  r.headers.set("x-tenant", "silver-trial");
  EXPECT_FALSE(allowed(e, r));
  r.headers.set("x-tenant", "bronze");
  r.headers.add("X-Tenant", "gold");  // any value of a repeated header
  EXPECT_TRUE(allowed(e, r));
  r.headers.add("x-tenant", "silver-trial");  // ...but no value may match notValues
  EXPECT_FALSE(allowed(e, r));

  e = when("{key: \"request.headers[x-debug]\", notValues: [\"*\"]}");
  Req plain;
  EXPECT_TRUE(allowed(e, plain));  // absent header: notValues hold
  plain.headers.add("x-debug", "");
  EXPECT_FALSE(allowed(e, plain));  // "*" is presence, an empty value included

  e = when("{key: \"request.headers[x-debug]\", values: [\"*\"]}");
  EXPECT_TRUE(allowed(e, plain));
  Req none;
  none.headers.add("x-other", "1");
  EXPECT_FALSE(allowed(e, none));
  AuthzRequest no_headers = none.view();
  no_headers.headers = nullptr;
  EXPECT_FALSE(e.evaluate(no_headers).allowed);
}

TEST(Authorization, WhenAddresses) {
  AuthorizationEngine e = when("{key: source.ip, values: [\"10.0.0.0/8\", \"2001:db8::1\"], notValues: [\"10.0.0.99\"]}");
  EXPECT_TRUE(allowed(e, at("10.1.1.1")));
  EXPECT_TRUE(allowed(e, at("2001:db8::1")));
  EXPECT_FALSE(allowed(e, at("10.0.0.99")));
  EXPECT_FALSE(allowed(e, at("192.0.2.1")));
  e = when("{key: remote.ip, values: [\"198.51.100.0/24\"]}");
  Req r = at("10.0.0.1");
  EXPECT_FALSE(allowed(e, r));
  r.remote_ip = "198.51.100.20";
  EXPECT_TRUE(allowed(e, r));
  e = when("{key: destination.ip, values: [\"10.9.9.9\"]}");
  r.destination_ip = "10.9.9.9";
  EXPECT_TRUE(allowed(e, r));
  r.destination_ip = "";
  EXPECT_FALSE(allowed(e, r));  // unknown local address: values cannot match
  e = when("{key: destination.ip, notValues: [\"10.9.9.9\"]}");
  EXPECT_TRUE(allowed(e, r));
}

TEST(Authorization, WhenIdentityPortAndSni) {
  AuthorizationEngine e = when("{key: source.namespace, values: [\"llm-*\"], notValues: [llm-test]}");
  EXPECT_TRUE(allowed(e, from("cluster.local/ns/llm-clients/sa/a")));
  EXPECT_FALSE(allowed(e, from("cluster.local/ns/llm-test/sa/a")));
  EXPECT_FALSE(allowed(e, from("")));
  e = when("{key: source.principal, values: [\"*/sa/chat-ui\"]}");
  EXPECT_TRUE(allowed(e, from("cluster.local/ns/frontend/sa/chat-ui")));
  EXPECT_FALSE(allowed(e, from("cluster.local/ns/frontend/sa/chat")));
  e = when("{key: source.principal, notValues: [\"*\"]}");  // only unauthenticated requests
  EXPECT_TRUE(allowed(e, from("")));
  EXPECT_FALSE(allowed(e, from("cluster.local/ns/frontend/sa/chat")));
  e = when("{key: source.serviceAccount, values: [\"frontend/chat-ui\"]}");
  EXPECT_TRUE(allowed(e, from("cluster.local/ns/frontend/sa/chat-ui")));
  EXPECT_FALSE(allowed(e, from("cluster.local/ns/frontend/sa/x")));
  e = when("{key: destination.port, values: [\"8080\"], notValues: [\"8081\"]}");
  Req r;
  EXPECT_TRUE(allowed(e, r));
  r.port = 8081;
  EXPECT_FALSE(allowed(e, r));
  e = when("{key: connection.sni, values: [\"*.example.com\"]}");
  EXPECT_FALSE(allowed(e, r));  // plaintext: no SNI
  r.sni = "llm.example.com";
  EXPECT_TRUE(allowed(e, r));
  r.sni = "llm.example.org";
  EXPECT_FALSE(allowed(e, r));
}

// ---- How rules combine -----------------------------------------------------------------------

TEST(Authorization, RuleCombination) {
  // from: any entry; an entry: every field; a rule: every section; a policy: any rule.
  const AuthorizationEngine e = engine(ap(
      "p",
      "  rules:\n"
      "  - from:\n"
      "    - source: {namespaces: [llm-clients], ipBlocks: [\"10.0.0.0/8\"]}\n"
      "    - source: {principals: [\"cluster.local/ns/frontend/sa/chat-ui\"]}\n"
      "    to:\n"
      "    - operation: {methods: [POST], paths: [\"/v1/*\"]}\n"
      "    when:\n"
      "    - {key: \"request.headers[x-tenant]\", values: [gold]}\n"
      "    - {key: destination.port, values: [\"8080\"]}\n"
      "  - to:\n"
      "    - operation: {methods: [GET], paths: [/healthz]}\n"));
  Req r = from("cluster.local/ns/llm-clients/sa/a");
  r.headers.add("x-tenant", "gold");
  EXPECT_TRUE(allowed(e, r));
  Req outside = r;
  outside.source_ip = "192.0.2.1";  // the first source needs both its fields
  EXPECT_FALSE(allowed(e, outside));
  outside.principal = "cluster.local/ns/frontend/sa/chat-ui";  // the second source has no IP field
  EXPECT_TRUE(allowed(e, outside));
  Req wrong_path = r;
  wrong_path.path = "/admin";
  EXPECT_FALSE(allowed(e, wrong_path));
  Req no_tenant = from("cluster.local/ns/llm-clients/sa/a");
  EXPECT_FALSE(allowed(e, no_tenant));  // every when condition must hold
  Req other_port = r;
  other_port.port = 9000;
  EXPECT_FALSE(allowed(e, other_port));
  Req health = from("");
  health.method = "GET";
  health.path = "/healthz";
  EXPECT_TRUE(allowed(e, health));  // the second rule
}

}  // namespace
}  // namespace infergate::routing
