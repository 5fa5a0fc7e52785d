#pragma once
// Why a TLS handshake failed, in the words a counter and an operator need. Envoy counts
// ssl.fail_verify_no_cert / fail_verify_error / fail_verify_san / connection_error; we keep
// those and split verification errors further (expired, revoked, ...), because "the client's
// certificate expired" and "the client is from another CA" call for different fixes.
#include <cstdint>
#include <string_view>

namespace infergate::tls {

enum class HandshakeError : uint8_t {
  None,
  NoCertificate,  // client certificate required, none sent
  UnknownCa,      // chain does not lead to a trusted CA (another CA, self-signed, bad signature)
  Expired,
  NotYetValid,
  Revoked,        // listed in the CRL
  BadSan,         // no SPIFFE ID of our trust domain (server side) / name mismatch (client side)
  NotTls,         // the first bytes were not a TLS ClientHello (plain HTTP, garbage)
  Protocol,       // no common version or cipher, malformed handshake
  PeerAlert,      // the peer refused us (e.g. it does not trust our certificate)
  Closed,         // the peer closed during the handshake
  Timeout,        // the handshake did not finish in time (set by the caller)
  Other,
};
inline constexpr size_t kHandshakeErrorCount = static_cast<size_t>(HandshakeError::Other) + 1;

// "no_certificate", "unknown_ca", ...: the label value of the handshake-error counter.
std::string_view handshake_error_name(HandshakeError e);

// Envoy's coarse class: "fail_verify_no_cert", "fail_verify_error", "fail_verify_san" or
// "connection_error".
std::string_view envoy_ssl_stat(HandshakeError e);

}  // namespace infergate::tls
