#pragma once
// A scorer of the endpoint picker (pools/endpoint_picker.h): after the picker's filters, it
// gives each candidate of one pick a score in 0..1, higher = better; a ScoringProfile
// (pools/scoring_profile.h) sums them with its weights.
//
// Scorers are stateless and shared by every picker: what one needs of a pick comes in a
// ScoringInput, and its per-pick preparation (min/max over the candidates, say) works in
// the scratch span the picker lends it, one double per candidate, so a pick still allocates
// nothing. What several scorers read is gathered once by the picker: the prefix-index
// lookup (ScoringInput::matched), done only when a scorer of the profile reads_prompt().
//
// A scorer adds weight x its score to the candidates' totals rather than handing back bare
// scores: its formula decides where the weight enters the arithmetic (w * m / n does not
// round as w * (m / n) does), so a profile's sums are exactly the formulas' own, and there
// is no pass over stored scores. score() gives the bare 0..1 values.
//
// Adding a scorer: one file under pools/scorers/ (the class, its formula and why, and its
// accessor), its line in the table of pools/scorer_registry.cc (beside the accessor's
// declaration), and its weight where ScoringProfile::from (pools/scoring_profile.cc) builds
// the profiles: from config::ScorerWeights once the config has a field for it, a constant
// until then. The picker needs no change.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "pools/endpoint_state.h"

namespace infergate::pools {

// One pick, as a scorer sees it.
struct ScoringInput {
  std::span<const EndpointState* const> candidates;  // those the filters left
  // Per candidate, the leading prompt blocks recently sent to it (pools/prefix_index.h);
  // empty when the request has no prompt blocks or no scorer of the profile reads them.
  std::span<const uint32_t> matched;
  size_t prompt_blocks = 0;   // the request's prefix blocks (PickRequest::prefix)
  uint32_t prompt_bytes = 0;  // PickRequest::prompt_bytes
  uint32_t block_bytes = 0;   // PickerSettings::prefix_block_bytes
  // The adapter the request names when the picker counts it as one (an InferenceModel
  // targets it or some server lists it, and the LoRA filter ran); 0 = none.
  uint64_t adapter = 0;
};

class Scorer {
 public:
  virtual ~Scorer() = default;

  // The name a profile or a lookup uses (as the config's scorer weights are spelled).
  virtual std::string_view name() const = 0;

  // Whether the scorer reads the prompt (ScoringInput::matched, prompt_bytes): the gateway
  // hashes prompts, and the picker looks them up, only for profiles with one that does.
  virtual bool reads_prompt() const { return false; }

  // totals[i] += weight x the score of candidates[i], for every candidate. `scratch` holds
  // at least one double per candidate, the scorer's for this call. Allocates nothing.
  virtual void add(const ScoringInput& in, double weight, std::span<double> scratch,
                   std::span<double> totals) const = 0;

  // The bare scores, 0..1 each, into out[0..candidates) (weight 1 added onto zeros).
  void score(const ScoringInput& in, std::span<double> scratch, std::span<double> out) const;
};

// The registered scorers (pools/scorer_registry.cc), by name; nullptr for an unknown name.
const Scorer* find_scorer(std::string_view name);

// Every registered scorer, in the table's order.
std::span<const Scorer* const> registered_scorers();

}  // namespace infergate::pools
