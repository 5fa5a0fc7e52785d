#include "config/ip_block.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>
#include <string>

namespace infergate::config {

std::optional<std::array<uint8_t, 16>> parse_ip(std::string_view text) {
  if (text.size() > 45) return std::nullopt;
  const std::string s(text);
  std::array<uint8_t, 16> out{};
  in_addr v4{};
  if (inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    out[10] = out[11] = 0xff;
    std::memcpy(out.data() + 12, &v4, 4);
    return out;
  }
  if (inet_pton(AF_INET6, s.c_str(), out.data()) == 1) return out;
  return std::nullopt;
}

std::optional<IpBlock> parse_ip_block(std::string_view text) {
  const size_t slash = text.find('/');
  auto ip = parse_ip(text.substr(0, slash));
  if (!ip) return std::nullopt;
  const bool v4 = text.substr(0, slash).find(':') == std::string_view::npos;
  IpBlock b;
  b.address = *ip;
  b.prefix = 128;
  if (slash != std::string_view::npos) {
    const std::string_view bits = text.substr(slash + 1);
    int n = -1;
    auto [p, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), n);
    if (ec != std::errc() || p != bits.data() + bits.size() || n < 0 || n > (v4 ? 32 : 128)) return std::nullopt;
    b.prefix = v4 ? 96 + n : n;
  }
  return b;
}

bool IpBlock::contains(const std::array<uint8_t, 16>& ip) const {
  const int full = prefix / 8, rest = prefix % 8;
  if (std::memcmp(address.data(), ip.data(), static_cast<size_t>(full)) != 0) return false;
  if (rest == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (address[full] & mask) == (ip[full] & mask);
}

}  // namespace infergate::config
