#pragma once
// A cluster of `n` endpoints (10.0.0.1:8000, 10.0.0.2:8000, ...) for pick/outlier tests.

#include <memory>
#include <string>

#include "pools/cluster.h"

namespace infergate::pools::testing {

struct TestCluster {
  EndpointRegistry registry;
  Cluster cluster;

  explicit TestCluster(size_t n) {
    cluster.name = "test";
    for (size_t i = 0; i < n; ++i)
      cluster.endpoints.push_back(registry.get_or_create("10.0.0." + std::to_string(i + 1), 8000));
  }
  EndpointState& at(size_t i) { return *cluster.endpoints[i]; }
  size_t index_of(const EndpointState* e) const {
    for (size_t i = 0; i < cluster.endpoints.size(); ++i)
      if (cluster.endpoints[i].get() == e) return i;
    return cluster.endpoints.size();
  }
};

// splitmix64: a stand-in for the per-request draws the gateway passes to pick().
inline uint64_t draw(uint64_t i) {
  uint64_t z = i + 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace infergate::pools::testing
