// TokenBudgets: fixed epoch-aligned windows, exact counts across threads, keys and missing
// keys, bounded keys (old windows dropped first), the decision and its headers, costs, the
// shared-store bookkeeping (spent cache, unflushed charges) and carry-over across rebuilds.
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "routing/token_budget.h"

namespace infergate::routing {
namespace {

using std::chrono::milliseconds;

constexpr int64_t kT0 = 1'700'000'000'000;  // a Unix time in ms, on a 2 s window boundary

config::TokenBudget budget(std::string name, uint64_t limit, milliseconds window = milliseconds(2000)) {
  config::TokenBudget b;
  b.name = std::move(name);
  b.limit = limit;
  b.window = window;
  b.cost = config::BudgetCost::OutputTokens;
  return b;
}

RateLimitRequest request(const HeaderMap* headers = nullptr) {
  RateLimitRequest r;
  r.route_name = "default/llm-route/rule0";
  r.route_ns = "default";
  r.route_resource = "llm-route";
  r.authority = "api.example.com";
  r.path = "/v1/chat/completions";
  r.method = "POST";
  r.headers = headers;
  return r;
}

std::vector<BudgetHit> check(const TokenBudgets& tb, int64_t at, const HeaderMap* headers = nullptr) {
  std::vector<BudgetHit> hits;
  tb.match(request(headers), at, hits);
  return hits;
}

TEST(TokenBudget, ServesUntilTheLimitThenRefusesUntilTheWindowEnds) {
  auto tb = TokenBudgets::build({budget("b", 1000)}, false, nullptr);
  int64_t at = kT0 + 100;
  for (int i = 0; i < 10; ++i) {
    auto hits = check(*tb, at);
    ASSERT_EQ(hits.size(), 1u);
    EXPECT_EQ(hits[0].remaining(), 1000u - 100u * i);
    EXPECT_EQ(hits[0].reset_seconds, 2u);
    BudgetDecision d = tb->decide(hits);
    EXPECT_EQ(d.refused_by, -1);
    EXPECT_EQ(d.headers_from, 0);
    tb->charge(hits[0], 100, at, false);
    at += 10;
  }
  auto hits = check(*tb, at);
  BudgetDecision d = tb->decide(hits);
  EXPECT_EQ(d.refused_by, 0);
  EXPECT_EQ(d.refused, 1u);
  EXPECT_EQ(hits[0].remaining(), 0u);
  // 1.9 s into the window: 1 s left, rounded up.
  EXPECT_EQ(check(*tb, kT0 + 1900)[0].reset_seconds, 1u);
  // The next window (aligned to the epoch, not to the first request) starts over.
  hits = check(*tb, kT0 + 2000);
  EXPECT_EQ(hits[0].remaining(), 1000u);
  EXPECT_EQ(tb->decide(hits).refused_by, -1);
}

TEST(TokenBudget, ExactAcrossThreads) {
  auto tb = TokenBudgets::build({budget("b", 1'000'000)}, false, nullptr);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        auto hits = check(*tb, kT0);
        tb->charge(hits[0], 7, kT0, false);
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(check(*tb, kT0)[0].used, 4u * 10000u * 7u);
}

TEST(TokenBudget, KeysAndMissingKeys) {
  config::TokenBudget by_key = budget("by-key", 100);
  by_key.key = config::BudgetKey::ApiKey;
  config::TokenBudget by_tenant = budget("by-tenant", 100);
  by_tenant.key = config::BudgetKey::Header;
  by_tenant.header = "x-tenant";
  by_tenant.missing_key = config::MissingKey::Deny;
  config::TokenBudget by_flow = budget("by-flow", 100);
  by_flow.key = config::BudgetKey::FairnessId;
  by_flow.missing_key = config::MissingKey::Share;
  auto tb = TokenBudgets::build({by_key, by_tenant, by_flow}, false, nullptr);

  HeaderMap a;
  a.add_lower("authorization", "Bearer key-a");
  a.add_lower("x-tenant", "t1");
  auto hits = check(*tb, kT0, &a);
  ASSERT_EQ(hits.size(), 3u);  // the fairness id is missing but shared
  for (auto& h : hits) tb->charge(h, 100, kT0, false);
  EXPECT_EQ(tb->decide(check(*tb, kT0, &a)).refused_by, 0);

  HeaderMap b;  // another API key (x-api-key), the same tenant
  b.add_lower("x-api-key", "key-b");
  b.add_lower("x-tenant", "t1");
  hits = check(*tb, kT0, &b);
  EXPECT_TRUE(hits[0].allowed());
  EXPECT_FALSE(hits[1].allowed());  // t1 is spent
  EXPECT_FALSE(hits[2].allowed());  // "" is spent

  HeaderMap none;  // no API key: skipped; no tenant: denied
  hits = check(*tb, kT0, &none);
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_TRUE(hits[0].deny);
  EXPECT_EQ(tb->budget(hits[0].budget).name, "by-tenant");
}

TEST(TokenBudget, MaxKeysDropsOldWindowsFirst) {
  config::TokenBudget b = budget("b", 100);
  b.key = config::BudgetKey::Header;
  b.header = "x-tenant";
  b.max_keys = 1;  // one shard, one key
  auto tb = TokenBudgets::build({b}, false, nullptr);
  auto charge = [&](const char* tenant, int64_t at) {
    HeaderMap h;
    h.add_lower("x-tenant", tenant);
    tb->charge(check(*tb, at, &h)[0], 100, at, false);
  };
  charge("old", kT0);
  charge("new", kT0 + 2000);  // evicts "old" (last used a window before)
  EXPECT_EQ(tb->tracked_keys(0), 1u);
  HeaderMap h;
  h.add_lower("x-tenant", "new");
  EXPECT_FALSE(check(*tb, kT0 + 2000, &h)[0].allowed());

  config::TokenBudget many = b;
  many.name = "many";
  many.max_keys = 40;
  tb = TokenBudgets::build({many}, false, nullptr);
  for (int i = 0; i < 1000; ++i) charge(std::to_string(i).c_str(), kT0);
  EXPECT_EQ(tb->tracked_keys(0), 40u);
}

TEST(TokenBudget, HeadersFromTheLeastRemainingAndShadowNeverRefuses) {
  config::TokenBudget big = budget("big", 1000);
  config::TokenBudget small = budget("small", 300);
  config::TokenBudget shadow = budget("shadow", 10);
  shadow.enforce = false;
  auto tb = TokenBudgets::build({big, small, shadow}, false, nullptr);
  auto hits = check(*tb, kT0);
  for (auto& h : hits) tb->charge(h, 200, kT0, false);
  hits = check(*tb, kT0);
  BudgetDecision d = tb->decide(hits);
  EXPECT_EQ(d.refused_by, -1);
  EXPECT_EQ(hits[d.headers_from].budget, 1);
  EXPECT_EQ(hits[d.headers_from].remaining(), 100u);
  EXPECT_EQ(d.allowed, 0b011u);
  EXPECT_EQ(d.shadow_refused, 0b100u);
  for (auto& h : hits) tb->charge(h, 100, kT0, false);
  d = tb->decide(check(*tb, kT0));
  EXPECT_EQ(d.refused_by, 1);
  EXPECT_EQ(d.refused, 0b010u);
}

TEST(TokenBudget, Costs) {
  config::TokenBudget w = budget("w", 10);
  w.cost = config::BudgetCost::Weighted;
  w.input_weight = 0.5;
  w.output_weight = 2;
  config::TokenBudget in = budget("in", 10), total = budget("total", 10);
  in.cost = config::BudgetCost::InputTokens;
  total.cost = config::BudgetCost::TotalTokens;
  auto tb = TokenBudgets::build({budget("out", 10), in, total, w}, false, nullptr);
  EXPECT_EQ(tb->cost(0, 7, 3), 3u);
  EXPECT_EQ(tb->cost(1, 7, 3), 7u);
  EXPECT_EQ(tb->cost(2, 7, 3), 10u);
  EXPECT_EQ(tb->cost(3, 7, 3), 10u);  // 3.5 + 6, rounded up
  EXPECT_EQ(tb->cost(2, std::nullopt, std::nullopt), 0u);
}

TEST(TokenBudget, SharedBookkeeping) {
  auto tb = TokenBudgets::build({budget("b", 1000)}, /*store=*/true, nullptr);
  auto hits = check(*tb, kT0);
  ASSERT_TRUE(hits[0].shared);
  EXPECT_EQ(hits[0].digest.size(), 32u);
  EXPECT_FALSE(hits[0].known_spent);
  // The store counts 400 (other replicas); this process charges 100 while it is unreachable.
  tb->observe_shared(hits[0], 400);
  tb->charge(hits[0], 100, kT0, /*unflushed=*/true);
  EXPECT_EQ(check(*tb, kT0)[0].used, 500u);  // fail-open estimate: store's + unflushed
  auto pending = tb->take_unflushed(kT0 + 10);
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].tokens, 100u);
  EXPECT_EQ(pending[0].budget, "b");
  EXPECT_EQ(pending[0].digest, hits[0].digest);
  EXPECT_TRUE(tb->take_unflushed(kT0 + 10).empty());
  TokenBudgets::add_unflushed(pending[0]);  // the flush failed: kept for the next one
  EXPECT_EQ(tb->take_unflushed(kT0 + 10).size(), 1u);
  // Once the store says spent, no round trip until the window ends.
  hits = check(*tb, kT0);
  tb->observe_shared(hits[0], 1000);
  EXPECT_TRUE(check(*tb, kT0)[0].known_spent);
  EXPECT_FALSE(check(*tb, kT0 + 2000)[0].known_spent);
  // Charges of a window that is over are not flushed.
  tb->charge(check(*tb, kT0)[0], 5, kT0, true);
  EXPECT_TRUE(tb->take_unflushed(kT0 + 2000).empty());
}

TEST(TokenBudget, ReloadKeepsUnchangedBudgets) {
  auto tb = TokenBudgets::build({budget("a", 1000), budget("b", 1000)}, false, nullptr);
  for (auto& h : check(*tb, kT0)) tb->charge(h, 600, kT0, false);
  auto next = TokenBudgets::build({budget("a", 1000), budget("b", 2000)}, false, tb.get());
  auto hits = check(*next, kT0);
  EXPECT_EQ(hits[0].used, 600u);  // unchanged: carried
  EXPECT_EQ(hits[1].used, 0u);    // new limit: starts over
}

TEST(TokenBudget, MatchSelectsRequests) {
  config::TokenBudget b = budget("b", 10);
  b.match.routes = {"default/other-route"};
  config::TokenBudget c = budget("c", 10);
  c.match.path_prefix = "/v1/";
  c.match.methods = {"POST"};
  auto tb = TokenBudgets::build({b, c}, false, nullptr);
  auto hits = check(*tb, kT0);
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].budget, 1);
}

}  // namespace
}  // namespace infergate::routing
