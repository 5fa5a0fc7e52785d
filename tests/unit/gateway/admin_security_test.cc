// The admin API's pure checks, without sockets: token files and their constant-time match,
// the browser rules (Origin, Sec-Fetch-Site, Host), content types, nesting depth, the change
// rate limit and the audit line (gateway/admin_auth.h, admin_input.h, admin_audit.h).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "gateway/admin/admin_audit.h"
#include "gateway/admin/admin_auth.h"
#include "gateway/admin/admin_input.h"
#include "gateway/admin/admin_server.h"

namespace infergate::gateway {
namespace {

// The gate lets GET and HEAD through as reads (no change checks, no audit): a handler must
// never see one as anything but a body-less GET, or `HEAD /weights` with a body would write.
TEST(AdminDispatch, AReadReachesItsHandlerAsABodylessGet) {
  boost::asio::io_context io;
  AdminServer server(io);
  std::string method, body;
  server.add("/weights", "GET,POST", "", [&](const AdminRequest& r) {
    method = r.method;
    body = r.body;
    return AdminResponse::text("ok");
  });
  AdminRequest req;
  req.path = "/weights";
  req.body = R"({"name":"r","weights":{"evil":100}})";
  for (const char* m : {"HEAD", "GET"}) {
    req.method = m;
    EXPECT_EQ(server.dispatch(req).status, 200);
    EXPECT_EQ(method, "GET") << m;
    EXPECT_EQ(body, "") << m;
  }
  req.method = "POST";
  server.dispatch(req);
  EXPECT_EQ(method, "POST");
  EXPECT_EQ(body, req.body);
}

TEST(AdminTokens, NamedAndBareTokensCommentsAndBlankLines) {
  auto c = parse_token_file("# rotated 2026-12-01\n\nops:0123456789abcdef0123\n  fedcba9876543210fedcba  \n");
  ASSERT_EQ(c.error, "");
  ASSERT_EQ(c.tokens.size(), 2u);
  EXPECT_EQ(c.tokens[0].name, "ops");
  EXPECT_EQ(c.tokens[1].name, "line 4");
  EXPECT_EQ(match_token(c.tokens, "0123456789abcdef0123"), "ops");
  EXPECT_EQ(match_token(c.tokens, "fedcba9876543210fedcba"), "line 4");
  EXPECT_EQ(match_token(c.tokens, "0123456789abcdef012"), std::nullopt);   // a prefix
  EXPECT_EQ(match_token(c.tokens, "0123456789abcdef01234"), std::nullopt); // longer
  EXPECT_EQ(match_token(c.tokens, ""), std::nullopt);
}

TEST(AdminTokens, InvalidFilesAcceptNothingAndNeverQuoteTheToken) {
  auto shorter = parse_token_file("ops:short\n");
  EXPECT_NE(shorter.error.find("line 1"), std::string::npos);
  EXPECT_EQ(shorter.error.find("short"), std::string::npos);
  EXPECT_TRUE(shorter.tokens.empty());
  EXPECT_NE(parse_token_file("a:0123456789abcdef0123\na:0123456789abcdef4567\n").error.find("used twice"),
            std::string::npos);
  EXPECT_NE(parse_token_file("bad name:0123456789abcdef0123\n").error.find("token name"), std::string::npos);
  EXPECT_EQ(parse_token_file("# nothing\n\n").error, "holds no token");
  // One bad line invalidates all: a half-read file must not leave stale tokens working.
  auto mixed = parse_token_file("ok:0123456789abcdef0123\nbad:x y\n");
  EXPECT_FALSE(mixed.error.empty());
  EXPECT_TRUE(mixed.tokens.empty());
}

TEST(AdminTokens, BearerHeader) {
  EXPECT_EQ(bearer_token("Bearer abc"), "abc");
  EXPECT_EQ(bearer_token("bearer   abc  "), "abc");
  EXPECT_EQ(bearer_token("Basic abc"), std::nullopt);
  EXPECT_EQ(bearer_token("Bearer "), std::nullopt);
  EXPECT_EQ(bearer_token(""), std::nullopt);
}

TEST(AdminTokens, FileIsReReadWhenReplacedAndFailsClosed) {
  const auto dir = std::filesystem::temp_directory_path() / "infergate-admin-token-test";
  std::filesystem::create_directories(dir);
  const auto path = dir / "tokens";
  std::ofstream(path) << "old:0123456789abcdef0123\n";
  TokenFile f(path.string());
  std::string error;
  ASSERT_TRUE(f.load(&error)) << error;
  EXPECT_EQ(f.check("0123456789abcdef0123"), "old");
  // Rotation as operators do it: write a new file, rename it over the old one.
  std::ofstream(dir / "tokens.new") << "new:abcdefabcdefabcdef99\n";
  std::filesystem::rename(dir / "tokens.new", path);
  EXPECT_EQ(f.check("0123456789abcdef0123"), std::nullopt);
  EXPECT_EQ(f.check("abcdefabcdefabcdef99"), "new");
  std::ofstream(dir / "tokens.new") << "broken\n";
  std::filesystem::rename(dir / "tokens.new", path);
  EXPECT_EQ(f.check("abcdefabcdefabcdef99"), std::nullopt);
  EXPECT_EQ(f.failed_reloads(), 1u);
  std::filesystem::remove_all(dir);
}

TEST(AdminTokens, Principals) {
  std::vector<std::string> allowed = {"cluster.local/ns/ops/sa/admin"};
  EXPECT_TRUE(principal_allowed(allowed, "cluster.local/ns/ops/sa/admin"));
  EXPECT_FALSE(principal_allowed(allowed, "cluster.local/ns/ops/sa/other"));
  EXPECT_FALSE(principal_allowed(allowed, ""));
}

TEST(AdminBrowser, CrossSiteRequestsAreRefused) {
  EXPECT_EQ(cross_site_refusal({"127.0.0.1:9901", "", "", false}), "");  // curl
  EXPECT_EQ(cross_site_refusal({"127.0.0.1:9901", "http://127.0.0.1:9901", "same-origin", true}), "");
  EXPECT_EQ(cross_site_refusal({"localhost:9901", "", "none", true}), "");  // typed in the address bar
  EXPECT_NE(cross_site_refusal({"127.0.0.1:9901", "", "cross-site", true}), "");
  EXPECT_NE(cross_site_refusal({"127.0.0.1:9901", "", "same-site", true}), "");
  EXPECT_NE(cross_site_refusal({"127.0.0.1:9901", "https://evil.example", "", false}), "");
  EXPECT_NE(cross_site_refusal({"127.0.0.1:9901", "null", "", false}), "");
  EXPECT_NE(cross_site_refusal({"127.0.0.1:9901", "http://127.0.0.1:9902", "", false}), "");
  EXPECT_EQ(cross_site_refusal({"admin.example", "https://admin.example:443", "", false}), "");
}

TEST(AdminBrowser, LoopbackHostsOnly) {
  EXPECT_TRUE(loopback_host("127.0.0.1:9901"));
  EXPECT_TRUE(loopback_host("localhost"));
  EXPECT_TRUE(loopback_host("[::1]:9901"));
  EXPECT_TRUE(loopback_host("127.0.0.2"));
  EXPECT_FALSE(loopback_host("127.evil.example:9901"));
  EXPECT_FALSE(loopback_host("rebind.example:9901"));
  EXPECT_FALSE(loopback_host(""));
}

TEST(AdminBrowser, ContentTypes) {
  EXPECT_EQ(content_type_refusal("", 0, false), "");
  EXPECT_EQ(content_type_refusal("application/json; charset=utf-8", 10, false), "");
  EXPECT_NE(content_type_refusal("application/yaml", 10, false), "");
  EXPECT_EQ(content_type_refusal("application/yaml", 10, true), "");
  EXPECT_EQ(content_type_refusal("application/x-yaml", 10, true), "");
  EXPECT_NE(content_type_refusal("", 10, true), "");  // fetch() with a bare body
  for (const char* form : {"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                           "Text/Plain;charset=UTF-8"}) {
    EXPECT_NE(content_type_refusal(form, 10, true), "") << form;
    EXPECT_NE(content_type_refusal(form, 0, true), "") << form;  // even empty: it is a form post
  }
}

TEST(AdminLimits, JsonNestingDepth) {
  EXPECT_EQ(json_nesting_depth("1", 32), 0u);
  EXPECT_EQ(json_nesting_depth(R"({"a": [1, {"b": "[[[[{{"}]})", 32), 3u);
  EXPECT_EQ(json_nesting_depth(R"({"a": "\"[[["})", 32), 1u);
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_EQ(json_nesting_depth(deep, 32), 33u);  // stops counting past the limit
}

TEST(AdminLimits, YamlNestingDepth) {
  const char* manifest = R"(apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: r   # comment with [ brackets
spec:
  rules:
  - matches:
    - path: {type: PathPrefix, value: "/v1[x"}
    backendRefs:
    - name: llm
      weight: 90
)";
  const size_t d = yaml_nesting_depth(manifest, 32);
  EXPECT_GE(d, 5u);
  EXPECT_LE(d, 8u);
  std::string deep;
  for (int i = 0; i < 50; ++i) deep += std::string(static_cast<size_t>(i) * 2, ' ') + "k" + std::to_string(i) + ":\n";
  EXPECT_GT(yaml_nesting_depth(deep, 32), 32u);
  EXPECT_GT(yaml_nesting_depth("a: " + std::string(1000, '[') + std::string(1000, ']') + "\n", 32), 32u);
  std::string dashes;
  for (int i = 0; i < 40; ++i) dashes += "- ";
  EXPECT_GT(yaml_nesting_depth(dashes + "x\n", 32), 32u);
  // Quotes do not hide brackets (a quote inside a plain scalar opens nothing in YAML), nor does
  // a "#" after a quote, nor an unclosed "[" the block levels after it.
  EXPECT_GT(yaml_nesting_depth("k: [a \"b, " + std::string(100, '[') + std::string(100, ']') + "]\n", 32), 32u);
  EXPECT_GT(yaml_nesting_depth("k: [\"x #\", " + std::string(100, '[') + std::string(100, ']') + "]\n", 32), 32u);
  EXPECT_GT(yaml_nesting_depth("q: \"[\"\n" + deep, 32), 32u);
  // A block scalar's text is not structure.
  EXPECT_LE(yaml_nesting_depth("data: |\n  a:\n      b:\n          c:\n              d:\n", 32), 2u);
  EXPECT_LE(yaml_nesting_depth("- >-\n  a:\n      b:\n          c:\n              d:\n", 32), 2u);
  // ... but "|" at the end of a plain scalar is no indicator: the deeper lines after it count
  // (fuzz_admin_input: yaml-cpp read such lines as structure while the estimate skipped them).
  EXPECT_GT(yaml_nesting_depth(" !!str \"n 8\" g 8|\n  - " + dashes + "x\n", 32), 32u);
  // The estimate must never be below yaml-cpp's depth (fuzz_admin_input checks it): explicit
  // keys nest like dashes ("? ? x" is a map keyed by a map; "? - - x" a map keyed by
  // nested lists), and were not counted, so a body of them passed maxNestingDepth.
  std::string keys, key_of_lists = "? ";
  for (int i = 0; i < 40; ++i) keys += "? ", key_of_lists += "- ";
  EXPECT_GT(yaml_nesting_depth(keys + "x\n", 32), 32u);
  EXPECT_GT(yaml_nesting_depth(key_of_lists + "x\n", 32), 32u);
  EXPECT_GT(yaml_nesting_depth("- " + keys + "x\n", 32), 32u);
  // A value with an empty key (": x") nests one more: after "metadata:", yaml-cpp reads
  // ": a: b" as metadata: {~: {a: b}}, a tree 3 deep that was estimated 1 (fuzz_admin_input).
  EXPECT_EQ(yaml_nesting_depth("kind: Rollout\nmetadata:\n: ttftP90, maxRatio: 2}\n", 32), 2u);
  std::string values;
  for (int i = 0; i < 40; ++i) values += ": ";
  EXPECT_GT(yaml_nesting_depth(values + "x\n", 32), 32u);
}

TEST(AdminLimits, TokenBucket) {
  using namespace std::chrono_literals;
  const auto t0 = TokenBucket::Clock::time_point{} + 1000s;
  TokenBucket b(1.0, 3, t0);
  EXPECT_TRUE(b.try_take(t0));
  EXPECT_TRUE(b.try_take(t0));
  EXPECT_TRUE(b.try_take(t0));
  EXPECT_FALSE(b.try_take(t0));
  EXPECT_EQ(b.retry_after_s(t0), 1);
  EXPECT_FALSE(b.try_take(t0 + 500ms));
  EXPECT_TRUE(b.try_take(t0 + 1000ms));
  EXPECT_FALSE(b.try_take(t0 + 1000ms));
  // Refills to the burst, not beyond.
  const auto later = t0 + 3600s;
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(b.try_take(later));
  EXPECT_FALSE(b.try_take(later));
}

TEST(AdminAuditLine, NamesWhoWhatResultAndVersion) {
  AdminRequest req;
  req.method = "POST";
  req.path = "/weights";
  req.peer = "10.0.0.7:51234";
  req.principal = "cluster.local/ns/ops/sa/admin";
  req.token_name = "ci";
  req.content_type = "application/json";
  req.body = R"({"name": "llm-route", "namespace": "prod", "weights": {"v1": 90, "v2": 10}})";
  AdminResponse resp = AdminResponse::json("{\"version\": 7}\n");
  const auto line = nlohmann::json::parse(audit_line(req, resp, 7, "2026-12-07T00:00:00Z"));
  EXPECT_EQ(line["peer"], "10.0.0.7:51234");
  EXPECT_EQ(line["principal"], "cluster.local/ns/ops/sa/admin");
  EXPECT_EQ(line["token"], "ci");
  EXPECT_EQ(line["endpoint"], "/weights");
  EXPECT_EQ(line["resources"][0]["name"], "llm-route");
  EXPECT_EQ(line["resources"][0]["namespace"], "prod");
  EXPECT_EQ(line["weights"]["v2"], 10);
  EXPECT_EQ(line["status"], 200);
  EXPECT_EQ(line["result"], "success");
  EXPECT_EQ(line["config_version"], 7);

  AdminRequest refused = req;
  refused.token_name.clear();
  refused.refusal = "unauthorized";
  const auto r = nlohmann::json::parse(
      audit_line(refused, AdminResponse::error(401, "authentication required"), 7, "2026-12-07T00:00:00Z"));
  EXPECT_EQ(r["result"], "refused");
  EXPECT_EQ(r["reason"], "unauthorized");
  EXPECT_EQ(r["error"], "authentication required");
  EXPECT_FALSE(r.contains("weights"));  // a refused body is not trusted enough to parse

  // What an unauthenticated client wrote is bounded in its line.
  refused.path = "/" + std::string(100000, 'p');
  refused.query = std::string(100000, 'q');
  const std::string long_line = audit_line(refused, AdminResponse::error(401, "x"), 7, "t");
  EXPECT_LT(long_line.size(), 2000u);
  EXPECT_NE(nlohmann::json::parse(long_line)["endpoint"].get<std::string>().find("(100001 bytes)"), std::string::npos);
}

// A loop of refused requests cannot fill the log: their lines share a budget, and what is
// left out is counted.
TEST(AdminAuditLine, RefusedRequestLinesAreRateLimitedButAllCounted) {
  metrics::Registry registry(1);
  AdminAudit audit(registry, "", [](const std::string&) { return false; });
  AdminRequest refused;
  refused.method = "POST";
  refused.path = "/weights";
  refused.refusal = "unauthorized";
  for (int i = 0; i < 1000; ++i) audit.record(refused, AdminResponse::error(401, "authentication required"), 1);
  const auto stats = registry.envoy_stats_text();
  EXPECT_NE(stats.find("admin.refused.unauthorized: 1000"), std::string::npos) << stats;
  const size_t at = stats.find("admin.audit_lines_suppressed: ");
  ASSERT_NE(at, std::string::npos) << stats;
  const long suppressed = std::stol(stats.substr(at + 30));
  EXPECT_GE(suppressed, 1000 - 100 - 20) << "at most the burst and a second's worth are written";
  EXPECT_LT(suppressed, 1000);
}

}  // namespace
}  // namespace infergate::gateway
