#include "gateway/kube/leader_elector.h"

#include <cstdio>
#include <ctime>
#include <utility>

#include "config/json_fields.h"
#include "gateway/kube/resources.h"
#include "metrics/registry.h"

namespace infergate::gateway::kube {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

int64_t spec_int(const json& spec, const char* key) {
  auto it = spec.find(key);
  return it != spec.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

}  // namespace

LeaderElector::LeaderElector(asio::io_context& io, ApiClient& api, LeaderElectionConfig config,
                             std::function<void()> on_started_leading, std::function<void()> on_stopped_leading,
                             metrics::Registry* registry)
    : io_(io),
      api_(api),
      config_(std::move(config)),
      on_started_(std::move(on_started_leading)),
      on_stopped_(std::move(on_stopped_leading)),
      monotonic_([] { return std::chrono::steady_clock::now(); }),
      wall_([] { return std::chrono::system_clock::now(); }),
      retry_timer_(io),
      deadline_timer_(io) {
  if (registry) {
    const char* help = "Leader election transitions of this replica";
    became_leader_ = registry->counter("infergate_leader_election_transitions_total", help,
                                       {{"transition", "started_leading"}}, "infergate.leader_election.started_leading");
    stepped_down_ = registry->counter("infergate_leader_election_transitions_total", help,
                                      {{"transition", "stopped_leading"}}, "infergate.leader_election.stopped_leading");
    leading_gauge_ = registry->gauge("infergate_leader_election_leading", "1 while this replica leads", {},
                                     "infergate.leader_election.leading");
  }
}

LeaderElector::~LeaderElector() { alive_.reset(); }

void LeaderElector::set_clocks(MonotonicClock monotonic, WallClock wall) {
  monotonic_ = std::move(monotonic);
  wall_ = std::move(wall);
}

std::string LeaderElector::micro_time(std::chrono::system_clock::time_point t) {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(us / 1000000);
  long frac = static_cast<long>(us % 1000000);
  if (frac < 0) {
    frac += 1000000;
    --secs;
  }
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[80];  // room for any int year: -Wformat-truncation reasons about the widest
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
  return buf;
}

void LeaderElector::start() {
  if (state_ != State::Idle && state_ != State::Stopped) return;
  state_ = State::Candidate;
  ++epoch_;
  candidate_attempt();
}

void LeaderElector::stop(bool release) {
  const bool was_leading = leading_;
  state_ = State::Stopped;
  ++epoch_;
  retry_timer_.cancel();
  deadline_timer_.cancel();
  if (!was_leading) return;
  if (release && lease_.is_object()) {
    // ReleaseOnCancel: an empty holder with a 1 s lease; transitions unchanged.
    const std::string now = micro_time(wall_());
    json lease = lease_;
    lease["spec"] = json{{"holderIdentity", ""},
                         {"leaseDurationSeconds", 1},
                         {"acquireTime", now},
                         {"renewTime", now},
                         {"leaseTransitions", spec_int(observed_spec_, "leaseTransitions")}};
    api_.request("PUT", object_path(lease_resource(), config_.ns, config_.name), lease.dump(), "application/json",
                 [](ApiResponse) {});
  }
  stepped_down();
}

// --- one attempt: read the Lease, then create, renew or take it over ---------------------------

void LeaderElector::try_acquire_or_renew(std::function<void(bool)> done) {
  std::weak_ptr<int> alive = alive_;
  const uint64_t epoch = epoch_;
  api_.request("GET", object_path(lease_resource(), config_.ns, config_.name), "", "",
               [this, alive, epoch, done = std::move(done)](ApiResponse r) {
                 if (alive.expired() || epoch != epoch_) return;
                 if (r.error.empty() && r.status == 404) {
                   json lease{{"apiVersion", "coordination.k8s.io/v1"},
                              {"kind", "Lease"},
                              {"metadata", {{"name", config_.name}, {"namespace", config_.ns}}},
                              {"spec", record(json())}};
                   write_lease("POST", collection_path(lease_resource(), config_.ns), std::move(lease), done);
                   return;
                 }
                 json lease = r.ok() ? json::parse(r.body, nullptr, false) : json();
                 if (!lease.is_object()) return done(false);
                 on_lease(lease, done);
               });
}

void LeaderElector::on_lease(const json& lease, std::function<void(bool)> done) {
  auto spec_it = lease.find("spec");
  const json spec = spec_it != lease.end() && spec_it->is_object() ? *spec_it : json::object();
  const auto now = monotonic_();
  if (spec != observed_spec_) {  // expiry counts from when the record last changed, seen here
    observed_spec_ = spec;
    observed_time_ = now;
  }
  const std::string holder = config::json_string(spec, "holderIdentity");
  leader_identity_ = holder;
  int64_t seconds = spec_int(spec, "leaseDurationSeconds");
  const auto duration = seconds > 0 ? std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                          std::chrono::seconds(seconds))
                                    : std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                          config_.lease_duration);
  if (!holder.empty() && holder != config_.identity && observed_time_ + duration > now) return done(false);
  json next = lease;
  next["spec"] = record(spec);
  write_lease("PUT", object_path(lease_resource(), config_.ns, config_.name), std::move(next), std::move(done));
}

json LeaderElector::record(const json& old_spec) const {
  const std::string now = micro_time(wall_());
  json spec{{"holderIdentity", config_.identity},
            {"leaseDurationSeconds",
             std::chrono::duration_cast<std::chrono::seconds>(config_.lease_duration).count()},
            {"renewTime", now}};
  if (!old_spec.is_object()) {  // a new Lease
    spec["acquireTime"] = now;
    spec["leaseTransitions"] = 0;
  } else if (config::json_string(old_spec, "holderIdentity") == config_.identity) {  // a renewal
    const std::string acquired = config::json_string(old_spec, "acquireTime");
    spec["acquireTime"] = acquired.empty() ? now : acquired;
    spec["leaseTransitions"] = spec_int(old_spec, "leaseTransitions");
  } else {  // a takeover
    spec["acquireTime"] = now;
    spec["leaseTransitions"] = spec_int(old_spec, "leaseTransitions") + 1;
  }
  return spec;
}

void LeaderElector::write_lease(const std::string& method, const std::string& target, json lease,
                                std::function<void(bool)> done) {
  std::weak_ptr<int> alive = alive_;
  const uint64_t epoch = epoch_;
  const std::string body = lease.dump();
  api_.request(method, target, body, "application/json",
               [this, alive, epoch, lease = std::move(lease), done = std::move(done)](ApiResponse r) mutable {
                 if (alive.expired() || epoch != epoch_) return;
                 if (!r.ok()) return done(false);  // 409: another replica wrote first
                 json written = json::parse(r.body, nullptr, false);
                 lease_ = written.is_object() ? std::move(written) : std::move(lease);
                 observed_spec_ = lease_.value("spec", json::object());
                 observed_time_ = monotonic_();
                 leader_identity_ = config_.identity;
                 done(true);
               });
}

// --- candidate and leader loops ------------------------------------------------------------------

void LeaderElector::candidate_attempt() {
  try_acquire_or_renew([this](bool ok) {
    if (state_ != State::Candidate) return;
    if (ok) return became_leader();
    schedule_candidate_attempt();
  });
}

void LeaderElector::schedule_candidate_attempt() {
  double factor = 1.0;
  if (config_.jitter > 0) factor += std::uniform_real_distribution<double>(0, config_.jitter)(rng_);
  retry_timer_.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      config_.retry_period * factor));
  std::weak_ptr<int> alive = alive_;
  retry_timer_.async_wait([this, alive](const boost::system::error_code& ec) {
    if (ec || alive.expired() || state_ != State::Candidate) return;
    candidate_attempt();
  });
}

void LeaderElector::became_leader() {
  state_ = State::Leading;
  leading_ = true;
  became_leader_.inc();
  leading_gauge_.set(1);
  retry_timer_.expires_after(config_.retry_period);
  std::weak_ptr<int> alive = alive_;
  retry_timer_.async_wait([this, alive](const boost::system::error_code& ec) {
    if (ec || alive.expired() || state_ != State::Leading) return;
    renew_round();
  });
  if (on_started_) on_started_();
}

// One renewal round: attempts every retry period until one succeeds; when none has by the
// renew deadline (the API failing, or not answering at all), the leader steps down.
void LeaderElector::renew_round() {
  renewed_in_round_ = false;
  deadline_timer_.expires_after(config_.renew_deadline);
  std::weak_ptr<int> alive = alive_;
  deadline_timer_.async_wait([this, alive](const boost::system::error_code& ec) {
    if (ec || alive.expired() || state_ != State::Leading || renewed_in_round_) return;
    ++epoch_;  // answers still on their way belong to the lost term
    retry_timer_.cancel();
    stepped_down();
    state_ = State::Candidate;
    schedule_candidate_attempt();
  });
  renew_attempt();
}

void LeaderElector::renew_attempt() {
  try_acquire_or_renew([this](bool ok) {
    if (state_ != State::Leading) return;
    std::weak_ptr<int> alive = alive_;
    if (ok) {
      renewed_in_round_ = true;
      deadline_timer_.cancel();
      retry_timer_.expires_after(config_.retry_period);
      retry_timer_.async_wait([this, alive](const boost::system::error_code& ec) {
        if (ec || alive.expired() || state_ != State::Leading) return;
        renew_round();
      });
      return;
    }
    retry_timer_.expires_after(config_.retry_period);
    retry_timer_.async_wait([this, alive](const boost::system::error_code& ec) {
      if (ec || alive.expired() || state_ != State::Leading) return;
      renew_attempt();
    });
  });
}

void LeaderElector::stepped_down() {
  if (!leading_) return;
  leading_ = false;
  stepped_down_.inc();
  leading_gauge_.set(0);
  if (on_stopped_) on_stopped_();
}

}  // namespace infergate::gateway::kube
