// Rollout (infergate.dev/v1alpha1): our own kind, so unknown fields are errors. References
// (the route, its rule, the two backends) are checked by validate_rollouts once every
// document is read.
#include <algorithm>

#include "config/parsers.h"
#include "config/str_cat.h"

namespace infergate::config::detail {

namespace {

void parse_target(ParseContext& ctx, const MapView& m, const ObjectMeta& meta, RolloutTarget& t) {
  m.allow({"kind", "name", "namespace", "rule"});
  t.line = m.line();
  t.ns = meta.ns;
  if (auto k = one_of(ctx, m, "kind", {"HTTPRoute", "VirtualService", "InferenceModel"}, true))
    t.kind = *k == "HTTPRoute" ? RolloutTargetKind::HttpRoute
             : *k == "VirtualService" ? RolloutTargetKind::VirtualService
                                       : RolloutTargetKind::InferenceModel;
  if (auto n = m.string("name", true)) t.name = *n;
  if (auto n = m.string("namespace")) t.ns = *n;
  if (const YAML::Node* rule = m.find("rule")) {
    // An index or a rule's name, as POST /weights takes it.
    if (rule->IsScalar() && !rule->Scalar().empty() &&
        std::all_of(rule->Scalar().begin(), rule->Scalar().end(), [](char c) { return c >= '0' && c <= '9'; })) {
      if (auto i = m.integer("rule", 0, 1 << 20)) t.rule = static_cast<size_t>(*i);
    } else if (auto name = m.string("rule")) {
      t.rule_name = *name;
    }
  }
}

void parse_steps(ParseContext& ctx, const MapView& spec, Rollout& r) {
  for (const auto& [path, node] : spec.list("steps", true)) {
    MapView m(ctx, node, path);
    if (!m.valid()) continue;
    m.allow({"setWeight", "pause"});
    RolloutStep step;
    step.line = m.line();
    const bool weight = m.has("setWeight"), pause = m.has("pause");
    if (weight == pause) {
      ctx.error(node, path, "a step is exactly one of setWeight or pause");
      continue;
    }
    if (weight) {
      auto w = m.integer("setWeight", 0, 100);
      if (!w) continue;
      step.kind = RolloutStep::Kind::SetWeight;
      step.weight = static_cast<uint32_t>(*w);
    } else {
      step.kind = RolloutStep::Kind::Pause;
      // `pause: {}` waits to be resumed or promoted; `pause: {duration: 30s}` for that long.
      if (auto p = m.map("pause")) {
        p->allow({"duration"});
        if (auto d = p->duration("duration")) step.duration = *d;
      }
    }
    r.steps.push_back(step);
  }
  if (r.steps.empty() && spec.has("steps")) ctx.error(*spec.find("steps"), spec.path_of("steps"), "needs at least one step");
}

// A latency bound: a duration ("2s", "150ms") or a number of seconds.
std::optional<double> seconds_bound(ParseContext& ctx, const MapView& m, std::string_view key) {
  const YAML::Node* n = m.find(key);
  if (!n) return std::nullopt;
  if (n->IsScalar()) {
    try {
      const double v = n->as<double>();
      if (v >= 0) return v;
    } catch (const YAML::Exception&) {
    }
  }
  if (auto d = m.duration(key)) return std::chrono::duration<double>(*d).count();
  ctx.error(*n, m.path_of(key), "must be a duration (\"2s\", \"150ms\") or seconds");
  return std::nullopt;
}

void parse_gate(ParseContext& ctx, const MapView& m, RolloutAnalysis& a) {
  if (auto p = m.map("prometheus")) {
    m.allow({"prometheus"});
    p->allow({"address", "query", "max", "min"});
    PrometheusGate g;
    g.line = m.line();
    if (auto addr = p->string("address", true)) g.address = *addr;
    if (auto q = p->string("query", true)) g.query = *q;
    g.max = number(ctx, *p, "max", -1e300, 1e300);
    g.min = number(ctx, *p, "min", -1e300, 1e300);
    if (!g.max && !g.min) ctx.error(m.node(), m.path(), "a prometheus gate needs max or min");
    if (!g.address.empty() && !g.address.starts_with("http://"))
      ctx.error(*p->find("address"), p->path_of("address"), "must be http://host:port");
    a.prometheus.push_back(std::move(g));
    return;
  }
  m.allow({"metric", "max", "maxRatio", "maxIncrease"});
  RolloutGate g;
  g.line = m.line();
  auto metric = one_of(ctx, m, "metric", {"errorRate", "p99Latency", "ttftP90", "tpotP90"}, true);
  if (!metric) return;
  g.metric = *metric == "errorRate"    ? GateMetric::ErrorRate
             : *metric == "p99Latency" ? GateMetric::LatencyP99
             : *metric == "ttftP90"    ? GateMetric::TtftP90
                                       : GateMetric::TpotP90;
  if (g.metric == GateMetric::ErrorRate) {
    g.max = number(ctx, m, "max", 0, 1);
    g.max_increase = number(ctx, m, "maxIncrease", 0, 1);
  } else {
    g.max = seconds_bound(ctx, m, "max");
    if (m.has("maxIncrease")) ctx.error(*m.find("maxIncrease"), m.path_of("maxIncrease"), "is for errorRate only; use maxRatio");
  }
  g.max_ratio = number(ctx, m, "maxRatio", 0, 1e6);
  if (!g.max && !g.max_ratio && !g.max_increase)
    ctx.error(m.node(), m.path(), "a gate needs max, maxRatio or maxIncrease");
  a.gates.push_back(g);
}

void parse_analysis(ParseContext& ctx, const MapView& m, RolloutAnalysis& a) {
  m.allow({"interval", "window", "failureLimit", "minRequests", "gates"});
  if (auto d = m.duration("interval")) {
    if (d->count() < 100) ctx.error(*m.find("interval"), m.path_of("interval"), "must be at least 100ms");
    else a.interval = *d;
  }
  if (auto d = m.duration("window")) a.window = *d;
  if (auto v = m.integer("failureLimit", 1, 1000)) a.failure_limit = static_cast<uint32_t>(*v);
  if (auto v = m.integer("minRequests", 0, 1'000'000'000)) a.min_requests = static_cast<uint32_t>(*v);
  for (const auto& [path, node] : m.list("gates")) {
    MapView g(ctx, node, path);
    if (g.valid()) parse_gate(ctx, g, a);
  }
}

}  // namespace

std::optional<Rollout> parse_rollout(ParseContext& ctx, const MapView& doc) {
  ctx.set_strict_fields(true);
  Rollout r;
  auto spec = parse_object(ctx, doc, &r.meta);
  if (!spec) return std::nullopt;
  spec->allow({"targetRef", "stable", "canary", "canaryHeader", "steps", "analysis"});
  if (auto t = spec->map("targetRef", true)) parse_target(ctx, *t, r.meta, r.target);
  if (auto s = spec->string("stable", true)) r.stable = *s;
  if (auto c = spec->string("canary", true)) r.canary = *c;
  if (!r.stable.empty() && r.stable == r.canary)
    ctx.error(*spec->find("canary"), spec->path_of("canary"), "must differ from stable");
  if (auto h = spec->map("canaryHeader")) {
    h->allow({"name", "value"});
    auto name = h->string("name", true);
    auto value = h->string("value", true);
    if (name && value) {
      std::string lower = *name;
      std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      r.canary_header = RolloutHeaderCanary{std::move(lower), *value};
    }
  }
  parse_steps(ctx, *spec, r);
  if (auto a = spec->map("analysis")) parse_analysis(ctx, *a, r.analysis);
  return r;
}

}  // namespace infergate::config::detail
