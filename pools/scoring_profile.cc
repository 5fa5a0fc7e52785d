#include "pools/scoring_profile.h"

#include <algorithm>
#include <cassert>

namespace infergate::pools {

config::ScorerWeights ScoringProfile::profile_weights(config::PickerProfile profile) {
  config::ScorerWeights w;  // queue 2, kv-cache 2, prefix-cache 3, lora 1, prefill 2
  if (profile == config::PickerProfile::InferenceExtension) w.lora_affinity = w.prefill = 0;
  return w;
}

ScoringProfile ScoringProfile::from(const config::PickerSettings& settings) {
  const config::ScorerWeights w = settings.weights.value_or(profile_weights(settings.profile));
  ScoringProfile p;
  p.add(settings.profile == config::PickerProfile::Infergate ? "inFlight" : "queue", w.queue);
  p.add("kvCache", w.kv_cache);
  p.add("prefixCache", w.prefix_cache);
  p.add("prefill", w.prefill);
  p.add("loraAffinity", w.lora_affinity);
  return p;
}

void ScoringProfile::add(std::string_view name, double weight) {
  // Leaving a weight-0 scorer out changes no sum: its term is 0 for the finite signals the
  // scrapes and the gateway's counters give (the config's weights are 0..1000).
  if (!(weight > 0)) return;
  const Scorer* scorer = find_scorer(name);
  assert(scorer && "a profile names a registered scorer");
  entries_.push_back({scorer, weight});
  reads_prompt_ = reads_prompt_ || scorer->reads_prompt();
}

void ScoringProfile::score(const ScoringInput& in, std::span<double> scratch, std::span<double> totals) const {
  std::fill_n(totals.begin(), in.candidates.size(), 0.0);
  for (const Entry& e : entries_) e.scorer->add(in, e.weight, scratch, totals);
}

}  // namespace infergate::pools
