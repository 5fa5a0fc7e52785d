// GatewayConfig tokenBudgets through the token_budget filter: responses are charged the usage
// the stream read, the x-ratelimit-* headers count tokens, a spent budget answers 429 naming
// it (x-envoy-ratelimited, flag RL), and a response without usage is charged nothing but
// counted. (The Redis store is covered end to end: tests/e2e/token_budget_test.cc.)
#include "gateway/proxy/filters/token_budget_filter.h"

#include <gtest/gtest.h>

#include "fake_stream.h"
#include "gateway/control/snapshot.h"
#include "gateway/proxy/filters/route_reply_filter.h"
#include "metrics/token_usage.h"

namespace infergate::gateway::testing {
namespace {

const std::string kRoutes = R"(---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: llm}
spec:
  parentRefs: [{name: gw}]
  hostnames: [llm.example.com]
  rules:
  - backendRefs: [{name: llm, port: 80}]
)";

const std::string kBudget = R"(  tokenBudgets:
  - {name: out-150, cost: outputTokens, window: 1h, limit: 150}
)";

using Chain = FilterUnderTest<TokenBudgetFilter, RouteReplyFilter>;

// Runs one request; its response reports `usage` (a JSON body) unless it is empty.
ResponseHead run(FakeWorker& w, const std::string& usage_json, std::vector<LocalReply>* replies = nullptr) {
  Chain c(w);
  c.stream.start(request("POST", "/v1/chat/completions", "llm.example.com"), true);
  if (replies) *replies = c.stream.replies;
  if (!c.stream.replies.empty()) return {};
  EXPECT_TRUE(c.stream.state().wants_usage);
  metrics::TokenUsageReader reader(metrics::TokenUsageReader::Body::Json);
  if (!usage_json.empty()) {
    reader.feed(usage_json);
    c.stream.state().usage = &reader;
  }
  ResponseHead head;
  head.status = 200;
  c.stream.encode_headers(std::move(head), true);  // the stream ends: the charge
  return *c.stream.response_head;
}

TEST(TokenBudgetFilter, ChargesTheUsageThenRefusesWith429NamingTheBudget) {
  FakeWorker w(kRoutes, kBudget);
  const auto& stats = w.snapshot->token_budgets.stats;
  ASSERT_EQ(stats.size(), 1u);
  const std::string usage = R"({"usage":{"prompt_tokens":7,"completion_tokens":100,"total_tokens":107}})";
  ResponseHead first = run(w, usage);
  EXPECT_EQ(first.headers.get_or("x-ratelimit-limit", ""), "150");
  EXPECT_EQ(first.headers.get_or("x-ratelimit-remaining", ""), "150");
  EXPECT_NE(first.headers.get("x-ratelimit-reset"), nullptr);
  ResponseHead second = run(w, usage);
  EXPECT_EQ(second.headers.get_or("x-ratelimit-remaining", ""), "50");
  EXPECT_EQ(stats[0][3].value(), 200u);  // tokens_charged: the usage, not the limit

  std::vector<LocalReply> replies;
  run(w, usage, &replies);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].status, 429);
  EXPECT_EQ(replies[0].body, "token_budget_exhausted: out-150");
  EXPECT_EQ(replies[0].flag, ResponseFlag::RateLimited);
  EXPECT_EQ(replies[0].headers.get_or("x-envoy-ratelimited", ""), "true");
  EXPECT_EQ(replies[0].headers.get_or("x-ratelimit-remaining", ""), "0");
  EXPECT_EQ(stats[0][0].value(), 2u);  // [allowed, refused, shadow_refused, tokens, without_usage]
  EXPECT_EQ(stats[0][1].value(), 1u);
  EXPECT_EQ(stats[0][3].value(), 200u);  // the refused request is never charged
}

TEST(TokenBudgetFilter, NoUsageChargesNothingAndIsCounted) {
  FakeWorker w(kRoutes, kBudget);
  const auto& stats = w.snapshot->token_budgets.stats;
  run(w, "");
  run(w, R"({"id":"x","choices":[]})");
  EXPECT_EQ(stats[0][3].value(), 0u);
  EXPECT_EQ(stats[0][4].value(), 2u);
  EXPECT_EQ(run(w, "").headers.get_or("x-ratelimit-remaining", ""), "150");
}

TEST(TokenBudgetFilter, ShadowBudgetCountsButNeverRefuses) {
  FakeWorker w(kRoutes, R"(  tokenBudgets:
  - {name: shadow, window: 1h, limit: 10, enforce: false}
)");
  const std::string usage = R"({"usage":{"prompt_tokens":20,"completion_tokens":20}})";
  run(w, usage);
  std::vector<LocalReply> replies;
  ResponseHead h = run(w, usage, &replies);
  EXPECT_TRUE(replies.empty());
  EXPECT_EQ(h.headers.get("x-ratelimit-limit"), nullptr);  // headers describe enforcing budgets
  EXPECT_EQ(w.snapshot->token_budgets.stats[0][2].value(), 1u);
  EXPECT_EQ(w.snapshot->token_budgets.stats[0][3].value(), 80u);
}

}  // namespace
}  // namespace infergate::gateway::testing
