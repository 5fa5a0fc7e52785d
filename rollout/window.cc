#include "rollout/window.h"

namespace infergate::rollout {

uint64_t Buckets::total() const {
  uint64_t n = 0;
  for (uint64_t c : counts) n += c;
  return n;
}

std::optional<double> Buckets::quantile(double q) const {
  const uint64_t n = total();
  if (n == 0 || counts.size() != bounds.size() + 1) return std::nullopt;
  const double rank = q * static_cast<double>(n);
  uint64_t below = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    if (static_cast<double>(below + counts[i]) >= rank && counts[i] > 0) {
      if (i == bounds.size()) return bounds.empty() ? std::nullopt : std::optional<double>(bounds.back());
      const double lower = i == 0 ? 0 : bounds[i - 1];
      const double upper = bounds[i];
      return lower + (upper - lower) * (rank - static_cast<double>(below)) / static_cast<double>(counts[i]);
    }
    below += counts[i];
  }
  return bounds.empty() ? std::nullopt : std::optional<double>(bounds.back());
}

Buckets Buckets::since(const Buckets& earlier) const {
  if (earlier.counts.size() != counts.size()) return *this;
  Buckets out{bounds, counts};
  for (size_t i = 0; i < counts.size(); ++i) {
    if (earlier.counts[i] > counts[i]) return *this;  // counters were reset
    out.counts[i] = counts[i] - earlier.counts[i];
  }
  return out;
}

void Buckets::add(const Buckets& other) {
  if (counts.empty()) {
    *this = other;
    return;
  }
  if (other.counts.size() != counts.size()) return;
  for (size_t i = 0; i < counts.size(); ++i) counts[i] += other.counts[i];
}

VersionTotals VersionTotals::since(const VersionTotals& earlier) const {
  VersionTotals out;
  const bool reset = earlier.requests > requests || earlier.errors > errors;
  out.requests = reset ? requests : requests - earlier.requests;
  out.errors = reset ? errors : errors - earlier.errors;
  out.duration = duration.since(earlier.duration);
  out.ttft = ttft.since(earlier.ttft);
  out.tpot = tpot.since(earlier.tpot);
  return out;
}

void VersionTotals::add(const VersionTotals& other) {
  requests += other.requests;
  errors += other.errors;
  duration.add(other.duration);
  ttft.add(other.ttft);
  tpot.add(other.tpot);
}

}  // namespace infergate::rollout
