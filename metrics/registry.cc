#include "metrics/registry.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <utility>
#include <vector>

#include "metrics/registry_state.h"
#include "metrics/text_format.h"

namespace infergate::metrics {
namespace {

using detail::Family;
using detail::MetricType;
using detail::RegistryState;
using detail::Series;

constexpr std::size_t kMaxBuckets = 256;

const char* type_name(MetricType t) {
  switch (t) {
    case MetricType::Counter: return "counter";
    case MetricType::Gauge: return "gauge";
    case MetricType::Histogram: return "histogram";
  }
  return "?";
}

[[noreturn]] void fail(std::string_view name, const std::string& why) {
  throw std::invalid_argument("metrics: \"" + std::string(name) + "\": " + why);
}

Labels canonical_labels(std::string_view family, MetricType type, const Labels& labels) {
  Labels sorted = labels;
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    const std::string& n = sorted[i].first;
    if (!is_valid_label_name(n)) fail(family, "invalid label name \"" + n + "\"");
    if (i > 0 && sorted[i - 1].first == n) fail(family, "duplicate label name \"" + n + "\"");
    if (type == MetricType::Histogram && n == "le") fail(family, "label \"le\" is reserved for histogram buckets");
  }
  return sorted;
}

std::string render_label_text(const Labels& labels) {
  std::string out;
  for (const auto& [name, value] : labels) {
    if (!out.empty()) out += ',';
    out += name;
    out += "=\"";
    detail::append_escaped_label_value(out, value);
    out += '"';
  }
  return out;
}

std::vector<double> checked_bounds(std::string_view family, std::span<const double> bounds) {
  std::vector<double> out(bounds.begin(), bounds.end());
  if (!out.empty() && std::isinf(out.back()) && out.back() > 0) out.pop_back();
  if (out.size() > kMaxBuckets) fail(family, "more than 256 histogram buckets");
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (!std::isfinite(out[i])) fail(family, "histogram bounds must be finite");
    if (i > 0 && !(out[i - 1] < out[i])) fail(family, "histogram bounds must be strictly increasing");
  }
  return out;
}

std::vector<std::string> prometheus_samples(std::string_view name, MetricType type) {
  std::string n(name);
  if (type != MetricType::Histogram) return {n};
  return {n + "_bucket", n + "_sum", n + "_count"};
}

std::string openmetrics_family(std::string_view name, MetricType type) {
  if (type == MetricType::Counter && name.ends_with("_total")) name.remove_suffix(6);
  return std::string(name);
}

std::vector<std::string> openmetrics_names(std::string_view name, MetricType type) {
  const std::string fam = openmetrics_family(name, type);
  switch (type) {
    case MetricType::Counter: return {fam, fam + "_total"};
    case MetricType::Gauge: return {fam};
    case MetricType::Histogram: return {fam, fam + "_bucket", fam + "_sum", fam + "_count"};
  }
  return {fam};
}

// A new family must not render a name another family already renders to.
void check_collisions(const RegistryState& st, std::string_view name, MetricType type) {
  for (const std::string& s : prometheus_samples(name, type)) {
    if (st.prometheus_samples.contains(s)) fail(name, "collides with the samples of another family (\"" + s + "\")");
  }
  const std::string fam = openmetrics_family(name, type);
  for (const std::string& s : openmetrics_names(name, type)) {
    const auto it = st.openmetrics_names.find(s);
    if (it == st.openmetrics_names.end()) continue;
    const bool shared_counter_family =
        type == MetricType::Counter && it->second.first == MetricType::Counter && it->second.second == fam;
    if (!shared_counter_family) fail(name, "collides with another family in OpenMetrics (\"" + s + "\")");
  }
}

std::pair<Family*, Series*> get_or_create(RegistryState& st, MetricType type, std::string_view name,
                                                      std::string_view help, std::span<const double> bounds,
                                                      const Labels& labels, std::string_view envoy_name,
                                                      bool sparse = false) {
  if (!is_valid_metric_name(name)) fail(name, "invalid metric name");
  if (!envoy_name.empty() && !is_valid_envoy_name(envoy_name)) {
    fail(name, "invalid Envoy stat name \"" + std::string(envoy_name) + "\"");
  }
  Labels key = canonical_labels(name, type, labels);
  std::vector<double> checked = type == MetricType::Histogram ? checked_bounds(name, bounds) : std::vector<double>{};

  std::lock_guard lock(st.mu);
  Family* family = nullptr;
  if (const auto it = st.families.find(name); it != st.families.end()) {
    family = it->second.get();
    if (family->type != type) {
      fail(name, std::string("already registered as a ") + type_name(family->type) + ", not a " + type_name(type));
    }
    if (family->bounds != checked) fail(name, "already registered with other histogram buckets");
    if (family->sparse != sparse) fail(name, sparse ? "already registered as a dense family" : "already registered as a sparse family");
  } else {
    check_collisions(st, name, type);
  }

  Series* existing = nullptr;
  if (family != nullptr) {
    if (const auto it = family->series.find(key); it != family->series.end()) existing = it->second.get();
  }
  if (existing != nullptr && (envoy_name.empty() || envoy_name == existing->envoy_name)) return {family, existing};
  if (existing != nullptr && !existing->envoy_name.empty()) {
    fail(name, "series already has Envoy name \"" + existing->envoy_name + "\"");
  }
  if (!envoy_name.empty() && st.envoy_names.contains(envoy_name)) {
    fail(name, "Envoy stat name \"" + std::string(envoy_name) + "\" is taken by another series");
  }
  // Everything is validated; from here on only allocation can throw.
  if (existing != nullptr) {
    existing->envoy_name = std::string(envoy_name);
    st.envoy_names.insert(existing->envoy_name);
    return {family, existing};
  }

  if (family == nullptr) {
    auto f = std::make_unique<Family>();
    f->name = std::string(name);
    f->help = std::string(help);
    f->type = type;
    f->bounds = std::move(checked);
    f->sparse = sparse;
    for (double b : f->bounds) {
      std::string le = "le=\"";
      detail::append_double(le, b);
      f->le_labels.push_back(le + '"');
    }
    if (type == MetricType::Histogram) f->le_labels.push_back("le=\"+Inf\"");
    for (std::string& s : prometheus_samples(name, type)) st.prometheus_samples.insert(std::move(s));
    const std::string fam = openmetrics_family(name, type);
    for (std::string& s : openmetrics_names(name, type)) st.openmetrics_names.try_emplace(std::move(s), type, fam);
    family = st.families.emplace(f->name, std::move(f)).first->second.get();
  }

  auto series = std::make_unique<Series>();
  series->labels = key;
  series->label_text = render_label_text(key);
  series->envoy_name = std::string(envoy_name);
  series->cell0 = st.arena.allocate(type == MetricType::Histogram ? family->bounds.size() + 2 : 1);
  if (!series->envoy_name.empty()) st.envoy_names.insert(series->envoy_name);
  Series* raw = family->series.emplace(std::move(key), std::move(series)).first->second.get();
  return {family, raw};
}

void reset_cell(detail::Cell& c) {
  // Subtract what was read rather than store 0, so increments that land between
  // the read and the write survive.
  c.fetch_sub(c.load(std::memory_order_relaxed), std::memory_order_relaxed);
}

void reset_double_cell(detail::Cell& c) {
  detail::add_double(c, -std::bit_cast<double>(c.load(std::memory_order_relaxed)));
}

}  // namespace

namespace detail {
std::string_view openmetrics_family_name(const Family& f) {
  std::string_view n = f.name;
  if (f.type == MetricType::Counter && n.ends_with("_total")) n.remove_suffix(6);
  return n;
}
}  // namespace detail

Registry::Registry(unsigned shards) : state_(std::make_unique<RegistryState>(shards == 0 ? 1 : shards)) {}
Registry::~Registry() = default;

unsigned Registry::shards() const { return state_->shards; }

Counter Registry::counter(std::string_view name, std::string_view help, const Labels& labels,
                          std::string_view envoy_name) {
  const auto [f, s] = get_or_create(*state_, MetricType::Counter, name, help, {}, labels, envoy_name);
  return Counter(s->cell0, state_->shards);
}

Counter Registry::sparse_counter(std::string_view name, std::string_view help, const Labels& labels,
                                 std::string_view envoy_name) {
  const auto [f, s] = get_or_create(*state_, MetricType::Counter, name, help, {}, labels, envoy_name, true);
  return Counter(s->cell0, state_->shards);
}

Gauge Registry::gauge(std::string_view name, std::string_view help, const Labels& labels,
                      std::string_view envoy_name) {
  const auto [f, s] = get_or_create(*state_, MetricType::Gauge, name, help, {}, labels, envoy_name);
  return Gauge(s->cell0, state_->shards, &s->gauge_base);
}

Histogram Registry::histogram(std::string_view name, std::string_view help, std::span<const double> bounds,
                              const Labels& labels, std::string_view envoy_name) {
  const auto [f, s] = get_or_create(*state_, MetricType::Histogram, name, help, bounds, labels, envoy_name);
  return Histogram(s->cell0, state_->shards, &f->bounds);
}

Histogram Registry::sparse_histogram(std::string_view name, std::string_view help, std::span<const double> bounds,
                                     const Labels& labels, std::string_view envoy_name) {
  const auto [f, s] = get_or_create(*state_, MetricType::Histogram, name, help, bounds, labels, envoy_name, true);
  return Histogram(s->cell0, state_->shards, &f->bounds);
}

void Registry::reset_counters() {
  std::lock_guard lock(state_->mu);
  for (const auto& [name, family] : state_->families) {
    if (family->type == MetricType::Gauge) continue;
    const std::size_t counts = family->type == MetricType::Histogram ? family->bounds.size() + 1 : 1;
    for (const auto& [labels, series] : family->series) {
      for (unsigned shard = 0; shard < state_->shards; ++shard) {
        detail::Cell* base = series->cell0 + static_cast<std::size_t>(shard) * detail::kChunkSlots;
        for (std::size_t i = 0; i < counts; ++i) reset_cell(base[i]);
        if (family->type == MetricType::Histogram) reset_double_cell(base[counts]);
      }
    }
  }
}

}  // namespace infergate::metrics
