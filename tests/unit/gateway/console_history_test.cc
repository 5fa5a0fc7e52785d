// GET /versions' figures (gateway/admin/console_history.h): windowed rates, shares, error rates
// and quantiles from cumulative readings, nulls where a window has no data, the 15-minute
// bound, and the console's static files baked into the binary.
#include <gtest/gtest.h>

#include "gateway/admin/console_assets.h"
#include "gateway/admin/console_history.h"

namespace infergate::gateway {
namespace {

using Totals = ConsoleHistory::Totals;

rollout::Buckets buckets(std::vector<uint64_t> counts) {
  rollout::Buckets b;
  b.bounds = {0.01, 0.1, 1.0};
  b.counts = std::move(counts);
  return b;
}

Totals totals(uint64_t requests, uint64_t errors, uint64_t fast, uint64_t tokens) {
  Totals t;
  t.v.requests = requests;
  t.v.errors = errors;
  t.v.duration = buckets({fast, requests - fast, 0, 0});
  t.v.ttft = buckets({requests, 0, 0, 0});
  t.v.tpot = buckets({0, 0, 0, 0});
  t.output_tokens = tokens;
  return t;
}

const ConsoleHistory::Key kStable{"default/route", "llm", "llm"};
const ConsoleHistory::Key kCanary{"default/route", "llm-v2", "llm-v2"};

TEST(ConsoleHistory, RatesSharesAndQuantilesOverTheWindow) {
  ConsoleHistory h;
  const std::map<std::pair<std::string, std::string>, double> weights = {{{"default/route", "llm"}, 75.0},
                                                                        {{"default/route", "llm-v2"}, 25.0}};
  // 1 s apart: stable +30 req/s, canary +10 req/s with 1 error a second, 5 tokens per request.
  for (int i = 0; i <= 5; ++i) {
    const uint64_t n = static_cast<uint64_t>(i);
    h.add_sample(1000 * (i + 1), {{kStable, totals(30 * n, 0, 30 * n, 150 * n)}, {kCanary, totals(10 * n, n, 0, 50 * n)}},
                 weights);
  }
  const auto j = h.to_json(0);
  ASSERT_EQ(j["versions"].size(), 2u);
  const auto& stable = j["versions"][0];
  const auto& canary = j["versions"][1];
  EXPECT_EQ(stable["backend"], "llm");
  EXPECT_DOUBLE_EQ(stable["last"]["rps"].get<double>(), 30.0);
  EXPECT_DOUBLE_EQ(stable["last"]["share"].get<double>(), 0.75);
  EXPECT_DOUBLE_EQ(stable["last"]["error_rate"].get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(stable["last"]["weight"].get<double>(), 75.0);
  EXPECT_DOUBLE_EQ(stable["last"]["output_tokens_per_second"].get<double>(), 150.0);
  EXPECT_LE(stable["last"]["p99_seconds"].get<double>(), 0.01);
  EXPECT_DOUBLE_EQ(canary["last"]["rps"].get<double>(), 10.0);
  EXPECT_DOUBLE_EQ(canary["last"]["share"].get<double>(), 0.25);
  EXPECT_DOUBLE_EQ(canary["last"]["error_rate"].get<double>(), 0.1);
  EXPECT_GT(canary["last"]["p50_seconds"].get<double>(), 0.01);
  EXPECT_TRUE(canary["last"]["tpot_p90_seconds"].is_null());  // no streamed answer
  EXPECT_EQ(canary["requests_total"], 50);
  // The first reading has no window yet: rates 0, quantiles null.
  EXPECT_EQ(canary["points"]["t"].size(), 6u);
  EXPECT_TRUE(canary["points"]["error_rate"][0].is_null());
  EXPECT_EQ(j["window_ms"], 5000);
  // ?since= gives only newer points.
  EXPECT_EQ(h.to_json(4000)["versions"][0]["points"]["t"].size(), 2u);
}

TEST(ConsoleHistory, KeepsFifteenMinutesAndDropsVersionsThatAgedOut) {
  ConsoleHistory h;
  for (int i = 0; i < 1000; ++i) h.add_sample(1000 * (i + 1), {{kStable, totals(i, 0, i, 0)}}, {});
  EXPECT_EQ(h.to_json(0)["versions"][0]["points"]["t"].size(), ConsoleHistory::kPoints);
  // The stable version leaves the config: its points stay until they are 15 minutes old.
  for (int i = 1000; i < 1000 + 901; ++i) h.add_sample(1000 * (i + 1), {{kCanary, totals(0, 0, 0, 0)}}, {});
  const auto j = h.to_json(0);
  ASSERT_EQ(j["versions"].size(), 1u);
  EXPECT_EQ(j["versions"][0]["backend"], "llm-v2");
}

TEST(ConsoleHistory, KeepsAtMost256Series) {
  ConsoleHistory h;
  std::map<ConsoleHistory::Key, Totals> many;
  for (int i = 0; i < 300; ++i) many[{"default/r" + std::to_string(1000 + i), "b", "v"}] = totals(0, 0, 0, 0);
  h.add_sample(1000, many, {});
  h.add_sample(2000, many, {});
  EXPECT_EQ(h.to_json(0)["versions"].size(), 256u);
}

TEST(ConsoleAssets, ThePageAndItsFilesAreBakedIn) {
  ASSERT_EQ(console_assets().size(), 3u);
  EXPECT_EQ(console_assets()[0].path, "/console/index.html");
  EXPECT_NE(console_assets()[0].body.find("/console/console.js"), std::string_view::npos);
  for (const auto& a : console_assets()) EXPECT_GT(a.body.size(), 100u) << a.path;
  EXPECT_TRUE(is_console_asset("/console"));
  EXPECT_TRUE(is_console_asset("/console/console.js"));
  EXPECT_FALSE(is_console_asset("/console/../weights"));
  EXPECT_FALSE(is_console_asset("/weights"));
}

}  // namespace
}  // namespace infergate::gateway
