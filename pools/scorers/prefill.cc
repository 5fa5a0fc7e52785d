// prefill: infergate's. p = the prefill bytes the server still has ahead of it
// (EndpointState::prefill_bytes) + this prompt's bytes it is not expected to have cached
// (the blocks ScoringInput::matched says it holds are not prefilled again);
// 1 - (p - min) / (max - min + 1024). Time to first token is the prefill in front of a
// request, which in-flight counts (mostly decodes) do not show. The spread is damped by
// 1024 bytes (~256 tokens, a few ms of prefill) so that small differences do not count.
#include <algorithm>

#include "pools/scorer.h"

namespace infergate::pools {
namespace {

constexpr double kPrefillDampingBytes = 1024;

class PrefillScorer final : public Scorer {
 public:
  std::string_view name() const override { return "prefill"; }
  bool reads_prompt() const override { return true; }

  void add(const ScoringInput& in, double weight, std::span<double> p, std::span<double> totals) const override {
    const size_t n = in.candidates.size();
    const bool matched = !in.matched.empty();
    double lo = 0, hi = 0;
    for (size_t i = 0; i < n; ++i) {  // read once: the spread and the scores see the same values
      const double cached = matched ? static_cast<double>(in.matched[i]) * in.block_bytes : 0.0;
      const double uncached = std::max(0.0, static_cast<double>(in.prompt_bytes) - cached);
      const int64_t ahead = in.candidates[i]->prefill_bytes.load(std::memory_order_relaxed);
      p[i] = static_cast<double>(std::max<int64_t>(0, ahead)) + uncached;
      lo = i == 0 ? p[i] : std::min(lo, p[i]);
      hi = i == 0 ? p[i] : std::max(hi, p[i]);
    }
    for (size_t i = 0; i < n; ++i) totals[i] += weight * (1.0 - (p[i] - lo) / (hi - lo + kPrefillDampingBytes));
  }
};

}  // namespace

namespace scorers {  // registered in pools/scorer_registry.cc
const Scorer& prefill() {
  static const PrefillScorer scorer;
  return scorer;
}
}  // namespace scorers

}  // namespace infergate::pools
