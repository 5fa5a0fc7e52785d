#pragma once
// Smooth, exact weighted choice without locks or shared state.
//
// A worker keeps one WeightedSequence; each next() is a step of a Weyl sequence
// x_n = seed + n * 2^64/phi (golden ratio). Its fractional parts are the most evenly spread
// sequence known (three-distance theorem), so mapping draws onto cumulative weights gives
// split proportions within a fraction of a percent after a few hundred requests and no bursts:
// a 90/10 split sends every ~10th request to the 10 % side, never ten in a row.
// Route::pick_backend(draw) does the mapping; any uniformly distributed 64-bit draw works too
// (e.g. a hash of x-request-id to keep a retried request on its backend).

#include <cstddef>
#include <cstdint>
#include <span>

namespace infergate::routing {

class WeightedSequence {
 public:
  // Different seeds keep workers from stepping in lock-step; the default is fine for one.
  explicit WeightedSequence(uint64_t seed = 0) : state_(seed) {}
  uint64_t next() { return state_ += kGoldenGamma; }

  static constexpr uint64_t kGoldenGamma = 0x9E3779B97F4A7C15ull;  // 2^64 / phi, odd

 private:
  uint64_t state_;
};

inline constexpr size_t kNoBackend = static_cast<size_t>(-1);

// Maps `draw` (uniform over 2^64) onto [0, total) exactly, i.e. floor(draw * total / 2^64),
// then finds the bucket in the running sums `cumulative` (cumulative.back() == total).
// kNoBackend when total is 0 or there are no buckets.
size_t pick_weighted(std::span<const uint64_t> cumulative, uint64_t draw);

}  // namespace infergate::routing
