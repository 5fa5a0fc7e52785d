// The endpoint picker's scorers, each alone on a few hand-built candidates, and the registry
// that finds them by name.
#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "pools/scorer.h"

namespace infergate::pools {
namespace {

// Candidates of one pick, with room for the scorers' scratch and their scores.
struct Pick {
  std::vector<std::unique_ptr<EndpointState>> owned;
  std::vector<const EndpointState*> candidates;
  std::vector<uint32_t> matched;
  ScoringInput in;
  std::vector<double> scratch;

  explicit Pick(size_t n) : scratch(n, -7.0) {  // scratch starts as garbage: scorers must not read it first
    for (size_t i = 0; i < n; ++i) {
      owned.push_back(std::make_unique<EndpointState>());
      candidates.push_back(owned.back().get());
    }
    in.candidates = candidates;
  }
  EndpointState& at(size_t i) { return *owned[i]; }
  void with_matches(std::vector<uint32_t> m, size_t prompt_blocks) {
    matched = std::move(m);
    in.matched = matched;
    in.prompt_blocks = prompt_blocks;
  }
  std::vector<double> scores(std::string_view scorer) {
    const Scorer* s = find_scorer(scorer);
    EXPECT_NE(s, nullptr) << scorer;
    std::vector<double> out(candidates.size(), -1.0);
    if (s) s->score(in, scratch, out);
    return out;
  }
};

TEST(ScorerRegistry, FindsEveryScorerByItsName) {
  std::set<std::string_view> names;
  for (const Scorer* s : registered_scorers()) {
    names.insert(s->name());
    EXPECT_EQ(find_scorer(s->name()), s) << s->name();
  }
  EXPECT_EQ(names, (std::set<std::string_view>{"queue", "inFlight", "kvCache", "prefixCache", "loraAffinity",
                                               "prefill"}));
  EXPECT_EQ(find_scorer("queue")->name(), "queue");
  EXPECT_EQ(find_scorer("inFlight")->name(), "inFlight");
}

TEST(ScorerRegistry, UnknownNamesFindNothing) {
  EXPECT_EQ(find_scorer("latency"), nullptr);
  EXPECT_EQ(find_scorer(""), nullptr);
  EXPECT_EQ(find_scorer("Queue"), nullptr);   // names are exact
  EXPECT_EQ(find_scorer("kv_cache"), nullptr);  // spelled as the config's weights are
}

TEST(ScorerRegistry, OnlyThePrefixAndPrefillScorersReadThePrompt) {
  for (const Scorer* s : registered_scorers())
    EXPECT_EQ(s->reads_prompt(), s->name() == "prefixCache" || s->name() == "prefill") << s->name();
}

TEST(QueueScorer, SpreadsTheScrapedQueuesOverZeroToOne) {
  Pick p(3);
  p.at(0).queue_size = 4;
  p.at(1).queue_size = 0;
  p.at(2).queue_size = 2;
  p.at(0).active_requests = 50;  // the gateway's own counts are not this scorer's
  EXPECT_EQ(p.scores("queue"), (std::vector<double>{0.0, 1.0, 0.5}));
}

TEST(QueueScorer, EqualQueuesScoreOne) {
  Pick p(2);
  p.at(0).queue_size = 3;
  p.at(1).queue_size = 3;
  EXPECT_EQ(p.scores("queue"), (std::vector<double>{1.0, 1.0}));
}

TEST(InFlightScorer, TakesTheLargerOfInFlightAndScrapedWaitingPlusRunning) {
  Pick p(3);
  p.at(0).active_requests = 6;  // sent since the last scrape
  p.at(1).queue_size = 1;       // the scrape shows 3, more than the gateway's 1
  p.at(1).running_requests = 2;
  p.at(1).active_requests = 1;
  // q = 6, 3, 0: 1 - (q - 0) / (6 - 0 + 2)
  EXPECT_EQ(p.scores("inFlight"), (std::vector<double>{0.25, 0.625, 1.0}));
}

TEST(InFlightScorer, ARequestOrTwoMoreCostsLittle) {
  Pick p(2);
  p.at(0).active_requests = 1;
  // Damped by two requests: 1 - 1 / 3, where the queue scorer would give 0.
  const auto s = p.scores("inFlight");
  EXPECT_DOUBLE_EQ(s[0], 1.0 - 1.0 / 3.0);
  EXPECT_EQ(s[1], 1.0);
}

TEST(KvCacheScorer, IsOneMinusTheCacheUseClampedToZeroToOne) {
  Pick p(4);
  p.at(0).kv_cache_usage = 0.75;
  p.at(1).kv_cache_usage = 0.25;
  p.at(2).kv_cache_usage = 1.5;
  p.at(3).kv_cache_usage = -0.5;
  EXPECT_EQ(p.scores("kvCache"), (std::vector<double>{0.25, 0.75, 0.0, 1.0}));
}

TEST(PrefixCacheScorer, IsTheShareOfThePromptSentBefore) {
  Pick p(3);
  p.with_matches({0, 10, 40}, 40);
  EXPECT_EQ(p.scores("prefixCache"), (std::vector<double>{0.0, 0.25, 1.0}));
}

TEST(PrefixCacheScorer, NeutralWithoutPromptBlocks) {
  Pick p(2);
  EXPECT_EQ(p.scores("prefixCache"), (std::vector<double>{0.0, 0.0}));
}

TEST(LoraScorer, LoadedThenAFreeSlotThenQueuedForLoading) {
  Pick p(4);
  p.at(0).publish_adapters({"a", "b"}, {}, 2);  // loaded
  p.at(1).publish_adapters({"b"}, {}, 2);       // a free slot
  p.at(2).publish_adapters({"b", "c"}, {"a"}, 2);  // full, "a" waits for a slot
  p.at(3).publish_adapters({"b", "c"}, {}, 2);  // full without it
  p.in.adapter = adapter_hash("a");
  EXPECT_EQ(p.scores("loraAffinity"), (std::vector<double>{1.0, 0.8, 0.6, 0.0}));
}

TEST(LoraScorer, NeutralWhenTheRequestNamesNoKnownAdapter) {
  Pick p(2);
  p.at(0).publish_adapters({"a"}, {}, 2);
  p.in.adapter = 0;
  EXPECT_EQ(p.scores("loraAffinity"), (std::vector<double>{0.0, 0.0}));
}

TEST(PrefillScorer, ThePrefillAheadPlusThePromptLessWhatIsCached) {
  Pick p(3);
  p.in.prompt_bytes = 1000;
  p.in.block_bytes = 16;
  p.at(0).prefill_bytes = 0;
  p.at(1).prefill_bytes = 3000;
  p.at(2).prefill_bytes = -50;  // counted as none
  p.with_matches({0, 0, 50}, 63);  // 800 bytes of the prompt cached on the third
  // p = 1000, 4000, 200: 1 - (p - 200) / (4000 - 200 + 1024)
  const auto s = p.scores("prefill");
  EXPECT_DOUBLE_EQ(s[0], 1.0 - 800.0 / 4824.0);
  EXPECT_DOUBLE_EQ(s[1], 1.0 - 3800.0 / 4824.0);
  EXPECT_EQ(s[2], 1.0);
}

TEST(PrefillScorer, WithoutMatchesTheWholePromptCounts) {
  Pick p(2);
  p.in.prompt_bytes = 2048;
  p.at(0).prefill_bytes = 1024;
  // p = 3072, 2048: a thousand bytes apart, damped by 1024.
  const auto s = p.scores("prefill");
  EXPECT_DOUBLE_EQ(s[0], 1.0 - 1024.0 / 2048.0);
  EXPECT_EQ(s[1], 1.0);
}

TEST(Scorer, AddPutsTheWeightedScoreOnTopOfTheTotals) {
  Pick p(2);
  p.at(0).kv_cache_usage = 0.5;
  std::vector<double> totals{1.0, 2.0};
  find_scorer("kvCache")->add(p.in, 3.0, p.scratch, totals);
  EXPECT_EQ(totals, (std::vector<double>{1.0 + 3.0 * 0.5, 2.0 + 3.0 * 1.0}));
}

}  // namespace
}  // namespace infergate::pools
