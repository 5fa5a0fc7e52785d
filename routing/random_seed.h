#pragma once
// A seed for the hash of a table keyed by client-chosen strings (rate-limit keys, budget keys):
// different per process and per table, so keys cannot be chosen to collide.

#include <chrono>
#include <cstdint>
#include <random>

namespace infergate::routing::detail {

inline uint64_t random_seed() {
  try {
    std::random_device rd;
    return (uint64_t{rd()} << 32) ^ rd();
  } catch (...) {  // no entropy source: still differs per process and per table
    return static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  }
}

}  // namespace infergate::routing::detail
