#include "bench/modelsim/lora_slots.hpp"

#include <gtest/gtest.h>

namespace modelsim {
namespace {

using R = LoraSlots::Result;

TEST(LoraSlots, LoadsOnceThenServesResident) {
  LoraSlots slots(2);
  EXPECT_EQ(slots.acquire("a"), R::kLoaded);
  EXPECT_EQ(slots.acquire("a"), R::kResident);
  EXPECT_EQ(slots.acquire("b"), R::kLoaded);
  EXPECT_EQ(slots.loads(), 2u);
  EXPECT_TRUE(slots.resident("a"));
  EXPECT_TRUE(slots.resident("b"));
}

TEST(LoraSlots, EvictsTheLeastRecentlyUsedIdleAdapter) {
  LoraSlots slots(2);
  slots.acquire("a");
  slots.acquire("b");
  slots.release("a");  // a idle first
  slots.release("b");  // then b
  EXPECT_EQ(slots.acquire("c"), R::kLoaded);
  EXPECT_FALSE(slots.resident("a"));
  EXPECT_TRUE(slots.resident("b"));
  EXPECT_EQ(slots.resident_names(), (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(slots.loads(), 3u);
  // b used again: now c is the older idle one... but c is busy, so b is not evicted for d.
  EXPECT_EQ(slots.acquire("b"), R::kResident);
  slots.release("b");
  EXPECT_EQ(slots.acquire("d"), R::kLoaded);  // only b is idle
  EXPECT_FALSE(slots.resident("b"));
  EXPECT_TRUE(slots.resident("c"));
}

TEST(LoraSlots, WaitsWhenEverySlotServesRunningRequests) {
  LoraSlots slots(1);
  EXPECT_EQ(slots.acquire("a"), R::kLoaded);
  EXPECT_FALSE(slots.can_acquire("b"));
  EXPECT_TRUE(slots.can_acquire("a"));
  EXPECT_EQ(slots.acquire("b"), R::kBusy);
  EXPECT_EQ(slots.loads(), 1u);
  slots.release("a");
  EXPECT_TRUE(slots.can_acquire("b"));
  EXPECT_EQ(slots.acquire("b"), R::kLoaded);
}

TEST(LoraSlots, UnloadDropsOnlyIdleAdapters) {
  LoraSlots slots(2);
  slots.acquire("a");
  slots.evict_if_idle("a");
  EXPECT_TRUE(slots.resident("a"));
  slots.release("a");
  slots.evict_if_idle("a");
  EXPECT_FALSE(slots.resident("a"));
}

}  // namespace
}  // namespace modelsim
