// Which scorers a pool's picker sums, with which weights: each PickerProfile's, or the
// config's.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "pools/endpoint_picker.h"
#include "pools/scoring_profile.h"

namespace infergate::pools {
namespace {

using Named = std::vector<std::pair<std::string, double>>;

Named named(const ScoringProfile& p) {
  Named out;
  for (const auto& e : p.entries()) out.emplace_back(std::string(e.scorer->name()), e.weight);
  return out;
}

ScoringProfile profile(config::PickerProfile which, std::optional<config::ScorerWeights> weights = std::nullopt) {
  config::PickerSettings s;
  s.profile = which;
  s.weights = weights;
  return ScoringProfile::from(s);
}

TEST(ScoringProfile, InfergateCountsInFlightRequestsAndAddsPrefillAndLora) {
  const ScoringProfile p = profile(config::PickerProfile::Infergate);
  EXPECT_EQ(named(p),
            (Named{{"inFlight", 2}, {"kvCache", 2}, {"prefixCache", 3}, {"prefill", 2}, {"loraAffinity", 1}}));
  EXPECT_TRUE(p.reads_prompt());
}

TEST(ScoringProfile, TheInferenceExtensionsScoresTheScrapedQueueWithoutPrefillOrLora) {
  const ScoringProfile p = profile(config::PickerProfile::InferenceExtension);
  EXPECT_EQ(named(p), (Named{{"queue", 2}, {"kvCache", 2}, {"prefixCache", 3}}));
  EXPECT_TRUE(p.reads_prompt());
  const config::ScorerWeights w = ScoringProfile::profile_weights(config::PickerProfile::InferenceExtension);
  EXPECT_EQ(w.lora_affinity, 0);
  EXPECT_EQ(w.prefill, 0);
}

TEST(ScoringProfile, TheLoadBalancerProfilesKeepTheScrapedQueueAndEveryWeight) {
  for (auto which : {config::PickerProfile::LeastRequest, config::PickerProfile::RoundRobin})
    EXPECT_EQ(named(profile(which)),
              (Named{{"queue", 2}, {"kvCache", 2}, {"prefixCache", 3}, {"prefill", 2}, {"loraAffinity", 1}}));
}

TEST(ScoringProfile, ProfileWeightsAreThePickersOwn) {
  for (auto which : {config::PickerProfile::Infergate, config::PickerProfile::InferenceExtension,
                     config::PickerProfile::LeastRequest, config::PickerProfile::RoundRobin}) {
    const config::ScorerWeights a = ScoringProfile::profile_weights(which);
    const config::ScorerWeights b = EndpointPicker::profile_weights(which);
    EXPECT_EQ(a.queue, b.queue);
    EXPECT_EQ(a.kv_cache, b.kv_cache);
    EXPECT_EQ(a.prefix_cache, b.prefix_cache);
    EXPECT_EQ(a.lora_affinity, b.lora_affinity);
    EXPECT_EQ(a.prefill, b.prefill);
  }
}

TEST(ScoringProfile, TheConfigsWeightsWinAndWeightZeroLeavesAScorerOut) {
  config::ScorerWeights w;
  w.queue = 1;
  w.kv_cache = 0;
  w.prefix_cache = 0;
  w.lora_affinity = 5;
  w.prefill = 0;
  const ScoringProfile p = profile(config::PickerProfile::InferenceExtension, w);
  EXPECT_EQ(named(p), (Named{{"queue", 1}, {"loraAffinity", 5}}));
  EXPECT_FALSE(p.reads_prompt());
  w.prefill = 0.5;  // the prefill scorer reads the prompt's size and matches too
  EXPECT_TRUE(profile(config::PickerProfile::Infergate, w).reads_prompt());
}

TEST(ScoringProfile, ScoreSumsTheWeightedScoresInOrder) {
  std::vector<std::unique_ptr<EndpointState>> owned;
  std::vector<const EndpointState*> candidates;
  for (int i = 0; i < 2; ++i) {
    owned.push_back(std::make_unique<EndpointState>());
    candidates.push_back(owned.back().get());
  }
  owned[0]->queue_size = 2;
  owned[1]->kv_cache_usage = 0.5;
  ScoringInput in;
  in.candidates = candidates;
  std::vector<double> scratch(2), totals(2, -1.0);
  profile(config::PickerProfile::InferenceExtension).score(in, scratch, totals);
  // queue 2 x (0, 1) + kvCache 2 x (1, 0.5); no prompt blocks: prefixCache adds nothing.
  EXPECT_EQ(totals, (std::vector<double>{2.0 * 0.0 + 2.0 * 1.0, 2.0 * 1.0 + 2.0 * 0.5}));
}

}  // namespace
}  // namespace infergate::pools
