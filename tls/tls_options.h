#pragma once
// Plain settings for building TLS contexts: PEM text with where it came from, protocol
// bounds. Nothing here touches OpenSSL.
#include <cstdint>
#include <string>
#include <vector>

namespace infergate::tls {

// PEM text and a name for messages ("Secret default/gw-cert tls.crt", "/etc/certs/ca.pem").
struct PemSource {
  std::string pem;
  std::string origin;
  bool empty() const { return pem.empty(); }
};

enum class Version { Tls12, Tls13 };

struct ProtocolOptions {
  Version min = Version::Tls12;
  Version max = Version::Tls13;
  // TLS 1.2 suites, OpenSSL names joined by ':'; "" = ours: ECDHE with AES-GCM or
  // ChaCha20-Poly1305 only (forward secret AEADs, what Mozilla's "intermediate" profile allows).
  std::string cipher_list;
};

}  // namespace infergate::tls
