// The admin API's security through the real binary (docs/SECURITY.md, "Admin API"): no
// unauthenticated admin off loopback, bearer tokens that rotate with their file, mTLS
// principals, the read-only stats listener, browser rules, input limits, the change rate
// limit, and the audit lines that name who did what.
#include <filesystem>

#include <nlohmann/json.hpp>

#include "tests/e2e/tls_env.h"

namespace infergate::e2e {
namespace {

const std::string kOldToken = "0123456789abcdef0123456789abcdef";
const std::string kNewToken = "fedcba9876543210fedcba9876543210";

Headers bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

// A gateway whose readiness is asked of its stats listener (admin may need credentials).
struct SecuredGateway {
  uint16_t stats_port = free_port();
  std::unique_ptr<Gateway> gw;
  SecuredGateway(const Modelsim& sim, const std::string& admin_yaml, const std::string& extra_spec = {},
                 const std::string& extra_documents = {}) {
    const std::vector<StaticEndpoint> eps = {{"sim-1", sim.port(), "app: sim"}};
    const uint16_t stats = stats_port;
    gw = std::make_unique<Gateway>(
        [=](uint16_t port, uint16_t admin) {
          std::string yaml = gateway_base_yaml(port, admin, 1, eps,
                                               "  stats: {address: 127.0.0.1, port: " + std::to_string(stats) + "}\n" +
                                                   extra_spec);
          // The admin settings replace the base's `admin:` line.
          const std::string line = "  admin: {address: 127.0.0.1, port: " + std::to_string(admin) + "}\n";
          const size_t at = yaml.find(line);
          EXPECT_NE(at, std::string::npos) << yaml;
          if (at != std::string::npos) yaml.replace(at, line.size(), "  admin:\n    port: " + std::to_string(admin) + "\n" + admin_yaml);
          return yaml + extra_documents;
        },
        std::vector<std::string>{},
        [stats](uint16_t, uint16_t) { return http_request(stats, "GET", "/ready", {}, {}, milliseconds(1000)).status == 200; });
  }
};

// One /stats value read over mTLS as the allowed client; -1 when absent.
double stat_over_tls(const std::string& curl_bin, const TestCerts& certs, uint16_t port, const std::string& name) {
  CommandResult r = curl_tls(curl_bin, certs, port, "/stats?filter=" + name, "client-frontend");
  auto stats = parse_stats(r.out);
  auto it = stats.find(name);
  return it == stats.end() ? -1 : it->second;
}

std::string all_output(Process& p) { return p.out() + p.err(); }

// The audit line (JSON) of the `nth` audited request to `endpoint`; null when none.
nlohmann::json audit_of(Process& p, const std::string& endpoint, int nth = 1) {
  const std::string out = all_output(p);
  size_t at = 0;
  while ((at = out.find("admin audit: ", at)) != std::string::npos) {
    at += 13;
    const size_t end = out.find('\n', at);
    auto j = nlohmann::json::parse(out.substr(at, end - at), nullptr, false);
    if (j.is_object() && j.value("endpoint", "") == endpoint && --nth == 0) return j;
  }
  return nullptr;
}

TEST(AdminSecurity, NonLoopbackAdminWithoutAuthDoesNotStart) {
  TempDir dir;
  const std::string config = dir.write("gateway.yaml", gateway_base_yaml(free_port(), 9901, 1, {}));
  // The config's own admin on 0.0.0.0.
  std::string yaml = gateway_base_yaml(free_port(), free_port(), 1, {});
  const size_t at = yaml.find("address: 127.0.0.1, port:");
  ASSERT_NE(at, std::string::npos) << yaml;
  yaml.replace(at, 18, "address: 0.0.0.0");
  dir.write("exposed.yaml", yaml);
  CommandResult r = run_command({infergate_path(), "--config", dir.file("exposed.yaml")}, scaled(10000));
  EXPECT_FALSE(r.timed_out) << "it started";
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE((r.out + r.err).find("spec.admin.auth.tokenFile"), std::string::npos) << r.out << r.err;

  // The same rule for --admin-address over a loopback config.
  r = run_command({infergate_path(), "--config", config, "--admin-address", "0.0.0.0", "--admin-port",
                   std::to_string(free_port())},
                  scaled(10000));
  EXPECT_FALSE(r.timed_out) << "it started";
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE((r.out + r.err).find("spec.admin.auth.tokenFile"), std::string::npos) << r.out << r.err;
}

TEST(AdminSecurity, AReloadCannotExposeAdminWithoutAuth) {
  Modelsim sim;
  Gateway gw(one_upstream(sim));
  const std::string exposed = "apiVersion: infergate.dev/v1alpha1\nkind: GatewayConfig\nmetadata: {name: e2e}\nspec:\n"
                              "  admin: {address: 0.0.0.0, port: " + std::to_string(gw.admin_port()) + "}\n";
  HttpResponse r = gw.admin("POST", "/config", exposed);
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("spec.admin.auth.tokenFile"), std::string::npos) << r.body;
  EXPECT_EQ(nlohmann::json::parse(gw.admin("GET", "/config_dump").body)["gateway"]["admin"]["address"], "127.0.0.1");
}

TEST(AdminSecurity, BearerTokensAreRequiredAndRotateWithTheirFile) {
  Modelsim sim;
  TempDir secrets;
  secrets.write("tokens", "# ops tokens\nci:" + kOldToken + "\n");
  SecuredGateway s(sim, "    address: 0.0.0.0\n    auth: {tokenFile: " + secrets.file("tokens") + "}\n");
  Gateway& gw = *s.gw;

  HttpResponse r = gw.admin("GET", "/stats");
  EXPECT_EQ(r.status, 401) << "reads need the token too unless requireForReadOnly: false";
  EXPECT_EQ(r.header("www-authenticate"), "Bearer realm=\"infergate-admin\"");
  // The console's page and files open without it (the same bytes for everyone, and a browser
  // cannot send a bearer token when it opens a page); everything the page then reads needs it.
  EXPECT_EQ(gw.admin("GET", "/console").status, 200);
  EXPECT_EQ(gw.admin("GET", "/console/console.js").status, 200);
  EXPECT_EQ(gw.admin("GET", "/versions").status, 401);
  EXPECT_EQ(gw.admin("GET", "/weights").status, 401);
  r = gw.admin("POST", "/healthcheck/fail");
  EXPECT_EQ(r.status, 401);
  r = gw.admin("POST", "/healthcheck/fail", "", bearer("wrong-token-wrong-token"));
  EXPECT_EQ(r.status, 401);
  EXPECT_NE(r.header("www-authenticate").find("invalid_token"), std::string::npos);
  EXPECT_EQ(http_request(s.stats_port, "GET", "/ready").status, 200) << "nothing changed";

  r = gw.admin("POST", "/healthcheck/fail", "", bearer(kOldToken));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(http_request(s.stats_port, "GET", "/ready").status, 503);
  EXPECT_EQ(gw.admin("POST", "/healthcheck/ok", "", bearer(kOldToken)).status, 200);

  // Rotation: a new file renamed over the old one; the next request sees it.
  secrets.write("tokens.new", "deploy:" + kNewToken + "\n");
  std::filesystem::rename(secrets.file("tokens.new"), secrets.file("tokens"));
  EXPECT_EQ(gw.admin("POST", "/healthcheck/ok", "", bearer(kOldToken)).status, 401);
  EXPECT_EQ(gw.admin("POST", "/healthcheck/ok", "", bearer(kNewToken)).status, 200);
  // A broken file accepts nothing (fail closed) and is counted; fixing it restores access.
  secrets.write("tokens.new", "deploy:short\n");
  std::filesystem::rename(secrets.file("tokens.new"), secrets.file("tokens"));
  EXPECT_EQ(gw.admin("POST", "/healthcheck/ok", "", bearer(kNewToken)).status, 401);
  secrets.write("tokens.new", "deploy:" + kNewToken + "\n");
  std::filesystem::rename(secrets.file("tokens.new"), secrets.file("tokens"));
  EXPECT_EQ(gw.admin("POST", "/healthcheck/ok", "", bearer(kNewToken)).status, 200);

  gw.set_admin_headers(bearer(kNewToken));
  EXPECT_GE(gw.stat("admin.refused.unauthorized"), 5);
  EXPECT_EQ(gw.stat("admin.token_file_reload_failed"), 1);
  const std::string dump = gw.admin("GET", "/config_dump").body;
  EXPECT_NE(dump.find(secrets.file("tokens")), std::string::npos) << "config_dump shows where tokens come from";
  EXPECT_EQ(dump.find(kNewToken), std::string::npos) << "and never a token";
  EXPECT_EQ(gw.stat("admin.requests.healthcheck_fail.success"), 1);
  EXPECT_GE(gw.stat("admin.requests.healthcheck_fail.refused"), 2);

  // The audit lines name the token, never its value.
  auto first = audit_of(gw.process(), "/healthcheck/fail", 1);
  ASSERT_TRUE(first.is_object()) << all_output(gw.process());
  EXPECT_EQ(first["result"], "refused");
  EXPECT_EQ(first["reason"], "unauthorized");
  auto ok = audit_of(gw.process(), "/healthcheck/fail", 3);
  ASSERT_TRUE(ok.is_object()) << all_output(gw.process());
  EXPECT_EQ(ok["token"], "ci");
  EXPECT_EQ(ok["status"], 200);
  EXPECT_TRUE(ok.contains("config_version"));
  EXPECT_EQ(all_output(gw.process()).find(kOldToken), std::string::npos) << "a token was logged";
}

// The gate lets reads through unauthenticated here (requireForReadOnly: false) and never
// audits them: a HEAD or GET carrying a change must not reach the handler as one.
TEST(AdminSecurity, AReadCarryingABodyChangesNothing) {
  Modelsim sim;
  TempDir secrets;
  secrets.write("tokens", "ci:" + kOldToken + "\n");
  const std::string routes = R"(---
apiVersion: v1
kind: Service
metadata: {name: stable}
spec: {selector: {app: sim}, ports: [{port: 80, targetPort: 8000}]}
---
apiVersion: v1
kind: Service
metadata: {name: canary}
spec: {selector: {app: sim}, ports: [{port: 80, targetPort: 8000}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r}
spec:
  parentRefs: [{name: gw}]
  rules:
  - backendRefs: [{name: stable, port: 80, weight: 100}, {name: canary, port: 80, weight: 0}]
)";
  SecuredGateway s(sim,
                   "    address: 0.0.0.0\n    auth: {tokenFile: " + secrets.file("tokens") + ", requireForReadOnly: false}\n",
                   {}, routes);
  Gateway& gw = *s.gw;
  const std::string change = R"({"name":"r","weights":{"stable":0,"canary":100}})";
  auto weights = [&] { return gw.admin("GET", "/weights").body; };
  const std::string before = weights();
  ASSERT_NE(before.find("\"canary\""), std::string::npos) << before;
  for (const char* method : {"HEAD", "GET"}) {
    HttpResponse r = gw.admin(method, "/weights", change);
    EXPECT_EQ(r.status, 200) << method << " " << r.body;
    EXPECT_EQ(weights(), before) << method << " with a body changed the weights";
  }
  // The same body as a POST needs the token. Followed by a NUL and more, it is refused:
  // nlohmann would stop at the NUL and apply the change with its tail unread.
  EXPECT_EQ(gw.admin("POST", "/weights", change).status, 401);
  EXPECT_EQ(weights(), before);
  HttpResponse r = gw.admin("POST", "/weights", change + '\0' + R"({"name":"r","weights":{"stable":100}})",
                            bearer(kOldToken));
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("NUL byte at offset " + std::to_string(change.size())), std::string::npos) << r.body;
  EXPECT_EQ(weights(), before);
  EXPECT_EQ(gw.stat("admin.refused.nul_byte"), 1);
  // Without the tail it is a change.
  EXPECT_EQ(gw.admin("POST", "/weights", change, bearer(kOldToken)).status, 200);
  EXPECT_NE(weights(), before);
}

TEST(AdminSecurity, RolloutCliSendsTheToken) {
  Modelsim sim;
  TempDir secrets;
  secrets.write("tokens", "ci:" + kOldToken + "\n");
  SecuredGateway s(sim, "    auth: {tokenFile: " + secrets.file("tokens") + "}\n");
  const std::string admin = "127.0.0.1:" + std::to_string(s.gw->admin_port());
  CommandResult without = run_command({infergate_path(), "rollout", "status", "--admin", admin});
  EXPECT_EQ(without.exit_code, 1);
  EXPECT_NE(without.err.find("HTTP 401"), std::string::npos) << without.err;
  CommandResult with =
      run_command({infergate_path(), "rollout", "status", "--admin", admin, "--admin-token-file", secrets.file("tokens")});
  EXPECT_EQ(with.exit_code, 0) << with.err;
  EXPECT_NE(with.out.find("no rollouts"), std::string::npos) << with.out;
  ProcessOptions env;
  env.env.push_back("INFERGATE_ADMIN_TOKEN=" + kOldToken);
  CommandResult from_env = run_command({infergate_path(), "rollout", "status", "--admin", admin}, scaled(20000), env);
  EXPECT_EQ(from_env.exit_code, 0) << from_env.err;
  // A token file whose line names no token is a clear error, not a crash.
  secrets.write("empty-token", "ci:\n");
  CommandResult bad = run_command(
      {infergate_path(), "rollout", "status", "--admin", admin, "--admin-token-file", secrets.file("empty-token")});
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
  EXPECT_NE(bad.err.find("no token after its ':'"), std::string::npos) << bad.err;
}

TEST(AdminSecurity, MtlsAllowsListedPrincipalsOnly) {
  E2E_REQUIRE_TOOL(curl_bin, "curl");
  TestCerts certs;
  ASSERT_TRUE(certs.ok()) << certs.error();
  Modelsim sim;
  SecuredGateway s(sim, "    address: 0.0.0.0\n    auth: {allowedPrincipals: [cluster.local/ns/frontend/sa/chat-ui]}\n"
                        "    tls: {certFile: " + certs.path("server.crt") + ", keyFile: " + certs.path("server.key") +
                        ", caFile: " + certs.path("ca.crt") + "}\n");
  Gateway& gw = *s.gw;
  auto post = [&](const std::string& path, const std::string& client) {
    return curl_tls(curl_bin, certs, gw.admin_port(), path, client,
                    {"-X", "POST", "-o", "/dev/null", "-w", "%{http_code}"});
  };
  CommandResult allowed = post("/healthcheck/fail", "client-frontend");
  EXPECT_EQ(allowed.out, "200") << allowed.err;
  EXPECT_EQ(http_request(s.stats_port, "GET", "/ready").status, 503);
  CommandResult other = post("/healthcheck/ok", "client-llm");
  EXPECT_EQ(other.out, "403") << other.err;
  EXPECT_EQ(http_request(s.stats_port, "GET", "/ready").status, 503) << "the refused call changed nothing";
  CommandResult none = post("/healthcheck/ok", "");
  EXPECT_NE(none.exit_code, 0) << "no client certificate: refused at the handshake";
  EXPECT_NE(none.out, "200");
  // Plain HTTP to a TLS admin gets no answer either.
  EXPECT_EQ(gw.admin("POST", "/healthcheck/ok").status, 0);
  EXPECT_EQ(post("/healthcheck/ok", "client-frontend").out, "200");
  EXPECT_GE(stat_over_tls(curl_bin, certs, gw.admin_port(), "admin.refused.tls_handshake"), 2)
      << "no certificate, and plain HTTP";
  EXPECT_EQ(stat_over_tls(curl_bin, certs, gw.admin_port(), "admin.refused.forbidden"), 1);

  auto line = audit_of(gw.process(), "/healthcheck/fail");
  ASSERT_TRUE(line.is_object()) << all_output(gw.process());
  EXPECT_EQ(line["principal"], "cluster.local/ns/frontend/sa/chat-ui");
  auto denied = audit_of(gw.process(), "/healthcheck/ok");
  ASSERT_TRUE(denied.is_object());
  EXPECT_EQ(denied["principal"], "cluster.local/ns/llm-clients/sa/batch");
  EXPECT_EQ(denied["status"], 403);
}

TEST(AdminSecurity, StatsListenerServesScrapesAndProbesAndChangesNothing) {
  Modelsim sim;
  SecuredGateway s(sim, "");
  Gateway& gw = *s.gw;
  const auto version_of = [&] { return nlohmann::json::parse(gw.admin("GET", "/config_dump").body)["version"]; };
  const auto version = version_of();
  const std::string weights = gw.admin("GET", "/weights").body;

  HttpResponse prom = http_request(s.stats_port, "GET", "/stats/prometheus");
  EXPECT_EQ(prom.status, 200);
  EXPECT_EQ(prom.header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(prom.body.find("infergate_config_version"), std::string::npos);
  EXPECT_EQ(http_request(s.stats_port, "GET", "/metrics").status, 200);
  EXPECT_EQ(http_request(s.stats_port, "GET", "/ready").body, "LIVE\n");
  EXPECT_EQ(http_request(s.stats_port, "GET", "/server_info").status, 200);
  EXPECT_EQ(http_request(s.stats_port, "GET", "/config_dump").status, 404);
  EXPECT_EQ(http_request(s.stats_port, "GET", "/csrf_token").status, 404);

  const std::string manifest =
      "apiVersion: v1\nkind: Service\nmetadata: {name: evil}\nspec:\n  ports: [{port: 80}]\n";
  const std::pair<const char*, const char*> changes[] = {
      {"POST", "/config"},         {"DELETE", "/config?kind=HTTPRoute&name=r"}, {"POST", "/config/revert?all=true"},
      {"POST", "/weights"},        {"POST", "/quitquitquit"},                  {"POST", "/healthcheck/fail"},
      {"POST", "/drain_listeners"}, {"POST", "/reset_counters"},               {"POST", "/logging?level=off"},
      {"POST", "/rollouts/abort"}, {"PUT", "/ready"},                          {"POST", "/stats/prometheus"},
      {"POST", "/ready"}};
  for (const auto& [method, path] : changes) {
    HttpResponse r = http_request(s.stats_port, method, path, {{"Content-Type", "application/yaml"}}, manifest);
    EXPECT_TRUE(r.status == 404 || r.status == 405) << method << " " << path << ": " << r.status;
  }
  EXPECT_EQ(version_of(), version);
  EXPECT_EQ(gw.admin("GET", "/weights").body, weights);
  EXPECT_EQ(gw.admin("GET", "/ready").status, 200);
  EXPECT_TRUE(gw.process().running());
}

TEST(AdminSecurity, BrowserRulesContentTypesAndInputLimits) {
  Modelsim sim;
  SecuredGateway s(sim, "    limits: {maxBodyBytes: 4096, maxNestingDepth: 8}\n");
  Gateway& gw = *s.gw;
  const std::string self = "http://127.0.0.1:" + std::to_string(gw.admin_port());

  HttpResponse r = gw.admin("POST", "/healthcheck/fail", "", {{"Origin", "https://evil.example"}});
  EXPECT_EQ(r.status, 403);
  EXPECT_NE(r.body.find("cross-site"), std::string::npos) << r.body;
  EXPECT_EQ(gw.admin("POST", "/healthcheck/fail", "", {{"Sec-Fetch-Site", "cross-site"}}).status, 403);
  EXPECT_EQ(gw.admin("POST", "/healthcheck/fail", "", {{"Origin", "null"}}).status, 403);
  // Same origin, but a browser must show the CSRF token.
  EXPECT_EQ(gw.admin("POST", "/healthcheck/fail", "", {{"Origin", self}, {"Sec-Fetch-Site", "same-origin"}}).status, 403);
  EXPECT_EQ(gw.admin("GET", "/ready").status, 200) << "nothing changed";
  const std::string csrf = nlohmann::json::parse(gw.admin("GET", "/csrf_token").body)["csrf_token"];
  EXPECT_EQ(gw.admin("POST", "/healthcheck/fail", "",
                     {{"Origin", self}, {"Sec-Fetch-Site", "same-origin"}, {"X-CSRF-Token", csrf}})
                .status,
            200);
  EXPECT_EQ(gw.admin("POST", "/healthcheck/ok").status, 200);
  // DNS rebinding: a page at another name resolving to 127.0.0.1.
  EXPECT_EQ(gw.admin("GET", "/config_dump", "", {{"Host", "rebind.example:" + std::to_string(gw.admin_port())}}).status,
            403);

  // Bodies a form can send.
  const std::string weights = R"({"name": "r", "weights": {"sim": 1}})";
  for (const char* type : {"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"})
    EXPECT_EQ(gw.admin("POST", "/weights", weights, {{"Content-Type", type}}).status, 415) << type;
  EXPECT_EQ(gw.admin("POST", "/weights", weights, {{"Content-Type", "application/yaml"}}).status, 415);

  // Too large (declared and chunked) and too deep.
  r = gw.admin("POST", "/weights", "{\"name\": \"" + std::string(5000, 'x') + "\"}");
  EXPECT_EQ(r.status, 413) << r.body;
  {
    RawSocket raw(gw.admin_port());
    raw.send("POST /weights HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
             "Transfer-Encoding: chunked\r\n\r\n1388\r\n" + std::string(5000, ' ') + "\r\n0\r\n\r\n");
    raw.read_until_closed(scaled(5000));
    auto chunked = parse_http_response(raw.received(), true);
    ASSERT_TRUE(chunked.has_value()) << raw.received();
    EXPECT_EQ(chunked->status, 413) << chunked->body;
  }
  r = gw.admin("POST", "/weights", std::string(20, '[') + std::string(20, ']'));
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("nested deeper than 8"), std::string::npos) << r.body;
  std::string deep = "apiVersion: v1\nkind: Service\nmetadata:\n  name: deep\n";
  for (int i = 0; i < 12; ++i) deep += std::string(static_cast<size_t>(i + 1) * 2, ' ') + "k" + std::to_string(i) + ":\n";
  r = gw.admin("POST", "/config", deep);
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("nested deeper"), std::string::npos) << r.body;

  r = gw.admin("POST", "/config", std::string("apiVersion: v1") + '\0' + "kind: Service\n");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("NUL byte at offset 14"), std::string::npos) << r.body;

  EXPECT_EQ(gw.stat("admin.refused.nul_byte"), 1);
  EXPECT_EQ(gw.stat("admin.refused.cross_site"), 3);
  EXPECT_EQ(gw.stat("admin.refused.csrf"), 1);
  EXPECT_EQ(gw.stat("admin.refused.host"), 1);
  EXPECT_EQ(gw.stat("admin.refused.content_type"), 4);
  EXPECT_EQ(gw.stat("admin.refused.body_too_large"), 2);
  EXPECT_EQ(gw.stat("admin.refused.too_deep"), 2);
  EXPECT_EQ(gw.admin("GET", "/ready").status, 200);
  EXPECT_TRUE(gw.process().running());
}

TEST(AdminSecurity, ChangesAreRateLimited) {
  Modelsim sim;
  SecuredGateway s(sim, "    limits: {requestsPerSecond: 0.001, burst: 3}\n");
  Gateway& gw = *s.gw;
  for (int i = 0; i < 3; ++i) EXPECT_EQ(gw.admin("POST", "/healthcheck/ok").status, 200) << i;
  HttpResponse r = gw.admin("POST", "/healthcheck/fail");
  EXPECT_EQ(r.status, 429) << r.body;
  EXPECT_FALSE(r.header("retry-after").empty());
  EXPECT_EQ(gw.admin("GET", "/ready").status, 200) << "the refused change did not happen; reads are not limited";
  EXPECT_EQ(gw.stat("admin.refused.rate_limited"), 1);
  EXPECT_EQ(gw.stat("admin.requests.healthcheck_ok.success"), 3);
}

}  // namespace
}  // namespace infergate::e2e
