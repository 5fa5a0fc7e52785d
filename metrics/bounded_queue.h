#pragma once

// Bounded lock-free multi-producer queue (D. Vyukov's array queue), internal to
// metrics/. try_push never blocks and never allocates: it claims a slot with one
// CAS and move-constructs the value in place; a full queue refuses at once.
// Sequence numbers live apart from the value storage so that a large capacity
// costs memory only as slots are first used.
//
// Slot sequence states for ticket `pos` (doubled, unlike Vyukov's pos / pos+1, because
// with capacity 1 "filled for pos" = pos+1 would equal "free for the next lap" =
// pos+capacity: a full queue then accepted a second entry over the live one and
// try_pop spun for ever):
//   2*pos      free, waiting for the producer of ticket pos
//   2*pos + 1  holds the entry of ticket pos

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <stdexcept>

namespace infergate::metrics::detail {

template <class T>
class BoundedQueue {
 public:
  explicit BoundedQueue(std::size_t capacity)
      : capacity_(checked_capacity(capacity)),
        seq_(std::make_unique<std::atomic<uint64_t>[]>(capacity)),
        storage_(static_cast<T*>(::operator new(capacity * sizeof(T), std::align_val_t{alignof(T)}))) {
    for (std::size_t i = 0; i < capacity; ++i) seq_[i].store(free_seq(i), std::memory_order_relaxed);
  }
  ~BoundedQueue() {
    T discard;
    while (try_pop(discard)) {
    }
    ::operator delete(storage_, std::align_val_t{alignof(T)});
  }
  BoundedQueue(const BoundedQueue&) = delete;
  BoundedQueue& operator=(const BoundedQueue&) = delete;

  bool try_push(T&& v) {
    uint64_t pos = enqueue_pos_.load(std::memory_order_relaxed);
    std::size_t idx;
    for (;;) {
      idx = static_cast<std::size_t>(pos % capacity_);
      const uint64_t seq = seq_[idx].load(std::memory_order_acquire);
      const auto dif = static_cast<int64_t>(seq - free_seq(pos));
      if (dif == 0) {
        if (enqueue_pos_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) break;
      } else if (dif < 0) {
        return false;  // the slot still holds the entry from one lap ago: full
      } else {
        pos = enqueue_pos_.load(std::memory_order_relaxed);
      }
    }
    new (storage_ + idx) T(std::move(v));
    seq_[idx].store(full_seq(pos), std::memory_order_release);
    return true;
  }

  bool try_pop(T& out) {
    uint64_t pos = dequeue_pos_.load(std::memory_order_relaxed);
    std::size_t idx;
    for (;;) {
      idx = static_cast<std::size_t>(pos % capacity_);
      const uint64_t seq = seq_[idx].load(std::memory_order_acquire);
      const auto dif = static_cast<int64_t>(seq - full_seq(pos));
      if (dif == 0) {
        if (dequeue_pos_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) break;
      } else if (dif < 0) {
        return false;  // empty (or the producer of this slot has not finished)
      } else {
        pos = dequeue_pos_.load(std::memory_order_relaxed);
      }
    }
    T* slot = storage_ + idx;
    out = std::move(*slot);
    slot->~T();
    seq_[idx].store(free_seq(pos + capacity_), std::memory_order_release);
    return true;
  }

  // Entries pushed and not yet popped, give or take the operations in flight.
  std::size_t size_approx() const {
    const uint64_t in = enqueue_pos_.load(std::memory_order_relaxed);
    const uint64_t out = dequeue_pos_.load(std::memory_order_relaxed);
    return in > out ? static_cast<std::size_t>(in - out) : 0;
  }

  // Whether the next pop would find an entry.
  bool ready() const {
    const uint64_t pos = dequeue_pos_.load(std::memory_order_relaxed);
    return seq_[pos % capacity_].load(std::memory_order_acquire) == full_seq(pos);
  }

 private:
  static constexpr uint64_t free_seq(uint64_t pos) { return 2 * pos; }
  static constexpr uint64_t full_seq(uint64_t pos) { return 2 * pos + 1; }

  static std::size_t checked_capacity(std::size_t c) {
    if (c == 0) throw std::invalid_argument("BoundedQueue: capacity must be at least 1");
    return c;
  }

  const std::size_t capacity_;
  std::unique_ptr<std::atomic<uint64_t>[]> seq_;
  T* storage_;
  alignas(64) std::atomic<uint64_t> enqueue_pos_{0};
  alignas(64) std::atomic<uint64_t> dequeue_pos_{0};
};

}  // namespace infergate::metrics::detail
