// Endpoint identity and the registry that keeps endpoint state across config reloads.
#include "pools/endpoint_state.h"

#include <gtest/gtest.h>

#include <memory>

namespace infergate::pools {
namespace {

TEST(EndpointKey, Ipv4HostnameAndIpv6) {
  EXPECT_EQ(endpoint_key("10.0.0.1", 8000), "10.0.0.1:8000");
  EXPECT_EQ(endpoint_key("model-0.llm.svc", 80), "model-0.llm.svc:80");
  EXPECT_EQ(endpoint_key("::1", 8000), "[::1]:8000");
  EXPECT_EQ(endpoint_key("fd00::2", 1), "[fd00::2]:1");
  EXPECT_EQ(endpoint_key("[::1]", 8000), "[::1]:8000");  // already bracketed: not twice
  EndpointState e("fd00::2", 9000);
  EXPECT_EQ(e.key(), "[fd00::2]:9000");
  EXPECT_EQ(&e.key(), &e.key());  // computed once, not per call
}

TEST(EndpointState, EjectedUntilIsExclusive) {
  EndpointState e;
  EXPECT_FALSE(e.ejected(0));
  e.ejected_until_ms = 1000;
  EXPECT_TRUE(e.ejected(999));
  EXPECT_FALSE(e.ejected(1000));
}

TEST(SteadyNow, NeverGoesBackwards) {
  int64_t last = steady_now_ms();
  for (int i = 0; i < 1000; ++i) {
    int64_t now = steady_now_ms();
    ASSERT_GE(now, last);
    last = now;
  }
}

TEST(EndpointRegistry, SameEndpointKeepsItsStateAcrossReloads) {
  EndpointRegistry reg;
  auto a = reg.get_or_create("10.0.0.1", 8000, "pod-a", {{"app", "m"}});
  a->active_requests = 3;
  a->times_ejected = 2;
  auto again = reg.get_or_create("10.0.0.1", 8000, "pod-a", {{"app", "m"}});
  EXPECT_EQ(again, a);
  EXPECT_EQ(again->active_requests.load(), 3);
  EXPECT_EQ(reg.find("10.0.0.1", 8000), a);
  EXPECT_EQ(reg.size(), 1u);
  // Another port of the same pod is another endpoint.
  auto other_port = reg.get_or_create("10.0.0.1", 8001, "pod-a", {{"app", "m"}});
  EXPECT_NE(other_port, a);
  EXPECT_EQ(reg.size(), 2u);
}

TEST(EndpointRegistry, ChangedDescriptionGetsAFreshStateAndTheOldOneLivesOn) {
  EndpointRegistry reg;
  auto v1 = reg.get_or_create("10.0.0.1", 8000, "pod", {{"version", "v1"}});
  v1->active_requests = 5;
  auto v2 = reg.get_or_create("10.0.0.1", 8000, "pod", {{"version", "v2"}});
  ASSERT_NE(v2, v1);
  EXPECT_EQ(v2->labels.at("version"), "v2");
  EXPECT_EQ(v2->active_requests.load(), 0);
  EXPECT_EQ(v1->labels.at("version"), "v1");  // untouched for older snapshots
  EXPECT_EQ(v1->active_requests.load(), 5);
  EXPECT_EQ(reg.find("10.0.0.1", 8000), v2);
  auto renamed = reg.get_or_create("10.0.0.1", 8000, "pod-renamed", {{"version", "v2"}});
  EXPECT_NE(renamed, v2);
  EXPECT_EQ(reg.size(), 1u);
}

TEST(EndpointRegistry, PruneDropsOnlyUnreferencedStates) {
  EndpointRegistry reg;
  auto kept = reg.get_or_create("10.0.0.1", 8000);
  reg.get_or_create("10.0.0.2", 8000);  // nobody holds it
  EXPECT_EQ(reg.prune(), 1u);
  EXPECT_EQ(reg.size(), 1u);
  EXPECT_EQ(reg.find("10.0.0.2", 8000), nullptr);
  EXPECT_EQ(reg.find("10.0.0.1", 8000), kept);
  kept.reset();
  EXPECT_EQ(reg.prune(), 1u);
  EXPECT_EQ(reg.size(), 0u);
  EXPECT_EQ(reg.prune(), 0u);
}

}  // namespace
}  // namespace infergate::pools
