#include "bench/modelsim/scheduler.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace modelsim {
namespace {

TEST(Scheduler, QueuesBeyondMaxRunningAndAdmitsFifo) {
  Scheduler scheduler(2, std::make_unique<TokenCountKvModel>(1000));
  const KvRequest r{"prompt", 10, 40};
  EXPECT_TRUE(scheduler.try_admit(r));
  EXPECT_TRUE(scheduler.admit_or_wait(r, [] { FAIL() << "admitted at once"; }));
  EXPECT_FALSE(scheduler.try_admit(r));
  std::vector<int> order;
  EXPECT_FALSE(scheduler.admit_or_wait(r, [&] { order.push_back(1); }));
  EXPECT_FALSE(scheduler.admit_or_wait(r, [&] { order.push_back(2); }));
  auto s = scheduler.snapshot();
  EXPECT_EQ(s.running, 2u);
  EXPECT_EQ(s.waiting, 2u);
  EXPECT_DOUBLE_EQ(s.kv_cache_usage, 0.1);

  scheduler.release(r);
  EXPECT_EQ(order, std::vector<int>{1});
  scheduler.release(r);
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
  s = scheduler.snapshot();
  EXPECT_EQ(s.running, 2u);
  EXPECT_EQ(s.waiting, 0u);
  scheduler.release(r);
  scheduler.release(r);
  s = scheduler.snapshot();
  EXPECT_EQ(s.running, 0u);
  EXPECT_DOUBLE_EQ(s.kv_cache_usage, 0.0);
}

TEST(Scheduler, CountersAccumulate) {
  Scheduler scheduler(1, std::make_unique<TokenCountKvModel>());
  scheduler.add_prompt_tokens(5);
  scheduler.add_generation_tokens(3);
  scheduler.add_generation_tokens(1);
  scheduler.add_success();
  const auto s = scheduler.snapshot();
  EXPECT_EQ(s.prompt_tokens, 5u);
  EXPECT_EQ(s.generation_tokens, 4u);
  EXPECT_EQ(s.request_success, 1u);
}

TEST(TokenCountKvModel, UsageIsReservedOverCapacityClamped) {
  TokenCountKvModel kv(100);
  kv.on_admit({"", 30, 20});
  EXPECT_DOUBLE_EQ(kv.usage(), 0.5);
  kv.on_admit({"", 100, 0});
  EXPECT_DOUBLE_EQ(kv.usage(), 1.0);
  kv.on_release({"", 100, 0});
  kv.on_release({"", 30, 20});
  EXPECT_DOUBLE_EQ(kv.usage(), 0.0);
}

}  // namespace
}  // namespace modelsim
