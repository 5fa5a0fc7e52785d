#include "pools/cluster.h"

#include <algorithm>

namespace infergate::pools {

namespace {

constexpr auto kRelaxed = std::memory_order_relaxed;

// splitmix64 finaliser: decorrelates the two choices from each other and from whatever the
// caller's draw already decided (e.g. the weighted backend split).
uint64_t mix(uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

size_t index_of(uint64_t x, size_t n) {
  return static_cast<size_t>((static_cast<unsigned __int128>(x) * n) >> 64);
}

// An endpoint's identity for rendezvous hashing, without allocating.
uint64_t endpoint_hash(const EndpointState& e) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : e.address) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return mix(h ^ e.port);
}

}  // namespace

EndpointState* Cluster::pick(uint64_t draw, const EndpointState* exclude) const {
  return pick(draw, exclude, steady_now_ms());
}

EndpointState* Cluster::pick(uint64_t draw, const EndpointState* exclude, int64_t now_ms) const {
  // Both choices are uniform over the candidates. (Probing forward from a random slot to the
  // next candidate would hand the share of an ejected endpoint to its neighbour: twice the
  // traffic for one pod whenever another is out.) Two scans without allocation; pools are
  // small.
  auto candidate = [&](const EndpointState* e) { return e != exclude && e->eligible(now_ms); };
  size_t count = 0;
  for (const auto& e : endpoints) count += candidate(e.get()) ? 1 : 0;
  if (count == 0) {  // only the one a retry failed on, if it can still serve
    if (!exclude || !exclude->eligible(now_ms)) return nullptr;
    for (const auto& e : endpoints)
      if (e.get() == exclude) return e.get();
    return nullptr;
  }
  // The k-th candidate. Another worker may eject an endpoint between the two scans: then the
  // last candidate there is will do (nullptr only when none is left).
  auto nth = [&](size_t k) -> EndpointState* {
    EndpointState* last = nullptr;
    for (const auto& e : endpoints) {
      if (!candidate(e.get())) continue;
      if (k-- == 0) return e.get();
      last = e.get();
    }
    return last;
  };
  if (lb == LbPolicy::ConsistentHash) {
    // Rendezvous (highest random weight): the candidate scoring highest for this hash.
    EndpointState* best = nullptr;
    uint64_t best_score = 0;
    for (const auto& e : endpoints) {
      if (!candidate(e.get())) continue;
      const uint64_t score = mix(draw ^ endpoint_hash(*e));
      if (!best || score > best_score) {
        best = e.get();
        best_score = score;
      }
    }
    return best;
  }
  if (lb == LbPolicy::RoundRobin) return nth(rr_cursor_->fetch_add(1, kRelaxed) % count);
  const size_t first = index_of(mix(draw), count);
  EndpointState* a = nth(first);
  if (lb == LbPolicy::Random) return a;
  if (count == 1 || !a) return a;
  // A second, different candidate; the one with fewer active requests wins (ties: the first).
  size_t second = index_of(mix(draw ^ 0x5851F42D4C957F2Dull), count - 1);
  if (second >= first) ++second;
  EndpointState* b = nth(second);
  if (!b || b == a) return a;
  return b->active_requests.load(kRelaxed) < a->active_requests.load(kRelaxed) ? b : a;
}

void Cluster::report_result(EndpointState& endpoint, bool success) const {
  report_result(endpoint, success, steady_now_ms());
}

void Cluster::report_result(EndpointState& e, bool success, int64_t now_ms) const {
  e.total_requests.fetch_add(1, kRelaxed);
  if (success) {
    e.consecutive_failures.store(0, kRelaxed);
    int64_t until = e.ejected_until_ms.load(kRelaxed);
    if (until != 0 && now_ms >= until + outlier.interval_ms) {
      // Healthy for an interval since the ejection ended: lower the multiplier by one and
      // restart the interval clock (ejected_until in the past = not ejected).
      uint32_t times = e.times_ejected.load(kRelaxed);
      if (times > 0) e.times_ejected.compare_exchange_strong(times, times - 1, kRelaxed);
      e.ejected_until_ms.compare_exchange_strong(until, times <= 1 ? 0 : now_ms, kRelaxed);
    }
    return;
  }
  e.failures.fetch_add(1, kRelaxed);
  if (outlier.consecutive_failures == 0) return;  // no outlier detection on this cluster
  const uint32_t consecutive = e.consecutive_failures.fetch_add(1, kRelaxed) + 1;
  if (consecutive < outlier.consecutive_failures || e.ejected(now_ms)) return;

  // Envoy: eject while the ejected share stays below max_ejection_percent, but always allow one.
  size_t ejected = 0;
  for (const auto& other : endpoints) ejected += other->ejected(now_ms) ? 1 : 0;
  if (ejected > 0 && ejected * 100 >= endpoints.size() * outlier.max_ejection_percent) return;

  const uint32_t times = e.times_ejected.fetch_add(1, kRelaxed) + 1;
  const int64_t duration =
      std::min<int64_t>(outlier.base_ejection_ms * times,
                        std::max(outlier.base_ejection_ms, outlier.max_ejection_ms));
  e.ejected_until_ms.store(now_ms + duration, kRelaxed);
  e.consecutive_failures.store(0, kRelaxed);
}

size_t Cluster::available(int64_t now_ms) const {
  return static_cast<size_t>(std::count_if(endpoints.begin(), endpoints.end(),
                                           [&](const auto& e) { return e->eligible(now_ms); }));
}

}  // namespace infergate::pools
