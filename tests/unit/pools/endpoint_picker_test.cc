// The InferencePool endpoint picker: every filter and scorer alone, then together as the
// profiles use them.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "pools/endpoint_picker.h"
#include "pools/prefix_index.h"
#include "pools_test_util.h"

namespace infergate::pools {
namespace {

using testing::draw;
using testing::TestCluster;

constexpr int64_t kNow = 1'000'000;

struct Fixture {
  TestCluster t;
  config::Config config;
  config::InferencePool pool;
  std::shared_ptr<PrefixIndex> index = std::make_shared<PrefixIndex>(1 << 16);

  explicit Fixture(size_t n) : t(n) {
    pool.meta.name = "llm";
    for (size_t i = 0; i < n; ++i) scraped(i, 0, 0, 0);
  }
  EndpointPicker picker(config::PickerProfile profile = config::PickerProfile::Infergate,
                        std::optional<config::ScorerWeights> weights = std::nullopt) {
    config::PickerSettings s;
    s.profile = profile;
    s.weights = weights;
    s.prefix_block_bytes = 16;
    return EndpointPicker(s, config, pool, index);
  }
  void scraped(size_t i, double waiting, double running, double kv, int64_t at = kNow) {
    t.at(i).queue_size = waiting;
    t.at(i).running_requests = running;
    t.at(i).kv_cache_usage = kv;
    t.at(i).scraped_at_ms = at;
  }
  std::map<size_t, int> histogram(const EndpointPicker& p, PickRequest rq, int n = 400) {
    std::map<size_t, int> counts;
    for (int i = 0; i < n; ++i) {
      rq.draw = draw(static_cast<uint64_t>(i));
      ++counts[t.index_of(p.pick(t.cluster.endpoints, rq, kNow).primary())];
    }
    return counts;
  }
  size_t pick(const EndpointPicker& p, PickRequest rq = {}) {
    return t.index_of(p.pick(t.cluster.endpoints, rq, kNow).primary());
  }
};

config::PoolRef pool_ref() {
  config::PoolRef r;
  r.name = "llm";
  r.ns = "default";  // resolved by the loader
  return r;
}

std::vector<uint64_t> prompt(std::string_view text) {
  std::vector<uint64_t> h(256);
  h.resize(prefix_block_hashes("m", text, 16, h));
  return h;
}

TEST(EndpointPicker, QueueScorerPrefersTheShortestQueue) {
  Fixture f(3);
  f.scraped(0, 4, 0, 0);
  f.scraped(1, 0, 0, 0);
  f.scraped(2, 2, 0, 0);
  const auto p = f.picker(config::PickerProfile::InferenceExtension);
  EXPECT_EQ(f.histogram(p, {})[1], 400);
}

TEST(EndpointPicker, KvCacheScorerPrefersTheEmptiestCache) {
  Fixture f(3);
  f.scraped(0, 0, 0, 0.7);
  f.scraped(1, 0, 0, 0.6);
  f.scraped(2, 0, 0, 0.1);
  EXPECT_EQ(f.histogram(f.picker(config::PickerProfile::InferenceExtension), {})[2], 400);
}

TEST(EndpointPicker, EqualServersShareTheLoad) {
  Fixture f(4);
  const auto counts = f.histogram(f.picker(), {}, 4000);
  for (size_t i = 0; i < 4; ++i) EXPECT_NEAR(counts.at(i), 1000, 150) << i;
}

TEST(EndpointPicker, InfergateCountsItsOwnInFlightRequestsBetweenScrapes) {
  Fixture f(2);
  f.t.at(0).active_requests = 6;  // sent since the last scrape, which said both were idle
  EXPECT_EQ(f.histogram(f.picker(), {})[1], 400);
  // The Inference Extension's profile only knows the scrape: a coin toss.
  const auto gie = f.histogram(f.picker(config::PickerProfile::InferenceExtension), {});
  EXPECT_GT(gie.at(0), 100);
  EXPECT_GT(gie.at(1), 100);
}

TEST(EndpointPicker, InfergateAvoidsServersWithPrefillAhead) {
  Fixture f(2);
  f.t.at(0).prefill_bytes = 8000;  // a long prompt sent, no token back yet
  f.t.at(1).active_requests = 1;   // one request decoding
  EXPECT_EQ(f.histogram(f.picker(), {})[1], 400);
  // A prompt the busy server has cached costs it little prefill: it goes there.
  const auto h = prompt(std::string(6400, 'c'));  // 400 blocks of 16, the first 256 hashed
  f.index->record(h, f.t.at(0).id);
  PickRequest rq;
  rq.prefix = h;
  rq.prompt_bytes = 6400;
  f.t.at(0).prefill_bytes = 1000;
  EXPECT_EQ(f.histogram(f.picker(), rq)[0], 400);
  // The Inference Extension's profile does not know prefill at all.
  EXPECT_DOUBLE_EQ(f.picker(config::PickerProfile::InferenceExtension).weights().prefill, 0);
}

TEST(EndpointPicker, PrefixAffinityReturnsAPromptToTheServerThatHasIt) {
  Fixture f(4);
  const auto p = f.picker();
  const std::string system(640, 's');  // 40 blocks shared
  const auto first = prompt(system + "question one");
  PickRequest rq;
  rq.prefix = first;
  const PickResult r = p.pick(f.t.cluster.endpoints, rq, kNow);
  ASSERT_EQ(r.outcome, PickResult::Outcome::Picked);
  EXPECT_EQ(r.prefix_matched, 0u);
  const size_t home = f.t.index_of(r.primary());
  // The same system prompt with another question: the same server, although busier.
  f.t.at(home).active_requests = 2;
  const auto second = prompt(system + "question two");
  rq.prefix = second;
  for (int i = 0; i < 50; ++i) {
    rq.draw = draw(static_cast<uint64_t>(i));
    const PickResult again = p.pick(f.t.cluster.endpoints, rq, kNow);
    ASSERT_EQ(f.t.index_of(again.primary()), home) << i;
    EXPECT_GE(again.prefix_matched, 40u);
  }
  // An unrelated prompt is not pulled there.
  f.t.at(home).active_requests = 4;
  const auto other = prompt(std::string(640, 'o'));
  rq.prefix = other;
  EXPECT_NE(f.pick(p, rq), home);
}

TEST(EndpointPicker, PrefixAffinityYieldsToAFarShorterQueue) {
  Fixture f(2);
  const auto p = f.picker(config::PickerProfile::InferenceExtension);
  const auto h = prompt(std::string(64, 'x') + std::string(576, 'y'));  // 40 blocks
  f.index->record(std::span(h).first(8), f.t.at(0).id);  // a fifth of the prompt
  f.scraped(0, 4, 0, 0.5);
  f.scraped(1, 0, 0, 0.1);
  PickRequest rq;
  rq.prefix = h;
  EXPECT_EQ(f.pick(p, rq), 1u);
}

TEST(EndpointPicker, LoraPrefersTheLoadedAdapterThenAFreeSlot) {
  Fixture f(3);
  const auto p = f.picker();
  f.t.at(0).publish_adapters({"a", "b"}, {}, 2);  // full
  f.t.at(1).publish_adapters({"c", "d"}, {}, 2);  // full
  f.t.at(2).publish_adapters({"e"}, {}, 2);       // one free slot
  PickRequest rq;
  rq.adapter = adapter_hash("c");
  EXPECT_EQ(f.histogram(p, rq)[1], 400);
  rq.adapter = adapter_hash("z");  // loaded nowhere, but an InferenceModel targets it
  f.config.inference_models.push_back({});
  f.config.inference_models.back().pool_ref = pool_ref();
  f.config.inference_models.back().model_name = "chat";
  f.config.inference_models.back().target_models.push_back({"z", 1, 0});
  EXPECT_EQ(f.histogram(f.picker(), rq)[2], 400);
  // A model no server lists and nothing targets is not treated as an adapter.
  rq.adapter = adapter_hash("base-model");
  const auto spread = f.histogram(p, rq, 900);
  for (size_t i = 0; i < 3; ++i) EXPECT_GT(spread.at(i), 150) << i;
  // The Inference Extension's profile has no LoRA scorer.
  rq.adapter = adapter_hash("c");
  const auto gie = f.histogram(f.picker(config::PickerProfile::InferenceExtension), rq, 900);
  EXPECT_GT(gie.at(0), 150);
}

TEST(EndpointPicker, SaturatedServersAreLeftOutWhileOthersAreNot) {
  Fixture f(3);
  f.scraped(0, 5, 0, 0.0);   // queue at the threshold
  f.scraped(1, 0, 0, 0.85);  // KV over the threshold
  f.scraped(2, 4, 0, 0.7);   // busy, not saturated
  const auto p = f.picker();
  EXPECT_EQ(f.histogram(p, {})[2], 400);
  PickRequest rq;
  rq.sheddable = true;
  EXPECT_EQ(f.histogram(p, rq)[2], 400);
}

TEST(EndpointPicker, WhenAllAreSaturatedSheddableRequestsAreShed) {
  Fixture f(2);
  f.scraped(0, 9, 0, 0.5);
  f.scraped(1, 1, 0, 0.95);
  const auto p = f.picker();
  PickRequest rq;
  rq.sheddable = true;
  EXPECT_EQ(p.pick(f.t.cluster.endpoints, rq, kNow).outcome, PickResult::Outcome::Shed);
  rq.sheddable = false;  // critical and standard requests still go to the least bad
  EXPECT_EQ(p.pick(f.t.cluster.endpoints, rq, kNow).outcome, PickResult::Outcome::Picked);
  // Stale metrics say nothing: not saturated.
  f.scraped(0, 9, 0, 0.5, kNow - 1000);
  rq.sheddable = true;
  EXPECT_EQ(p.pick(f.t.cluster.endpoints, rq, kNow).outcome, PickResult::Outcome::Picked);
}

TEST(EndpointPicker, NothingEligibleIsNoneReadyAndRetriesAvoidTheFailedOne) {
  Fixture f(3);
  const auto p = f.picker();
  f.t.at(0).healthy = false;
  f.t.at(1).ejected_until_ms = kNow + 10;
  PickRequest rq;
  rq.exclude = &f.t.at(2);
  // The only one left is the excluded one: better it than nothing.
  EXPECT_EQ(f.pick(p, rq), 2u);
  f.t.at(2).healthy = false;
  EXPECT_EQ(p.pick(f.t.cluster.endpoints, rq, kNow).outcome, PickResult::Outcome::NoneReady);
}

TEST(EndpointPicker, FallbacksAreTheNextBestAndDistinct) {
  Fixture f(5);
  for (size_t i = 0; i < 5; ++i) f.scraped(i, static_cast<double>(i), 0, 0);
  const PickResult r = f.picker(config::PickerProfile::InferenceExtension).pick(f.t.cluster.endpoints, {}, kNow);
  ASSERT_EQ(r.count, 3u);
  EXPECT_EQ(f.t.index_of(r.endpoints[0]), 0u);
  EXPECT_EQ(f.t.index_of(r.endpoints[1]), 1u);
  EXPECT_EQ(f.t.index_of(r.endpoints[2]), 2u);
}

TEST(EndpointPicker, SheddableByCriticalityOrObjectivePriority) {
  Fixture f(1);
  config::InferenceModel m;
  m.pool_ref = pool_ref();
  m.model_name = "batch";
  m.criticality = config::Criticality::Sheddable;
  f.config.inference_models.push_back(m);
  config::InferenceObjective low, high;
  low.meta.name = "background";
  low.priority = -1;
  low.pool_ref = pool_ref();
  high.meta.name = "interactive";
  high.priority = 10;
  high.pool_ref = pool_ref();
  f.config.inference_objectives = {low, high};
  const auto p = f.picker();
  EXPECT_TRUE(p.sheddable("batch", ""));
  EXPECT_FALSE(p.sheddable("chat", ""));
  EXPECT_TRUE(p.sheddable("chat", "background"));
  EXPECT_FALSE(p.sheddable("batch", "interactive"));  // the objective a request names decides
  EXPECT_TRUE(p.sheddable("batch", "unknown-objective"));
}

TEST(EndpointPicker, WeightsComeFromTheConfigOrTheProfile) {
  Fixture f(1);
  EXPECT_DOUBLE_EQ(f.picker().weights().lora_affinity, 1);
  EXPECT_DOUBLE_EQ(f.picker(config::PickerProfile::InferenceExtension).weights().lora_affinity, 0);
  EXPECT_DOUBLE_EQ(f.picker(config::PickerProfile::InferenceExtension).weights().prefix_cache, 3);
  config::ScorerWeights w;
  w.prefix_cache = 0;
  EXPECT_TRUE(f.picker(config::PickerProfile::Infergate, w).wants_prompt());  // prefill reads its size
  w.prefill = 0;
  EXPECT_FALSE(f.picker(config::PickerProfile::Infergate, w).wants_prompt());
}

}  // namespace
}  // namespace infergate::pools

namespace infergate::pools {
namespace {

// Under flow control the pool's saturation is flow control's: a request it lets through goes
// to a server with room (here: its concurrency limit), not wherever the scorers would put it.
TEST(EndpointPicker, UnderFlowControlASaturatedServerIsLeftOut) {
  Fixture f(3);
  f.t.at(0).active_requests = 2;
  f.t.at(1).active_requests = 2;
  config::FlowControlConfig flow;
  flow.max_concurrency_per_endpoint = 2;
  PickRequest rq;
  rq.flow = &flow;
  const auto p = f.picker(config::PickerProfile::InferenceExtension);  // the scraped queue only
  EXPECT_EQ(f.histogram(p, rq)[2], 400);
  // Without it the scrape (all idle) says nothing against them.
  EXPECT_LT(f.histogram(p, {})[2], 400);
}

}  // namespace
}  // namespace infergate::pools
