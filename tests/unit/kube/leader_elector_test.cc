// Leader election on a Lease (gateway/kube/leader_elector.h) against the fake API server, with
// short durations and real timers: lease 400 ms, renew deadline 250 ms, retry period 40 ms.
#include <gtest/gtest.h>

#include <regex>

#include "gateway/kube/leader_elector.h"
#include "metrics/registry.h"
#include "tests/unit/kube/fake_api_client.h"

namespace infergate::gateway::kube {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::FakeApiClient;

constexpr const char* kLeasePath = "/apis/coordination.k8s.io/v1/namespaces/infer/leases/infergate";

LeaderElectionConfig config_for(const std::string& identity) {
  LeaderElectionConfig c;
  c.ns = "infer";
  c.name = "infergate";
  c.identity = identity;
  c.lease_duration = 400ms;
  c.renew_deadline = 250ms;
  c.retry_period = 40ms;
  c.jitter = 0;
  return c;
}

json lease_held_by(const std::string& holder, int transitions = 3) {
  return json{{"apiVersion", "coordination.k8s.io/v1"},
              {"kind", "Lease"},
              {"metadata", {{"name", "infergate"}, {"namespace", "infer"}}},
              {"spec",
               {{"holderIdentity", holder},
                {"leaseDurationSeconds", 15},
                {"acquireTime", "2026-12-07T10:00:00.000000Z"},
                {"renewTime", "2026-12-07T10:00:00.000000Z"},
                {"leaseTransitions", transitions}}}};
}

struct Candidate {
  Candidate(boost::asio::io_context& io, FakeApiClient& api, const std::string& id, metrics::Registry* reg = nullptr)
      : elector(io, api, config_for(id), [this] { ++started; }, [this] { ++stopped; }, reg) {}
  int started = 0, stopped = 0;
  LeaderElector elector;
};

class LeaderElectorTest : public ::testing::Test {
 protected:
  const json& lease() { return api.objects.at(kLeasePath); }
  // An io_context that ran out of work stays stopped until restarted.
  void run(std::chrono::milliseconds d) {
    io.restart();
    io.run_for(d);
  }
  boost::asio::io_context io;
  FakeApiClient api{io};
};

TEST_F(LeaderElectorTest, AcquiresWhenThereIsNoLease) {
  metrics::Registry registry(1);
  Candidate a(io, api, "pod-a", &registry);
  a.elector.start();
  run(20ms);
  ASSERT_TRUE(a.elector.leading());
  EXPECT_EQ(a.started, 1);
  EXPECT_EQ(api.count("POST", "/namespaces/infer/leases"), 1u);
  const json& spec = lease()["spec"];
  EXPECT_EQ(spec["holderIdentity"], "pod-a");
  EXPECT_EQ(spec["leaseDurationSeconds"], 0) << "400 ms truncates to 0 s as in client-go";
  EXPECT_EQ(spec["leaseTransitions"], 0);
  EXPECT_TRUE(std::regex_match(spec["renewTime"].get<std::string>(),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)")))
      << spec["renewTime"];
  EXPECT_EQ(a.elector.leader_identity(), "pod-a");
  EXPECT_NE(registry.prometheus_text().find("infergate_leader_election_leading 1"), std::string::npos);
}

TEST_F(LeaderElectorTest, LeaderRenewsEveryRetryPeriod) {
  Candidate a(io, api, "pod-a");
  a.elector.start();
  run(20ms);
  ASSERT_TRUE(a.elector.leading());
  const json first = lease()["spec"];
  run(300ms);
  EXPECT_TRUE(a.elector.leading());
  EXPECT_GE(api.count("PUT", "/leases/infergate"), 4u);
  const json& spec = lease()["spec"];
  EXPECT_NE(spec["renewTime"], first["renewTime"]);
  EXPECT_EQ(spec["acquireTime"], first["acquireTime"]);
  EXPECT_EQ(spec["leaseTransitions"], 0);
  EXPECT_EQ(a.started, 1);
  EXPECT_EQ(a.stopped, 0);
}

TEST_F(LeaderElectorTest, CandidateWaitsWhileAnotherHolderRenews) {
  Candidate a(io, api, "pod-a"), b(io, api, "pod-b");
  a.elector.start();
  run(20ms);
  b.elector.start();
  run(600ms);  // longer than the lease: a keeps renewing, so b never sees it expire
  EXPECT_TRUE(a.elector.leading());
  EXPECT_FALSE(b.elector.leading());
  EXPECT_EQ(b.started, 0);
  EXPECT_EQ(b.elector.leader_identity(), "pod-a");
}

TEST_F(LeaderElectorTest, TakesOverALeaseNotRenewedForTheLeaseDuration) {
  json held = lease_held_by("pod-gone");
  held["spec"]["leaseDurationSeconds"] = 0;  // judged by our 400 ms, from our first look at it
  api.put_object(kLeasePath, held);
  Candidate a(io, api, "pod-a");
  a.elector.start();
  run(250ms);
  EXPECT_FALSE(a.elector.leading()) << "the remote renewTime is old, but we only just saw it";
  EXPECT_EQ(a.elector.leader_identity(), "pod-gone");
  run(300ms);
  ASSERT_TRUE(a.elector.leading());
  EXPECT_EQ(lease()["spec"]["holderIdentity"], "pod-a");
  EXPECT_EQ(lease()["spec"]["leaseTransitions"], 4);
  EXPECT_NE(lease()["spec"]["acquireTime"], "2026-12-07T10:00:00.000000Z");
}

TEST_F(LeaderElectorTest, ARecordThatKeepsChangingIsNotExpired) {
  json held = lease_held_by("pod-b");
  held["spec"]["leaseDurationSeconds"] = 0;
  api.put_object(kLeasePath, held);
  // pod-b renews behind our back before every read of ours.
  int renewals = 0;
  api.before_answer = [&](const testing::RecordedRequest& r) {
    if (r.method != "GET") return;
    json l = api.objects.at(kLeasePath);
    l["spec"]["renewTime"] = "2026-12-07T10:00:0" + std::to_string(++renewals % 10) + ".000000Z";
    api.put_object(kLeasePath, l);
  };
  Candidate a(io, api, "pod-a");
  a.elector.start();
  run(600ms);
  EXPECT_FALSE(a.elector.leading());
}

TEST_F(LeaderElectorTest, ConflictOnUpdateMeansTryAgainLater) {
  api.put_object(kLeasePath, lease_held_by(""));  // released: free to take
  api.before_answer = [&](const testing::RecordedRequest& r) {
    if (r.method == "PUT" && api.count("PUT") == 1) {  // another replica writes first
      json l = api.objects.at(kLeasePath);
      api.put_object(kLeasePath, l);
    }
  };
  Candidate a(io, api, "pod-a");
  a.elector.start();
  run(20ms);
  EXPECT_FALSE(a.elector.leading()) << "the first PUT carried a stale resourceVersion: 409";
  run(100ms);
  EXPECT_TRUE(a.elector.leading());
  EXPECT_EQ(lease()["spec"]["holderIdentity"], "pod-a");
  EXPECT_EQ(lease()["spec"]["leaseTransitions"], 4);
}

TEST_F(LeaderElectorTest, StepsDownWhenItCannotRenewWithinTheDeadline) {
  metrics::Registry registry(1);
  Candidate a(io, api, "pod-a", &registry);
  a.elector.start();
  run(20ms);
  ASSERT_TRUE(a.elector.leading());
  api.fail_status = 500;
  run(200ms);
  EXPECT_TRUE(a.elector.leading()) << "still within the renew deadline";
  run(200ms);
  EXPECT_FALSE(a.elector.leading());
  EXPECT_EQ(a.stopped, 1);
  EXPECT_NE(registry.prometheus_text().find("infergate_leader_election_transitions_total{transition=\"stopped_leading\"} 1"),
            std::string::npos)
      << registry.prometheus_text();
  // A candidate again: once the API answers, it leads again (its own lease).
  api.fail_status = 0;
  run(100ms);
  EXPECT_TRUE(a.elector.leading());
  EXPECT_EQ(a.started, 2);
}

TEST_F(LeaderElectorTest, StepsDownWhenTheApiServerDoesNotAnswer) {
  Candidate a(io, api, "pod-a");
  a.elector.start();
  run(20ms);
  ASSERT_TRUE(a.elector.leading());
  api.hang = true;
  run(400ms);
  EXPECT_FALSE(a.elector.leading());
  EXPECT_EQ(a.stopped, 1);
}

TEST_F(LeaderElectorTest, LosesToAHolderThatTookOver) {
  Candidate a(io, api, "pod-a");
  a.elector.start();
  run(20ms);
  ASSERT_TRUE(a.elector.leading());
  // Another replica holds the lease now (say a's renewals failed long enough elsewhere).
  json l = api.objects.at(kLeasePath);
  l["spec"]["holderIdentity"] = "pod-b";
  l["spec"]["leaseDurationSeconds"] = 15;
  api.put_object(kLeasePath, l);
  run(400ms);
  EXPECT_FALSE(a.elector.leading());
  EXPECT_EQ(a.elector.leader_identity(), "pod-b");
  EXPECT_EQ(lease()["spec"]["holderIdentity"], "pod-b") << "never overwritten while valid";
}

TEST_F(LeaderElectorTest, StopReleasesTheLeaseSoAnotherTakesOverAtOnce) {
  Candidate a(io, api, "pod-a"), b(io, api, "pod-b");
  a.elector.start();
  run(20ms);
  ASSERT_TRUE(a.elector.leading());
  b.elector.start();
  run(60ms);
  ASSERT_FALSE(b.elector.leading());
  a.elector.stop(true);
  EXPECT_FALSE(a.elector.leading());
  EXPECT_EQ(a.stopped, 1);
  run(10ms);
  EXPECT_EQ(lease()["spec"]["holderIdentity"], "");
  EXPECT_EQ(lease()["spec"]["leaseDurationSeconds"], 1);
  run(100ms);  // b's next attempt (40 ms period) finds an empty holder
  EXPECT_TRUE(b.elector.leading());
  EXPECT_EQ(lease()["spec"]["leaseTransitions"], 1);
}

TEST_F(LeaderElectorTest, StopWithoutReleaseLeavesTheLease) {
  Candidate a(io, api, "pod-a");
  a.elector.start();
  run(20ms);
  const size_t before = api.requests.size();
  a.elector.stop(false);
  run(100ms);
  EXPECT_EQ(api.requests.size(), before);
  EXPECT_EQ(lease()["spec"]["holderIdentity"], "pod-a");
  EXPECT_EQ(a.stopped, 1);
}

TEST(MicroTime, SixFractionalDigits) {
  using namespace std::chrono;
  EXPECT_EQ(LeaderElector::micro_time(system_clock::time_point(microseconds(1796655600000007))),
            "2026-12-07T15:00:00.000007Z");
}

}  // namespace
}  // namespace infergate::gateway::kube
