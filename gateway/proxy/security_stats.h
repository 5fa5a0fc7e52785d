// Statistics of the security layer: TLS handshakes (by failure reason, and Envoy's coarse
// ssl.* classes), connection limits. Per-policy RBAC and rate-limit counters depend on the
// config and live in the snapshot (see snapshot.h).
#pragma once

#include <array>

#include "metrics/registry.h"
#include "tls/handshake_error.h"

namespace infergate::gateway {

struct SecurityStats {
  SecurityStats() = default;
  explicit SecurityStats(metrics::Registry& r);

  // Downstream TLS (Envoy listener ssl.*).
  metrics::Counter handshake, session_reused, no_certificate, permissive_plaintext;
  metrics::Counter connection_error, fail_verify_no_cert, fail_verify_error, fail_verify_san;
  std::array<metrics::Counter, tls::kHandshakeErrorCount> handshake_errors;  // by reason
  // Upstream TLS toward model servers, by reason.
  std::array<metrics::Counter, tls::kHandshakeErrorCount> upstream_handshake_errors;
  metrics::Counter upstream_handshake;
  // Connections refused at accept (Envoy downstream_cx_overflow), by which limit.
  metrics::Counter cx_overflow_listener, cx_overflow_source_ip;
  // Envoy's RBAC filter: requests allowed / denied by AuthorizationPolicy.
  metrics::Counter rbac_allowed, rbac_denied;
  // Certificate rotations applied / rejected (files changed but did not load).
  metrics::Counter cert_reload_ok, cert_reload_failed;

  void handshake_failed(tls::HandshakeError e) const;
};

}  // namespace infergate::gateway
