#pragma once
// An IPv4 or IPv6 address block ("10.0.0.0/8", "2001:db8::/32", or one address), as Istio's
// ipBlocks and when conditions on source.ip write them. IPv4 is kept IPv4-mapped so one
// comparison serves both families.
#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace infergate::config {

struct IpBlock {
  std::array<uint8_t, 16> address{};
  int prefix = 128;  // bits of `address` that must match (an IPv4 /24 is 96 + 24)

  bool contains(const std::array<uint8_t, 16>& ip) const;
};

std::optional<IpBlock> parse_ip_block(std::string_view text);
// A textual IPv4 or IPv6 address, IPv4-mapped; nullopt when it is neither.
std::optional<std::array<uint8_t, 16>> parse_ip(std::string_view text);

}  // namespace infergate::config
