// The canary console's live figures (GET /versions): once a second the control thread reads
// every per-version series of the serving snapshot (gateway/proxy/version_stats.h), sums them
// per route, backend and version (over models and adapters), and keeps 15 minutes of points.
// Each point covers the trailing window (5 s) that ends at its time: requests per second,
// share of the route's traffic, error rate, p50 / p99 latency, TTFT p90, TPOT p90, output
// tokens per second, and the backend's weight at that moment. The page reads this JSON and
// never parses the Prometheus text.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "rollout/window.h"

namespace infergate::gateway {

struct Snapshot;

class ConsoleHistory {
 public:
  static constexpr int64_t kIntervalMs = 1000;
  static constexpr size_t kPoints = 900;  // 15 minutes
  static constexpr size_t kWindow = 5;    // samples a point's rates and quantiles cover

  struct Totals {
    rollout::VersionTotals v;
    uint64_t output_tokens = 0;
  };
  // One point; nullopt where the window had no data for it.
  struct Point {
    int64_t t_ms = 0;  // unix milliseconds
    double rps = 0, share = 0;
    std::optional<double> error_rate, p50, p99, ttft_p90, tpot_p90;
    double output_tps = 0;
    std::optional<double> weight;  // percent of the route's weight, nullopt when not a weighted backend
  };

  // Reads `snap` at `now_ms` (unix); called every kIntervalMs by the server.
  void sample(const Snapshot& snap, int64_t now_ms);
  // Same, with the totals given by the caller (tests): key (route, backend, version) -> totals,
  // and (route, backend) -> weight percent.
  using Key = std::tuple<std::string, std::string, std::string>;
  void add_sample(int64_t now_ms, const std::map<Key, Totals>& totals,
                  const std::map<std::pair<std::string, std::string>, double>& weights);

  // {"interval_ms","window_ms","points_max","now_ms","versions":[{route, backend, version,
  // weight, last{...}, points{t:[], rps:[], ...}}]}; points newer than `since_ms` only.
  nlohmann::json to_json(int64_t since_ms) const;

 private:
  struct Series {
    std::deque<std::pair<int64_t, Totals>> recent;  // the last kWindow + 1 cumulative readings
    std::deque<Point> points;
  };
  std::map<Key, Series> series_;
  int64_t last_ms_ = 0;
};

}  // namespace infergate::gateway
