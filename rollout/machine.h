#pragma once
// The state of one Rollout and how it moves: Argo Rollouts' canary steps, with analysis
// verdicts deciding when a timed pause may end and when to abort.
//
//  Progressing  steps run in order. setWeight moves the canary's weight and goes on at once;
//               pause {duration} ends once that much time has passed AND a verdict passed
//               since the step began AND the latest verdict did not fail (a step is never
//               left unjudged; with no gates, or with the canary at 0 %, time alone ends it);
//               pause {} waits in Paused.
//               failureLimit failed verdicts in a row abort. After the last step the canary
//               is promoted: weight 100, Completed.
//  Paused       manual pause, or an indefinite pause step; time stops. resume goes on.
//  Completed    promoted: the canary has every request.
//  Aborted      all traffic back to stable at once (weight 0). retry starts again at step 0.
// Every transition is recorded as an Event with its reason.

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>

#include "config/model/rollout.h"
#include "rollout/analysis.h"

namespace infergate::rollout {

enum class Phase { Progressing, Paused, Completed, Aborted };
const char* phase_name(Phase p);
std::optional<Phase> phase_from_name(std::string_view name);

struct Event {
  int64_t at_ms = 0;  // unix milliseconds
  std::string type;   // "setWeight", "analysis", "paused", "resumed", "promoted", "aborted", ...
  std::string message;
  size_t step = 0;
  uint32_t weight = 0;
};

struct Status {
  Phase phase = Phase::Progressing;
  size_t step = 0;              // the step being run (== steps.size() when Completed)
  uint32_t weight = 0;          // the canary weight last applied
  bool weight_applied = false;  // false until the first setWeight reached the route
  int64_t step_elapsed_ms = 0;  // time spent in the current timed pause while Progressing
  bool step_passed = false;     // a verdict passed since the step began
  uint32_t failures = 0;        // failed verdicts in a row
  std::deque<Event> events;     // the latest kMaxEvents

  static constexpr size_t kMaxEvents = 100;
};

enum class Action { Promote, Abort, Pause, Resume, Retry };
std::optional<Action> action_from_name(std::string_view name);

class Machine {
 public:
  Machine(const config::Rollout& spec, Status& status) : spec_(spec), st_(status) {}

  // `elapsed`: time since the previous tick; `verdict`: a new analysis verdict, if one was
  // made this tick. Returns the canary weight to apply when it changed.
  std::optional<uint32_t> tick(std::chrono::milliseconds elapsed, const std::optional<Verdict>& verdict, int64_t now_ms);

  // An operator's action. Returns the weight to apply when it changed; *error when the action
  // does not apply in the current phase (the status is then unchanged).
  std::optional<uint32_t> act(Action a, const std::string& reason, int64_t now_ms, std::string* error);

  void record(int64_t now_ms, std::string type, std::string message);

 private:
  std::optional<uint32_t> set_weight(uint32_t w);
  std::optional<uint32_t> run_steps(int64_t now_ms);
  void next_step();

  const config::Rollout& spec_;
  Status& st_;
};

}  // namespace infergate::rollout
