#pragma once
// An upstream TLS context (Istio DestinationRule trafficPolicy.tls SIMPLE / MUTUAL): the
// server is verified against a CA bundle (or the system roots) and an expected name, and
// MUTUAL presents a client certificate.
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "tls/tls_options.h"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;
typedef struct ssl_session_st SSL_SESSION;

namespace infergate::tls {

struct ClientOptions {
  PemSource cert;  // MUTUAL: our certificate chain; empty for SIMPLE
  PemSource key;
  PemSource ca;    // trusted CAs; empty = the system's default roots
  PemSource crl;
  bool verify = true;  // false = insecureSkipVerify
  // With no subject_alt_names, the server's certificate must name the SNI. Off for Istio's
  // mesh certificates, which carry only a SPIFFE URI: the mesh CA is the check.
  bool check_hostname = true;
  // Accepted server names (DNS or URI SANs); empty = the SNI must match (hostname check).
  std::vector<std::string> subject_alt_names;
  std::string sni;                 // sent as server_name; "" = none
  std::vector<std::string> alpn;   // e.g. {"h2"} or {"http/1.1"}
  ProtocolOptions protocol;
};

class ClientContext {
 public:
  static std::shared_ptr<const ClientContext> create(const ClientOptions& opts, std::string* error);
  ~ClientContext();
  ClientContext(const ClientContext&) = delete;
  ClientContext& operator=(const ClientContext&) = delete;

  // Client-side, SNI and name check set, resuming the last session this context got (a new
  // pooled connection to a model server then skips the full handshake). The caller owns it.
  SSL* new_ssl() const;
  const std::vector<std::string>& subject_alt_names() const { return sans_; }
  bool verifies() const { return verify_; }

 private:
  ClientContext() = default;
  static int on_new_session(SSL* ssl, SSL_SESSION* session);
  SSL_CTX* ctx_ = nullptr;
  // Connections are opened by every worker; a new one is rare next to requests, so a mutex
  // is the right tool.
  mutable std::mutex session_mu_;
  mutable SSL_SESSION* session_ = nullptr;
  std::string sni_;
  std::vector<std::string> sans_;
  bool verify_ = true;
  bool check_hostname_ = true;
};

}  // namespace infergate::tls
