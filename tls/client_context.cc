#include "tls/client_context.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "tls/context_util.h"

namespace infergate::tls {

std::shared_ptr<const ClientContext> ClientContext::create(const ClientOptions& opts, std::string* error) {
  std::shared_ptr<ClientContext> cc(new ClientContext());
  cc->ctx_ = SSL_CTX_new(TLS_client_method());
  if (!cc->ctx_) {
    *error = detail::openssl_errors();
    return nullptr;
  }
  SSL_CTX* ctx = cc->ctx_;
  if (!detail::apply_protocol(ctx, opts.protocol, error)) return nullptr;
  if (!opts.cert.empty() && !detail::use_certificate(ctx, opts.cert, opts.key, error)) return nullptr;
  cc->verify_ = opts.verify;
  cc->check_hostname_ = opts.check_hostname;
  cc->sni_ = opts.sni;
  cc->sans_ = opts.subject_alt_names;
  if (opts.verify) {
    if (!opts.ca.empty()) {
      if (!detail::use_trust(ctx, opts.ca, opts.crl, error)) return nullptr;
    } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
      *error = "no CA certificates given and the system roots cannot be loaded";
      return nullptr;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, detail::verify_callback);
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  }
  if (!opts.alpn.empty()) {
    std::string wire;
    for (const auto& p : opts.alpn) {
      wire.push_back(static_cast<char>(p.size()));
      wire += p;
    }
    SSL_CTX_set_alpn_protos(ctx, reinterpret_cast<const unsigned char*>(wire.data()),
                            static_cast<unsigned>(wire.size()));
  }
  // OpenSSL hands client sessions to a callback and never reuses them by itself.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(ctx, on_new_session);
  SSL_CTX_set_app_data(ctx, cc.get());
  return cc;
}

ClientContext::~ClientContext() {
  if (session_) SSL_SESSION_free(session_);
  if (ctx_) SSL_CTX_free(ctx_);
}

int ClientContext::on_new_session(SSL* ssl, SSL_SESSION* session) {
  auto* self = static_cast<ClientContext*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
  if (!self) return 0;
  std::lock_guard lock(self->session_mu_);
  if (self->session_) SSL_SESSION_free(self->session_);
  self->session_ = session;
  return 1;  // we keep the reference
}

SSL* ClientContext::new_ssl() const {
  SSL* ssl = SSL_new(ctx_);
  if (!ssl) return nullptr;
  SSL_set_connect_state(ssl);
  {
    std::lock_guard lock(session_mu_);
    if (session_) SSL_set_session(ssl, session_);
  }
  if (!sni_.empty()) {
    SSL_set_tlsext_host_name(ssl, sni_.c_str());
    // No explicit SANs: the server's certificate must name the SNI (as curl would check).
    if (verify_ && check_hostname_ && sans_.empty()) SSL_set1_host(ssl, sni_.c_str());
  }
  return ssl;
}

}  // namespace infergate::tls
