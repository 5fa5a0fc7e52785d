#include "tls/handshake_error.h"

namespace infergate::tls {

std::string_view handshake_error_name(HandshakeError e) {
  switch (e) {
    case HandshakeError::None: return "none";
    case HandshakeError::NoCertificate: return "no_certificate";
    case HandshakeError::UnknownCa: return "unknown_ca";
    case HandshakeError::Expired: return "expired";
    case HandshakeError::NotYetValid: return "not_yet_valid";
    case HandshakeError::Revoked: return "revoked";
    case HandshakeError::BadSan: return "bad_san";
    case HandshakeError::NotTls: return "not_tls";
    case HandshakeError::Protocol: return "protocol";
    case HandshakeError::PeerAlert: return "peer_alert";
    case HandshakeError::Closed: return "closed";
    case HandshakeError::Timeout: return "timeout";
    case HandshakeError::Other: return "other";
  }
  return "other";
}

std::string_view envoy_ssl_stat(HandshakeError e) {
  switch (e) {
    case HandshakeError::NoCertificate: return "fail_verify_no_cert";
    case HandshakeError::UnknownCa:
    case HandshakeError::Expired:
    case HandshakeError::NotYetValid:
    case HandshakeError::Revoked: return "fail_verify_error";
    case HandshakeError::BadSan: return "fail_verify_san";
    default: return "connection_error";
  }
}

}  // namespace infergate::tls
