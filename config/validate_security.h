#pragma once
// Internal to config/: cross-resource checks of the security kinds, run once every document is
// parsed: Gateway listener certificates and DestinationRule credentialNames resolve to Secrets
// (or GatewayConfig certificate files), and what PeerAuthentication or ISTIO_MUTUAL demand of
// the gateway's own TLS (GatewayConfig spec.tls) is there.

#include <vector>

#include "config/diagnostic.h"
#include "config/parsers.h"

namespace infergate::config::detail {

void validate_security(const Collected& collected, std::vector<Diagnostic>* errors,
                       std::vector<Diagnostic>* warnings);

}  // namespace infergate::config::detail
