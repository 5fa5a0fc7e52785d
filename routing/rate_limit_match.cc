#include "routing/rate_limit_match.h"

#include <algorithm>
#include <array>

#include "routing/host_match.h"

namespace infergate::routing {

namespace {

bool route_matches(std::string_view ref, const RateLimitRequest& req) {
  const size_t slash = ref.find('/');
  if (ref.find('/', slash + 1) == std::string_view::npos)  // "<ns>/<name>": every rule of it
    return req.route_ns == ref.substr(0, slash) && req.route_resource == ref.substr(slash + 1);
  // A full route name; a VirtualService route named after its match adds ".<match name>".
  return req.route_name == ref ||
         (req.route_name.size() > ref.size() && req.route_name.starts_with(ref) && req.route_name[ref.size()] == '.');
}

}  // namespace

bool rate_limit_matches(const config::RateLimitMatch& m, const RateLimitRequest& req) {
  if (!m.routes.empty() &&
      std::none_of(m.routes.begin(), m.routes.end(), [&](const std::string& r) { return route_matches(r, req); }))
    return false;
  if (!m.hosts.empty()) {
    std::array<char, 256> buf;
    const std::string_view host = detail::normalize_authority(req.authority, buf);
    if (host.empty() || std::none_of(m.hosts.begin(), m.hosts.end(),
                                     [&](const std::string& h) { return detail::hostname_matches(h, host); }))
      return false;
  }
  if (!m.path_prefix.empty() && !req.path.substr(0, req.path.find('?')).starts_with(m.path_prefix)) return false;
  if (!m.methods.empty() && std::find(m.methods.begin(), m.methods.end(), req.method) == m.methods.end())
    return false;
  return true;
}

}  // namespace infergate::routing
