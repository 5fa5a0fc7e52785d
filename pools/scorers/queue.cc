// queue: the Inference Extension's queue scorer. q = the scraped waiting queue of each
// candidate; (max - q) / (max - min) over the candidates, 1 for all when they are equal. It
// moves only with the scrapes (every 50 ms): infergate's profile uses in_flight instead.
#include <algorithm>

#include "pools/scorer.h"

namespace infergate::pools {
namespace {

class QueueScorer final : public Scorer {
 public:
  std::string_view name() const override { return "queue"; }

  void add(const ScoringInput& in, double weight, std::span<double> q, std::span<double> totals) const override {
    const size_t n = in.candidates.size();
    double lo = 0, hi = 0;
    for (size_t i = 0; i < n; ++i) {  // read once: the spread and the scores see the same values
      q[i] = in.candidates[i]->queue_size.load(std::memory_order_relaxed);
      lo = i == 0 ? q[i] : std::min(lo, q[i]);
      hi = i == 0 ? q[i] : std::max(hi, q[i]);
    }
    for (size_t i = 0; i < n; ++i) totals[i] += weight * (hi > lo ? (hi - q[i]) / (hi - lo) : 1.0);
  }
};

}  // namespace

namespace scorers {  // registered in pools/scorer_registry.cc
const Scorer& queue() {
  static const QueueScorer scorer;
  return scorer;
}
}  // namespace scorers

}  // namespace infergate::pools
