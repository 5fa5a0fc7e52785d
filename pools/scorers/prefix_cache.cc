// prefixCache: the share of the prompt's leading blocks recently sent to the server
// (pools/prefix_index.h), whose KV cache likely still holds them: a hit skips that much
// prefill. Neutral (adds nothing) for a request without prompt blocks.
#include "pools/scorer.h"

namespace infergate::pools {
namespace {

class PrefixCacheScorer final : public Scorer {
 public:
  std::string_view name() const override { return "prefixCache"; }
  bool reads_prompt() const override { return true; }

  void add(const ScoringInput& in, double weight, std::span<double>, std::span<double> totals) const override {
    if (in.matched.empty()) return;
    for (size_t i = 0; i < in.candidates.size(); ++i)
      totals[i] += weight * static_cast<double>(in.matched[i]) / static_cast<double>(in.prompt_blocks);
  }
};

}  // namespace

namespace scorers {  // registered in pools/scorer_registry.cc
const Scorer& prefix_cache() {
  static const PrefixCacheScorer scorer;
  return scorer;
}
}  // namespace scorers

}  // namespace infergate::pools
