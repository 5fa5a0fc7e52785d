// Secret (kubernetes.io/tls), PeerAuthentication, GatewayConfig security fields, Istio
// trafficPolicy.tls.
#include "config/str_cat.h"

#include "config/parsers.h"

namespace infergate::config::detail {

std::optional<TlsSecret> parse_secret(ParseContext&, const MapView&) { return std::nullopt; }  // TODO(config helper)

std::optional<PeerAuthentication> parse_peer_authentication(ParseContext&, const MapView&) {
  return std::nullopt;  // TODO(config helper)
}

void parse_gateway_security(ParseContext&, const MapView&, GatewayConfig&) {}  // TODO(config helper)

std::optional<IstioClientTls> parse_client_tls(ParseContext&, const MapView&) { return std::nullopt; }

}  // namespace infergate::config::detail
