#pragma once

// Copyable handles to one series. They are what the hot path holds: an update is
// a relaxed atomic add on a cell of the calling thread's shard, with no lock, no
// allocation and no lookup. Handles come from Registry and must not outlive it.
// A default-constructed handle is unbound: updates do nothing, reads return 0.

#include <algorithm>
#include <atomic>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "metrics/thread_shard.h"

namespace infergate::metrics {

class Registry;

namespace detail {

using Cell = std::atomic<uint64_t>;

// Cells per shard per arena chunk. Shard s of a series lives at
// cell0 + s * kChunkSlots: all shards of a chunk are one allocation, each shard's
// part starting on its own cache line.
inline constexpr std::size_t kChunkSlots = 1024;

inline Cell* shard_base(Cell* cell0, unsigned shards) {
  unsigned s = t_shard;
  if (s >= shards) s = 0;
  return cell0 + static_cast<std::size_t>(s) * kChunkSlots;
}

inline void add_double(Cell& cell, double v) {
  uint64_t old = cell.load(std::memory_order_relaxed);
  while (!cell.compare_exchange_weak(old, std::bit_cast<uint64_t>(std::bit_cast<double>(old) + v),
                                     std::memory_order_relaxed)) {
  }
}

}  // namespace detail

class Counter {
 public:
  Counter() = default;
  void inc(uint64_t n = 1) const {
    if (cell0_ != nullptr) detail::shard_base(cell0_, shards_)->fetch_add(n, std::memory_order_relaxed);
  }
  uint64_t value() const;  // merged over shards
  bool bound() const { return cell0_ != nullptr; }

 private:
  friend class Registry;
  Counter(detail::Cell* cell0, unsigned shards) : cell0_(cell0), shards_(shards) {}
  detail::Cell* cell0_ = nullptr;
  unsigned shards_ = 0;
};

class Gauge {
 public:
  Gauge() = default;
  void add(int64_t d) const {
    if (cell0_ != nullptr)
      detail::shard_base(cell0_, shards_)->fetch_add(static_cast<uint64_t>(d), std::memory_order_relaxed);
  }
  void sub(int64_t d) const { add(-d); }
  // For gauges with one writer (the control thread), e.g. pool KV utilisation.
  // Shard deltas added concurrently with set() may be lost; add/sub after set()
  // apply on top of the value set.
  void set(double v) const;
  double value() const;  // merged over shards
  bool bound() const { return cell0_ != nullptr; }

 private:
  friend class Registry;
  Gauge(detail::Cell* cell0, unsigned shards, std::atomic<double>* base)
      : cell0_(cell0), shards_(shards), base_(base) {}
  detail::Cell* cell0_ = nullptr;
  unsigned shards_ = 0;
  std::atomic<double>* base_ = nullptr;
};

class Histogram {
 public:
  struct Snapshot {
    std::vector<double> bounds;        // finite upper bounds, ascending; +Inf is implied
    std::vector<uint64_t> cumulative;  // bounds.size() + 1 entries, the last is +Inf
    uint64_t count = 0;
    double sum = 0;
  };

  Histogram() = default;
  // v in the unit of the family's buckets; bucket i counts v <= bounds[i]. NaN is
  // ignored so that one bad sample cannot poison the sum forever.
  void observe(double v) const {
    if (cell0_ == nullptr || std::isnan(v)) return;
    const std::vector<double>& b = *bounds_;
    const auto bucket = static_cast<std::size_t>(std::lower_bound(b.begin(), b.end(), v) - b.begin());
    detail::Cell* base = detail::shard_base(cell0_, shards_);
    base[bucket].fetch_add(1, std::memory_order_relaxed);
    detail::add_double(base[b.size() + 1], v);
  }
  Snapshot snapshot() const;  // merged over shards
  bool bound() const { return cell0_ != nullptr; }

 private:
  friend class Registry;
  // Cell layout per shard: bounds.size() finite buckets, the +Inf bucket, then the
  // sum as the bits of a double. The count is the sum of the buckets.
  Histogram(detail::Cell* cell0, unsigned shards, const std::vector<double>* bounds)
      : cell0_(cell0), shards_(shards), bounds_(bounds) {}
  detail::Cell* cell0_ = nullptr;
  unsigned shards_ = 0;
  const std::vector<double>* bounds_ = nullptr;
};

}  // namespace infergate::metrics
