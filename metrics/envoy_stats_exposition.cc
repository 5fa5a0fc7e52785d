// Registry::envoy_stats_text: the plain-text body of Envoy's admin GET /stats.

#include <algorithm>
#include <cmath>
#include <array>
#include <utility>
#include <vector>

#include "metrics/registry.h"
#include "metrics/registry_state.h"
#include "metrics/text_format.h"

namespace infergate::metrics {
namespace {

using detail::Family;
using detail::MetricType;
using detail::RegistryState;
using detail::Series;

// Envoy's supported quantiles and how it labels them ("P{:g}" of 100*q).
constexpr std::array<std::pair<double, const char*>, 10> kQuantiles = {{{0.0, "P0"},
                                                                         {0.25, "P25"},
                                                                         {0.5, "P50"},
                                                                         {0.75, "P75"},
                                                                         {0.9, "P90"},
                                                                         {0.95, "P95"},
                                                                         {0.99, "P99"},
                                                                         {0.995, "P99.5"},
                                                                         {0.999, "P99.9"},
                                                                         {1.0, "P100"}}};

std::string stat_name(const Family& f, const Series& s) {
  if (!s.envoy_name.empty()) return s.envoy_name;
  if (s.label_text.empty()) return f.name;
  return f.name + "{" + s.label_text + "}";
}

// Quantile estimate from cumulative bucket counts by linear interpolation inside
// the bucket that holds the rank (Envoy keeps exact-ish sketches; we keep
// buckets). A rank in the +Inf bucket reports the highest finite bound.
double quantile(double q, const std::vector<double>& bounds, const std::vector<uint64_t>& cumulative, double sum) {
  const uint64_t count = cumulative.back();
  if (bounds.empty()) return sum / static_cast<double>(count);
  const double rank = q * static_cast<double>(count);
  std::size_t b = 0;
  while (b < cumulative.size() && (cumulative[b] == 0 || static_cast<double>(cumulative[b]) < rank)) ++b;
  if (b >= bounds.size()) return bounds.back();
  const uint64_t below = b == 0 ? 0 : cumulative[b - 1];
  const double upper = bounds[b];
  const double lower = b == 0 ? 0.0 : bounds[b - 1];
  if (b == 0 && upper <= 0) return upper;
  const double in_bucket = static_cast<double>(cumulative[b] - below);
  return lower + (upper - lower) * (rank - static_cast<double>(below)) / in_bucket;
}

std::string histogram_summary(const RegistryState& st, const Family& f, const Series& s) {
  const detail::HistogramTotals t = detail::read_histogram(st, f, s);
  if (t.cumulative.back() == 0) return "No recorded values";
  std::string out;
  for (const auto& [q, label] : kQuantiles) {
    if (!out.empty()) out += ' ';
    out += label;
    out += "(nan,";
    detail::append_double(out, quantile(q, f.bounds, t.cumulative, t.sum));
    out += ')';
  }
  return out;
}

// Envoy's gauges are integers and /stats prints them in full ("1000000", where the
// Prometheus float form would be "1e+06"); fractional values keep the float form.
void append_gauge(std::string& out, double v) {
  if (v == std::trunc(v) && std::fabs(v) < 9.0e15) {
    if (v < 0) out += '-';
    detail::append_uint(out, static_cast<uint64_t>(std::fabs(v)));
    return;
  }
  detail::append_double(out, v);
}

void append_lines(std::string& out, std::vector<std::pair<std::string, std::string>>& lines) {
  std::sort(lines.begin(), lines.end());
  for (const auto& [name, value] : lines) {
    out += name;
    out += ": ";
    out += value;
    out += '\n';
  }
}

}  // namespace

std::string Registry::envoy_stats_text() const {
  const RegistryState& st = *state_;
  std::vector<std::pair<std::string, std::string>> scalars;
  std::vector<std::pair<std::string, std::string>> histograms;
  {
    std::lock_guard lock(st.mu);
    for (const auto& [name, family] : st.families) {
      for (const auto& [labels, series] : family->series) {
        std::string value;
        switch (family->type) {
          case MetricType::Counter: {
            const uint64_t v = detail::read_counter(st, *series);
            if (v == 0 && family->sparse) break;
            detail::append_uint(value, v);
            scalars.emplace_back(stat_name(*family, *series), std::move(value));
            break;
          }
          case MetricType::Gauge:
            append_gauge(value, detail::read_gauge(st, *series));
            scalars.emplace_back(stat_name(*family, *series), std::move(value));
            break;
          case MetricType::Histogram:
            if (family->sparse && detail::read_histogram(st, *family, *series).cumulative.back() == 0) break;
            histograms.emplace_back(stat_name(*family, *series), histogram_summary(st, *family, *series));
            break;
        }
      }
    }
  }
  // Envoy prints counters and gauges merged in name order, then histograms.
  std::string out;
  append_lines(out, scalars);
  append_lines(out, histograms);
  return out;
}

}  // namespace infergate::metrics
