// Registry::prometheus_text and Registry::openmetrics_text.

#include <map>
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

void append_sample(std::string& out, std::string_view name, std::string_view suffix, const Series& s,
                   std::string_view extra_label = {}) {
  out += name;
  out += suffix;
  if (!s.label_text.empty() || !extra_label.empty()) {
    out += '{';
    out += s.label_text;
    if (!s.label_text.empty() && !extra_label.empty()) out += ',';
    out += extra_label;
    out += '}';
  }
  out += ' ';
}

void append_histogram(std::string& out, const RegistryState& st, std::string_view name, const Family& f,
                      const Series& s) {
  const detail::HistogramTotals t = detail::read_histogram(st, f, s);
  if (f.sparse && t.cumulative.back() == 0) return;
  for (std::size_t b = 0; b <= f.bounds.size(); ++b) {
    append_sample(out, name, "_bucket", s, f.le_labels[b]);
    detail::append_uint(out, t.cumulative[b]);
    out += '\n';
  }
  append_sample(out, name, "_sum", s);
  detail::append_double(out, t.sum);
  out += '\n';
  append_sample(out, name, "_count", s);
  detail::append_uint(out, t.cumulative.back());
  out += '\n';
}

// Samples of one family; `name` is the family name in the format being written.
void append_series(std::string& out, const RegistryState& st, std::string_view name, const Family& f,
                   std::string_view counter_suffix) {
  for (const auto& [labels, series] : f.series) {
    switch (f.type) {
      case MetricType::Counter: {
        const uint64_t v = detail::read_counter(st, *series);
        if (v == 0 && f.sparse) break;
        append_sample(out, name, counter_suffix, *series);
        detail::append_uint(out, v);
        out += '\n';
        break;
      }
      case MetricType::Gauge:
        append_sample(out, name, {}, *series);
        detail::append_double(out, detail::read_gauge(st, *series));
        out += '\n';
        break;
      case MetricType::Histogram:
        append_histogram(out, st, name, f, *series);
        break;
    }
  }
}

const char* type_word(MetricType t) {
  switch (t) {
    case MetricType::Counter: return "counter";
    case MetricType::Gauge: return "gauge";
    case MetricType::Histogram: return "histogram";
  }
  return "untyped";
}

void append_metadata(std::string& out, std::string_view name, std::string_view help, MetricType type,
                     bool openmetrics) {
  if (!help.empty()) {
    out += "# HELP ";
    out += name;
    out += ' ';
    detail::append_escaped_help(out, help, openmetrics);
    out += '\n';
  }
  out += "# TYPE ";
  out += name;
  out += ' ';
  out += type_word(type);
  out += '\n';
}

}  // namespace

std::string Registry::prometheus_text() const {
  const RegistryState& st = *state_;
  std::string out;
  std::lock_guard lock(st.mu);
  // A big registry renders megabytes: growing the string by doubling copied it many times.
  out.reserve(st.last_text_size + st.last_text_size / 8);
  for (const auto& [name, family] : st.families) {
    append_metadata(out, name, family->help, family->type, false);
    append_series(out, st, name, *family, {});
  }
  st.last_text_size = out.size();
  return out;
}

std::string Registry::openmetrics_text() const {
  const RegistryState& st = *state_;
  std::string out;
  std::lock_guard lock(st.mu);
  out.reserve(st.last_text_size + st.last_text_size / 8);
  // Counters "x" and "x_total" both belong to OpenMetrics family "x".
  std::map<std::string_view, std::vector<const Family*>> by_family;
  for (const auto& [name, family] : st.families) {
    by_family[detail::openmetrics_family_name(*family)].push_back(family.get());
  }
  for (const auto& [name, families] : by_family) {
    std::string_view help;
    for (const Family* f : families) {
      if (help.empty()) help = f->help;
    }
    append_metadata(out, name, help, families.front()->type, true);
    for (const Family* f : families) append_series(out, st, name, *f, "_total");
  }
  out += "# EOF\n";
  return out;
}

}  // namespace infergate::metrics
