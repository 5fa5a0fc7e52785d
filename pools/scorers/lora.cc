// loraAffinity: for a request naming an adapter, 1 where the adapter is loaded, 0.8 where a
// slot is free to load it, 0.6 where it is queued for loading, 0 otherwise (loading it there
// would evict another). Neutral (adds nothing) for a model no server lists as an adapter
// and no InferenceModel targets (ScoringInput::adapter 0).
#include "pools/scorer.h"

namespace infergate::pools {
namespace {

class LoraScorer final : public Scorer {
 public:
  std::string_view name() const override { return "loraAffinity"; }

  void add(const ScoringInput& in, double weight, std::span<double>, std::span<double> totals) const override {
    if (!in.adapter) return;
    for (size_t i = 0; i < in.candidates.size(); ++i) {
      const EndpointState& ep = *in.candidates[i];
      const AdapterPresence p = ep.adapter(in.adapter);
      const double a = p == AdapterPresence::Loaded    ? 1.0
                       : ep.adapter_slot_free()        ? 0.8
                       : p == AdapterPresence::Waiting ? 0.6
                                                       : 0.0;
      totals[i] += weight * a;
    }
  }
};

}  // namespace

namespace scorers {  // registered in pools/scorer_registry.cc
const Scorer& lora() {
  static const LoraScorer scorer;
  return scorer;
}
}  // namespace scorers

}  // namespace infergate::pools
