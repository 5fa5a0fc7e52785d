// Many threads updating while others create series and scrape: totals must be
// exact, and (under ASan/TSan) no cell may move or be freed under a writer.

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "metrics/registry.h"

namespace infergate::metrics {
namespace {

TEST(Concurrency, ThreadsHammeringOneCounterGiveTheExactTotal) {
  constexpr unsigned kShards = 4;
  constexpr unsigned kThreads = 8;  // two threads per shard: shared shards must stay exact too
  constexpr uint64_t kIncs = 200000;
  Registry r(kShards);
  const Counter c = r.counter("hammer_total", "h");
  const Histogram h = r.histogram("hammer_seconds", "h", std::vector<double>{0.5, 1.5});
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      set_thread_shard(t % kShards);
      for (uint64_t i = 0; i < kIncs; ++i) {
        c.inc();
        h.observe(static_cast<double>(i % 2));  // 0 and 1: exact sums
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.value(), kThreads * kIncs);
  const Histogram::Snapshot s = h.snapshot();
  EXPECT_EQ(s.count, kThreads * kIncs);
  EXPECT_EQ(s.cumulative, (std::vector<uint64_t>{kThreads * kIncs / 2, kThreads * kIncs, kThreads * kIncs}));
  EXPECT_DOUBLE_EQ(s.sum, static_cast<double>(kThreads * kIncs / 2));
}

TEST(Concurrency, CreatingSeriesWhileWorkersIncrementAndScrapesRun) {
  constexpr unsigned kShards = 3;
  constexpr int kNewSeries = 3000;  // histograms of 20 buckets: dozens of new arena chunks
  Registry r(kShards);
  const Counter hot = r.counter("hot_total", "h");
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> done{0};
  std::vector<std::thread> workers;
  for (unsigned w = 1; w < kShards; ++w) {
    workers.emplace_back([&, w] {
      set_thread_shard(w);
      uint64_t n = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        hot.inc();
        ++n;
      }
      done.fetch_add(n);
    });
  }
  std::thread scraper([&] {
    while (!stop.load(std::memory_order_relaxed)) {
      const std::string text = r.prometheus_text();
      ASSERT_NE(text.find("hot_total"), std::string::npos);
      (void)r.envoy_stats_text();
    }
  });

  std::vector<Histogram> created;
  const std::vector<double> bounds = exponential_buckets(0.001, 2, 20);
  for (int i = 0; i < kNewSeries; ++i) {
    created.push_back(r.histogram("made_seconds", "h", bounds, {{"i", std::to_string(i)}}));
    created.back().observe(0.5);
    r.counter("made_total", "h", {{"i", std::to_string(i)}}).inc(static_cast<uint64_t>(i));
  }
  stop.store(true);
  for (auto& t : workers) t.join();
  scraper.join();

  EXPECT_EQ(hot.value(), done.load());
  for (int i = 0; i < kNewSeries; ++i) {
    ASSERT_EQ(created[static_cast<size_t>(i)].snapshot().count, 1u) << i;
    ASSERT_EQ(r.counter("made_total", "h", {{"i", std::to_string(i)}}).value(), static_cast<uint64_t>(i));
  }
}

TEST(Concurrency, ConcurrentCreatorsOfTheSameSeriesShareIt) {
  Registry r(4);
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      set_thread_shard(t);
      for (int i = 0; i < 1000; ++i) r.counter("shared_total", "h", {{"k", std::to_string(i % 10)}}).inc();
    });
  }
  for (auto& t : threads) t.join();
  uint64_t total = 0;
  for (int k = 0; k < 10; ++k) total += r.counter("shared_total", "h", {{"k", std::to_string(k)}}).value();
  EXPECT_EQ(total, 4000u);
}

}  // namespace
}  // namespace infergate::metrics
