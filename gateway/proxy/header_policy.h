// The connection manager's header rules, applied the same way for both protocols.
#pragma once

#include "gateway/net/worker_context.h"
#include "routing/http_message.h"

namespace infergate::gateway {

struct DownstreamInfo;

// Removes hop-by-hop headers (RFC 9110 §7.6.1): connection and the names it lists,
// keep-alive, proxy-connection, transfer-encoding, upgrade, and te unless it is
// exactly "trailers" and `keep_te_trailers` (gRPC needs it end to end).
void strip_hop_by_hop(HeaderMap& headers, bool keep_te_trailers);

// Appends the peer address to x-forwarded-for, as Envoy does at the edge.
void append_forwarded_for(HeaderMap& headers, std::string_view peer_address);

// Keeps a well-formed x-request-id, otherwise sets a fresh UUIDv4 one.
void ensure_request_id(HeaderMap& headers, WorkerContext& ctx);

// What the connection manager does to every request before any filter sees it: hop-by-hop
// headers out, X-Gateway-Model-Name out unless a trusted front proxy sent it (Envoy keeps
// x-envoy-* only from trusted clients; this header is ours in the same way),
// x-forwarded-for / -proto, x-forwarded-client-cert by GatewayConfig forwardClientCert,
// x-request-id, and the authority taken from Host. `snapshot` may be null (none published).
void prepare_downstream_request(RequestHead& request, const DownstreamInfo& downstream, const Snapshot* snapshot,
                                WorkerContext& ctx);

}  // namespace infergate::gateway
