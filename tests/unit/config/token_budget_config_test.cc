// GatewayConfig spec.tokenBudgets and spec.tokenBudgetStore: defaults, every field, and each
// problem reported with file, line, document and field path.
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

TEST(TokenBudgetConfig, AbsentMeansNoBudgetsAndNoStore) {
  LoadResult r = load("  workers: 1\n");
  ASSERT_TRUE(r.ok()) << render(r.errors);
  EXPECT_TRUE(r.config->gateway.token_budgets.empty());
  EXPECT_EQ(r.config->gateway.token_budget_store.redis_address, "");
}

TEST(TokenBudgetConfig, EveryFieldAndTheDefaults) {
  const std::string spec = R"(  tokenBudgets:
  - name: per-tenant
    match:
      routes: [default/llm-route]
      hosts: [API.example.com]
      pathPrefix: /v1/
      methods: [POST]
    key: header
    header: X-Tenant
    missingKey: deny
    cost: weighted
    weights: {input: 0.5, output: 2}
    window: 1h
    limit: 100000
    maxKeys: 500
    responseHeaders: false
    enforce: false
    shared: false
  - name: global
    window: 2s
    limit: 1000
  - {name: by-key, key: apiKey, cost: outputTokens, window: 1m, limit: 5}
  - {name: by-flow, key: fairnessId, cost: inputTokens, window: 1m, limit: 5}
  - {name: by-principal, key: principal, window: 1m, limit: 5}
  tokenBudgetStore:
    redis: {address: "redis.infra:6380", keyPrefix: "gw1:", timeout: 50ms, failureMode: FailClose}
)";
  LoadResult r = load(spec);
  ASSERT_TRUE(r.ok()) << render(r.errors);
  const auto& bs = r.config->gateway.token_budgets;
  ASSERT_EQ(bs.size(), 5u);
  const TokenBudget& a = bs[0];
  EXPECT_EQ(a.name, "per-tenant");
  EXPECT_EQ(a.source.file, "gc.yaml");
  EXPECT_EQ(a.source.line, line_of(kHead + spec, "- name: per-tenant"));
  EXPECT_EQ(a.match.routes, (std::vector<std::string>{"default/llm-route"}));
  EXPECT_EQ(a.match.hosts, (std::vector<std::string>{"api.example.com"}));
  EXPECT_EQ(a.match.path_prefix, "/v1/");
  EXPECT_EQ(a.match.methods, (std::vector<std::string>{"POST"}));
  EXPECT_EQ(a.key, BudgetKey::Header);
  EXPECT_EQ(a.header, "x-tenant");
  EXPECT_EQ(a.missing_key, MissingKey::Deny);
  EXPECT_EQ(a.cost, BudgetCost::Weighted);
  EXPECT_EQ(a.input_weight, 0.5);
  EXPECT_EQ(a.output_weight, 2);
  EXPECT_EQ(a.window, std::chrono::hours(1));
  EXPECT_EQ(a.limit, 100000u);
  EXPECT_EQ(a.max_keys, 500u);
  EXPECT_FALSE(a.response_headers);
  EXPECT_FALSE(a.enforce);
  EXPECT_FALSE(a.shared);

  const TokenBudget& g = bs[1];
  EXPECT_EQ(g.key, BudgetKey::None);
  EXPECT_EQ(g.cost, BudgetCost::TotalTokens);
  EXPECT_EQ(g.window, std::chrono::seconds(2));
  EXPECT_EQ(g.limit, 1000u);
  EXPECT_EQ(g.max_keys, 10000u);
  EXPECT_TRUE(g.response_headers);
  EXPECT_TRUE(g.enforce);
  EXPECT_TRUE(g.shared);
  EXPECT_EQ(bs[2].key, BudgetKey::ApiKey);
  EXPECT_EQ(bs[2].cost, BudgetCost::OutputTokens);
  EXPECT_EQ(bs[3].key, BudgetKey::FairnessId);
  EXPECT_EQ(bs[3].cost, BudgetCost::InputTokens);
  EXPECT_EQ(bs[4].key, BudgetKey::Principal);

  const TokenBudgetStore& s = r.config->gateway.token_budget_store;
  EXPECT_EQ(s.redis_address, "redis.infra:6380");
  EXPECT_EQ(s.redis_host, "redis.infra");
  EXPECT_EQ(s.redis_port, 6380);
  EXPECT_EQ(s.key_prefix, "gw1:");
  EXPECT_EQ(s.timeout, std::chrono::milliseconds(50));
  EXPECT_FALSE(s.fail_open);
}

TEST(TokenBudgetConfig, StoreDefaultsAndIpv6) {
  LoadResult r = load("  tokenBudgetStore: {redis: {address: \"[::1]:6379\"}}\n");
  ASSERT_TRUE(r.ok()) << render(r.errors);
  const TokenBudgetStore& s = r.config->gateway.token_budget_store;
  EXPECT_EQ(s.redis_host, "::1");
  EXPECT_EQ(s.redis_port, 6379);
  EXPECT_EQ(s.key_prefix, "infergate:budget:");
  EXPECT_EQ(s.timeout, std::chrono::milliseconds(200));
  EXPECT_TRUE(s.fail_open);
}

TEST(TokenBudgetConfig, ExactDiagnosticWithLine) {
  const std::string spec = R"(  tokenBudgets:
  - name: tenant
    limit: 1000
    window: 10ms
)";
  LoadResult r = load(spec);
  ASSERT_FALSE(r.ok());
  const int line = line_of(kHead + spec, "window: 10ms");
  EXPECT_TRUE(has_diagnostic(r.errors, "gc.yaml:" + std::to_string(line) +
                                           ": document 1 (GatewayConfig/gc): "
                                           "spec.tokenBudgets[0].window: must be from 1s to 744h"))
      << render(r.errors);
}

TEST(TokenBudgetConfig, ProblemsNameTheirFieldPath) {
  const std::string wl = "window: 1m, limit: 10";
  struct Case {
    std::string yaml, expected;
  };
  const Case cases[] = {
      {"  tokenBudgets:\n  - {" + wl + "}\n", "spec.tokenBudgets[0].name: is required"},
      {"  tokenBudgets:\n  - {name: \"a b\", " + wl + "}\n", "spec.tokenBudgets[0].name: must be 1 to 128"},
      {"  tokenBudgets:\n  - {name: a, " + wl + "}\n  - {name: a, " + wl + "}\n",
       "spec.tokenBudgets[1].name: \"a\" is already the name of spec.tokenBudgets[0]"},
      {"  tokenBudgets:\n  - {name: a, window: 1m}\n", "spec.tokenBudgets[0].limit: is required"},
      {"  tokenBudgets:\n  - {name: a, limit: 5}\n", "spec.tokenBudgets[0].window: is required"},
      {"  tokenBudgets:\n  - {name: a, window: 1m, limit: 0}\n", "spec.tokenBudgets[0].limit: must be between 1 and"},
      {"  tokenBudgets:\n  - {name: a, window: soon, limit: 5}\n", "spec.tokenBudgets[0].window: "},
      {"  tokenBudgets:\n  - {name: a, window: 800h, limit: 5}\n", "spec.tokenBudgets[0].window: must be from 1s to 744h"},
      {"  tokenBudgets:\n  - {name: a, tokens: 3, " + wl + "}\n", "spec.tokenBudgets[0].tokens: unknown field"},
      {"  tokenBudgets:\n  - {name: a, key: user, " + wl + "}\n",
       "spec.tokenBudgets[0].key: \"user\" is not one of: none, header, principal, apiKey, fairnessId"},
      {"  tokenBudgets:\n  - {name: a, key: header, " + wl + "}\n", "spec.tokenBudgets[0].header: is required"},
      {"  tokenBudgets:\n  - {name: a, key: header, header: \"x y\", " + wl + "}\n",
       "spec.tokenBudgets[0].header: \"x y\" is not a valid header name"},
      {"  tokenBudgets:\n  - {name: a, header: x-tenant, " + wl + "}\n",
       "spec.tokenBudgets[0].header: only applies with key: header"},
      {"  tokenBudgets:\n  - {name: a, missingKey: deny, " + wl + "}\n",
       "spec.tokenBudgets[0].missingKey: only applies with key"},
      {"  tokenBudgets:\n  - {name: a, key: apiKey, missingKey: allow, " + wl + "}\n",
       "spec.tokenBudgets[0].missingKey: \"allow\" is not one of: skip, share, deny"},
      {"  tokenBudgets:\n  - {name: a, maxKeys: 5, " + wl + "}\n", "spec.tokenBudgets[0].maxKeys: only applies with key"},
      {"  tokenBudgets:\n  - {name: a, key: apiKey, maxKeys: 0, " + wl + "}\n",
       "spec.tokenBudgets[0].maxKeys: must be between 1 and 1000000"},
      {"  tokenBudgets:\n  - {name: a, cost: dollars, " + wl + "}\n",
       "spec.tokenBudgets[0].cost: \"dollars\" is not one of: inputTokens, outputTokens, totalTokens, weighted"},
      {"  tokenBudgets:\n  - {name: a, cost: weighted, " + wl + "}\n", "spec.tokenBudgets[0].weights: is required"},
      {"  tokenBudgets:\n  - {name: a, weights: {input: 1}, " + wl + "}\n",
       "spec.tokenBudgets[0].weights: only applies with cost: weighted"},
      {"  tokenBudgets:\n  - {name: a, cost: weighted, weights: {input: -1}, " + wl + "}\n",
       "spec.tokenBudgets[0].weights.input: "},
      {"  tokenBudgets:\n  - {name: a, cost: weighted, weights: {input: 0, output: 0}, " + wl + "}\n",
       "spec.tokenBudgets[0].weights: input and output cannot both be 0"},
      {"  tokenBudgets:\n  - {name: a, cost: weighted, weights: {prompt: 1}, " + wl + "}\n",
       "spec.tokenBudgets[0].weights.prompt: unknown field"},
      {"  tokenBudgets:\n  - {name: a, shared: sometimes, " + wl + "}\n", "spec.tokenBudgets[0].shared: "},
      {"  tokenBudgets:\n  - {name: a, match: {routes: [llm-route]}, " + wl + "}\n",
       "spec.tokenBudgets[0].match.routes[0]: \"llm-route\" is not \"<namespace>/<name>\""},
      {"  tokenBudgets:\n  - {name: a, match: {pathPrefix: v1}, " + wl + "}\n",
       "spec.tokenBudgets[0].match.pathPrefix: must start with \"/\""},
      {"  tokenBudgets:\n  - {name: a, match: {models: [x]}, " + wl + "}\n",
       "spec.tokenBudgets[0].match.models: unknown field"},
      {"  tokenBudgets: {name: a}\n", "spec.tokenBudgets: "},
      {"  tokenBudgetStore: {}\n", "spec.tokenBudgetStore.redis: is required"},
      {"  tokenBudgetStore: {memcached: {}}\n", "spec.tokenBudgetStore.memcached: unknown field"},
      {"  tokenBudgetStore: {redis: {}}\n", "spec.tokenBudgetStore.redis.address: is required"},
      {"  tokenBudgetStore: {redis: {address: localhost}}\n",
       "spec.tokenBudgetStore.redis.address: \"localhost\" is not host:port"},
      {"  tokenBudgetStore: {redis: {address: \"localhost:99999\"}}\n",
       "spec.tokenBudgetStore.redis.address: \"localhost:99999\" is not host:port"},
      {"  tokenBudgetStore: {redis: {address: \"h:1\", timeout: 0s}}\n",
       "spec.tokenBudgetStore.redis.timeout: must be from 1ms to 10s"},
      {"  tokenBudgetStore: {redis: {address: \"h:1\", failureMode: Retry}}\n",
       "spec.tokenBudgetStore.redis.failureMode: \"Retry\" is not one of: FailOpen, FailClose"},
      {"  tokenBudgetStore: {redis: {address: \"h:1\", password: x}}\n",
       "spec.tokenBudgetStore.redis.password: unknown field"},
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

TEST(TokenBudgetConfig, AtMost64Budgets) {
  std::string spec = "  tokenBudgets:\n";
  for (int i = 0; i < 65; ++i) spec += "  - {name: b" + std::to_string(i) + ", window: 1m, limit: 1}\n";
  LoadResult r = load(spec);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(render(r.errors).find("spec.tokenBudgets: at most 64 token budgets, got 65"), std::string::npos)
      << render(r.errors);
}

}  // namespace
}  // namespace infergate::config
