#pragma once
// A downstream TLS context: certificates chosen by SNI, client-certificate policy, ALPN,
// session resumption. Immutable once built and shared by every worker; a certificate
// rotation builds a new one (connections already established keep theirs).
#include <memory>
#include <string>
#include <vector>

#include "tls/tls_options.h"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

namespace infergate::tls {

enum class ClientAuth {
  None,      // no certificate requested
  Optional,  // requested; verified when sent (Istio PERMISSIVE on a TLS listener)
  Required,  // Istio STRICT: no certificate, no connection
};

struct ServerCredential {
  PemSource cert;  // chain, leaf first
  PemSource key;
  // SNI names this certificate serves (listener hostnames, "*.x" allowed). Empty = the
  // certificate's own DNS subjectAltNames.
  std::vector<std::string> server_names;
};

struct ServerOptions {
  std::vector<ServerCredential> credentials;  // at least one; the first is the default
  ClientAuth client_auth = ClientAuth::None;
  PemSource ca;   // required unless client_auth is None
  PemSource crl;  // optional
  // When set (and client_auth is not None), a client certificate must carry a SPIFFE ID
  // spiffe://<trust_domain>/...: Istio's peer check, counted as bad_san when it fails.
  std::string trust_domain;
  std::vector<std::string> alpn = {"h2", "http/1.1"};  // preference order
  ProtocolOptions protocol;
  uint32_t session_timeout_s = 7200;
};

class ServerContext {
 public:
  // nullptr with *error saying which source is wrong. `previous` (may be null) hands its
  // session-ticket keys over, so clients resume across a certificate rotation.
  static std::shared_ptr<const ServerContext> create(const ServerOptions& opts, std::string* error,
                                                     const ServerContext* previous = nullptr);
  ~ServerContext();
  ServerContext(const ServerContext&) = delete;
  ServerContext& operator=(const ServerContext&) = delete;

  SSL* new_ssl() const;  // a server-side SSL; the caller owns it
  ClientAuth client_auth() const { return client_auth_; }
  const std::string& trust_domain() const { return trust_domain_; }
  // The first URI subjectAltName of the default certificate (XFCC's By=), "" when none.
  const std::string& local_uri() const { return local_uri_; }
  // Which credential SNI `name` selects (index into ServerOptions::credentials).
  size_t select(std::string_view name) const;

 private:
  ServerContext() = default;
  static int on_servername(SSL* ssl, int* alert, void* arg);

  SSL_CTX* main_ = nullptr;  // verify settings, session cache and tickets live here
  std::vector<SSL_CTX*> per_cert_;  // one per credential ([0] is main_)
  std::vector<std::vector<std::string>> names_;
  std::vector<std::string> alpn_wire_;  // kept alive for the ALPN callback
  std::string alpn_;                    // wire format
  ClientAuth client_auth_ = ClientAuth::None;
  std::string trust_domain_;
  std::string local_uri_;
};

}  // namespace infergate::tls
