// GatewayConfig spec.localRateLimits and spec.connectionLimits: defaults, every field, and
// each problem reported with file, line, document and field path.
#include <gtest/gtest.h>

#include <string>

#include "config/loader.h"
#include "test_util.h"

namespace infergate::config {
namespace {

using testing::has_diagnostic;
using testing::line_of;
using testing::render;

const std::string& kHead = testing::kGatewayConfigHead;

LoadResult load(const std::string& spec) { return testing::load_gateway_spec(spec); }

TEST(RateLimitConfig, AbsentMeansNoLimits) {
  LoadResult r = load("  workers: 1\n");
  ASSERT_TRUE(r.ok()) << render(r.errors);
  EXPECT_TRUE(r.config->gateway.local_rate_limits.empty());
  EXPECT_EQ(r.config->gateway.connection_limits.per_listener, 0u);
  EXPECT_EQ(r.config->gateway.connection_limits.per_source_ip, 0u);
}

TEST(RateLimitConfig, EveryFieldAndTheDefaults) {
  const std::string spec = R"(  localRateLimits:
  - name: per-api-key
    match:
      routes: [default/llm-route, team/vs/http0]
      hosts: [API.example.com, "*.example.org"]
      pathPrefix: /v1/
      methods: [POST, GET]
    key: header
    header: X-Api-Key
    missingKey: deny
    tokenBucket: {maxTokens: 10, tokensPerFill: 5, fillInterval: 1s}
    maxKeys: 500
    responseHeaders: false
    enforce: false
  - name: global
    tokenBucket: {maxTokens: 100, fillInterval: 50ms}
  - name: by-ip
    key: sourceIp
    tokenBucket: {maxTokens: 3, fillInterval: 1m}
  connectionLimits: {perListener: 1000, perSourceIp: 100}
)";
  LoadResult r = load(spec);
  ASSERT_TRUE(r.ok()) << render(r.errors);
  const auto& rls = r.config->gateway.local_rate_limits;
  ASSERT_EQ(rls.size(), 3u);
  const LocalRateLimit& a = rls[0];
  EXPECT_EQ(a.name, "per-api-key");
  EXPECT_EQ(a.source.file, "gc.yaml");
  EXPECT_EQ(a.source.line, line_of(kHead + spec, "- name: per-api-key"));
  EXPECT_EQ(a.match.routes, (std::vector<std::string>{"default/llm-route", "team/vs/http0"}));
  EXPECT_EQ(a.match.hosts, (std::vector<std::string>{"api.example.com", "*.example.org"}));
  EXPECT_EQ(a.match.path_prefix, "/v1/");
  EXPECT_EQ(a.match.methods, (std::vector<std::string>{"POST", "GET"}));
  EXPECT_EQ(a.key, RateLimitKey::Header);
  EXPECT_EQ(a.header, "x-api-key");
  EXPECT_EQ(a.missing_key, MissingKey::Deny);
  EXPECT_EQ(a.token_bucket.max_tokens, 10u);
  EXPECT_EQ(a.token_bucket.tokens_per_fill, 5u);
  EXPECT_EQ(a.token_bucket.fill_interval, std::chrono::seconds(1));
  EXPECT_EQ(a.max_keys, 500u);
  EXPECT_FALSE(a.response_headers);
  EXPECT_FALSE(a.enforce);

  const LocalRateLimit& g = rls[1];
  EXPECT_EQ(g.key, RateLimitKey::None);
  EXPECT_TRUE(g.match == RateLimitMatch{});
  EXPECT_EQ(g.token_bucket.tokens_per_fill, 1u);  // Envoy's default
  EXPECT_EQ(g.token_bucket.fill_interval, std::chrono::milliseconds(50));
  EXPECT_TRUE(g.response_headers);
  EXPECT_TRUE(g.enforce);

  const LocalRateLimit& ip = rls[2];
  EXPECT_EQ(ip.key, RateLimitKey::SourceIp);
  EXPECT_EQ(ip.missing_key, MissingKey::Skip);
  EXPECT_EQ(ip.max_keys, 10000u);
  EXPECT_EQ(ip.token_bucket.fill_interval, std::chrono::minutes(1));

  EXPECT_EQ(r.config->gateway.connection_limits.per_listener, 1000u);
  EXPECT_EQ(r.config->gateway.connection_limits.per_source_ip, 100u);
}

TEST(RateLimitConfig, ExactDiagnosticWithLine) {
  const std::string spec = R"(  localRateLimits:
  - name: fast
    tokenBucket:
      maxTokens: 10
      fillInterval: 10ms
)";
  LoadResult r = load(spec);
  ASSERT_FALSE(r.ok());
  const int line = line_of(kHead + spec, "fillInterval: 10ms");
  EXPECT_TRUE(has_diagnostic(r.errors, "gc.yaml:" + std::to_string(line) +
                                           ": document 1 (GatewayConfig/gc): "
                                           "spec.localRateLimits[0].tokenBucket.fillInterval: must be at least 50ms"))
      << render(r.errors);
}

TEST(RateLimitConfig, ProblemsNameTheirFieldPath) {
  const std::string tb = "tokenBucket: {maxTokens: 1, fillInterval: 1s}";
  struct Case {
    std::string yaml, expected;
  };
  const Case cases[] = {
      {"  localRateLimits:\n  - {" + tb + "}\n", "spec.localRateLimits[0].name: is required"},
      {"  localRateLimits:\n  - {name: \"a b\", " + tb + "}\n", "spec.localRateLimits[0].name: must be 1 to 128"},
      {"  localRateLimits:\n  - {name: a, " + tb + "}\n  - {name: a, " + tb + "}\n",
       "spec.localRateLimits[1].name: \"a\" is already the name of spec.localRateLimits[0]"},
      {"  localRateLimits:\n  - {name: a}\n", "spec.localRateLimits[0].tokenBucket: is required"},
      {"  localRateLimits:\n  - {name: a, tokenBucket: {fillInterval: 1s}}\n",
       "spec.localRateLimits[0].tokenBucket.maxTokens: is required"},
      {"  localRateLimits:\n  - {name: a, tokenBucket: {maxTokens: 0, fillInterval: 1s}}\n",
       "spec.localRateLimits[0].tokenBucket.maxTokens: must be between 1 and 4294967295"},
      {"  localRateLimits:\n  - {name: a, tokenBucket: {maxTokens: 1, tokensPerFill: 0, fillInterval: 1s}}\n",
       "spec.localRateLimits[0].tokenBucket.tokensPerFill: must be between 1 and 4294967295"},
      {"  localRateLimits:\n  - {name: a, tokenBucket: {maxTokens: 1}}\n",
       "spec.localRateLimits[0].tokenBucket.fillInterval: is required"},
      {"  localRateLimits:\n  - {name: a, tokenBucket: {maxTokens: 1, fillInterval: soon}}\n",
       "spec.localRateLimits[0].tokenBucket.fillInterval: "},
      {"  localRateLimits:\n  - {name: a, tokenBucket: {maxTokens: 1, fillInterval: 49ms}}\n",
       "spec.localRateLimits[0].tokenBucket.fillInterval: must be at least 50ms"},
      {"  localRateLimits:\n  - {name: a, tokenBucket: {maxTokens: 1, fillInterval: 1s, burst: 2}}\n",
       "spec.localRateLimits[0].tokenBucket.burst: unknown field"},
      {"  localRateLimits:\n  - {name: a, limit: 3, " + tb + "}\n", "spec.localRateLimits[0].limit: unknown field"},
      {"  localRateLimits:\n  - {name: a, key: user, " + tb + "}\n",
       "spec.localRateLimits[0].key: \"user\" is not one of: none, principal, sourceIp, header"},
      {"  localRateLimits:\n  - {name: a, key: header, " + tb + "}\n", "spec.localRateLimits[0].header: is required"},
      {"  localRateLimits:\n  - {name: a, key: header, header: \"x y\", " + tb + "}\n",
       "spec.localRateLimits[0].header: \"x y\" is not a valid header name"},
      {"  localRateLimits:\n  - {name: a, header: x-api-key, " + tb + "}\n",
       "spec.localRateLimits[0].header: only applies with key: header"},
      {"  localRateLimits:\n  - {name: a, missingKey: deny, " + tb + "}\n",
       "spec.localRateLimits[0].missingKey: only applies with key"},
      {"  localRateLimits:\n  - {name: a, key: principal, missingKey: allow, " + tb + "}\n",
       "spec.localRateLimits[0].missingKey: \"allow\" is not one of: skip, share, deny"},
      {"  localRateLimits:\n  - {name: a, maxKeys: 5, " + tb + "}\n",
       "spec.localRateLimits[0].maxKeys: only applies with key"},
      {"  localRateLimits:\n  - {name: a, key: sourceIp, maxKeys: 0, " + tb + "}\n",
       "spec.localRateLimits[0].maxKeys: must be between 1 and 1000000"},
      {"  localRateLimits:\n  - {name: a, enforce: maybe, " + tb + "}\n", "spec.localRateLimits[0].enforce: "},
      {"  localRateLimits:\n  - {name: a, match: {routes: [llm-route]}, " + tb + "}\n",
       "spec.localRateLimits[0].match.routes[0]: \"llm-route\" is not \"<namespace>/<name>\""},
      {"  localRateLimits:\n  - {name: a, match: {routes: [a/b, a//c]}, " + tb + "}\n",
       "spec.localRateLimits[0].match.routes[1]: \"a//c\" is not"},
      {"  localRateLimits:\n  - {name: a, match: {routes: []}, " + tb + "}\n",
       "spec.localRateLimits[0].match.routes: must not be empty"},
      {"  localRateLimits:\n  - {name: a, match: {hosts: [bad_host!]}, " + tb + "}\n",
       "spec.localRateLimits[0].match.hosts[0]: \"bad_host!\" is not a valid host"},
      {"  localRateLimits:\n  - {name: a, match: {pathPrefix: v1}, " + tb + "}\n",
       "spec.localRateLimits[0].match.pathPrefix: must start with \"/\""},
      {"  localRateLimits:\n  - {name: a, match: {methods: [\"PO ST\"]}, " + tb + "}\n",
       "spec.localRateLimits[0].match.methods[0]: \"PO ST\" is not a valid HTTP method"},
      {"  localRateLimits:\n  - {name: a, match: {headers: [x]}, " + tb + "}\n",
       "spec.localRateLimits[0].match.headers: unknown field"},
      {"  localRateLimits: {name: a}\n", "spec.localRateLimits: "},
      {"  connectionLimits: {perListener: -1}\n", "spec.connectionLimits.perListener: must be between 0 and 4294967295"},
      {"  connectionLimits: {perSourceIp: many}\n", "spec.connectionLimits.perSourceIp: must be an integer"},
      {"  connectionLimits: {perIp: 3}\n", "spec.connectionLimits.perIp: unknown field"},
  };
  for (const Case& c : cases) {
    LoadResult r = load(c.yaml);
    EXPECT_FALSE(r.ok()) << c.yaml;
    const std::string all = render(r.errors);
    EXPECT_NE(all.find("gc.yaml:"), std::string::npos) << all;
    EXPECT_NE(all.find("document 1 (GatewayConfig/gc): " + c.expected), std::string::npos)
        << "wanted " << c.expected << "\n" << all;
  }
}

TEST(RateLimitConfig, AtMost64Policies) {
  std::string spec = "  localRateLimits:\n";
  for (int i = 0; i < 65; ++i)
    spec += "  - {name: p" + std::to_string(i) + ", tokenBucket: {maxTokens: 1, fillInterval: 1s}}\n";
  LoadResult r = load(spec);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(render(r.errors).find("spec.localRateLimits: at most 64 local rate limits, got 65"), std::string::npos)
      << render(r.errors);
  spec.erase(spec.rfind("  - {name: p64"));
  r = load(spec);
  ASSERT_TRUE(r.ok()) << render(r.errors);
  EXPECT_EQ(r.config->gateway.local_rate_limits.size(), 64u);
}

}  // namespace
}  // namespace infergate::config
