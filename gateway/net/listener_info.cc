#include "gateway/net/listener_info.h"

#include "routing/http_message.h"

namespace infergate::gateway {

namespace {

bool hostname_matches(std::string_view pattern, std::string_view host) {
  if (pattern.empty()) return true;
  if (pattern.size() > 2 && pattern[0] == '*' && pattern[1] == '.') {
    std::string_view suffix = pattern.substr(1);
    return host.size() > suffix.size() && iequals(host.substr(host.size() - suffix.size()), suffix);
  }
  return iequals(pattern, host);
}

}  // namespace

const std::string& ListenerInfo::select(std::string_view authority) const {
  static const std::string kNone;
  if (keys.empty()) return kNone;
  if (keys.size() == 1) return keys[0];
  std::string_view host = authority;
  if (size_t colon = host.rfind(':'); colon != std::string_view::npos && host.find(']') == std::string_view::npos)
    host = host.substr(0, colon);
  for (size_t i = 0; i < keys.size(); ++i)
    if (!hostnames[i].empty() && hostname_matches(hostnames[i], host)) return keys[i];
  for (size_t i = 0; i < keys.size(); ++i)
    if (hostnames[i].empty()) return keys[i];
  return keys[0];
}

}  // namespace infergate::gateway
