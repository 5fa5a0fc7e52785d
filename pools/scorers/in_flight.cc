// in_flight: infergate's queue scorer. q = max(the gateway's own in-flight requests to the
// server, scraped waiting + running): it moves with every pick instead of every 50 ms
// scrape, so picks between two scrapes do not herd onto one server.
// 1 - (q - min) / (max - min + 2): the spread is damped by two requests, so that a request
// or two more does not outweigh a prefix-cache hit while a large imbalance still counts in
// full.
#include <algorithm>

#include "pools/scorer.h"

namespace infergate::pools {
namespace {

constexpr double kLoadDamping = 2;

class InFlightScorer final : public Scorer {
 public:
  std::string_view name() const override { return "inFlight"; }

  void add(const ScoringInput& in, double weight, std::span<double> q, std::span<double> totals) const override {
    const size_t n = in.candidates.size();
    double lo = 0, hi = 0;
    for (size_t i = 0; i < n; ++i) {  // read once: the spread and the scores see the same values
      const EndpointState& ep = *in.candidates[i];
      q[i] = std::max<double>(ep.active_requests.load(std::memory_order_relaxed),
                              ep.queue_size.load(std::memory_order_relaxed) +
                                  ep.running_requests.load(std::memory_order_relaxed));
      lo = i == 0 ? q[i] : std::min(lo, q[i]);
      hi = i == 0 ? q[i] : std::max(hi, q[i]);
    }
    for (size_t i = 0; i < n; ++i) totals[i] += weight * (1.0 - (q[i] - lo) / (hi - lo + kLoadDamping));
  }
};

}  // namespace

namespace scorers {  // registered in pools/scorer_registry.cc
const Scorer& in_flight() {
  static const InFlightScorer scorer;
  return scorer;
}
}  // namespace scorers

}  // namespace infergate::pools
