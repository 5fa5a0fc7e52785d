// Path normalization through the real binary (GatewayConfig spec.pathNormalization): an
// AuthorizationPolicy denies /admin and /admin/*, and the paths a model server would take for
// /admin are sent over HTTP/1.1 (raw socket, the target byte for byte) and HTTP/2 (curl with
// --path-as-is: :path through HPACK). Each setting refuses what it normalizes to /admin with
// 403, refuses malformed paths with 400 and a counter, and forwards the rest normalized;
// modelsim's request log proves which targets reached the upstream, and that nothing else did.
#include "tests/e2e/e2e_test.h"

#include <array>

namespace infergate::e2e {
namespace {

constexpr const char* kDenied = "403";
constexpr const char* kMalformed = "400";

// One path and, per setting (NONE, BASE, MERGE_SLASHES, DECODE_AND_MERGE_SLASHES), what
// becomes of it: kDenied, kMalformed, or the target the upstream receives.
struct Probe {
  const char* path;
  std::array<const char*, 4> outcome;
};

const Probe kProbes[] = {
    // The seven paths of the report, then the four that were always refused.
    {"/./admin", {"/./admin", kDenied, kDenied, kDenied}},
    {"/x/../admin", {"/x/../admin", kDenied, kDenied, kDenied}},
    {"/%61dmin", {"/%61dmin", kDenied, kDenied, kDenied}},
    {"/%2e/admin", {"/%2e/admin", kDenied, kDenied, kDenied}},
    {"//admin", {"//admin", "//admin", kDenied, kDenied}},
    {"/admin%2Fx", {"/admin%2Fx", "/admin%2Fx", "/admin%2Fx", kDenied}},
    {"/admin;x", {"/admin;x", "/admin;x", "/admin;x", "/admin;x"}},  // no setting: see docs/SECURITY.md
    {"/admin", {kDenied, kDenied, kDenied, kDenied}},
    {"/admin/x", {kDenied, kDenied, kDenied, kDenied}},
    {"/admin/", {kDenied, kDenied, kDenied, kDenied}},
    {"/admin?x=1", {kDenied, kDenied, kDenied, kDenied}},
    // Allowed paths arrive normalized, the query byte for byte.
    {"/v1/./models?a=/../%2e", {"/v1/./models?a=/../%2e", "/v1/models?a=/../%2e", "/v1/models?a=/../%2e",
                                "/v1/models?a=/../%2e"}},
    {"/v1//%6Dodels", {"/v1//%6Dodels", "/v1//models", "/v1/models", "/v1/models"}},
    // Malformed: a broken escape, NUL, climbing above the root (also once decoded).
    {"/a%zz", {"/a%zz", kMalformed, kMalformed, kMalformed}},
    {"/%00admin", {"/%00admin", kMalformed, kMalformed, kMalformed}},
    {"/../admin", {"/../admin", kMalformed, kMalformed, kMalformed}},
    {"/v1/%2e%2e/%2E%2E/admin", {"/v1/%2e%2e/%2E%2E/admin", kMalformed, kMalformed, kMalformed}},
};

const char* const kSettings[] = {"NONE", "BASE", "MERGE_SLASHES", "DECODE_AND_MERGE_SLASHES"};

std::string deny_admin_config(uint16_t port, uint16_t admin, uint16_t sim, const std::string& spec_extra) {
  return gateway_base_yaml(port, admin, 1, {{"sim", sim, "app: sim"}},
                           "  accessLog: {path: /dev/stdout, format: envoy}\n" + spec_extra) +
         "---\napiVersion: v1\nkind: Service\nmetadata: {name: sim}\nspec:\n  selector: {app: sim}\n"
         "  ports: [{port: 8000}]\n---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: "
         "{name: r}\nspec:\n  parentRefs: [{name: gw}]\n  rules:\n  - backendRefs: [{name: sim, port: 8000}]\n"
         "---\napiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: no-admin, namespace: "
         "default}\nspec:\n  action: DENY\n  rules:\n  - to:\n    - operation: {paths: [\"/admin\", \"/admin/*\"]}\n";
}

// What reached modelsim: "METHOD TARGET" lines of its request log.
std::vector<std::string> upstream_requests(const std::string& log_path) {
  std::vector<std::string> lines;
  std::istringstream in(read_file(log_path));
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Status code and whether modelsim answered (its x-modelsim-instance header).
struct Answer {
  std::string status;
  bool from_upstream = false;
};

Answer over_h1(uint16_t port, const std::string& path) {
  HttpResponse r = http_request(port, "GET", path);
  return {std::to_string(r.status), r.has_header("x-modelsim-instance")};
}

Answer over_h2(const std::string& curl_bin, const Gateway& gw, const std::string& path) {
  CommandResult r = curl(curl_bin, {"--http2-prior-knowledge", "--path-as-is", "-o", "/dev/null", "-w",
                                    "%{http_code} %{http_version} %header{x-modelsim-instance}",
                                    "http://127.0.0.1:" + std::to_string(gw.port()) + path});
  EXPECT_EQ(r.exit_code, 0) << path << ": " << r.err;
  std::istringstream in(r.out);
  Answer a;
  std::string version, instance;
  in >> a.status >> version >> instance;
  EXPECT_EQ(version, "2") << path;
  a.from_upstream = !instance.empty();
  return a;
}

class PathNormalizationE2E : public ::testing::TestWithParam<size_t> {};

TEST_P(PathNormalizationE2E, DeniedPathsNeverReachTheModelServerOverEitherProtocol) {
  E2E_REQUIRE_TOOL(curl_bin, "curl");
  const size_t setting = GetParam();
  TempDir dir;
  const std::string log_path = dir.file("requests.log");
  Modelsim sim({"--request-log", log_path});
  // BASE is the default: its gateway is given no pathNormalization at all.
  const std::string spec =
      setting == 1 ? "" : std::string("  pathNormalization: {normalization: ") + kSettings[setting] + "}\n";
  Gateway gw([&](uint16_t port, uint16_t admin) { return deny_admin_config(port, admin, sim.port(), spec); });

  std::vector<std::string> expected_upstream;
  int malformed = 0;
  for (int protocol = 1; protocol <= 2; ++protocol) {
    for (const Probe& p : kProbes) {
      const std::string want = p.outcome[setting];
      const Answer a = protocol == 1 ? over_h1(gw.port(), p.path) : over_h2(curl_bin, gw, p.path);
      const std::string where = std::string(kSettings[setting]) + " HTTP/" + std::to_string(protocol) + " " + p.path;
      if (want == kDenied || want == kMalformed) {
        EXPECT_EQ(a.status, want) << where;
        EXPECT_FALSE(a.from_upstream) << where;
        malformed += want == kMalformed;
      } else {
        EXPECT_TRUE(a.from_upstream) << where << " answered " << a.status;
        expected_upstream.push_back("GET " + want);
      }
    }
  }
  // Exactly the forwarded targets, in order, as normalized: nothing denied, nothing raw.
  EXPECT_EQ(upstream_requests(log_path), expected_upstream);
  EXPECT_EQ(gw.stat("http.ingress_http.downstream_rq_failed_path_normalization"), malformed);
  EXPECT_EQ(gw.stat("http.ingress_http.downstream_rq_redirected_with_normalized_path"), 0);
  const std::string prom = gw.admin("GET", "/stats/prometheus").body;
  EXPECT_NE(prom.find("envoy_http_downstream_rq_failed_path_normalization{envoy_http_conn_manager_prefix="
                      "\"ingress_http\"} " + std::to_string(malformed) + "\n"),
            std::string::npos)
      << prom.substr(0, 2000);
  // The access log shows the path as normalized (what was routed and authorized).
  if (setting != 0) {
    EXPECT_TRUE(gw.wait_log("\"GET /v1/models?a=/../%2e HTTP/1.1\"", scaled(3000)));
  }
}

INSTANTIATE_TEST_SUITE_P(Settings, PathNormalizationE2E, ::testing::Range<size_t>(0, 4),
                         [](const ::testing::TestParamInfo<size_t>& i) {
                           std::string n = kSettings[i.param];
                           std::erase(n, '_');
                           return n;
                         });

TEST(PathNormalization, EscapedSlashesAreRefusedOrRedirectedAsConfigured) {
  TempDir dir;
  const std::string log_path = dir.file("requests.log");
  Modelsim sim({"--request-log", log_path});
  {
    Gateway gw([&](uint16_t port, uint16_t admin) {
      return deny_admin_config(port, admin, sim.port(),
                               "  pathNormalization: {normalization: MERGE_SLASHES, pathWithEscapedSlashes: "
                               "REJECT_REQUEST}\n");
    });
    EXPECT_EQ(http_request(gw.port(), "GET", "/admin%2Fx").status, 400);
    EXPECT_EQ(http_request(gw.port(), "GET", "/v1%5cmodels").status, 400);
    EXPECT_EQ(http_request(gw.port(), "GET", "/v1/models?q=%2F").status, 200);  // the query is not the path
    EXPECT_EQ(gw.stat("http.ingress_http.downstream_rq_failed_path_normalization"), 2);
  }
  Gateway gw([&](uint16_t port, uint16_t admin) {
    return deny_admin_config(port, admin, sim.port(),
                             "  pathNormalization: {normalization: BASE, pathWithEscapedSlashes: "
                             "UNESCAPE_AND_REDIRECT}\n");
  });
  HttpResponse r = http_request(gw.port(), "GET", "/v1%2Fmodels?x=%2F");
  EXPECT_EQ(r.status, 307);
  EXPECT_EQ(r.header("location"), "/v1/models?x=%2F");
  r = http_request(gw.port(), "GET", "/admin%2fx");
  EXPECT_EQ(r.status, 307);
  EXPECT_EQ(r.header("location"), "/admin/x");
  EXPECT_EQ(http_request(gw.port(), "GET", r.header("location")).status, 403);  // where the client goes next
  // "/%2Fevil.example" unescapes to "//evil.example": as a Location that is another site, so
  // the redirect names this request's own scheme and authority.
  r = http_request(gw.port(), "GET", "/%2Fevil.example/x", {{"Host", "gw.example"}});
  EXPECT_EQ(r.status, 307);
  EXPECT_EQ(r.header("location"), "http://gw.example//evil.example/x");
  EXPECT_EQ(gw.stat("http.ingress_http.downstream_rq_redirected_with_normalized_path"), 3);
  // Only the one allowed request of the first gateway reached the model server.
  EXPECT_EQ(upstream_requests(log_path), std::vector<std::string>{"GET /v1/models?q=%2F"});
}

TEST(PathNormalization, AsteriskFormAndAbsoluteFormStaySane) {
  TempDir dir;
  const std::string log_path = dir.file("requests.log");
  Modelsim sim({"--request-log", log_path});
  Gateway gw([&](uint16_t port, uint16_t admin) { return deny_admin_config(port, admin, sim.port(), ""); });
  // An absolute-form target becomes origin-form first, then is normalized like any other.
  HttpResponse r = http_request(gw.port(), "GET", "http://127.0.0.1/x/../admin");
  EXPECT_EQ(r.status, 403);
  r = http_request(gw.port(), "GET", "http://127.0.0.1/v1/./models");
  EXPECT_EQ(r.status, 200);
  // OPTIONS * is not a path: it is neither refused nor rewritten.
  r = http_request(gw.port(), "OPTIONS", "*");
  EXPECT_NE(r.status, 400);
  EXPECT_NE(r.status, 0);
  EXPECT_EQ(gw.stat("http.ingress_http.downstream_rq_failed_path_normalization"), 0);
  const std::vector<std::string> seen = upstream_requests(log_path);
  ASSERT_GE(seen.size(), 1u);
  EXPECT_EQ(seen[0], "GET /v1/models");
}

}  // namespace
}  // namespace infergate::e2e
