#include "gateway/proxy/filters/authorization_filter.h"

#include "gateway/control/snapshot.h"
#include "gateway/proxy/security_stats.h"
#include "gateway/proxy/stream_state.h"

namespace infergate::gateway {

FilterStatus AuthorizationFilter::decode_headers(bool) {
  const Snapshot& snapshot = stream_.snapshot();
  const routing::AuthorizationEngine* engine = snapshot.authz.get();
  if (!engine || engine->empty()) return FilterStatus::Continue;
  const RequestHead& request = stream_.state().request;
  const DownstreamInfo& downstream = stream_.downstream();
  routing::AuthzRequest rq;
  rq.principal = downstream.principal();
  rq.source_ip = downstream.peer_address;
  rq.authority = request.authority;
  rq.method = request.method;
  rq.path = request.path_only();
  rq.port = downstream.listener->port;
  rq.sni = downstream.tls ? std::string_view(downstream.tls->sni) : std::string_view();
  rq.headers = &request.headers;
  // The listener key is "<gateway ns>/<gateway name>/<listener>" (config::Listener::key).
  const std::string_view key = downstream.listener_key;
  const size_t a = key.find('/'), b = a == std::string_view::npos ? a : key.find('/', a + 1);
  if (b != std::string_view::npos) {
    rq.gateway_ns = key.substr(0, a);
    rq.gateway_name = key.substr(a + 1, b - a - 1);
  }
  const routing::AuthzDecision d = engine->evaluate(rq);
  for (size_t i = 0; i < d.audit_count; ++i) snapshot.authz_stats[d.audit[i]][2].inc();
  if (d.allowed) {
    stream_.security().rbac_allowed.inc();
    if (d.deciding_policy >= 0) snapshot.authz_stats[static_cast<size_t>(d.deciding_policy)][0].inc();
    return FilterStatus::Continue;
  }
  stream_.security().rbac_denied.inc();
  if (d.deciding_policy >= 0) snapshot.authz_stats[static_cast<size_t>(d.deciding_policy)][1].inc();
  else snapshot.authz_none_denied.inc();
  // Envoy sets no response flag for RBAC denials (the details say rbac_access_denied).
  stream_.send_local_reply(403, "RBAC: access denied", ResponseFlag::None);
  return FilterStatus::StopIteration;
}

}  // namespace infergate::gateway
