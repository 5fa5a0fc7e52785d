#pragma once
// The scorers a picker sums and their weights: built from a pool's PickerSettings, it gives
// the weights the config writes, or its profile's (profile_weights), and the queue signal
// of its profile: infergate's in-flight counts (inFlight), or the scraped queue the
// Inference Extension uses (queue). A scorer of weight 0 is left out.
//
// The order is the order of the sum: queue, kvCache, prefixCache, prefill, loraAffinity.

#include <span>
#include <vector>

#include "config/model.h"
#include "pools/scorer.h"

namespace infergate::pools {

class ScoringProfile {
 public:
  struct Entry {
    const Scorer* scorer;
    double weight;
  };

  static ScoringProfile from(const config::PickerSettings& settings);

  // The scorer weights a profile uses when the config writes none.
  static config::ScorerWeights profile_weights(config::PickerProfile profile);

  std::span<const Entry> entries() const { return entries_; }
  // Whether a scorer reads the prompt (Scorer::reads_prompt).
  bool reads_prompt() const { return reads_prompt_; }

  // totals[i] = the weighted sum of candidate i's scores, in the profile's order.
  void score(const ScoringInput& in, std::span<double> scratch, std::span<double> totals) const;

 private:
  void add(std::string_view scorer, double weight);

  std::vector<Entry> entries_;
  bool reads_prompt_ = false;
};

}  // namespace infergate::pools
