// kvCache: 1 - the server's scraped KV-cache use (0..1). A fuller cache preempts or queues
// sooner.
#include <algorithm>

#include "pools/scorer.h"

namespace infergate::pools {
namespace {

class KvCacheScorer final : public Scorer {
 public:
  std::string_view name() const override { return "kvCache"; }

  void add(const ScoringInput& in, double weight, std::span<double>, std::span<double> totals) const override {
    for (size_t i = 0; i < in.candidates.size(); ++i)
      totals[i] +=
          weight * (1.0 - std::clamp(in.candidates[i]->kv_cache_usage.load(std::memory_order_relaxed), 0.0, 1.0));
  }
};

}  // namespace

namespace scorers {  // registered in pools/scorer_registry.cc
const Scorer& kv_cache() {
  static const KvCacheScorer scorer;
  return scorer;
}
}  // namespace scorers

}  // namespace infergate::pools
