// Endpoint choice inside a cluster: least-request over two uniform choices, skipping
// unhealthy, ejected and excluded endpoints.
#include <gtest/gtest.h>

#include <vector>

#include "pools_test_util.h"

namespace infergate::pools {
namespace {

using testing::draw;
using testing::TestCluster;

constexpr int64_t kNow = 1'000'000;

std::vector<int> histogram(TestCluster& t, int n, const EndpointState* exclude = nullptr) {
  std::vector<int> counts(t.cluster.endpoints.size() + 1, 0);
  for (int i = 0; i < n; ++i)
    ++counts[t.index_of(t.cluster.pick(draw(static_cast<uint64_t>(i)), exclude, kNow))];
  return counts;  // last slot: nullptr
}

TEST(ClusterPick, EmptyClusterHasNoEndpoint) {
  Cluster c;
  EXPECT_EQ(c.pick(1, nullptr, kNow), nullptr);
  EXPECT_EQ(c.available(kNow), 0u);
}

TEST(ClusterPick, EqualLoadSpreadsEvenly) {
  TestCluster t(4);
  const auto counts = histogram(t, 40000);
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(counts[static_cast<size_t>(i)], 10000, 400) << i;
  EXPECT_EQ(counts[4], 0);
}

TEST(ClusterPick, NeverPicksUnhealthyOrEjected) {
  TestCluster t(4);
  t.at(1).healthy = false;
  t.at(2).ejected_until_ms = kNow + 1;
  EXPECT_EQ(t.cluster.available(kNow), 2u);
  const auto counts = histogram(t, 20000);
  EXPECT_EQ(counts[1], 0);
  EXPECT_EQ(counts[2], 0);
  EXPECT_EQ(counts[0] + counts[3], 20000);
  // The ejection ends at ejected_until_ms exactly.
  EXPECT_EQ(t.cluster.available(kNow + 1), 3u);
}

// With one endpoint out, the rest share its traffic equally: probing forward from a random
// slot would double the load of the ejected endpoint's neighbour.
TEST(ClusterPick, RemainingEndpointsShareAnEjectedOnesTrafficEqually) {
  TestCluster t(3);
  t.at(0).ejected_until_ms = kNow + 1000;
  const auto counts = histogram(t, 30000);
  EXPECT_EQ(counts[0], 0);
  EXPECT_NEAR(counts[1], 15000, 500);
  EXPECT_NEAR(counts[2], 15000, 500);
}

TEST(ClusterPick, LessLoadedOfTwoChoicesWins) {
  TestCluster t(2);
  t.at(0).active_requests = 10;
  t.at(1).active_requests = 2;
  // With two endpoints both are always the two choices: the less loaded always wins.
  const auto counts = histogram(t, 1000);
  EXPECT_EQ(counts[1], 1000);
}

TEST(ClusterPick, AnOverloadedEndpointIsNeverChosenWhileOthersAreIdle) {
  TestCluster t(5);
  t.at(3).active_requests = 100;
  const auto counts = histogram(t, 50000);
  // The two choices are always distinct endpoints, so the busy one loses every comparison.
  EXPECT_EQ(counts[3], 0);
  for (size_t i : {0u, 1u, 2u, 4u}) EXPECT_NEAR(counts[i], 12500, 600) << i;
}

TEST(ClusterPick, ExcludedEndpointIsAvoidedWhileAnotherExists) {
  TestCluster t(3);
  const EndpointState* failed = &t.at(1);
  const auto counts = histogram(t, 10000, failed);
  EXPECT_EQ(counts[1], 0);
  EXPECT_NEAR(counts[0], 5000, 300);
  EXPECT_NEAR(counts[2], 5000, 300);
  // Only the excluded one is left: a retry on it beats no retry at all.
  t.at(0).healthy = false;
  t.at(2).healthy = false;
  EXPECT_EQ(t.cluster.pick(42, failed, kNow), failed);
  // ... unless it is not eligible itself.
  t.at(1).ejected_until_ms = kNow + 1;
  EXPECT_EQ(t.cluster.pick(42, failed, kNow), nullptr);
}

TEST(ClusterPick, NothingEligibleMeansNoEndpoint) {
  TestCluster t(3);
  for (size_t i = 0; i < 3; ++i) t.at(i).healthy = false;
  EXPECT_EQ(t.cluster.pick(7, nullptr, kNow), nullptr);
  EXPECT_EQ(t.cluster.available(kNow), 0u);
}

TEST(ClusterPick, SingleEndpoint) {
  TestCluster t(1);
  for (uint64_t i = 0; i < 100; ++i) EXPECT_EQ(t.cluster.pick(draw(i), nullptr, kNow), &t.at(0));
  EXPECT_EQ(t.cluster.pick(1, &t.at(0), kNow), &t.at(0));
}

TEST(ClusterPick, SameDrawSameChoice) {
  TestCluster t(8);
  for (uint64_t i = 0; i < 100; ++i)
    EXPECT_EQ(t.cluster.pick(draw(i), nullptr, kNow), t.cluster.pick(draw(i), nullptr, kNow));
}

}  // namespace
}  // namespace infergate::pools
