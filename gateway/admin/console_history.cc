#include "gateway/admin/console_history.h"

#include <spdlog/spdlog.h>

#include <cmath>

#include "config/weights.h"
#include "gateway/control/snapshot.h"
#include "gateway/control/version_totals.h"

namespace infergate::gateway {

namespace {

using nlohmann::json;

// At most this many (route, backend, version) series are kept (about 110 KiB each for 15
// minutes): a config with thousands of routes must not make the console the process's
// largest user of memory. Series past it are left out, with a warning once.
constexpr size_t kMaxSeries = 256;

ConsoleHistory::Totals totals_of(const VersionSeries& v) {
  ConsoleHistory::Totals t;
  t.v = version_totals(v);
  t.output_tokens = v.output_tokens.value();
  return t;
}

json opt(const std::optional<double>& v) {
  if (!v || !std::isfinite(*v)) return nullptr;
  return std::round(*v * 1e6) / 1e6;
}

double round3(double v) { return std::round(v * 1000) / 1000; }

}  // namespace

void ConsoleHistory::sample(const Snapshot& snap, int64_t now_ms) {
  std::map<Key, Totals> totals;
  if (snap.version_stats) {
    for (const auto& l : snap.version_stats->label_set_list()) {
      Totals t = totals_of(*l.series);
      Totals& into = totals[Key{l.route, l.backend, l.version}];
      into.v.add(t.v);
      into.output_tokens += t.output_tokens;
    }
  }
  std::map<std::pair<std::string, std::string>, double> weights;
  if (snap.config) {
    for (const auto& rule : config::list_weights(*snap.config)) {
      uint64_t total = 0;
      for (const auto& b : rule.backends) total += b.effective;
      const std::string route = rule.ns + "/" + rule.name;
      for (const auto& b : rule.backends) {
        // The first rule that names a backend gives its weight.
        weights.emplace(std::make_pair(route, b.name), total ? 100.0 * b.effective / static_cast<double>(total) : 0.0);
        if (!b.host.empty()) weights.emplace(std::make_pair(route, b.host.substr(0, b.host.find('.'))),
                                             total ? 100.0 * b.effective / static_cast<double>(total) : 0.0);
      }
    }
  }
  add_sample(now_ms, totals, weights);
}

void ConsoleHistory::add_sample(int64_t now_ms, const std::map<Key, Totals>& totals,
                                const std::map<std::pair<std::string, std::string>, double>& weights) {
  last_ms_ = now_ms;
  // Windowed deltas first, so that each version's share of its route can be computed.
  struct Delta {
    Series* series;
    std::optional<rollout::VersionTotals> window;
    uint64_t output_tokens = 0;
    double seconds = 0;
  };
  std::vector<std::pair<const Key*, Delta>> deltas;
  std::map<std::string, double> route_rps;
  for (const auto& [key, t] : totals) {
    if (!series_.count(key) && series_.size() >= kMaxSeries) {
      static bool warned = false;
      if (!warned) spdlog::warn("console: more than {} route/backend/version series; /versions leaves the rest out", kMaxSeries);
      warned = true;
      continue;
    }
    Series& s = series_[key];
    s.recent.emplace_back(now_ms, t);
    while (s.recent.size() > kWindow + 1) s.recent.pop_front();
    Delta d{&s, std::nullopt, 0, 0};
    if (s.recent.size() >= 2) {
      const auto& [t0, base] = s.recent.front();
      d.window = t.v.since(base.v);
      d.output_tokens = t.output_tokens >= base.output_tokens ? t.output_tokens - base.output_tokens : t.output_tokens;
      d.seconds = static_cast<double>(now_ms - t0) / 1000.0;
      if (d.seconds > 0) route_rps[std::get<0>(key)] += static_cast<double>(d.window->requests) / d.seconds;
    }
    deltas.emplace_back(&key, d);
  }
  for (auto& [key, d] : deltas) {
    Point p;
    p.t_ms = now_ms;
    const auto& [route, backend, version] = *key;
    if (auto w = weights.find({route, version}); w != weights.end()) p.weight = w->second;
    else if (auto w2 = weights.find({route, backend}); w2 != weights.end()) p.weight = w2->second;
    if (d.window && d.seconds > 0) {
      const rollout::VersionTotals& w = *d.window;
      p.rps = static_cast<double>(w.requests) / d.seconds;
      const double total = route_rps[route];
      p.share = total > 0 ? p.rps / total : 0;
      if (w.requests > 0) p.error_rate = static_cast<double>(w.errors) / static_cast<double>(w.requests);
      p.p50 = w.duration.quantile(0.5);
      p.p99 = w.duration.quantile(0.99);
      p.ttft_p90 = w.ttft.quantile(0.9);
      p.tpot_p90 = w.tpot.quantile(0.9);
      p.output_tps = static_cast<double>(d.output_tokens) / d.seconds;
    }
    d.series->points.push_back(p);
    while (d.series->points.size() > kPoints) d.series->points.pop_front();
  }
  // Versions gone from the config keep their history until it is older than the window.
  const int64_t oldest = now_ms - static_cast<int64_t>(kPoints) * kIntervalMs;
  for (auto it = series_.begin(); it != series_.end();) {
    auto& pts = it->second.points;
    while (!pts.empty() && pts.front().t_ms < oldest) pts.pop_front();
    if (pts.empty() && !totals.count(it->first)) it = series_.erase(it);
    else ++it;
  }
}

json ConsoleHistory::to_json(int64_t since_ms) const {
  json versions = json::array();
  for (const auto& [key, s] : series_) {
    json t = json::array(), rps = json::array(), share = json::array(), err = json::array(), p50 = json::array(),
         p99 = json::array(), ttft = json::array(), tpot = json::array(), tps = json::array(), weight = json::array();
    for (const Point& p : s.points) {
      if (p.t_ms <= since_ms) continue;
      t.push_back(p.t_ms);
      rps.push_back(round3(p.rps));
      share.push_back(round3(p.share));
      err.push_back(opt(p.error_rate));
      p50.push_back(opt(p.p50));
      p99.push_back(opt(p.p99));
      ttft.push_back(opt(p.ttft_p90));
      tpot.push_back(opt(p.tpot_p90));
      tps.push_back(round3(p.output_tps));
      weight.push_back(opt(p.weight));
    }
    json last = nullptr;
    if (!s.points.empty()) {
      const Point& p = s.points.back();
      last = {{"rps", round3(p.rps)},          {"share", round3(p.share)},       {"error_rate", opt(p.error_rate)},
              {"p50_seconds", opt(p.p50)},     {"p99_seconds", opt(p.p99)},      {"ttft_p90_seconds", opt(p.ttft_p90)},
              {"tpot_p90_seconds", opt(p.tpot_p90)}, {"output_tokens_per_second", round3(p.output_tps)},
              {"weight", opt(p.weight)}};
    }
    const uint64_t requests = s.recent.empty() ? 0 : s.recent.back().second.v.requests;
    versions.push_back({{"route", std::get<0>(key)},
                        {"backend", std::get<1>(key)},
                        {"version", std::get<2>(key)},
                        {"requests_total", requests},
                        {"last", std::move(last)},
                        {"points",
                         {{"t", std::move(t)},
                          {"rps", std::move(rps)},
                          {"share", std::move(share)},
                          {"error_rate", std::move(err)},
                          {"p50_seconds", std::move(p50)},
                          {"p99_seconds", std::move(p99)},
                          {"ttft_p90_seconds", std::move(ttft)},
                          {"tpot_p90_seconds", std::move(tpot)},
                          {"output_tokens_per_second", std::move(tps)},
                          {"weight", std::move(weight)}}}});
  }
  return {{"interval_ms", kIntervalMs},
          {"window_ms", static_cast<int64_t>(kWindow) * kIntervalMs},
          {"points_max", kPoints},
          {"now_ms", last_ms_},
          {"versions", std::move(versions)}};
}

}  // namespace infergate::gateway
