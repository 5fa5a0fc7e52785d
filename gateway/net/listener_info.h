// What one listening socket stands for, shared by the connections it accepts and their
// requests: the Gateway listeners bound there, their hostnames, TLS and connection limits.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/net/connection_limiter.h"
#include "gateway/net/tls_setup.h"
#include "tls/peer_certificate.h"

namespace infergate::gateway {

// What a downstream TLS connection established, shared by its requests.
struct DownstreamTls {
  std::shared_ptr<const tls::PeerCertificate> peer;  // the verified client certificate; null = none
  std::string sni;
  std::string local_uri;  // our certificate's URI SAN (XFCC By=)
};

struct ListenerInfo {
  std::vector<std::string> keys;       // config::Listener::key() of the listeners on this socket
  std::vector<std::string> hostnames;  // parallel to keys: "" = any
  std::string scheme = "http";
  uint16_t port = 0;  // the port the listeners are configured on (redirects use it)
  std::string address;  // bound address
  // What a new connection's first bytes go through; swapped on config changes and rotations.
  std::shared_ptr<ListenerSecuritySlot> security = std::make_shared<ListenerSecuritySlot>();
  // GatewayConfig spec.connectionLimits, shared by every socket; `id` is this socket's.
  std::shared_ptr<ConnectionLimiter> limiter;
  uint32_t id = 0;
  // The listener key a request's authority selects (hostname match, else the first).
  const std::string& select(std::string_view authority) const;
};

}  // namespace infergate::gateway
