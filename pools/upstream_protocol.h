#pragma once
// The protocol a cluster's endpoints speak: what the connection pools open to them.

#include <cstdint>

namespace infergate::pools {

enum class UpstreamProtocol : uint8_t { Http1, H2c };

}  // namespace infergate::pools
