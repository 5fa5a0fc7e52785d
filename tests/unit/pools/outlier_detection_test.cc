// Passive outlier detection (Envoy's consecutive_5xx): ejection, its growing duration, the cap
// on the ejected share, and recovery. Time is passed in, never slept on.
#include "pools/outlier_detection.h"

#include <gtest/gtest.h>

#include "pools_test_util.h"

namespace infergate::pools {
namespace {

using testing::TestCluster;

constexpr int64_t kT0 = 1'000'000;

void fail(const Cluster& c, EndpointState& e, int times, int64_t now) {
  for (int i = 0; i < times; ++i) c.report_result(e, false, now);
}

TEST(OutlierDetection, DefaultsAreEnvoys) {
  OutlierDetection d;
  EXPECT_EQ(d.consecutive_failures, 5u);
  EXPECT_EQ(d.base_ejection_ms, 30'000);
  EXPECT_EQ(d.max_ejection_ms, 300'000);
  EXPECT_EQ(d.max_ejection_percent, 10u);
  EXPECT_EQ(d.interval_ms, 10'000);
}

TEST(OutlierDetection, EjectsOnTheFifthConsecutiveFailure) {
  TestCluster t(3);
  EndpointState& e = t.at(0);
  fail(t.cluster, e, 4, kT0);
  EXPECT_FALSE(e.ejected(kT0));
  fail(t.cluster, e, 1, kT0);
  EXPECT_TRUE(e.ejected(kT0));
  EXPECT_EQ(e.ejected_until_ms.load(), kT0 + 30'000);
  EXPECT_EQ(e.times_ejected.load(), 1u);
  EXPECT_EQ(e.failures.load(), 5u);
  EXPECT_EQ(e.total_requests.load(), 5u);
  EXPECT_EQ(t.cluster.available(kT0), 2u);
  // It comes back by itself when the time is up.
  EXPECT_FALSE(e.ejected(kT0 + 30'000));
  EXPECT_EQ(t.cluster.available(kT0 + 30'000), 3u);
}

TEST(OutlierDetection, ASuccessResetsTheStreak) {
  TestCluster t(3);
  EndpointState& e = t.at(0);
  fail(t.cluster, e, 4, kT0);
  t.cluster.report_result(e, true, kT0);
  fail(t.cluster, e, 4, kT0);
  EXPECT_FALSE(e.ejected(kT0));
  EXPECT_EQ(e.consecutive_failures.load(), 4u);
  EXPECT_EQ(e.failures.load(), 8u);
  EXPECT_EQ(e.total_requests.load(), 9u);
}

TEST(OutlierDetection, EjectionTimeGrowsWithEachEjectionUpToTheMax) {
  TestCluster t(2);
  t.cluster.outlier.max_ejection_percent = 100;
  EndpointState& e = t.at(0);
  int64_t now = kT0;
  for (uint32_t n = 1; n <= 12; ++n) {
    fail(t.cluster, e, 5, now);
    ASSERT_TRUE(e.ejected(now)) << n;
    EXPECT_EQ(e.times_ejected.load(), n);
    const int64_t expected = std::min<int64_t>(30'000 * n, 300'000);
    EXPECT_EQ(e.ejected_until_ms.load() - now, expected) << n;
    now = e.ejected_until_ms.load();  // fails again the moment it is back
  }
}

TEST(OutlierDetection, FailuresWhileEjectedDoNotExtendTheEjection) {
  TestCluster t(3);
  EndpointState& e = t.at(0);
  fail(t.cluster, e, 5, kT0);
  const int64_t until = e.ejected_until_ms.load();
  fail(t.cluster, e, 20, kT0 + 1000);  // requests that were in flight when it was ejected
  EXPECT_EQ(e.ejected_until_ms.load(), until);
  EXPECT_EQ(e.times_ejected.load(), 1u);
}

TEST(OutlierDetection, MultiplierDecaysAfterHealthyIntervals) {
  TestCluster t(2);
  t.cluster.outlier.max_ejection_percent = 100;
  EndpointState& e = t.at(0);
  fail(t.cluster, e, 5, kT0);  // 30 s
  int64_t back = e.ejected_until_ms.load();
  fail(t.cluster, e, 5, back);  // 60 s
  EXPECT_EQ(e.times_ejected.load(), 2u);
  back = e.ejected_until_ms.load();
  // Successes within one interval of the ejection's end change nothing.
  t.cluster.report_result(e, true, back + 9'999);
  EXPECT_EQ(e.times_ejected.load(), 2u);
  // One interval later: the multiplier drops by one.
  t.cluster.report_result(e, true, back + 10'000);
  EXPECT_EQ(e.times_ejected.load(), 1u);
  EXPECT_FALSE(e.ejected(back + 10'000));
  // Another interval of good behaviour: back to zero, and the next ejection is the base again.
  t.cluster.report_result(e, true, back + 20'000);
  EXPECT_EQ(e.times_ejected.load(), 0u);
  EXPECT_EQ(e.ejected_until_ms.load(), 0);
  fail(t.cluster, e, 5, back + 30'000);
  EXPECT_EQ(e.ejected_until_ms.load() - (back + 30'000), 30'000);
}

TEST(OutlierDetection, AtMostTenPercentEjectedButAlwaysOne) {
  TestCluster t(20);  // 10 % of 20 = 2
  for (size_t i = 0; i < 5; ++i) fail(t.cluster, t.at(i), 5, kT0);
  EXPECT_TRUE(t.at(0).ejected(kT0));
  EXPECT_TRUE(t.at(1).ejected(kT0));
  for (size_t i = 2; i < 5; ++i) EXPECT_FALSE(t.at(i).ejected(kT0)) << i;
  EXPECT_EQ(t.cluster.available(kT0), 18u);
  // A refused ejection happens as soon as there is room again: the streak is still counted.
  const int64_t later = kT0 + 30'000;
  EXPECT_EQ(t.at(2).consecutive_failures.load(), 5u);
  fail(t.cluster, t.at(2), 1, later);
  EXPECT_TRUE(t.at(2).ejected(later));

  TestCluster small(3);  // 10 % of 3 rounds to nothing, yet one may go
  for (size_t i = 0; i < 3; ++i) fail(small.cluster, small.at(i), 5, kT0);
  EXPECT_EQ(small.cluster.available(kT0), 2u);

  TestCluster single(1);  // even the only endpoint (no panic mode): pick() then finds none
  fail(single.cluster, single.at(0), 5, kT0);
  EXPECT_TRUE(single.at(0).ejected(kT0));
  EXPECT_EQ(single.cluster.pick(1, nullptr, kT0), nullptr);
}

TEST(OutlierDetection, MaxEjectionPercentRoundsUp) {
  TestCluster t(3);
  t.cluster.outlier.max_ejection_percent = 50;  // 1.5 of 3 -> 2
  for (size_t i = 0; i < 3; ++i) fail(t.cluster, t.at(i), 5, kT0);
  EXPECT_EQ(t.cluster.available(kT0), 1u);
}

TEST(OutlierDetection, CustomThreshold) {
  TestCluster t(2);
  t.cluster.outlier.consecutive_failures = 1;
  t.cluster.outlier.base_ejection_ms = 1000;
  t.cluster.report_result(t.at(1), false, kT0);
  EXPECT_EQ(t.at(1).ejected_until_ms.load(), kT0 + 1000);
}

TEST(OutlierDetection, EjectedEndpointIsNotPicked) {
  TestCluster t(2);
  fail(t.cluster, t.at(0), 5, kT0);
  for (uint64_t i = 0; i < 200; ++i)
    EXPECT_EQ(t.cluster.pick(testing::draw(i), nullptr, kT0 + 1), &t.at(1));
}

}  // namespace
}  // namespace infergate::pools
