#include "routing/weighted_choice.h"

#include <algorithm>

namespace infergate::routing {

size_t pick_weighted(std::span<const uint64_t> cumulative, uint64_t draw) {
  if (cumulative.empty() || cumulative.back() == 0) return kNoBackend;
  // floor(draw * total / 2^64): exact and unbiased, unlike draw % total.
  const uint64_t x =
      static_cast<uint64_t>((static_cast<unsigned __int128>(draw) * cumulative.back()) >> 64);
  // First bucket whose running sum exceeds x; zero-weight buckets are never chosen.
  return static_cast<size_t>(std::upper_bound(cumulative.begin(), cumulative.end(), x) -
                             cumulative.begin());
}

}  // namespace infergate::routing
