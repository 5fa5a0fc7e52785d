#pragma once

// The registry's families and series, internal to metrics/: shared by series
// creation (registry.cc) and the exposition formats that render them.

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "metrics/cell_arena.h"
#include "metrics/labels.h"

namespace infergate::metrics::detail {

enum class MetricType { Counter, Gauge, Histogram };

struct Series {
  Labels labels;           // sorted by name
  std::string label_text;  // a="x",b="y" escaped for the text formats, no braces
  std::string envoy_name;  // empty: none
  Cell* cell0 = nullptr;
  std::atomic<double> gauge_base{0};  // gauges: what set() stored, less the shard deltas
};

struct Family {
  std::string name;
  std::string help;
  MetricType type = MetricType::Counter;
  std::vector<double> bounds;  // histograms only
  std::vector<std::string> le_labels;  // histograms: `le="<bound>"` per bound, then `le="+Inf"`
  bool sparse = false;  // series at 0 (histograms: with no observation) are left out of every exposition
  std::map<Labels, std::unique_ptr<Series>> series;
};

struct RegistryState {
  explicit RegistryState(unsigned n) : shards(n), arena(n) {}

  const unsigned shards;
  mutable std::mutex mu;  // guards everything below; never taken on the hot path
  CellArena arena;
  std::map<std::string, std::unique_ptr<Family>, std::less<>> families;
  // Names each format's families render to, so that e.g. counter "x_count"
  // cannot sit next to histogram "x". Text 0.0.4: sample names. OpenMetrics:
  // family and sample names, mapped to the OpenMetrics family that owns them;
  // counters "x" and "x_total" share OpenMetrics family "x" and are rendered in it
  // together (Envoy exports both envoy_cluster_upstream_rq and ..._total).
  std::set<std::string, std::less<>> prometheus_samples;
  std::map<std::string, std::pair<MetricType, std::string>, std::less<>> openmetrics_names;
  std::set<std::string, std::less<>> envoy_names;
  mutable std::size_t last_text_size = 0;  // of the last exposition: the next one reserves it
};

// Merged reads of one series, under the registry mutex.
uint64_t read_counter(const RegistryState& st, const Series& s);
double read_gauge(const RegistryState& st, const Series& s);
// The OpenMetrics family a registry family renders in: counters lose "_total".
std::string_view openmetrics_family_name(const Family& f);

struct HistogramTotals {
  std::vector<uint64_t> cumulative;  // bounds.size() + 1, the last is +Inf
  double sum = 0;
};
HistogramTotals read_histogram(const RegistryState& st, const Family& f, const Series& s);

}  // namespace infergate::metrics::detail
