#include "metrics/bounded_queue.h"

#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace infergate::metrics::detail {
namespace {

TEST(BoundedQueue, FifoWithExactCapacityAcrossManyLaps) {
  BoundedQueue<std::string> q(3);  // not a power of two on purpose
  int next_in = 0, next_out = 0;
  for (int lap = 0; lap < 100; ++lap) {
    while (true) {
      std::string v = std::to_string(next_in);
      if (!q.try_push(std::move(v))) {
        EXPECT_EQ(v, std::to_string(next_in)) << "a refused value must not be moved from";
        break;
      }
      ++next_in;
    }
    EXPECT_EQ(next_in - next_out, 3);
    std::string out;
    ASSERT_TRUE(q.ready());
    ASSERT_TRUE(q.try_pop(out));
    EXPECT_EQ(out, std::to_string(next_out++));
    if (lap % 2 == 0) {
      ASSERT_TRUE(q.try_pop(out));
      EXPECT_EQ(out, std::to_string(next_out++));
    }
  }
  std::string out;
  while (q.try_pop(out)) EXPECT_EQ(out, std::to_string(next_out++));
  EXPECT_EQ(next_out, next_in);
  EXPECT_FALSE(q.ready());
}

// Capacity 1 is the corner where a slot's "holds ticket n" and "free for ticket n+1"
// states must still differ: the second push is refused, the entry survives intact.
TEST(BoundedQueue, CapacityOneHoldsExactlyOne) {
  BoundedQueue<std::string> q(1);
  std::string out;
  EXPECT_FALSE(q.ready());
  EXPECT_FALSE(q.try_pop(out));
  for (int lap = 0; lap < 5; ++lap) {
    std::string first = "first-" + std::to_string(lap);
    EXPECT_TRUE(q.try_push(std::move(first)));
    EXPECT_TRUE(q.ready());
    EXPECT_FALSE(q.try_push(std::string("second")));
    ASSERT_TRUE(q.try_pop(out));
    EXPECT_EQ(out, "first-" + std::to_string(lap));
    EXPECT_FALSE(q.ready());
    EXPECT_FALSE(q.try_pop(out));
  }
}

TEST(BoundedQueue, ZeroCapacityIsRejected) {
  EXPECT_THROW(BoundedQueue<int>(0), std::invalid_argument);
}

TEST(BoundedQueue, DestroysWhatIsLeft) {
  auto tracker = std::make_shared<int>(0);
  {
    BoundedQueue<std::shared_ptr<int>> q(8);
    for (int i = 0; i < 5; ++i) {
      auto copy = tracker;
      ASSERT_TRUE(q.try_push(std::move(copy)));
    }
    EXPECT_EQ(tracker.use_count(), 6);
  }
  EXPECT_EQ(tracker.use_count(), 1);
}

TEST(BoundedQueue, ManyProducersOneConsumerLoseNothing) {
  constexpr int kProducers = 4, kEach = 50000;
  BoundedQueue<int> q(64);
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      for (int i = 0; i < kEach; ++i) {
        int v = p * kEach + i;
        while (!q.try_push(std::move(v))) std::this_thread::yield();
      }
    });
  }
  std::vector<int> last(kProducers, -1);
  int received = 0, v = 0;
  while (received < kProducers * kEach) {
    if (!q.try_pop(v)) {
      std::this_thread::yield();
      continue;
    }
    const int p = v / kEach, i = v % kEach;
    ASSERT_EQ(i, last[static_cast<size_t>(p)] + 1) << "per-producer order";
    last[static_cast<size_t>(p)] = i;
    ++received;
  }
  for (auto& t : producers) t.join();
  EXPECT_FALSE(q.try_pop(v));
}

}  // namespace
}  // namespace infergate::metrics::detail
