#include "metrics/handles.h"

#include <utility>

#include "metrics/registry_state.h"

namespace infergate::metrics {
namespace {

uint64_t sum_shards(const detail::Cell* cell0, unsigned shards, std::size_t offset) {
  uint64_t total = 0;
  for (unsigned s = 0; s < shards; ++s) {
    total += cell0[static_cast<std::size_t>(s) * detail::kChunkSlots + offset].load(std::memory_order_relaxed);
  }
  return total;
}

double sum_shards_double(const detail::Cell* cell0, unsigned shards, std::size_t offset) {
  double total = 0;
  for (unsigned s = 0; s < shards; ++s) {
    total += std::bit_cast<double>(
        cell0[static_cast<std::size_t>(s) * detail::kChunkSlots + offset].load(std::memory_order_relaxed));
  }
  return total;
}

// Gauge shard cells hold int64 deltas in two's complement; the wrapped unsigned
// sum converts back exactly.
int64_t gauge_deltas(const detail::Cell* cell0, unsigned shards) {
  return static_cast<int64_t>(sum_shards(cell0, shards, 0));
}

detail::HistogramTotals merge_histogram(const detail::Cell* cell0, unsigned shards, std::size_t nbounds) {
  detail::HistogramTotals t;
  t.cumulative.reserve(nbounds + 1);
  uint64_t running = 0;
  for (std::size_t b = 0; b <= nbounds; ++b) {
    running += sum_shards(cell0, shards, b);
    t.cumulative.push_back(running);
  }
  t.sum = sum_shards_double(cell0, shards, nbounds + 1);
  return t;
}

}  // namespace

uint64_t Counter::value() const { return cell0_ == nullptr ? 0 : sum_shards(cell0_, shards_, 0); }

void Gauge::set(double v) const {
  if (cell0_ == nullptr) return;
  base_->store(v - static_cast<double>(gauge_deltas(cell0_, shards_)), std::memory_order_relaxed);
}

double Gauge::value() const {
  if (cell0_ == nullptr) return 0;
  return base_->load(std::memory_order_relaxed) + static_cast<double>(gauge_deltas(cell0_, shards_));
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot snap;
  if (cell0_ == nullptr) return snap;
  detail::HistogramTotals t = merge_histogram(cell0_, shards_, bounds_->size());
  snap.bounds = *bounds_;
  snap.count = t.cumulative.back();
  snap.cumulative = std::move(t.cumulative);
  snap.sum = t.sum;
  return snap;
}

namespace detail {

uint64_t read_counter(const RegistryState& st, const Series& s) { return sum_shards(s.cell0, st.shards, 0); }

double read_gauge(const RegistryState& st, const Series& s) {
  return s.gauge_base.load(std::memory_order_relaxed) + static_cast<double>(gauge_deltas(s.cell0, st.shards));
}

HistogramTotals read_histogram(const RegistryState& st, const Family& f, const Series& s) {
  return merge_histogram(s.cell0, st.shards, f.bounds.size());
}

}  // namespace detail
}  // namespace infergate::metrics
