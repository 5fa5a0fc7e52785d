#include "rollout/machine.h"

namespace infergate::rollout {

const char* phase_name(Phase p) {
  switch (p) {
    case Phase::Progressing: return "Progressing";
    case Phase::Paused: return "Paused";
    case Phase::Completed: return "Completed";
    case Phase::Aborted: return "Aborted";
  }
  return "?";
}

std::optional<Phase> phase_from_name(std::string_view n) {
  for (Phase p : {Phase::Progressing, Phase::Paused, Phase::Completed, Phase::Aborted})
    if (n == phase_name(p)) return p;
  return std::nullopt;
}

std::optional<Action> action_from_name(std::string_view n) {
  if (n == "promote") return Action::Promote;
  if (n == "abort") return Action::Abort;
  if (n == "pause") return Action::Pause;
  if (n == "resume") return Action::Resume;
  if (n == "retry") return Action::Retry;
  return std::nullopt;
}

void Machine::record(int64_t now_ms, std::string type, std::string message) {
  st_.events.push_back(Event{now_ms, std::move(type), std::move(message), st_.step, st_.weight});
  while (st_.events.size() > Status::kMaxEvents) st_.events.pop_front();
}

std::optional<uint32_t> Machine::set_weight(uint32_t w) {
  const bool changed = w != st_.weight || !st_.weight_applied;
  st_.weight = w;
  if (!changed) return std::nullopt;
  return w;
}

void Machine::next_step() {
  ++st_.step;
  st_.step_elapsed_ms = 0;
  st_.step_passed = false;
}

std::optional<uint32_t> Machine::run_steps(int64_t now_ms) {
  std::optional<uint32_t> out;
  while (st_.phase == Phase::Progressing && st_.step < spec_.steps.size()) {
    const config::RolloutStep& s = spec_.steps[st_.step];
    if (s.kind == config::RolloutStep::Kind::SetWeight) {
      if (auto w = set_weight(s.weight)) {
        out = w;
        record(now_ms, "setWeight", "step " + std::to_string(st_.step + 1) + ": canary weight " + std::to_string(*w) + "%");
      }
      next_step();
      continue;
    }
    if (!s.duration) {
      st_.phase = Phase::Paused;
      record(now_ms, "paused", "step " + std::to_string(st_.step + 1) + ": paused until resumed or promoted");
      return out;
    }
    // Never leave a pause while the latest verdict failed: the next one decides.
    const bool judged = (st_.step_passed && st_.failures == 0) ||
                        (spec_.analysis.gates.empty() && spec_.analysis.prometheus.empty()) || st_.weight == 0;
    if (st_.step_elapsed_ms < s.duration->count() || !judged) return out;
    next_step();
  }
  if (st_.phase == Phase::Progressing && st_.step >= spec_.steps.size()) {
    if (auto w = set_weight(100)) out = w;
    st_.phase = Phase::Completed;
    record(now_ms, "promoted", "all steps done: the canary has every request");
  }
  return out;
}

std::optional<uint32_t> Machine::tick(std::chrono::milliseconds elapsed, const std::optional<Verdict>& verdict,
                                      int64_t now_ms) {
  if (st_.phase != Phase::Progressing) return std::nullopt;
  if (st_.step < spec_.steps.size() && spec_.steps[st_.step].kind == config::RolloutStep::Kind::Pause)
    st_.step_elapsed_ms += elapsed.count();
  if (verdict && st_.weight_applied) {
    std::string summary;
    for (const auto& r : verdict->reasons) summary += (summary.empty() ? "" : "; ") + r;
    switch (verdict->kind) {
      case VerdictKind::Pass:
        st_.failures = 0;
        st_.step_passed = true;
        break;
      case VerdictKind::Inconclusive:
        break;
      case VerdictKind::Fail:
        ++st_.failures;
        record(now_ms, "analysis", "failed (" + std::to_string(st_.failures) + " of " +
                                       std::to_string(spec_.analysis.failure_limit) + "): " + summary);
        if (st_.failures >= spec_.analysis.failure_limit) {
          st_.phase = Phase::Aborted;
          record(now_ms, "aborted", "analysis failed " + std::to_string(st_.failures) +
                                        " times in a row: all traffic back to stable (" + summary + ")");
          return set_weight(0);
        }
        break;
    }
  }
  return run_steps(now_ms);
}

std::optional<uint32_t> Machine::act(Action a, const std::string& reason, int64_t now_ms, std::string* error) {
  const std::string why = reason.empty() ? "" : " (" + reason + ")";
  switch (a) {
    case Action::Promote:
      if (st_.phase == Phase::Completed) {
        *error = "already completed";
        return std::nullopt;
      }
      st_.phase = Phase::Completed;
      st_.step = spec_.steps.size();
      record(now_ms, "promoted", "promoted by an operator" + why + ": the canary has every request");
      return set_weight(100);
    case Action::Abort:
      if (st_.phase == Phase::Aborted) {
        *error = "already aborted";
        return std::nullopt;
      }
      st_.phase = Phase::Aborted;
      record(now_ms, "aborted", "aborted by an operator" + why + ": all traffic back to stable");
      return set_weight(0);
    case Action::Pause:
      if (st_.phase != Phase::Progressing) {
        *error = std::string("only a progressing rollout can be paused; it is ") + phase_name(st_.phase);
        return std::nullopt;
      }
      st_.phase = Phase::Paused;
      record(now_ms, "paused", "paused by an operator" + why);
      return std::nullopt;
    case Action::Resume: {
      if (st_.phase != Phase::Paused) {
        *error = std::string("only a paused rollout can be resumed; it is ") + phase_name(st_.phase);
        return std::nullopt;
      }
      st_.phase = Phase::Progressing;
      // Resuming an indefinite pause step is what ends it.
      if (st_.step < spec_.steps.size() && spec_.steps[st_.step].kind == config::RolloutStep::Kind::Pause &&
          !spec_.steps[st_.step].duration)
        next_step();
      record(now_ms, "resumed", "resumed" + why);
      return run_steps(now_ms);
    }
    case Action::Retry:
      if (st_.phase != Phase::Aborted && st_.phase != Phase::Completed) {
        *error = std::string("only an aborted or completed rollout can be retried; it is ") + phase_name(st_.phase);
        return std::nullopt;
      }
      st_.phase = Phase::Progressing;
      st_.step = 0;
      st_.step_elapsed_ms = 0;
      st_.step_passed = false;
      st_.failures = 0;
      record(now_ms, "retried", "started again from step 1" + why);
      return run_steps(now_ms);
  }
  return std::nullopt;
}

}  // namespace infergate::rollout
