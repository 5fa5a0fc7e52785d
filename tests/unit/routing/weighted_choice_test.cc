// Weighted backend choice: exact mapping of draws onto weights, even spread of the Weyl
// sequence, zero weights. All draws are deterministic, so the tolerances cannot flake.
#include "routing/weighted_choice.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <vector>

#include "routing_test_util.h"

namespace infergate::routing {
namespace {

using namespace testing;

constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

std::vector<uint64_t> cumulative(const std::vector<uint64_t>& weights) {
  std::vector<uint64_t> out;
  uint64_t sum = 0;
  for (uint64_t w : weights) out.push_back(sum += w);
  return out;
}

// How many of `n` draws of a WeightedSequence land on each backend.
std::vector<int> spread(const std::vector<uint64_t>& weights, int n, uint64_t seed = 0) {
  const auto cum = cumulative(weights);
  std::vector<int> counts(weights.size(), 0);
  WeightedSequence seq(seed);
  for (int i = 0; i < n; ++i) {
    size_t b = pick_weighted(cum, seq.next());
    EXPECT_LT(b, weights.size());
    if (b < weights.size()) ++counts[b];
  }
  return counts;
}

TEST(PickWeighted, NoBucketsOrAllZeroWeightsMeansNoBackend) {
  EXPECT_EQ(pick_weighted({}, 123), kNoBackend);
  const auto zeros = cumulative({0, 0, 0});
  for (uint64_t draw : {uint64_t{0}, uint64_t{1} << 63, kMax}) EXPECT_EQ(pick_weighted(zeros, draw), kNoBackend);
  const auto zero = cumulative({0});
  EXPECT_EQ(pick_weighted(zero, 42), kNoBackend);
}

TEST(PickWeighted, ZeroWeightBucketsAreNeverChosen) {
  const auto cum = cumulative({0, 5, 0, 5, 0});
  WeightedSequence seq(7);
  for (int i = 0; i < 10000; ++i) {
    size_t b = pick_weighted(cum, seq.next());
    ASSERT_TRUE(b == 1 || b == 3) << b;
  }
  EXPECT_EQ(pick_weighted(cum, 0), 1u);
  EXPECT_EQ(pick_weighted(cum, kMax), 3u);
}

TEST(PickWeighted, MapsTheDrawRangeExactlyOntoTheWeights) {
  // Weights 1:2 split [0, 2^64) at 2^64/3: draws just below go left, at or above go right.
  const auto cum = cumulative({1, 2});
  const uint64_t third = kMax / 3 + 1;  // ceil(2^64 / 3)
  EXPECT_EQ(pick_weighted(cum, 0), 0u);
  EXPECT_EQ(pick_weighted(cum, third - 1), 0u);
  EXPECT_EQ(pick_weighted(cum, third), 1u);
  EXPECT_EQ(pick_weighted(cum, kMax), 1u);
  // A single backend always wins, whatever its weight.
  EXPECT_EQ(pick_weighted(cumulative({1000000}), kMax), 0u);
  EXPECT_EQ(pick_weighted(cumulative({1}), 0), 0u);
}

TEST(PickWeighted, HugeTotalsDoNotOverflow) {
  const auto cum = cumulative({1000000, 1000000, 1000000, 1000000});
  EXPECT_EQ(pick_weighted(cum, kMax), 3u);
  EXPECT_EQ(pick_weighted(cum, kMax / 2), 1u);
  EXPECT_EQ(pick_weighted(cum, kMax / 2 + 1), 2u);
}

TEST(WeightedSequence, NinetyTenIsWithinHalfAPercentAfterAThousandRequests) {
  const auto counts = spread({90, 10}, 1000);
  EXPECT_NEAR(counts[0], 900, 5);
  EXPECT_NEAR(counts[1], 100, 5);
}

TEST(WeightedSequence, ThreeWaySplitIsEvenForAnySeed) {
  for (uint64_t seed : {uint64_t{0}, uint64_t{1}, uint64_t{0xDEADBEEF}, kMax}) {
    const auto counts = spread({50, 30, 20}, 10000, seed);
    EXPECT_NEAR(counts[0], 5000, 10) << seed;
    EXPECT_NEAR(counts[1], 3000, 10) << seed;
    EXPECT_NEAR(counts[2], 2000, 10) << seed;
  }
}

TEST(WeightedSequence, OnePercentCanaryGetsItsShareWithoutBursts) {
  const auto cum = cumulative({99, 1});
  WeightedSequence seq;
  int canary = 0;
  int gap_min = 1 << 30, last = -1;
  for (int i = 0; i < 100000; ++i) {
    if (pick_weighted(cum, seq.next()) != 1) continue;
    ++canary;
    if (last >= 0) gap_min = std::min(gap_min, i - last);
    last = i;
  }
  EXPECT_NEAR(canary, 1000, 3);
  // Canary requests are spread out, never back to back.
  EXPECT_GE(gap_min, 50);
}

TEST(WeightedSequence, NinetyTenNeverSendsTwoInARowToTheSmallSide) {
  const auto cum = cumulative({90, 10});
  WeightedSequence seq(12345);
  size_t previous = 0;
  int longest_big_run = 0, run = 0;
  for (int i = 0; i < 10000; ++i) {
    size_t b = pick_weighted(cum, seq.next());
    ASSERT_FALSE(b == 1 && previous == 1) << "at draw " << i;
    run = b == 0 ? run + 1 : 0;
    longest_big_run = std::max(longest_big_run, run);
    previous = b;
  }
  EXPECT_LE(longest_big_run, 15);
}

TEST(WeightedSequence, UniformHashDrawsAlsoFollowTheWeights) {
  // Route::pick_backend also takes hashes (e.g. of x-request-id): use splitmix64 as one.
  auto splitmix = [](uint64_t z) {
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  };
  const auto cum = cumulative({70, 20, 10});
  std::vector<int> counts(3, 0);
  for (uint64_t i = 0; i < 100000; ++i) ++counts[pick_weighted(cum, splitmix(i))];
  // Pseudo-random, not low-discrepancy: allow about 5 standard deviations.
  EXPECT_NEAR(counts[0], 70000, 750);
  EXPECT_NEAR(counts[1], 20000, 650);
  EXPECT_NEAR(counts[2], 10000, 500);
}

TEST(RoutePickBackend, UsesTheRuleWeightsAndReportsAllZero) {
  auto route = http_route("r", {rule({prefix("/a")}, {service("v1", 90), pool("p", 10)}),
                                rule({prefix("/zero")}, {service("v1", 0), service("v2", 0)}),
                                rule({prefix("/none")})});
  auto t = build(with_routes({route}));
  const Route* a = t->match(request("GET", "/a"), "");
  ASSERT_NE(a, nullptr);
  ASSERT_EQ(a->backends.size(), 2u);
  EXPECT_EQ(a->backends[0].cluster, "service/default/v1/80");
  EXPECT_EQ(a->backends[1].cluster, "inferencepool/default/p");
  EXPECT_EQ(a->total_weight, 100u);
  WeightedSequence seq;
  int v1 = 0;
  for (int i = 0; i < 1000; ++i) v1 += a->pick_backend(seq.next()) == 0 ? 1 : 0;
  EXPECT_NEAR(v1, 900, 5);

  const Route* zero = t->match(request("GET", "/zero"), "");
  ASSERT_NE(zero, nullptr);
  EXPECT_EQ(zero->total_weight, 0u);
  for (uint64_t d : {uint64_t{0}, uint64_t{1} << 40, kMax}) EXPECT_EQ(zero->pick_backend(d), Route::npos);

  const Route* none = t->match(request("GET", "/none"), "");
  ASSERT_NE(none, nullptr);
  EXPECT_TRUE(none->backends.empty());
  EXPECT_EQ(none->pick_backend(123), Route::npos);
}

}  // namespace
}  // namespace infergate::routing
