// Leader election among gateway replicas on a coordination.k8s.io/v1 Lease, with client-go's
// semantics (tools/leaderelection), so that infergate replicas and any client-go tooling
// looking at the Lease agree on who leads:
//  - the record is the Lease's spec: holderIdentity, leaseDurationSeconds, acquireTime,
//    renewTime (MicroTime, RFC 3339 with microseconds), leaseTransitions;
//  - a lease held by another is expired when leaseDuration has passed since this replica last
//    saw the record CHANGE (local monotonic time), never by comparing the remote renewTime
//    with the local clock: replicas' clocks may disagree, observation times cannot;
//  - a missing Lease is created (POST); an existing one is replaced (PUT) with the
//    metadata.resourceVersion it was read with, so of two replicas racing only one wins (409:
//    the loser tries again later);
//  - a candidate tries every retryPeriod (+ up to jitter × retryPeriod), the leader renews every
//    retryPeriod and steps down when it could not renew within renewDeadline of its last renewal
//    round (also when the API server does not answer at all); it then becomes a candidate again;
//  - stop(true) releases a held lease as ReleaseOnCancel does: holderIdentity "" and
//    leaseDurationSeconds 1, so another replica takes over at once.
// Everything runs on the io_context given (the control thread's), callbacks included.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include "gateway/kube/api_client.h"
#include "metrics/handles.h"

namespace infergate::metrics {
class Registry;
}

namespace infergate::gateway::kube {

struct LeaderElectionConfig {
  std::string ns;        // the Lease's namespace
  std::string name;      // the Lease's name
  std::string identity;  // this replica (pod name); must differ between replicas
  std::chrono::milliseconds lease_duration{15000};
  std::chrono::milliseconds renew_deadline{10000};  // < lease_duration
  std::chrono::milliseconds retry_period{2000};
  double jitter = 1.2;   // client-go's JitterFactor for candidates' retries; 0 = none
};

class LeaderElector {
 public:
  // Monotonic time for expiry decisions; wall time for the Lease's timestamps. Injectable for
  // tests; timers always run on the io_context's steady clock.
  using MonotonicClock = std::function<std::chrono::steady_clock::time_point()>;
  using WallClock = std::function<std::chrono::system_clock::time_point()>;

  // `registry` (optional) gets infergate_leader_election_transitions_total (became leader,
  // stepped down) and the infergate_leader_election_leading gauge (0/1).
  LeaderElector(boost::asio::io_context& io, ApiClient& api, LeaderElectionConfig config,
                std::function<void()> on_started_leading, std::function<void()> on_stopped_leading,
                metrics::Registry* registry = nullptr);
  ~LeaderElector();
  LeaderElector(const LeaderElector&) = delete;
  LeaderElector& operator=(const LeaderElector&) = delete;

  void set_clocks(MonotonicClock monotonic, WallClock wall);

  // Becomes a candidate: the first attempt is made at once.
  void start();
  // Stops trying; when leading, on_stopped_leading runs (before stop returns) and, with
  // `release`, the Lease is handed back (fire and forget: the request outlives nothing).
  void stop(bool release);

  bool leading() const { return leading_; }
  // The holder last seen in the Lease ("" when none or unknown).
  const std::string& leader_identity() const { return leader_identity_; }

  // "2026-12-07T15:00:00.123456Z": a metav1.MicroTime (exposed for tests).
  static std::string micro_time(std::chrono::system_clock::time_point t);

 private:
  enum class State { Idle, Candidate, Leading, Stopped };

  void try_acquire_or_renew(std::function<void(bool)> done);
  void on_lease(const nlohmann::json& lease, std::function<void(bool)> done);
  void write_lease(const std::string& method, const std::string& target, nlohmann::json lease,
                   std::function<void(bool)> done);
  nlohmann::json record(const nlohmann::json& old_spec) const;

  void candidate_attempt();
  void schedule_candidate_attempt();
  void renew_round();
  void renew_attempt();
  void became_leader();
  void stepped_down();

  boost::asio::io_context& io_;
  ApiClient& api_;
  LeaderElectionConfig config_;
  std::function<void()> on_started_, on_stopped_;
  MonotonicClock monotonic_;
  WallClock wall_;

  State state_ = State::Idle;
  bool leading_ = false;
  std::string leader_identity_;
  nlohmann::json observed_spec_;   // the record as last seen
  std::chrono::steady_clock::time_point observed_time_{};  // when it last changed
  nlohmann::json lease_;           // the Lease object last read or written (resourceVersion)

  boost::asio::steady_timer retry_timer_;
  boost::asio::steady_timer deadline_timer_;  // a leader's renew deadline
  bool renewed_in_round_ = false;
  uint64_t epoch_ = 0;             // answers to requests of an earlier epoch are ignored
  std::mt19937_64 rng_{std::random_device{}()};
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);

  metrics::Counter became_leader_, stepped_down_;
  metrics::Gauge leading_gauge_;
};

}  // namespace infergate::gateway::kube
