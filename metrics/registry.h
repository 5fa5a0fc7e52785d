#pragma once

// The metric registry: families of counters, gauges and histograms, each series
// sharded per worker thread and merged when scraped.
//
// Series are created ahead of time (when a config snapshot is built) and handed
// out as handles (metrics/handles.h); workers only ever touch handles. Creating a
// series may run concurrently with workers updating existing ones: shard storage
// grows in fixed-size chunks and never moves a cell. Creation and exposition
// serialise on one internal mutex; the hot path never takes it.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "metrics/buckets.h"
#include "metrics/handles.h"
#include "metrics/labels.h"
#include "metrics/thread_shard.h"

namespace infergate::metrics {

namespace detail {
struct RegistryState;
}

class Registry {
 public:
  // shards: worker count + the control thread's shard 0 as the caller sees fit;
  // at least 1 (0 is taken as 1).
  explicit Registry(unsigned shards);
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Get-or-create the series `name{labels}`. Throws std::invalid_argument on a
  // programming error: an invalid metric/label/Envoy name, a duplicate or reserved
  // label name, a name already used with another type or bucket set, a name that
  // collides with another family's samples (e.g. counter "x_count" next to
  // histogram "x"), or an envoy_name already taken by another series or differing
  // from the one this series was created with. help is kept from the first call.
  // envoy_name: the series' flat name on /stats (e.g. "cluster.llm.upstream_rq_total");
  // empty = shown there as family{labels}.
  Counter counter(std::string_view name, std::string_view help, const Labels& labels = {},
                  std::string_view envoy_name = {});
  // As counter(), for families whose label sets are created ahead of time but rarely count
  // (errors by response flag per version): a series is left out of every exposition while it
  // is 0, so a scrape is not thousands of zeros. A family is sparse or not from its first
  // series on; mixing the two throws std::invalid_argument. (Counters a rate is taken of
  // should stay dense: Prometheus cannot count the increment that makes a series appear.)
  Counter sparse_counter(std::string_view name, std::string_view help, const Labels& labels = {},
                         std::string_view envoy_name = {});
  Gauge gauge(std::string_view name, std::string_view help, const Labels& labels = {},
              std::string_view envoy_name = {});
  // bounds: finite, strictly increasing upper bounds (a trailing +Inf is accepted
  // and dropped), at most 256.
  Histogram histogram(std::string_view name, std::string_view help, std::span<const double> bounds,
                      const Labels& labels = {}, std::string_view envoy_name = {});

  // As histogram(), left out of every exposition until its first observation (per-version
  // latencies: most label sets of a big config never see a request, and each costs a line per
  // bucket). Same rules as sparse_counter().
  Histogram sparse_histogram(std::string_view name, std::string_view help, std::span<const double> bounds,
                             const Labels& labels = {}, std::string_view envoy_name = {});

  // Prometheus text format 0.0.4 (Content-Type: text/plain; version=0.0.4):
  // families sorted by name, series sorted by labels.
  std::string prometheus_text() const;
  // OpenMetrics 1.0.0 (Content-Type: application/openmetrics-text; version=1.0.0;
  // charset=utf-8): counters' samples end in _total, output ends with "# EOF".
  std::string openmetrics_text() const;
  // Envoy admin /stats plain format: "name: value" per line, counters and gauges
  // sorted together, then histograms as Envoy prints them
  // ("P0(nan,v) P25(nan,v) ... P100(nan,v)" or "No recorded values").
  std::string envoy_stats_text() const;

  // As Envoy's POST /reset_counters: counters and histograms back to 0, gauges
  // untouched. Increments racing with the reset are kept, not lost.
  void reset_counters();

  unsigned shards() const;

 private:
  std::unique_ptr<detail::RegistryState> state_;
};

}  // namespace infergate::metrics
