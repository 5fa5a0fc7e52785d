#include "bench/modelsim/engine.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>

namespace modelsim {
namespace {

// Text of `tokens` tokens (4 characters each), different for every seed.
std::string text_of(std::uint32_t tokens, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(std::size_t{tokens} * 4, ' ');
  for (char& c : s) c = static_cast<char>('a' + rng() % 26);
  return s;
}

// Drives an Engine in simulated time and records when each sequence got its tokens.
struct Sim {
  explicit Sim(EngineConfig config) : engine(std::move(config)) {}

  std::shared_ptr<Sequence> add(const std::string& prompt, std::uint32_t max_tokens, std::string adapter = "") {
    SequenceSpec spec;
    spec.adapter = std::move(adapter);
    spec.prompt_tokens = static_cast<std::uint32_t>(prompt.size() / 4);
    spec.max_tokens = max_tokens;
    spec.block_hashes = prompt_block_hashes(prompt, engine.config().block_size, spec.adapter);
    auto seq = std::make_shared<Sequence>(std::move(spec));
    submitted[seq.get()] = now;
    all.push_back(seq);  // kept: the maps are keyed by address
    engine.submit(seq);
    return seq;
  }

  // One step; false when idle.
  bool step() {
    const StepPlan plan = engine.plan();
    if (plan.idle) return false;
    last_plan = plan;
    now += plan.ms;
    for (const StepProgress& p : engine.commit()) {
      token_times[p.sequence.get()].push_back(now);
      if (p.finished) finished[p.sequence.get()] = now;
    }
    return true;
  }
  void run(int max_steps = 1000000) {
    for (int i = 0; i < max_steps && step(); ++i) {
    }
  }
  double ttft(const std::shared_ptr<Sequence>& s) { return token_times.at(s.get()).front() - submitted.at(s.get()); }
  // Mean time between output tokens after the first.
  double itl(const std::shared_ptr<Sequence>& s) {
    const auto& t = token_times.at(s.get());
    return (t.back() - t.front()) / static_cast<double>(t.size() - 1);
  }

  Engine engine;
  std::vector<std::shared_ptr<Sequence>> all;
  double now = 0;
  StepPlan last_plan;
  std::map<const Sequence*, double> submitted, finished;
  std::map<const Sequence*, std::vector<double>> token_times;
};

EngineConfig h100_like() {
  EngineConfig c;
  c.cost.decode_base_ms = 6.5;
  c.cost.decode_per_seq_ms = 0.06;
  c.cost.prefill_tokens_per_s = 20000;
  c.cost.lora_load_ms = 100;
  c.max_num_batched_tokens = 8192;
  c.kv_blocks = 25000;
  return c;
}

TEST(StepCost, BasePerSequencePrefillAndLoraLoads) {
  StepCost cost{5, 0.5, 10000, 40};
  EXPECT_DOUBLE_EQ(cost.step_ms(0, 0, 0), 0);
  EXPECT_DOUBLE_EQ(cost.step_ms(1, 0, 0), 5.5);
  EXPECT_DOUBLE_EQ(cost.step_ms(4, 0, 0), 7);
  EXPECT_DOUBLE_EQ(cost.step_ms(1, 1000, 0), 105.5);
  EXPECT_DOUBLE_EQ(cost.step_ms(2, 0, 2), 86);
  StepCost free_prefill{5, 0, 0, 0};
  EXPECT_DOUBLE_EQ(free_prefill.step_ms(1, 100000, 0), 5);
}

TEST(Engine, OneRequestTtftIsOnePrefillStepAndItlOneDecodeStep) {
  Sim sim(h100_like());
  auto s = sim.add(text_of(1000, 1), 10);
  sim.run();
  EXPECT_NEAR(sim.ttft(s), 6.5 + 0.06 + 1000 / 20.0, 1e-9);
  EXPECT_NEAR(sim.itl(s), 6.56, 1e-9);
  EXPECT_EQ(sim.token_times[s.get()].size(), 10u);
  EXPECT_EQ(sim.engine.stats().running, 0u);
  EXPECT_DOUBLE_EQ(sim.engine.stats().kv_cache_usage, 0.0);
}

TEST(Engine, TtftGrowsWithUncachedPromptTokens) {
  double previous = 0;
  for (std::uint32_t tokens : {100u, 1000u, 4000u, 20000u}) {
    Sim sim(h100_like());
    auto s = sim.add(text_of(tokens, tokens), 2);
    sim.run();
    EXPECT_GT(sim.ttft(s), previous) << tokens;
    previous = sim.ttft(s);
  }
  // 20000 tokens with an 8192-token budget: three prefill chunks, three step bases.
  EXPECT_NEAR(previous, 3 * 6.56 + 20000 / 20.0, 1e-6);
}

TEST(Engine, CachedPrefixSkipsPrefillAndLowersTtft) {
  Sim sim(h100_like());
  const std::string system = text_of(3000, 7);
  auto first = sim.add(system + text_of(50, 8), 4);
  sim.run();
  auto second = sim.add(system + text_of(50, 9), 4);
  sim.run();
  // 3000 shared tokens are 187 full blocks of 16 (2992 tokens) that the second reuses.
  EXPECT_GT(sim.ttft(first), 150);
  EXPECT_LT(sim.ttft(second), 20);
  EXPECT_NEAR(sim.ttft(second), 6.56 + (3050 - 2992) / 20.0, 1e-6);
  const EngineStats st = sim.engine.stats();
  EXPECT_EQ(st.prefix_queries, 6100u);
  EXPECT_EQ(st.prefix_hits, 2992u);

  // The same prompt again: all but the last block is cached (the last token is computed).
  auto third = sim.add(system + text_of(50, 9), 4);
  sim.run();
  EXPECT_LT(sim.ttft(third), sim.ttft(second) + 1e-9);

  // Without prefix caching, the same prompts pay full prefill.
  EngineConfig off = h100_like();
  off.enable_prefix_caching = false;
  Sim cold(off);
  cold.add(system + text_of(50, 8), 4);
  cold.run();
  auto again = cold.add(system + text_of(50, 9), 4);
  cold.run();
  EXPECT_GT(cold.ttft(again), 150);
  EXPECT_EQ(cold.engine.stats().prefix_hits, 0u);
}

TEST(Engine, AdapterKvIsNotSharedWithTheBase) {
  Sim sim(h100_like());
  const std::string prompt = text_of(2000, 3);
  sim.add(prompt, 2);
  sim.run();
  auto other = sim.add(prompt, 2, "lora-a");
  sim.run();
  EXPECT_GT(sim.ttft(other), 100);
}

TEST(Engine, ItlGrowsWithTheBatch) {
  Sim one(h100_like());
  auto alone = one.add(text_of(100, 1), 50);
  one.run();
  Sim many(h100_like());
  std::vector<std::shared_ptr<Sequence>> seqs;
  for (std::uint32_t i = 0; i < 64; ++i) seqs.push_back(many.add(text_of(100, 100 + i), 50));
  many.run();
  EXPECT_NEAR(one.itl(alone), 6.56, 1e-9);
  EXPECT_NEAR(many.itl(seqs[0]), 6.5 + 64 * 0.06, 1e-9);
  // All 64 admitted in the first step (6400 prompt tokens fit the budget): one long prefill step.
  EXPECT_NEAR(many.ttft(seqs[63]), 6.5 + 64 * 0.06 + 6400 / 20.0, 1e-9);
}

TEST(Engine, ChunkedPrefillDoesNotStallRunningDecodes) {
  EngineConfig c = h100_like();
  c.max_num_batched_tokens = 2048;
  Sim sim(c);
  auto decoding = sim.add(text_of(16, 1), 20);
  sim.step();  // its prefill
  auto big = sim.add(text_of(10000, 2), 2);
  sim.run();
  // Five chunks (4 of 2047 + the rest) while the first sequence keeps one token per step.
  const auto& t = sim.token_times[decoding.get()];
  ASSERT_EQ(t.size(), 20u);
  EXPECT_LT(t[5] - t[0], 5 * (6.5 + 0.12 + 2047 / 20.0) + 1e-6);
  EXPECT_GT(sim.ttft(big), 10000 / 20.0);
}

TEST(Engine, AdmissionIsFifoAndCappedByMaxNumSeqs) {
  EngineConfig c = h100_like();
  c.max_num_seqs = 2;
  Sim sim(c);
  auto a = sim.add(text_of(10, 1), 5);
  auto b = sim.add(text_of(10, 2), 5);
  auto d = sim.add(text_of(10, 3), 5);
  sim.step();
  EXPECT_EQ(sim.engine.stats().running, 2u);
  EXPECT_EQ(sim.engine.stats().waiting, 1u);
  sim.run();
  EXPECT_LT(sim.finished[a.get()], sim.token_times[d.get()].front());
  EXPECT_GT(sim.ttft(d), sim.ttft(b));
}

TEST(Engine, WaitsForKvBlocksAndUsageCountsReferencedBlocks) {
  EngineConfig c = h100_like();
  c.kv_blocks = 100;  // 1600 tokens
  Sim sim(c);
  auto a = sim.add(text_of(1000, 1), 5);  // 63 blocks
  auto b = sim.add(text_of(1000, 2), 5);  // does not fit beside a
  sim.step();
  EXPECT_EQ(sim.engine.stats().running, 1u);
  EXPECT_EQ(sim.engine.stats().waiting, 1u);
  EXPECT_NEAR(sim.engine.stats().kv_cache_usage, 0.63, 1e-9);
  sim.run();
  EXPECT_GT(sim.token_times[b.get()].front(), sim.finished[a.get()]);
  EXPECT_DOUBLE_EQ(sim.engine.stats().kv_cache_usage, 0.0);
  EXPECT_EQ(sim.engine.capacity_tokens(), 1600u);
}

TEST(Engine, PreemptsTheNewestWhenDecodeRunsOutOfBlocks) {
  EngineConfig c = h100_like();
  c.kv_blocks = 10;  // 160 tokens
  Sim sim(c);
  auto a = sim.add(text_of(64, 1), 40);  // 4 blocks, grows to 7
  auto b = sim.add(text_of(64, 2), 40);
  sim.run();
  EXPECT_GE(sim.engine.stats().preemptions, 1u);
  EXPECT_EQ(sim.token_times[a.get()].size(), 40u);
  EXPECT_EQ(sim.token_times[b.get()].size(), 40u);
  EXPECT_LT(sim.finished[a.get()], sim.finished[b.get()]);
  EXPECT_DOUBLE_EQ(sim.engine.stats().kv_cache_usage, 0.0);
}

TEST(Engine, LoraSlotsLoadOnceEvictIdleAndMakeOthersWait) {
  EngineConfig c = h100_like();
  c.max_loras = 1;
  Sim sim(c);
  auto a1 = sim.add(text_of(10, 1), 10, "a");
  auto b1 = sim.add(text_of(10, 2), 10, "b");  // waits: the one slot serves a
  auto base = sim.add(text_of(10, 3), 10);     // the base model needs no slot: skips ahead
  sim.step();
  EXPECT_EQ(sim.last_plan.lora_loads, 1u);
  EXPECT_NEAR(sim.last_plan.ms, 6.5 + 2 * 0.06 + 20 / 20.0 + 100, 1e-9);
  EngineStats st = sim.engine.stats();
  EXPECT_EQ(st.running_adapters, "a");
  EXPECT_EQ(st.waiting_adapters, "b");
  EXPECT_EQ(st.running, 2u);
  sim.run();
  EXPECT_GT(sim.token_times[b1.get()].front(), sim.finished[a1.get()]);
  EXPECT_LT(sim.ttft(base), sim.ttft(b1));
  EXPECT_EQ(sim.engine.stats().lora_loads, 2u);
  // a again: b is idle in the slot, so it is evicted and a loaded again.
  auto a2 = sim.add(text_of(10, 4), 2, "a");
  sim.run();
  EXPECT_EQ(sim.engine.stats().lora_loads, 3u);
  // Resident adapter: no load.
  auto a3 = sim.add(text_of(10, 5), 2, "a");
  sim.run();
  EXPECT_EQ(sim.engine.stats().lora_loads, 3u);
  EXPECT_GT(sim.ttft(a2), 100);
  EXPECT_LT(sim.ttft(a3), 10);
}

TEST(Engine, CancelledSequencesLeaveAndFreeTheirBlocks) {
  Sim sim(h100_like());
  auto a = sim.add(text_of(500, 1), 100);
  auto b = sim.add(text_of(500, 2), 100);
  sim.step();
  EXPECT_GT(sim.engine.stats().kv_cache_usage, 0);
  sim.engine.cancel(a);
  sim.engine.cancel(b);
  EXPECT_FALSE(sim.step());
  EXPECT_EQ(sim.engine.stats().running, 0u);
  EXPECT_DOUBLE_EQ(sim.engine.stats().kv_cache_usage, 0.0);
  EXPECT_EQ(sim.token_times[a.get()].size(), 1u);
}

}  // namespace
}  // namespace modelsim
