#include "tls/server_context.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>

#include "tls/context_util.h"

namespace infergate::tls {

namespace {

int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned int inlen,
                void* arg) {
  const auto* ours = static_cast<const std::string*>(arg);
  unsigned char* chosen = nullptr;
  if (SSL_select_next_proto(&chosen, outlen, reinterpret_cast<const unsigned char*>(ours->data()),
                            static_cast<unsigned>(ours->size()), in, inlen) != OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_NOACK;  // no common protocol: go on without ALPN (HTTP/1.1 or sniffed)
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

std::string alpn_wire(const std::vector<std::string>& protocols) {
  std::string w;
  for (const auto& p : protocols) {
    if (p.empty() || p.size() > 255) continue;
    w.push_back(static_cast<char>(p.size()));
    w += p;
  }
  return w;
}

SSL_CTX* new_server_ctx(const ServerOptions& opts, std::string* error) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx) {
    *error = detail::openssl_errors();
    return nullptr;
  }
  if (!detail::apply_protocol(ctx, opts.protocol, error)) {
    SSL_CTX_free(ctx);
    return nullptr;
  }
  return ctx;
}

}  // namespace

std::shared_ptr<const ServerContext> ServerContext::create(const ServerOptions& opts, std::string* error,
                                                           const ServerContext* previous) {
  if (opts.credentials.empty()) {
    *error = "no certificate to serve";
    return nullptr;
  }
  std::shared_ptr<ServerContext> sc(new ServerContext());
  sc->client_auth_ = opts.client_auth;
  sc->trust_domain_ = opts.client_auth == ClientAuth::None ? std::string() : opts.trust_domain;
  sc->alpn_ = alpn_wire(opts.alpn);
  for (const auto& cred : opts.credentials) {
    SSL_CTX* ctx = new_server_ctx(opts, error);
    if (!ctx) return nullptr;
    sc->per_cert_.push_back(ctx);
    if (!detail::use_certificate(ctx, cred.cert, cred.key, error)) return nullptr;
    // A certificate chosen by SNI negotiates ALPN on its own context (OpenSSL asks the
    // SSL's current SSL_CTX), so every context gets the callback.
    SSL_CTX_set_alpn_select_cb(ctx, select_alpn, &sc->alpn_);
    std::vector<std::string> names = cred.server_names;
    if (names.empty()) names = detail::san_dns(SSL_CTX_get0_certificate(ctx));
    sc->names_.push_back(std::move(names));
  }
  sc->main_ = sc->per_cert_[0];
  SSL_CTX* ctx = sc->main_;
  if (auto uris = detail::san_uris(SSL_CTX_get0_certificate(ctx)); !uris.empty()) sc->local_uri_ = uris.front();
  if (opts.client_auth != ClientAuth::None) {
    if (opts.ca.empty()) {
      *error = "client certificates are requested but no CA bundle is configured to verify them";
      return nullptr;
    }
    // After an SNI switch OpenSSL verifies against the chosen context's store and sends its
    // CA names, so every context carries the trust settings.
    for (SSL_CTX* c : sc->per_cert_) {
      if (!detail::use_trust(c, opts.ca, opts.crl, error)) return nullptr;
      int mode = SSL_VERIFY_PEER;
      if (opts.client_auth == ClientAuth::Required) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
      SSL_CTX_set_verify(c, mode, detail::verify_callback);
    }
  }
  // Resumption: a server-side cache for TLS 1.2 session IDs and tickets (both TLS 1.2 and
  // 1.3). A resumed session is not verified again, so the session id context is a digest of
  // everything client authentication depends on: a session from before a switch to STRICT,
  // a new CA, CRL or trust domain does not resume (as Envoy does). Every per-certificate
  // context gets it, since SNI may switch to any of them before the session is looked up.
  const std::string policy = std::to_string(static_cast<int>(opts.client_auth)) + '\n' + opts.trust_domain + '\n' +
                             opts.ca.pem + '\n' + opts.crl.pem;
  unsigned char sid_ctx[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(policy.data()), policy.size(), sid_ctx);
  for (SSL_CTX* c : sc->per_cert_) SSL_CTX_set_session_id_context(c, sid_ctx, sizeof sid_ctx);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
  SSL_CTX_sess_set_cache_size(ctx, 20480);
  SSL_CTX_set_timeout(ctx, static_cast<long>(opts.session_timeout_s));
  SSL_CTX_set_num_tickets(ctx, 1);
  if (previous && previous->main_) {
    unsigned char keys[80];
    if (SSL_CTX_get_tlsext_ticket_keys(previous->main_, keys, sizeof keys) == 1)
      SSL_CTX_set_tlsext_ticket_keys(ctx, keys, sizeof keys);
  }
  {
    // One set of ticket keys for every per-certificate context: which one seals or opens a
    // ticket depends on when in the handshake SNI switched.
    unsigned char keys[80];
    if (SSL_CTX_get_tlsext_ticket_keys(ctx, keys, sizeof keys) == 1)
      for (SSL_CTX* c : sc->per_cert_) SSL_CTX_set_tlsext_ticket_keys(c, keys, sizeof keys);
  }
  if (sc->per_cert_.size() > 1) {
    SSL_CTX_set_tlsext_servername_callback(ctx, on_servername);
    SSL_CTX_set_tlsext_servername_arg(ctx, sc.get());
  }
  return sc;
}

ServerContext::~ServerContext() {
  for (SSL_CTX* c : per_cert_) SSL_CTX_free(c);
}

SSL* ServerContext::new_ssl() const {
  SSL* ssl = SSL_new(main_);
  if (ssl) SSL_set_accept_state(ssl);
  return ssl;
}

size_t ServerContext::select(std::string_view name) const {
  if (name.empty()) return 0;
  // Exact names first, then wildcards, as Gateway API listener matching does.
  for (size_t i = 0; i < names_.size(); ++i)
    for (const auto& n : names_[i])
      if (n.rfind("*.", 0) != 0 && detail::dns_matches(n, name)) return i;
  for (size_t i = 0; i < names_.size(); ++i)
    for (const auto& n : names_[i])
      if (n.rfind("*.", 0) == 0 && detail::dns_matches(n, name)) return i;
  return 0;
}

int ServerContext::on_servername(SSL* ssl, int*, void* arg) {
  const auto* self = static_cast<const ServerContext*>(arg);
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (!name) return SSL_TLSEXT_ERR_NOACK;
  const size_t i = self->select(name);
  if (i != 0) SSL_set_SSL_CTX(ssl, self->per_cert_[i]);
  return SSL_TLSEXT_ERR_OK;
}

}  // namespace infergate::tls
