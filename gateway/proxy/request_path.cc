#include "gateway/proxy/request_path.h"

#include "routing/path_normalization.h"

namespace infergate::gateway {

std::optional<RouteReply> normalize_request_path(RequestHead& head, const config::PathNormalization* settings,
                                                 const ProxyStats& stats) {
  if (head.path.empty() || head.path == "*") return std::nullopt;
  static const config::PathNormalization kDefaults;
  const routing::PathResult r = routing::normalize_path(head.path, settings ? *settings : kDefaults);
  switch (r.action) {
    case routing::PathAction::Forward:
      return std::nullopt;
    case routing::PathAction::Reject: {
      stats.downstream_rq_failed_path_normalization.inc();
      return RouteReply{400, "", {}};  // Envoy's reply: no body (details: path_normalization_failed)
    }
    case routing::PathAction::Redirect: {
      // "//host/x" as a Location is another site (a network-path reference): such a path is
      // sent with this request's own scheme and authority, or refused when there is none.
      std::string location = head.path;
      if (location.starts_with("//")) {
        if (head.authority.empty()) {
          stats.downstream_rq_failed_path_normalization.inc();
          return RouteReply{400, "", {}};
        }
        const std::string* proto = head.headers.get("x-forwarded-proto");
        location = (proto ? *proto : head.scheme) + "://" + head.authority + location;
      }
      stats.downstream_rq_redirected_with_normalized_path.inc();
      RouteReply reply{307, "", {}};
      reply.headers.add_lower("location", location);
      return reply;
    }
  }
  return std::nullopt;
}

}  // namespace infergate::gateway
