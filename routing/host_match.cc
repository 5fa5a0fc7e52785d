#include "routing/host_match.h"

namespace infergate::routing::detail {

bool hostname_matches(std::string_view pattern, std::string_view host) {
  if (!pattern.starts_with("*.")) return pattern == host;
  std::string_view suffix = pattern.substr(1);  // ".example.com"
  return host.size() > suffix.size() && host.ends_with(suffix);
}

std::optional<std::string> intersect_hostnames(std::string_view listener, std::string_view route) {
  if (listener.empty()) return std::string(route);
  if (route.empty()) return std::string(listener);
  if (hostname_matches(listener, route)) return std::string(route);
  if (hostname_matches(route, listener)) return std::string(listener);
  // Two wildcards where one's domain lies under the other's: the narrower one.
  if (listener.starts_with("*.") && route.starts_with("*.")) {
    if (route.substr(1).ends_with(listener.substr(1))) return std::string(route);
    if (listener.substr(1).ends_with(route.substr(1))) return std::string(listener);
  }
  return std::nullopt;
}

std::string_view normalize_authority(std::string_view authority, std::span<char> buf) {
  std::string_view host = authority;
  if (host.starts_with("[")) {
    // IPv6 literal: keep the brackets, drop the port.
    size_t close = host.find(']');
    if (close != std::string_view::npos) host = host.substr(0, close + 1);
  } else if (size_t colon = host.rfind(':'); colon != std::string_view::npos) {
    host = host.substr(0, colon);
  }
  if (host.ends_with('.')) host.remove_suffix(1);
  if (host.size() > buf.size()) return {};
  for (size_t i = 0; i < host.size(); ++i) {
    char c = host[i];
    buf[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  return std::string_view(buf.data(), host.size());
}

}  // namespace infergate::routing::detail
