#include "pools/scorer.h"

#include <algorithm>

namespace infergate::pools {

void Scorer::score(const ScoringInput& in, std::span<double> scratch, std::span<double> out) const {
  const auto scores = out.first(in.candidates.size());
  std::fill(scores.begin(), scores.end(), 0.0);
  add(in, 1.0, scratch, scores);  // 0 + 1 x s is s, bit for bit
}

}  // namespace infergate::pools
