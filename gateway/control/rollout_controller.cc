#include "gateway/control/rollout_controller.h"

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include <array>
#include <fstream>
#include <sstream>

#include "config/config_store.h"
#include "gateway/control/http_client.h"
#include "gateway/control/snapshot.h"
#include "gateway/control/version_totals.h"
#include "rollout/prometheus_answer.h"

namespace infergate::gateway {

using nlohmann::json;
using rollout::Phase;

namespace {

constexpr auto kTick = std::chrono::milliseconds(100);
constexpr auto kApplyRetry = std::chrono::seconds(1);
constexpr std::array kPhases = {Phase::Progressing, Phase::Paused, Phase::Completed, Phase::Aborted};
constexpr std::array kVerdicts = {rollout::VerdictKind::Pass, rollout::VerdictKind::Fail,
                                  rollout::VerdictKind::Inconclusive};

int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}


const char* target_kind(config::RolloutTargetKind k) {
  switch (k) {
    case config::RolloutTargetKind::HttpRoute: return "HTTPRoute";
    case config::RolloutTargetKind::VirtualService: return "VirtualService";
    case config::RolloutTargetKind::InferenceModel: return "InferenceModel";
  }
  return "?";
}

// What must stay the same for a rollout to go on where it is.
std::string identity_of(const config::Rollout& r) {
  const auto& t = r.target;
  return std::string(target_kind(t.kind)) + "|" + t.ns + "|" + t.name + "|" +
         (t.rule ? std::to_string(*t.rule) : std::string("-")) + "|" + t.rule_name + "|" + r.stable + "|" + r.canary;
}

// Whether a label set counts for `backend` (stable or canary) of the rollout's target.
bool belongs(const config::Rollout& r, const VersionStats::LabelSet& l, const std::string& backend) {
  const std::string route = r.target.ns + "/" + r.target.name;
  switch (r.target.kind) {
    case config::RolloutTargetKind::HttpRoute:
      return l.route == route && l.backend == backend;
    case config::RolloutTargetKind::VirtualService:
      // Keys are subsets (the version label), or hosts for destinations without one.
      return l.route == route && (l.version == backend || l.backend == backend.substr(0, backend.find('.')));
    case config::RolloutTargetKind::InferenceModel:
      return l.adapter == backend;
  }
  return false;
}

json side_json(const rollout::SideSummary& s) {
  auto opt = [](const std::optional<double>& v) { return v ? json(*v) : json(nullptr); };
  return {{"requests", s.requests},
          {"error_rate", s.error_rate},
          {"p99_latency_seconds", opt(s.p99)},
          {"ttft_p90_seconds", opt(s.ttft_p90)},
          {"tpot_p90_seconds", opt(s.tpot_p90)}};
}

}  // namespace

struct RolloutController::Entry {
  config::Rollout spec;
  std::string key, identity;
  rollout::Status status;
  struct Sample {
    Clock::time_point at;
    rollout::VersionTotals canary, stable;
  };
  std::deque<Sample> history;
  std::optional<rollout::Verdict> last_verdict;
  int64_t last_verdict_ms = 0;
  Clock::time_point last_tick{}, last_analysis{}, last_apply{};
  std::vector<rollout::PrometheusResult> prometheus;
  std::vector<bool> prometheus_busy;
  metrics::Gauge weight_gauge, step_gauge;
  std::array<metrics::Gauge, kPhases.size()> phase_gauges;
  std::array<metrics::Counter, kVerdicts.size()> verdicts;
};

RolloutController::RolloutController(boost::asio::io_context& io, metrics::Registry& registry, ApplyWeight apply,
                                     std::optional<std::string> state_dir)
    : io_(io), registry_(registry), apply_(std::move(apply)), state_dir_(std::move(state_dir)), timer_(io) {
  load_saved();
}

RolloutController::~RolloutController() { stop(); }

void RolloutController::stop() {
  stopped_ = true;
  timer_.cancel();
}

void RolloutController::update(std::shared_ptr<const Snapshot> snap) {
  if (stopped_) return;
  snapshot_ = std::move(snap);
  if (reconcile_posted_) return;
  reconcile_posted_ = true;
  boost::asio::post(io_, [this] {
    reconcile_posted_ = false;
    if (!stopped_) reconcile();
  });
}

void RolloutController::load_saved() {
  if (!state_dir_) return;
  std::ifstream in(*state_dir_ + "/rollouts.json");
  if (!in) return;
  std::stringstream ss;
  ss << in.rdbuf();
  auto j = json::parse(ss.str(), nullptr, false);
  if (!j.is_object() || !j.contains("rollouts") || !j["rollouts"].is_object()) {
    spdlog::warn("rollouts: {}/rollouts.json is not a saved rollout state; starting afresh", *state_dir_);
    return;
  }
  for (const auto& [key, value] : j["rollouts"].items()) saved_[key] = value;
}

void RolloutController::reconcile() {
  if (!snapshot_) return;
  const auto& rollouts = snapshot_->config->rollouts;
  std::map<std::string, std::unique_ptr<Entry>> next;
  const int64_t now = unix_ms();
  for (const config::Rollout& r : rollouts) {
    const std::string key = r.meta.ns + "/" + r.meta.name;
    const std::string identity = identity_of(r);
    std::unique_ptr<Entry> e;
    if (auto it = entries_.find(key); it != entries_.end()) {
      e = std::move(it->second);
      entries_.erase(it);
    }
    const bool fresh = !e;
    if (fresh) {
      e = std::make_unique<Entry>();
      e->key = key;
      const metrics::Labels l{{"rollout", key}};
      e->weight_gauge = registry_.gauge("infergate_rollout_canary_weight", "Canary weight (percent) a rollout applied", l);
      e->step_gauge = registry_.gauge("infergate_rollout_step", "Step a rollout is on (1-based; steps + 1 when completed)", l);
      for (size_t i = 0; i < kPhases.size(); ++i)
        e->phase_gauges[i] = registry_.gauge("infergate_rollout_phase", "1 for the phase a rollout is in",
                                             {{"rollout", key}, {"phase", rollout::phase_name(kPhases[i])}});
      for (size_t i = 0; i < kVerdicts.size(); ++i)
        e->verdicts[i] = registry_.counter("infergate_rollout_analysis_total", "Analysis verdicts of a rollout",
                                           {{"rollout", key}, {"verdict", rollout::verdict_name(kVerdicts[i])}});
    }
    const config::Rollout previous = e->spec;
    e->spec = r;
    rollout::Machine m(e->spec, e->status);
    if (fresh) {
      e->identity = identity;
      auto saved = saved_.find(key);
      if (saved != saved_.end() && saved->second.value("identity", "") == identity) {
        const json& s = saved->second;
        e->status.phase = rollout::phase_from_name(s.value("phase", "")).value_or(Phase::Progressing);
        e->status.step = std::min<size_t>(s.value("step", 0), r.steps.size());
        e->status.weight = s.value("weight", 0u);
        e->status.weight_applied = s.value("weight_applied", false);
        e->status.step_elapsed_ms = s.value("step_elapsed_ms", int64_t{0});
        e->status.step_passed = s.value("step_passed", false);
        e->status.failures = s.value("failures", 0u);
        if (s.contains("events") && s["events"].is_array())
          for (const auto& ev : s["events"])
            e->status.events.push_back({ev.value("at_ms", int64_t{0}), ev.value("type", ""), ev.value("message", ""),
                                        ev.value("step", size_t{0}), ev.value("weight", 0u)});
        m.record(now, "resumed", std::string("restored from the state directory: ") + rollout::phase_name(e->status.phase) +
                                     " at step " + std::to_string(e->status.step + 1));
      } else {
        m.record(now, "created", "rollout of " + r.canary + " against " + r.stable + " on " +
                                     target_kind(r.target.kind) + " " + r.target.name);
      }
      saved_.erase(key);
    } else if (e->identity != identity) {
      e->identity = identity;
      e->status = rollout::Status{};
      e->history.clear();
      m.record(now, "restarted", "target, stable or canary changed: started again at step 1");
    } else if (previous.steps.size() != r.steps.size() || e->status.step > r.steps.size()) {
      e->status.step = std::min(e->status.step, r.steps.size());
      m.record(now, "updated", "steps changed: going on at step " + std::to_string(e->status.step + 1));
    }
    e->prometheus.resize(r.analysis.prometheus.size());
    e->prometheus_busy.resize(r.analysis.prometheus.size(), false);
    after_change(*e);
    next.emplace(key, std::move(e));
  }
  for (const auto& [key, e] : entries_)  // what is left is no longer in the configuration
    spdlog::info("rollout {}: removed from the configuration; weights stay at canary {}%", key, e->status.weight);
  entries_ = std::move(next);
  save();
  if (!running_ && !entries_.empty()) {
    running_ = true;
    tick();
  }
}

void RolloutController::tick() {
  if (stopped_) return;
  const auto now = Clock::now();
  for (auto& [key, e] : entries_) step(*e, now);
  timer_.expires_after(kTick);
  timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) tick();
  });
}

void RolloutController::step(Entry& e, Clock::time_point now) {
  if (e.last_tick == Clock::time_point{}) e.last_tick = now;
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(now - e.last_tick);
  e.last_tick = now;
  const auto before = std::make_tuple(e.status.phase, e.status.step, e.status.weight, e.status.events.size());
  std::optional<rollout::Verdict> verdict;
  if (now - e.last_analysis >= e.spec.analysis.interval) {
    e.last_analysis = now;
    verdict = analyse(e, now);
  }
  rollout::Machine m(e.spec, e.status);
  if (auto w = m.tick(elapsed, verdict, unix_ms())) {
    apply(e, *w);
  } else if (!e.status.weight_applied && now - e.last_apply >= kApplyRetry) {
    apply(e, e.status.weight);  // the route did not take it yet (a rejected change): again
  }
  if (before != std::make_tuple(e.status.phase, e.status.step, e.status.weight, e.status.events.size())) {
    after_change(e);
    save();
  }
}

std::optional<rollout::Verdict> RolloutController::analyse(Entry& e, Clock::time_point now) {
  if (!snapshot_ || !snapshot_->version_stats) return std::nullopt;
  Entry::Sample s{now, {}, {}};
  for (const auto& l : snapshot_->version_stats->label_set_list()) {
    if (belongs(e.spec, l, e.spec.canary)) s.canary.add(version_totals(*l.series));
    else if (belongs(e.spec, l, e.spec.stable)) s.stable.add(version_totals(*l.series));
  }
  e.history.push_back(std::move(s));
  const auto window = e.spec.analysis.window.count() > 0 ? e.spec.analysis.window : e.spec.analysis.interval;
  // The base is the newest reading at least `window` old (the oldest while the window fills).
  while (e.history.size() > 2 && e.history[1].at <= now - window) e.history.pop_front();
  if (e.history.size() < 2) return std::nullopt;
  query_prometheus(e);
  const Entry::Sample& base = e.history.front();
  const Entry::Sample& last = e.history.back();
  rollout::Verdict v = rollout::evaluate(e.spec.analysis, last.canary.since(base.canary), last.stable.since(base.stable),
                                         e.prometheus);
  for (size_t i = 0; i < kVerdicts.size(); ++i)
    if (kVerdicts[i] == v.kind) e.verdicts[i].inc();
  e.last_verdict = v;
  e.last_verdict_ms = unix_ms();
  return v;
}

// Each gate's query runs in the background; a verdict reads the latest answer.
void RolloutController::query_prometheus(Entry& e) {
  for (size_t i = 0; i < e.spec.analysis.prometheus.size(); ++i) {
    if (e.prometheus_busy[i]) continue;
    const config::PrometheusGate& g = e.spec.analysis.prometheus[i];
    e.prometheus_busy[i] = true;
    const std::string key = e.key;
    async_http_request(io_, "GET", g.address + "/api/v1/query?query=" + percent_encode(g.query), {}, std::chrono::seconds(5),
                       [this, key, i](HttpResult r) {
                         auto it = entries_.find(key);
                         if (stopped_ || it == entries_.end() || i >= it->second->prometheus.size()) return;
                         Entry& e = *it->second;
                         e.prometheus_busy[i] = false;
                         rollout::PrometheusResult out;
                         if (!r.error.empty()) out.error = r.error;
                         else out = rollout::read_prometheus_answer(r.status, r.body);
                         e.prometheus[i] = out;
                       });
  }
}

void RolloutController::apply(Entry& e, uint32_t weight) {
  e.last_apply = Clock::now();
  rollout::Machine m(e.spec, e.status);
  const std::string error = apply_(e.spec, weight);
  if (error.empty()) {
    e.status.weight_applied = true;
    spdlog::info("rollout {}: canary {} at {}%", e.key, e.spec.canary, weight);
    return;
  }
  e.status.weight_applied = false;
  m.record(unix_ms(), "error", "canary weight " + std::to_string(weight) + "% not applied: " + error);
  spdlog::warn("rollout {}: canary weight {}% not applied: {}", e.key, weight, error);
}

void RolloutController::after_change(Entry& e) {
  e.weight_gauge.set(e.status.weight);
  e.step_gauge.set(static_cast<double>(e.status.step + 1));
  for (size_t i = 0; i < kPhases.size(); ++i) e.phase_gauges[i].set(kPhases[i] == e.status.phase ? 1 : 0);
  if (!e.status.events.empty()) {
    const rollout::Event& last = e.status.events.back();
    spdlog::info("rollout {}: {}: {}", e.key, last.type, last.message);
  }
}

void RolloutController::restore(std::map<std::string, json> saved_by_key) {
  for (auto& [key, state] : saved_by_key) saved_[key] = std::move(state);
}

void RolloutController::save() {
  if (!state_dir_ && !save_state_) return;
  json all = json::object();
  for (const auto& [key, e] : entries_) {
    json events = json::array();
    for (const auto& ev : e->status.events)
      events.push_back({{"at_ms", ev.at_ms}, {"type", ev.type}, {"message", ev.message}, {"step", ev.step}, {"weight", ev.weight}});
    all[key] = {{"identity", e->identity},
                {"phase", rollout::phase_name(e->status.phase)},
                {"step", e->status.step},
                {"weight", e->status.weight},
                {"weight_applied", e->status.weight_applied},
                {"step_elapsed_ms", e->status.step_elapsed_ms},
                {"step_passed", e->status.step_passed},
                {"failures", e->status.failures},
                {"events", std::move(events)}};
  }
  if (save_state_) {
    for (const auto& [key, e] : entries_) {
      json summary = {{"phase", rollout::phase_name(e->status.phase)},
                      {"step", e->status.step + 1},
                      {"steps", e->spec.steps.size()},
                      {"canaryWeight", e->status.weight},
                      {"stableWeight", 100 - e->status.weight}};
      if (e->last_verdict)
        summary["lastVerdict"] = {{"verdict", rollout::verdict_name(e->last_verdict->kind)},
                                  {"time", config::rfc3339_ms(e->last_verdict_ms)},
                                  {"reasons", e->last_verdict->reasons}};
      // Only on change: the status write is an API request.
      std::string text = all[key].dump() + summary.dump();
      if (last_saved_[key] == text) continue;
      last_saved_[key] = std::move(text);
      save_state_(e->spec.meta.ns, e->spec.meta.name, all[key], summary);
    }
  }
  if (!state_dir_) return;
  for (const auto& [key, s] : saved_) all[key] = s;  // not in the configuration now: kept for later
  std::string error;
  if (!config::write_file_atomically(*state_dir_ + "/rollouts.json", json{{"rollouts", all}}.dump(2) + "\n", &error))
    spdlog::warn("rollouts: state not saved: {}", error);
}

json RolloutController::status_json(const std::string& ns, const std::string& name) const {
  json out = json::array();
  for (const auto& [key, e] : entries_) {
    if (!name.empty() && (e->spec.meta.name != name || e->spec.meta.ns != ns)) continue;
    const auto& r = e->spec;
    json steps = json::array();
    for (const auto& s : r.steps) {
      if (s.kind == config::RolloutStep::Kind::SetWeight) steps.push_back({{"setWeight", s.weight}});
      else steps.push_back({{"pause", s.duration ? json{{"duration_ms", s.duration->count()}} : json::object()}});
    }
    json events = json::array();
    for (const auto& ev : e->status.events)
      events.push_back({{"time", config::rfc3339_ms(ev.at_ms)}, {"type", ev.type}, {"message", ev.message}, {"step", ev.step + 1},
                        {"weight", ev.weight}});
    json analysis = nullptr;
    if (e->last_verdict) {
      analysis = {{"time", config::rfc3339_ms(e->last_verdict_ms)},
                  {"verdict", rollout::verdict_name(e->last_verdict->kind)},
                  {"reasons", e->last_verdict->reasons},
                  {"canary", side_json(e->last_verdict->canary)},
                  {"stable", side_json(e->last_verdict->stable)},
                  {"failures", e->status.failures},
                  {"failure_limit", r.analysis.failure_limit}};
    }
    json target{{"kind", target_kind(r.target.kind)}, {"namespace", r.target.ns}, {"name", r.target.name}};
    if (r.target.rule) target["rule"] = *r.target.rule;
    if (!r.target.rule_name.empty()) target["rule"] = r.target.rule_name;
    out.push_back({{"name", r.meta.name},
                   {"namespace", r.meta.ns},
                   {"target", target},
                   {"stable", r.stable},
                   {"canary", r.canary},
                   {"phase", rollout::phase_name(e->status.phase)},
                   {"step", std::min(e->status.step + 1, r.steps.size())},
                   {"steps", steps},
                   {"canary_weight", e->status.weight},
                   {"weight_applied", e->status.weight_applied},
                   {"canary_header", r.canary_header ? json{{"name", r.canary_header->name}, {"value", r.canary_header->value}}
                                                     : json(nullptr)},
                   {"analysis", analysis},
                   {"events", events}});
  }
  return out;
}

std::string RolloutController::act(const std::string& ns, const std::string& name, rollout::Action action,
                                   const std::string& reason) {
  auto it = entries_.find(ns + "/" + name);
  if (it == entries_.end()) return "no rollout \"" + ns + "/" + name + "\"";
  Entry& e = *it->second;
  rollout::Machine m(e.spec, e.status);
  std::string error;
  const auto w = m.act(action, reason, unix_ms(), &error);
  if (!error.empty()) return error;
  if (action == rollout::Action::Retry) {
    e.history.clear();
    e.last_verdict.reset();
  }
  if (w) apply(e, *w);
  after_change(e);
  save();
  return {};
}

}  // namespace infergate::gateway
