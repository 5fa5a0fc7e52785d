// Runs the configuration's Rollouts on the control thread: every tick it moves each one's
// state machine (rollout/machine.h), every analysis interval it reads the stable and canary
// versions' per-version metrics (gateway/version_stats.h) over the sliding window and asks
// rollout/analysis.h for a verdict, and it applies the weights the machine decides through
// the same path as POST /weights (a versioned, validated config change).
//
// Reloads (documented in docs/ROLLOUTS.md): a new Rollout starts at step 1; one whose target,
// stable or canary changed starts again at step 1; one whose steps or analysis changed keeps
// its phase and step (clamped to the new steps); a removed one stops where it is, its weights
// left as they are. With a state directory the status of every rollout is saved in
// rollouts.json after each transition, and a restart resumes each at the step it was on.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "config/model.h"
#include "metrics/registry.h"
#include "rollout/machine.h"

namespace infergate::gateway {

struct Snapshot;

class RolloutController {
 public:
  // Sets the canary's weight (the stable one gets 100 - weight) of a rollout's target; ""
  // when applied, else why not.
  using ApplyWeight = std::function<std::string(const config::Rollout&, uint32_t canary_weight)>;

  RolloutController(boost::asio::io_context& io, metrics::Registry& registry, ApplyWeight apply,
                    std::optional<std::string> state_dir);
  ~RolloutController();
  RolloutController(const RolloutController&) = delete;
  RolloutController& operator=(const RolloutController&) = delete;

  // Kubernetes mode keeps each rollout's state in its Rollout's status, so a new leader
  // resumes where the old one was: `save` gets a rollout's state (the same JSON as
  // rollouts.json holds) and what a user reads there (phase, step, weights, last verdict)
  // after every change; restore() hands back states read from the cluster.
  using SaveState = std::function<void(const std::string& ns, const std::string& name, const nlohmann::json& state,
                                       const nlohmann::json& summary)>;
  void set_save_state(SaveState save) { save_state_ = std::move(save); }
  void restore(std::map<std::string, nlohmann::json> saved_by_key);

  // A new snapshot serves: its Rollouts are reconciled on the next turn of the control loop
  // (never inside the call, which may come from a weight this controller applied).
  void update(std::shared_ptr<const Snapshot> snap);
  void stop();

  // GET /rollouts: every rollout, or the one named ("" = all).
  nlohmann::json status_json(const std::string& ns, const std::string& name) const;
  // An operator's action; "" when done, else why not.
  std::string act(const std::string& ns, const std::string& name, rollout::Action action, const std::string& reason);

 private:
  struct Entry;
  using Clock = std::chrono::steady_clock;

  void reconcile();
  void tick();
  void step(Entry& e, Clock::time_point now);
  std::optional<rollout::Verdict> analyse(Entry& e, Clock::time_point now);
  void query_prometheus(Entry& e);
  void apply(Entry& e, uint32_t weight);
  void after_change(Entry& e);
  void save();
  void load_saved();

  boost::asio::io_context& io_;
  metrics::Registry& registry_;
  ApplyWeight apply_;
  std::optional<std::string> state_dir_;
  SaveState save_state_;
  std::map<std::string, std::string> last_saved_;  // by key: what save_state_ last got
  boost::asio::steady_timer timer_;
  std::shared_ptr<const Snapshot> snapshot_;
  std::map<std::string, std::unique_ptr<Entry>> entries_;  // by "namespace/name"
  std::map<std::string, nlohmann::json> saved_;            // rollouts.json, until reconciled
  bool reconcile_posted_ = false;
  bool running_ = false;
  bool stopped_ = false;
};

}  // namespace infergate::gateway
