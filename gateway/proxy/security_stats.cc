#include "gateway/proxy/security_stats.h"

#include <string>

namespace infergate::gateway {

SecurityStats::SecurityStats(metrics::Registry& r) {
  auto counter = [&](std::string_view family, std::string_view help, std::string_view envoy) {
    return r.counter(std::string(family), help, {}, std::string(envoy));
  };
  handshake = counter("envoy_listener_ssl_handshake", "Downstream TLS handshakes completed", "listener.ssl.handshake");
  session_reused = counter("envoy_listener_ssl_session_reused", "Downstream TLS handshakes that resumed a session",
                           "listener.ssl.session_reused");
  no_certificate = counter("envoy_listener_ssl_no_certificate",
                           "Downstream TLS connections without a client certificate", "listener.ssl.no_certificate");
  permissive_plaintext = counter("infergate_listener_permissive_plaintext_total",
                                 "Connections taken as plaintext on a PERMISSIVE mTLS port",
                                 "listener.permissive_plaintext");
  connection_error = counter("envoy_listener_ssl_connection_error", "Downstream TLS handshakes that failed",
                             "listener.ssl.connection_error");
  fail_verify_no_cert = counter("envoy_listener_ssl_fail_verify_no_cert",
                                "Downstream TLS handshakes refused: no client certificate",
                                "listener.ssl.fail_verify_no_cert");
  fail_verify_error = counter("envoy_listener_ssl_fail_verify_error",
                              "Downstream TLS handshakes refused: the client certificate did not verify",
                              "listener.ssl.fail_verify_error");
  fail_verify_san = counter("envoy_listener_ssl_fail_verify_san",
                            "Downstream TLS handshakes refused: no SPIFFE ID of the trust domain",
                            "listener.ssl.fail_verify_san");
  for (size_t i = 1; i < tls::kHandshakeErrorCount; ++i) {
    const std::string reason(tls::handshake_error_name(static_cast<tls::HandshakeError>(i)));
    handshake_errors[i] = r.counter("infergate_tls_handshake_errors_total",
                                    "Downstream TLS handshakes that failed, by reason", {{"reason", reason}},
                                    "listener.ssl.handshake_error." + reason);
    upstream_handshake_errors[i] = r.counter("infergate_upstream_tls_handshake_errors_total",
                                             "Upstream TLS handshakes that failed, by reason", {{"reason", reason}},
                                             "cluster_manager.ssl.handshake_error." + reason);
  }
  upstream_handshake = counter("infergate_upstream_tls_handshake_total", "Upstream TLS handshakes completed",
                               "cluster_manager.ssl.handshake");
  cx_overflow_listener = r.counter("envoy_listener_downstream_cx_overflow",
                                   "Connections refused at a connection limit", {{"limit", "listener"}},
                                   "listener.downstream_cx_overflow");
  cx_overflow_source_ip = r.counter("envoy_listener_downstream_cx_overflow",
                                    "Connections refused at a connection limit", {{"limit", "source_ip"}},
                                    "listener.downstream_cx_overflow_source_ip");
  rbac_allowed = r.counter("envoy_http_rbac_allowed", "Requests AuthorizationPolicy allowed",
                           {{"envoy_http_conn_manager_prefix", "ingress_http"}}, "http.ingress_http.rbac.allowed");
  rbac_denied = r.counter("envoy_http_rbac_denied", "Requests AuthorizationPolicy denied (403)",
                          {{"envoy_http_conn_manager_prefix", "ingress_http"}}, "http.ingress_http.rbac.denied");
  cert_reload_ok = r.counter("infergate_tls_certificate_reload_total", "Certificate file changes by result",
                             {{"result", "success"}}, "tls.certificate_reload_success");
  cert_reload_failed = r.counter("infergate_tls_certificate_reload_total", "Certificate file changes by result",
                                 {{"result", "failure"}}, "tls.certificate_reload_failure");
}

void SecurityStats::handshake_failed(tls::HandshakeError e) const {
  handshake_errors[static_cast<size_t>(e)].inc();
  switch (e) {
    case tls::HandshakeError::NoCertificate: fail_verify_no_cert.inc(); break;
    case tls::HandshakeError::UnknownCa:
    case tls::HandshakeError::Expired:
    case tls::HandshakeError::NotYetValid:
    case tls::HandshakeError::Revoked: fail_verify_error.inc(); break;
    case tls::HandshakeError::BadSan: fail_verify_san.inc(); break;
    default: break;
  }
  connection_error.inc();
}

}  // namespace infergate::gateway
