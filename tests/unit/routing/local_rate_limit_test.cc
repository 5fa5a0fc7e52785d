// LocalRateLimiter: Envoy token-bucket exactness with an injected clock, lock-free sharing
// across threads, keyed buckets with bounded memory, match fields, shadow mode, headers and
// bucket carry-over across rebuilds.
#include <gtest/gtest.h>

#include <atomic>
#include <barrier>
#include <string>
#include <thread>
#include <vector>

#include "routing/local_rate_limit.h"

namespace infergate::routing {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

const Clock::time_point t0 = Clock::time_point{} + std::chrono::hours(1000);

config::LocalRateLimit policy(std::string name, uint32_t max, uint32_t per_fill, milliseconds interval) {
  config::LocalRateLimit p;
  p.name = std::move(name);
  p.token_bucket = {max, per_fill, interval};
  return p;
}

RateLimitRequest request() {
  RateLimitRequest r;
  r.route_name = "default/llm-route/rule0";
  r.route_ns = "default";
  r.route_resource = "llm-route";
  r.authority = "api.example.com";
  r.path = "/v1/chat/completions";
  r.method = "POST";
  return r;
}

// Requests let through out of `n` at `at`.
int allowed(LocalRateLimiter& rl, const RateLimitRequest& req, Clock::time_point at, int n) {
  int ok = 0;
  for (int i = 0; i < n; ++i) ok += !rl.check(req, at).limited;
  return ok;
}

TEST(LocalRateLimit, EmptyLimiterLimitsNothing) {
  auto rl = LocalRateLimiter::build({}, nullptr);
  EXPECT_TRUE(rl->empty());
  RateLimitResult r = rl->check(request(), t0);
  EXPECT_FALSE(r.limited);
  EXPECT_EQ(r.policy, -1);
  EXPECT_EQ(r.allowed | r.refused, 0u);
}

TEST(LocalRateLimit, ExactlyMaxTokensThenTokensPerFillPerInterval) {
  auto rl = LocalRateLimiter::build({policy("p", 10, 3, milliseconds(1000))}, nullptr);
  const RateLimitRequest req = request();
  EXPECT_EQ(allowed(*rl, req, t0, 100), 10);
  EXPECT_EQ(allowed(*rl, req, t0 + milliseconds(999), 100), 0);  // just before the first fill
  EXPECT_EQ(allowed(*rl, req, t0 + milliseconds(1000), 100), 3);
  EXPECT_EQ(allowed(*rl, req, t0 + milliseconds(1500), 100), 0);
  EXPECT_EQ(allowed(*rl, req, t0 + milliseconds(2000), 100), 3);
  // Two intervals idle: two fills, 6 tokens.
  EXPECT_EQ(allowed(*rl, req, t0 + milliseconds(4000), 100), 6);
  // A long idle time refills to max_tokens, never beyond.
  EXPECT_EQ(allowed(*rl, req, t0 + std::chrono::hours(5), 100), 10);
}

TEST(LocalRateLimit, FillsAreCappedAtMaxTokens) {
  auto rl = LocalRateLimiter::build({policy("p", 4, 10, milliseconds(100))}, nullptr);
  const RateLimitRequest req = request();
  EXPECT_EQ(allowed(*rl, req, t0, 2), 2);
  EXPECT_EQ(allowed(*rl, req, t0 + milliseconds(100), 100), 4);  // 2 + 10 capped at 4
}

TEST(LocalRateLimit, FillScheduleIsFixedByTheFirstRequest) {
  // Discrete fills on a fixed grid from the first use, as Envoy's timer: a request at 1.7s and
  // one at 2.0s see the fills of 1s and 2s, not a grid restarted at 1.7s.
  auto rl = LocalRateLimiter::build({policy("p", 1, 1, milliseconds(1000))}, nullptr);
  const RateLimitRequest req = request();
  EXPECT_EQ(allowed(*rl, req, t0, 5), 1);
  EXPECT_EQ(allowed(*rl, req, t0 + milliseconds(1700), 5), 1);
  EXPECT_EQ(allowed(*rl, req, t0 + milliseconds(2000), 5), 1);
}

TEST(LocalRateLimit, HeaderValuesAndResetRoundUp) {
  auto rl = LocalRateLimiter::build({policy("p", 3, 1, milliseconds(2500))}, nullptr);
  const RateLimitRequest req = request();
  RateLimitResult r = rl->check(req, t0);
  EXPECT_FALSE(r.limited);
  EXPECT_EQ(r.policy, 0);
  EXPECT_TRUE(r.send_headers);
  EXPECT_EQ(r.limit, 3u);
  EXPECT_EQ(r.remaining, 2u);
  EXPECT_EQ(r.reset_seconds, 3u);  // 2.5s -> 3
  r = rl->check(req, t0 + milliseconds(600));
  EXPECT_EQ(r.remaining, 1u);
  EXPECT_EQ(r.reset_seconds, 2u);  // 1.9s -> 2
  r = rl->check(req, t0 + milliseconds(2499));
  EXPECT_EQ(r.remaining, 0u);
  EXPECT_EQ(r.reset_seconds, 1u);  // 1ms -> 1
  r = rl->check(req, t0 + milliseconds(2499));
  EXPECT_TRUE(r.limited);
  EXPECT_EQ(r.policy, 0);
  EXPECT_EQ(r.limit, 3u);
  EXPECT_EQ(r.remaining, 0u);
  EXPECT_EQ(r.refused, 1u);
  EXPECT_EQ(r.allowed, 0u);

  config::LocalRateLimit quiet = policy("q", 3, 1, milliseconds(1000));
  quiet.response_headers = false;
  rl = LocalRateLimiter::build({quiet}, nullptr);
  r = rl->check(req, t0);
  EXPECT_EQ(r.policy, 0);
  EXPECT_FALSE(r.send_headers);
}

TEST(LocalRateLimit, ConcurrentWorkersGetExactlyTheTokens) {
  // 8 threads hammer one bucket: exactly max_tokens pass, then exactly tokens_per_fill per
  // fill. Every round all threads race the same fill (a barrier lines them up): a refill
  // applied twice would show as more, a lost token as fewer.
  constexpr int kThreads = 8, kPerRound = 400, kRounds = 200;
  constexpr uint32_t kMax = 1000, kFill = 100;
  auto rl = LocalRateLimiter::build({policy("p", kMax, kFill, milliseconds(1000))}, nullptr);
  std::vector<std::atomic<int>> per_round(kRounds + 1);
  std::barrier sync(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      const RateLimitRequest req = request();
      for (int round = 0; round <= kRounds; ++round) {
        sync.arrive_and_wait();
        int mine = 0;
        for (int i = 0; i < kPerRound; ++i) mine += !rl->check(req, t0 + std::chrono::seconds(round)).limited;
        per_round[round] += mine;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(per_round[0].load(), static_cast<int>(kMax));
  for (int round = 1; round <= kRounds; ++round)
    EXPECT_EQ(per_round[round].load(), static_cast<int>(kFill)) << "round " << round;
}

TEST(LocalRateLimit, ConcurrentKeyedBucketsAreExactPerKey) {
  constexpr int kThreads = 8, kPerThread = 4000, kKeys = 16;
  config::LocalRateLimit p = policy("p", 100, 1, milliseconds(1000));
  p.key = config::RateLimitKey::Header;
  p.header = "x-api-key";
  auto rl = LocalRateLimiter::build({p}, nullptr);
  std::vector<HeaderMap> headers(kKeys);
  for (int k = 0; k < kKeys; ++k) headers[k].add("x-api-key", "key-" + std::to_string(k));
  std::vector<std::atomic<int>> per_key(kKeys);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      RateLimitRequest req = request();
      for (int i = 0; i < kPerThread; ++i) {
        const int k = (i + t) % kKeys;
        req.headers = &headers[k];
        if (!rl->check(req, t0).limited) ++per_key[k];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int k = 0; k < kKeys; ++k) EXPECT_EQ(per_key[k].load(), 100) << "key " << k;
  EXPECT_EQ(rl->tracked_keys(0), static_cast<size_t>(kKeys));
}

TEST(LocalRateLimit, KeysHaveTheirOwnBuckets) {
  for (config::RateLimitKey kind : {config::RateLimitKey::Principal, config::RateLimitKey::SourceIp,
                                    config::RateLimitKey::Header}) {
    config::LocalRateLimit p = policy("p", 2, 1, milliseconds(1000));
    p.key = kind;
    p.header = "x-api-key";
    auto rl = LocalRateLimiter::build({p}, nullptr);
    HeaderMap ha, hb;
    ha.add("x-api-key", "A");
    hb.add("x-api-key", "B");
    RateLimitRequest a = request(), b = request();
    a.principal = "spiffe://td/ns/a/sa/x";
    b.principal = "spiffe://td/ns/b/sa/y";
    a.source_ip = "10.0.0.1";
    b.source_ip = "10.0.0.2";
    a.headers = &ha;
    b.headers = &hb;
    EXPECT_EQ(allowed(*rl, a, t0, 10), 2) << static_cast<int>(kind);
    EXPECT_EQ(allowed(*rl, b, t0, 10), 2) << static_cast<int>(kind);
    EXPECT_EQ(allowed(*rl, a, t0 + milliseconds(1000), 10), 1);
  }
}

TEST(LocalRateLimit, MissingKeySkipShareDeny) {
  config::LocalRateLimit p = policy("p", 2, 1, milliseconds(1000));
  p.key = config::RateLimitKey::Header;
  p.header = "x-api-key";
  HeaderMap none, empty_value;
  empty_value.add("x-api-key", "");
  RateLimitRequest req = request();

  // skip (default): not limited by this policy at all, and not reported as matched.
  auto rl = LocalRateLimiter::build({p}, nullptr);
  req.headers = &none;
  EXPECT_EQ(allowed(*rl, req, t0, 10), 10);
  RateLimitResult r = rl->check(req, t0);
  EXPECT_EQ(r.policy, -1);
  EXPECT_EQ(r.allowed | r.refused, 0u);
  req.headers = nullptr;
  EXPECT_EQ(allowed(*rl, req, t0, 10), 10);

  // share: every keyless request shares one bucket; an empty value counts as missing.
  p.missing_key = config::MissingKey::Share;
  rl = LocalRateLimiter::build({p}, nullptr);
  req.headers = &none;
  EXPECT_EQ(allowed(*rl, req, t0, 1), 1);
  req.headers = &empty_value;
  EXPECT_EQ(allowed(*rl, req, t0, 10), 1);

  // deny: refused outright, counted as refused.
  p.missing_key = config::MissingKey::Deny;
  rl = LocalRateLimiter::build({p}, nullptr);
  req.headers = &none;
  r = rl->check(req, t0);
  EXPECT_TRUE(r.limited);
  EXPECT_EQ(r.refused, 1u);
  HeaderMap with;
  with.add("x-api-key", "k");
  req.headers = &with;
  EXPECT_FALSE(rl->check(req, t0).limited);
}

TEST(LocalRateLimit, MaxKeysBoundsMemoryAndEvictsIdleKeysFirst) {
  config::LocalRateLimit p = policy("p", 1, 1, milliseconds(1000));
  p.key = config::RateLimitKey::SourceIp;
  p.max_keys = 8;  // one probe window: every key competes for the same 8 slots
  auto rl = LocalRateLimiter::build({p}, nullptr);
  RateLimitRequest req = request();
  std::vector<std::string> ips;
  for (int i = 0; i < 1000; ++i) ips.push_back("10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256));

  // 8 keys exhaust their buckets; they fill the table.
  for (int i = 0; i < 8; ++i) {
    req.source_ip = ips[i];
    EXPECT_FALSE(rl->check(req, t0 + milliseconds(i)).limited);
    EXPECT_TRUE(rl->check(req, t0 + milliseconds(i)).limited);
  }
  EXPECT_EQ(rl->tracked_keys(0), 8u);
  // 1000 more keys never grow the table.
  for (int i = 8; i < 1000; ++i) {
    req.source_ip = ips[i];
    rl->check(req, t0 + milliseconds(10));
  }
  EXPECT_EQ(rl->tracked_keys(0), 8u);

  // A slot whose bucket has refilled completely is reused before the least recently used
  // one: nothing is lost. Keys 1..7 empty their 2 tokens at t0; key 0 takes 1 at t0+0.5s.
  // At t0+1.6s key 0 is full again (1 + one fill) but was used last; keys 1..7 have 1 token.
  p.token_bucket.max_tokens = 2;
  rl = LocalRateLimiter::build({p}, nullptr);
  for (int i = 1; i < 8; ++i) {
    req.source_ip = ips[i];
    EXPECT_EQ(allowed(*rl, req, t0, 3), 2);
  }
  req.source_ip = ips[0];
  EXPECT_EQ(allowed(*rl, req, t0 + milliseconds(500), 1), 1);
  req.source_ip = ips[8];  // takes key 0's slot, not the least recently used one
  EXPECT_EQ(allowed(*rl, req, t0 + milliseconds(1600), 3), 2);
  for (int i = 1; i < 8; ++i) {  // kept: one fill's token, then refused
    req.source_ip = ips[i];
    EXPECT_EQ(allowed(*rl, req, t0 + milliseconds(1600), 3), 1) << i;
  }
}

TEST(LocalRateLimit, MatchFields) {
  struct Case {
    const char* label;
    config::RateLimitMatch match;
    bool applies;
  };
  // Aggregates with some fields left out trip -Wmissing-field-initializers: build them.
  auto m = [](std::vector<std::string> routes, std::vector<std::string> hosts, std::string prefix,
              std::vector<std::string> methods) {
    config::RateLimitMatch match;
    match.routes = std::move(routes);
    match.hosts = std::move(hosts);
    match.path_prefix = std::move(prefix);
    match.methods = std::move(methods);
    return match;
  };
  const Case cases[] = {
      {"empty match", m({}, {}, "", {}), true},
      {"route resource", m({"default/llm-route"}, {}, "", {}), true},
      {"other resource", m({"default/other"}, {}, "", {}), false},
      {"other namespace", m({"team/llm-route"}, {}, "", {}), false},
      {"full route name", m({"default/llm-route/rule0"}, {}, "", {}), true},
      {"other rule", m({"default/llm-route/rule1"}, {}, "", {}), false},
      {"any of the routes", m({"x/y", "default/llm-route"}, {}, "", {}), true},
      {"exact host", m({}, {"api.example.com"}, "", {}), true},
      {"wildcard host", m({}, {"*.example.com"}, "", {}), true},
      {"wildcard is not the apex", m({}, {"*.api.example.com"}, "", {}), false},
      {"other host", m({}, {"other.example.com"}, "", {}), false},
      {"path prefix", m({}, {}, "/v1/", {}), true},
      {"other path prefix", m({}, {}, "/v2/", {}), false},
      {"method", m({}, {}, "", {"GET", "POST"}), true},
      {"other method", m({}, {}, "", {"GET"}), false},
      {"all fields", m({"default/llm-route"}, {"api.example.com"}, "/v1/chat", {"POST"}), true},
      {"all but one field", m({"default/llm-route"}, {"api.example.com"}, "/v1/chat", {"PUT"}), false},
  };
  for (const Case& c : cases) {
    config::LocalRateLimit p = policy("p", 1, 1, milliseconds(1000));
    p.match = c.match;
    auto rl = LocalRateLimiter::build({p}, nullptr);
    RateLimitRequest req = request();
    req.authority = "API.example.com:8443";  // port and case do not matter
    req.path = "/v1/chat/completions?stream=true";
    rl->check(req, t0);
    EXPECT_EQ(rl->check(req, t0).limited, c.applies) << c.label;
  }
  // The path prefix ignores the query string; a VirtualService match name suffix is optional.
  config::LocalRateLimit p = policy("p", 1, 1, milliseconds(1000));
  p.match.path_prefix = "/v1/x";
  p.match.routes = {"default/vs/http0"};
  auto rl = LocalRateLimiter::build({p}, nullptr);
  RateLimitRequest req = request();
  req.route_name = "default/vs/http0.chat";
  req.route_resource = "vs";
  req.path = "/v1/y?a=/v1/x";
  EXPECT_EQ(allowed(*rl, req, t0, 3), 3);
  req.path = "/v1/x";
  EXPECT_EQ(allowed(*rl, req, t0, 3), 1);
}

TEST(LocalRateLimit, ShadowPoliciesCountButNeverRefuse) {
  config::LocalRateLimit shadow = policy("shadow", 1, 1, milliseconds(1000));
  shadow.enforce = false;
  auto rl = LocalRateLimiter::build({shadow, policy("real", 3, 1, milliseconds(1000))}, nullptr);
  const RateLimitRequest req = request();
  RateLimitResult r = rl->check(req, t0);
  EXPECT_FALSE(r.limited);
  EXPECT_FALSE(r.shadow_limited);
  EXPECT_EQ(r.allowed, 3u);
  EXPECT_EQ(r.policy, 1);  // headers come from the enforcing policy
  EXPECT_TRUE(r.send_headers);
  EXPECT_EQ(r.remaining, 2u);
  r = rl->check(req, t0);
  EXPECT_FALSE(r.limited);
  EXPECT_TRUE(r.shadow_limited);
  EXPECT_EQ(r.refused, 1u);
  EXPECT_EQ(r.allowed, 2u);
  r = rl->check(req, t0);
  EXPECT_FALSE(r.limited);
  r = rl->check(req, t0);
  EXPECT_TRUE(r.limited);
  EXPECT_EQ(r.policy, 1);
  EXPECT_EQ(r.refused, 3u);

  // Only shadow policies: reported, never sent as headers.
  rl = LocalRateLimiter::build({shadow}, nullptr);
  r = rl->check(req, t0);
  EXPECT_EQ(r.policy, 0);
  EXPECT_FALSE(r.send_headers);
  EXPECT_EQ(allowed(*rl, req, t0, 10), 10);
}

TEST(LocalRateLimit, MostRestrictivePolicyGivesTheHeadersAndTheFirstRefusalStops) {
  auto rl = LocalRateLimiter::build(
      {policy("wide", 100, 1, milliseconds(1000)), policy("narrow", 2, 1, milliseconds(1000)),
       policy("after", 100, 1, milliseconds(1000))},
      nullptr);
  const RateLimitRequest req = request();
  RateLimitResult r = rl->check(req, t0);
  EXPECT_EQ(r.policy, 1);
  EXPECT_EQ(r.limit, 2u);
  EXPECT_EQ(r.remaining, 1u);
  EXPECT_EQ(r.allowed, 7u);
  rl->check(req, t0);
  r = rl->check(req, t0);
  EXPECT_TRUE(r.limited);
  EXPECT_EQ(r.policy, 1);
  EXPECT_EQ(r.allowed, 1u);  // "wide" was charged, "after" was not evaluated
  EXPECT_EQ(r.refused, 2u);
  // "after" got exactly the two allowed requests: 98 left.
  rl = LocalRateLimiter::build({policy("after", 100, 1, milliseconds(1000))}, rl.get());
  EXPECT_EQ(rl->check(req, t0).remaining, 97u);
}

TEST(LocalRateLimit, RebuildKeepsUnchangedBucketsAndResetsChangedOnes) {
  config::LocalRateLimit keep = policy("keep", 2, 1, milliseconds(1000));
  config::LocalRateLimit change = policy("change", 2, 1, milliseconds(1000));
  config::LocalRateLimit keyed = policy("keyed", 1, 1, milliseconds(1000));
  keyed.key = config::RateLimitKey::SourceIp;
  auto v1 = LocalRateLimiter::build({keep, change, keyed}, nullptr);
  RateLimitRequest req = request();
  req.source_ip = "10.0.0.1";
  RateLimitRequest a = req;
  a.route_name = "a/b/c";
  for (int i = 0; i < 5; ++i) v1->check(req, t0);

  // Same settings (reordered, source location changed): buckets carry over, keys included.
  // A changed token bucket, and a new policy, start full.
  change.token_bucket.max_tokens = 3;
  keep.source.line = 42;
  auto v2 = LocalRateLimiter::build({change, keyed, keep, policy("new", 1, 1, milliseconds(1000))}, v1.get());
  ASSERT_EQ(v2->policy_names(), (std::vector<std::string>{"change", "keyed", "keep", "new"}));
  RateLimitResult r = v2->check(req, t0);
  EXPECT_TRUE(r.limited);
  EXPECT_EQ(r.policy, 1);  // "keyed" (carried, exhausted) after "change" (fresh) took a token
  EXPECT_EQ(r.allowed, 1u);
  req.source_ip = "10.0.0.2";
  r = v2->check(req, t0);
  EXPECT_TRUE(r.limited);
  EXPECT_EQ(r.policy, 2);  // "keep" carried its exhausted bucket
  // The old limiter, still used by in-flight requests, shares the carried state.
  EXPECT_TRUE(v1->check(req, t0).limited);

  // A renamed policy is a new one; a match change is a settings change.
  keep.name = "kept";
  auto v3 = LocalRateLimiter::build({keep}, v2.get());
  EXPECT_FALSE(v3->check(req, t0).limited);
  keep.match.methods = {"POST"};
  auto v4 = LocalRateLimiter::build({keep}, v3.get());
  EXPECT_EQ(allowed(*v4, req, t0, 5), 2);
}

}  // namespace
}  // namespace infergate::routing
