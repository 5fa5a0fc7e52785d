// Flow control's queue (pools/flow_control.h): room from the servers' signals, strict priority
// between bands, round-robin between flows, FCFS / EDF within one, limits and eviction, and a
// waiter that leaves holding nothing.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "pools/flow_control.h"
#include "pools_test_util.h"

namespace infergate::pools {
namespace {

// "<prefix><n>" (built by appending: GCC 12 warns falsely on "lit" + std::string).
std::string named(const char* prefix, int n) {
  std::string s(prefix);
  s += std::to_string(n);
  return s;
}

using testing::TestCluster;

struct Harness {
  TestCluster tc;
  config::Config config;
  config::InferencePool pool;
  std::shared_ptr<FlowQueue> queue = std::make_shared<FlowQueue>("pool");
  std::unique_ptr<FlowPolicy> policy;
  std::vector<std::string> order;  // names of the requests woken Dispatched, in order
  std::vector<std::string> evicted;

  explicit Harness(size_t endpoints, config::FlowControlConfig s = {}) : tc(endpoints) {
    s.enabled = true;
    pool.meta.name = "pool";
    policy = std::make_unique<FlowPolicy>(s, config, pool, queue);
  }
  FlowQueue::Admission admit(FlowTicket& t, std::string name, int32_t priority = 0, std::string flow = "",
                             int64_t deadline = 0, uint64_t bytes = 1) {
    FlowQueue::Arrival a;
    a.priority = priority;
    a.flow = std::move(flow);
    a.deadline = deadline;
    a.bytes = bytes;
    a.wake = [this, name](FlowOutcome o) { (o == FlowOutcome::Dispatched ? order : evicted).push_back(name); };
    return queue->admit(*policy, tc.cluster.endpoints, std::move(a), steady_now_ms(), t);
  }
  // A request reaches server i (what the router does): counted there, unanswered, out of
  // transit.
  void start(FlowTicket& t, size_t i) {
    tc.at(i).request_started();
    tc.at(i).held_since_scrape.fetch_add(1);
    EXPECT_EQ(t.release(), FlowTicket::Held::InTransit);
  }
  void finish(size_t i) {
    tc.at(i).request_ended();
    queue->capacity_changed(*policy, tc.cluster.endpoints, steady_now_ms());
  }
};

config::FlowControlConfig concurrency(uint32_t limit) {
  config::FlowControlConfig s;
  s.max_concurrency_per_endpoint = limit;
  return s;
}

TEST(FlowControl, WithoutSignalsNothingWaits) {
  Harness h(2);
  std::vector<FlowTicket> t(50);
  for (auto& ticket : t) EXPECT_EQ(h.admit(ticket, "r").admit, FlowQueue::Admit::Pass);
  EXPECT_EQ(h.queue->queued(), 0u);
  EXPECT_EQ(h.queue->in_transit(), 50);
  t.clear();
  EXPECT_EQ(h.queue->in_transit(), 0);
}

TEST(FlowControl, ConcurrencyLimitHoldsTheRestAndWakesExactlyTheRoom) {
  Harness h(2, concurrency(1));
  FlowTicket a, b, c, d;
  EXPECT_EQ(h.admit(a, "a").admit, FlowQueue::Admit::Pass);
  EXPECT_EQ(h.admit(b, "b").admit, FlowQueue::Admit::Pass);
  EXPECT_EQ(h.admit(c, "c").admit, FlowQueue::Admit::Queued);  // in transit counts
  EXPECT_EQ(h.admit(d, "d").admit, FlowQueue::Admit::Queued);
  h.start(a, 0);
  h.start(b, 1);
  h.queue->capacity_changed(*h.policy, h.tc.cluster.endpoints, steady_now_ms());
  EXPECT_TRUE(h.order.empty());  // both servers full
  h.finish(0);
  EXPECT_EQ(h.order, std::vector<std::string>{"c"});  // one slot: one request, not both
  EXPECT_EQ(h.queue->queued(), 1u);
  h.start(c, 0);
  h.finish(1);
  EXPECT_EQ(h.order, (std::vector<std::string>{"c", "d"}));
  EXPECT_EQ(h.queue->queued(), 0u);
}

TEST(FlowControl, ScrapedQueueAndWhatWasSentSinceDecideTheRoom) {
  Harness h(1);
  EndpointState& ep = h.tc.at(0);
  ep.queue_size = 3;  // threshold 5: room for 2
  ep.scraped_at_ms = steady_now_ms();
  FlowTicket a, b, c;
  EXPECT_EQ(h.admit(a, "a").admit, FlowQueue::Admit::Pass);
  EXPECT_EQ(h.admit(b, "b").admit, FlowQueue::Admit::Pass);
  EXPECT_EQ(h.admit(c, "c").admit, FlowQueue::Admit::Queued);
  h.start(a, 0);
  h.start(b, 0);
  EXPECT_EQ(ep.held_since_scrape.load(), 2);
  // A scrape: the two now show in the queue, and one left it.
  ep.queue_size = 4;
  ep.held_since_scrape = 0;
  h.queue->capacity_changed(*h.policy, h.tc.cluster.endpoints, steady_now_ms());
  EXPECT_EQ(h.order, std::vector<std::string>{"c"});
  // KV cache full: saturated whatever the queue says.
  FlowTicket d;
  h.start(c, 0);
  ep.queue_size = 0;
  ep.held_since_scrape = 0;
  ep.kv_cache_usage = 0.85;
  EXPECT_EQ(h.admit(d, "d").admit, FlowQueue::Admit::Queued);
  EXPECT_DOUBLE_EQ(FlowQueue::saturation(h.policy->settings, h.tc.cluster.endpoints, steady_now_ms(), 1000), 1.0);
  // Stale metrics say nothing: the queue drains.
  ep.scraped_at_ms = steady_now_ms() - 5000;
  h.queue->capacity_changed(*h.policy, h.tc.cluster.endpoints, steady_now_ms());
  EXPECT_EQ(h.order.back(), "d");
}

TEST(FlowControl, StrictPriorityBetweenBands) {
  Harness h(1, concurrency(1));
  FlowTicket first;
  ASSERT_EQ(h.admit(first, "first").admit, FlowQueue::Admit::Pass);
  h.start(first, 0);
  std::vector<FlowTicket> t(6);
  const int32_t priorities[] = {-1, 0, 5, -1, 5, 0};
  for (size_t i = 0; i < t.size(); ++i)
    ASSERT_EQ(h.admit(t[i], named("p", priorities[i]) + "#" + std::to_string(i), priorities[i]).admit,
              FlowQueue::Admit::Queued);
  for (size_t i = 0; i < t.size(); ++i) {
    h.finish(0);
    ASSERT_EQ(h.order.size(), i + 1);
    const std::string& name = h.order.back();
    h.start(t[std::stoul(name.substr(name.find('#') + 1))], 0);
  }
  EXPECT_EQ(h.order, (std::vector<std::string>{"p5#2", "p5#4", "p0#1", "p0#5", "p-1#0", "p-1#3"}));
}

TEST(FlowControl, RoundRobinBetweenFlowsFcfsWithin) {
  Harness h(1, concurrency(1));
  FlowTicket first;
  ASSERT_EQ(h.admit(first, "first").admit, FlowQueue::Admit::Pass);
  h.start(first, 0);
  std::vector<FlowTicket> t(8);
  // Tenant a floods (6), tenant b sends 2 after it.
  for (int i = 0; i < 6; ++i) h.admit(t[i], named("a", i), 0, "a");
  for (int i = 0; i < 2; ++i) h.admit(t[6 + i], named("b", i), 0, "b");
  for (int i = 0; i < 8; ++i) {
    h.finish(0);
    ASSERT_EQ(h.order.size(), size_t(i) + 1);
    const std::string& name = h.order.back();
    h.start(t[(name[0] == 'b' ? 6 : 0) + std::stoul(name.substr(1))], 0);
  }
  EXPECT_EQ(h.order, (std::vector<std::string>{"a0", "b0", "a1", "b1", "a2", "a3", "a4", "a5"}));
}

TEST(FlowControl, GlobalStrictIsOneLineAndEdfOrdersByDeadline) {
  config::FlowControlConfig s = concurrency(1);
  s.fairness = config::FlowFairness::GlobalStrict;
  s.ordering = config::FlowOrdering::Edf;
  Harness h(1, s);
  FlowTicket first;
  ASSERT_EQ(h.admit(first, "first").admit, FlowQueue::Admit::Pass);
  h.start(first, 0);
  std::vector<FlowTicket> t(4);
  h.admit(t[0], "late-a", 0, "a", 4000);
  h.admit(t[1], "soon-a", 0, "a", 1000);
  h.admit(t[2], "mid-b", 0, "b", 2000);
  h.admit(t[3], "soonest-b", 0, "b", 500);
  const std::vector<std::string> names = {"late-a", "soon-a", "mid-b", "soonest-b"};
  for (int i = 0; i < 4; ++i) {
    h.finish(0);
    ASSERT_EQ(h.order.size(), size_t(i) + 1);
    h.start(t[std::find(names.begin(), names.end(), h.order.back()) - names.begin()], 0);
  }
  EXPECT_EQ(h.order, (std::vector<std::string>{"soonest-b", "soon-a", "mid-b", "late-a"}));
}

TEST(FlowControl, FullBandRefusesFullPoolEvictsTheNewestSheddable) {
  config::FlowControlConfig s = concurrency(1);
  s.max_requests = 4;
  s.default_band.max_requests = 3;
  Harness h(1, s);
  FlowTicket first;
  ASSERT_EQ(h.admit(first, "first").admit, FlowQueue::Admit::Pass);
  h.start(first, 0);
  std::vector<FlowTicket> t(8);
  EXPECT_EQ(h.admit(t[0], "s0", -1).admit, FlowQueue::Admit::Queued);
  EXPECT_EQ(h.admit(t[1], "s1", -1).admit, FlowQueue::Admit::Queued);
  EXPECT_EQ(h.admit(t[2], "s2", -1).admit, FlowQueue::Admit::Queued);
  auto full = h.admit(t[3], "s3", -1);
  EXPECT_EQ(full.admit, FlowQueue::Admit::Refused);
  EXPECT_EQ(full.refusal, FlowRefusal::BandFull);
  EXPECT_EQ(h.admit(t[4], "c0", 0).admit, FlowQueue::Admit::Queued);  // pool now at 4
  // The pool is full: a standard request evicts the newest sheddable one.
  EXPECT_EQ(h.admit(t[5], "c1", 0).admit, FlowQueue::Admit::Queued);
  EXPECT_EQ(h.evicted, std::vector<std::string>{"s2"});
  EXPECT_EQ(t[2].release(), FlowTicket::Held::Nothing);  // it holds nothing any more
  EXPECT_EQ(h.admit(t[6], "c2", 0).admit, FlowQueue::Admit::Queued);
  EXPECT_EQ(h.evicted, (std::vector<std::string>{"s2", "s1"}));
  // Nothing sheddable left below a sheddable newcomer's band: refused.
  auto pool_full = h.admit(t[7], "s4", -1);
  EXPECT_EQ(pool_full.admit, FlowQueue::Admit::Refused);
  EXPECT_EQ(pool_full.refusal, FlowRefusal::PoolFull);
  EXPECT_EQ(h.queue->queued(), 4u);
}

TEST(FlowControl, AFullBandDropsFromTheLongestFlowNotTheNewcomer) {
  config::FlowControlConfig s = concurrency(1);
  s.default_band.max_requests = 4;
  Harness h(1, s);
  FlowTicket first;
  ASSERT_EQ(h.admit(first, "first").admit, FlowQueue::Admit::Pass);
  h.start(first, 0);
  std::vector<FlowTicket> t(7);
  for (int i = 0; i < 4; ++i) ASSERT_EQ(h.admit(t[i], named("a", i), 0, "a").admit, FlowQueue::Admit::Queued);
  // Tenant a fills the band; tenant b's request takes the place of a's newest.
  EXPECT_EQ(h.admit(t[4], "b0", 0, "b").admit, FlowQueue::Admit::Queued);
  EXPECT_EQ(h.evicted, std::vector<std::string>{"a3"});
  EXPECT_EQ(h.admit(t[5], "b1", 0, "b").admit, FlowQueue::Admit::Queued);
  EXPECT_EQ(h.evicted, (std::vector<std::string>{"a3", "a2"}));
  // Now both hold 2: nobody is longer than b would be, so b's third is refused.
  auto refused = h.admit(t[6], "b2", 0, "b");
  EXPECT_EQ(refused.admit, FlowQueue::Admit::Refused);
  EXPECT_EQ(refused.refusal, FlowRefusal::BandFull);
  EXPECT_EQ(h.queue->queued(), 4u);
}

TEST(FlowControl, ALeavingOrExpiredWaiterHoldsNothing) {
  config::FlowControlConfig s = concurrency(1);
  s.default_band.max_bytes = 100;
  Harness h(1, s);
  FlowTicket first, a, b, c;
  ASSERT_EQ(h.admit(first, "first").admit, FlowQueue::Admit::Pass);
  h.start(first, 0);
  EXPECT_EQ(h.admit(a, "a", 0, "", 0, 60).admit, FlowQueue::Admit::Queued);
  EXPECT_EQ(h.admit(b, "b", 0, "", 0, 60).admit, FlowQueue::Admit::Refused);  // 120 bytes > 100
  EXPECT_EQ(a.release(), FlowTicket::Held::Queued);  // the client left
  EXPECT_EQ(h.queue->queued(), 0u);
  EXPECT_EQ(h.admit(b, "b", 0, "", 0, 60).admit, FlowQueue::Admit::Queued);  // its bytes are free again
  EXPECT_TRUE(h.queue->expire(b));
  EXPECT_FALSE(h.queue->expire(b));
  EXPECT_EQ(h.queue->queued(), 0u);
  EXPECT_EQ(b.release(), FlowTicket::Held::Nothing);
  // Dispatched, then the client left before reaching a server: its transit slot comes back.
  EXPECT_EQ(h.admit(c, "c").admit, FlowQueue::Admit::Queued);
  h.finish(0);
  EXPECT_EQ(h.order, std::vector<std::string>{"c"});
  EXPECT_EQ(h.queue->in_transit(), 1);
  EXPECT_EQ(c.release(), FlowTicket::Held::InTransit);
  EXPECT_EQ(h.queue->in_transit(), 0);
  EXPECT_TRUE(h.evicted.empty());
}

TEST(FlowControl, TurnedOffEveryoneWaitingGoesOn) {
  Harness h(1, concurrency(1));
  FlowTicket first, a, b;
  ASSERT_EQ(h.admit(first, "first").admit, FlowQueue::Admit::Pass);
  h.start(first, 0);
  h.admit(a, "a", 0, "x");
  h.admit(b, "b", -1, "y");
  h.queue->dispatch_all();
  EXPECT_EQ(h.order, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(h.queue->queued(), 0u);
  EXPECT_EQ(a.release(), FlowTicket::Held::InTransit);
  EXPECT_EQ(b.release(), FlowTicket::Held::InTransit);
}

TEST(FlowControl, PolicyGivesObjectivePriorityThenCriticality) {
  config::Config config;
  config::InferencePool pool;
  pool.meta.ns = "llm";
  pool.meta.name = "pool";
  config::InferenceObjective o;
  o.meta.name = "batch";
  o.priority = -5;
  o.pool_ref.ns = "llm";
  o.pool_ref.name = "pool";
  config.inference_objectives.push_back(o);
  config::InferenceModel m;
  m.model_name = "chat";
  m.criticality = config::Criticality::Critical;
  m.pool_ref = o.pool_ref;
  config.inference_models.push_back(m);
  FlowPolicy policy({}, config, pool, std::make_shared<FlowQueue>("pool"));
  EXPECT_EQ(policy.priority("chat", "batch"), -5);
  EXPECT_EQ(policy.priority("chat", "unknown"), 1);
  EXPECT_EQ(policy.priority("other", ""), 0);
}

}  // namespace
}  // namespace infergate::pools
