#pragma once
// x-forwarded-client-cert as Envoy writes it (HttpConnectionManager
// forward_client_cert_details / set_current_client_cert_details): one element per proxy,
// comma-separated, each `By=<our URI SAN>;Hash=<sha256 of the client cert>;Cert="…";
// Chain="…";Subject="…";URI=…;DNS=…` in that order.
#include <optional>
#include <string>
#include <string_view>

#include "tls/peer_certificate.h"

namespace infergate::tls {

enum class XfccMode { Sanitize, ForwardOnly, AppendForward, SanitizeSet, AlwaysForwardOnly };

struct XfccFields {
  bool subject = false;
  bool cert = false;
  bool chain = false;
  bool dns = false;
  bool uri = true;
};

// The element describing `peer`, as seen by a proxy whose own certificate URI is `by`.
std::string xfcc_element(const PeerCertificate& peer, std::string_view by, const XfccFields& fields);

// The header value to send upstream, or nullopt to send none. `incoming` is the client's
// header (nullopt when absent); `peer` the verified client certificate of an mTLS
// connection (nullptr for plaintext or TLS without a client certificate).
std::optional<std::string> forward_client_cert(XfccMode mode, const XfccFields& fields,
                                               std::optional<std::string_view> incoming,
                                               const PeerCertificate* peer, std::string_view by);

}  // namespace infergate::tls
