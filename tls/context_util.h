#pragma once
// Internal to tls/: what server and client contexts share — PEM loading with messages that
// name the source, protocol and cipher defaults, and the verification bookkeeping that lets a
// failed handshake say why.
#include <openssl/ssl.h>

#include <string>
#include <string_view>
#include <vector>

#include "tls/handshake_error.h"
#include "tls/tls_options.h"

namespace infergate::tls::detail {

// The OpenSSL error queue as one line (and cleared).
std::string openssl_errors();

// Loads a PEM chain (leaf first) and its key into `ctx`; false with *error naming `origin`.
bool use_certificate(SSL_CTX* ctx, const PemSource& cert, const PemSource& key, std::string* error);
// Adds the CA bundle (and CRL, checked for the leaf) to the context's trust store.
bool use_trust(SSL_CTX* ctx, const PemSource& ca, const PemSource& crl, std::string* error);
// Versions, TLS 1.2 ciphers, groups and the options every context of ours has.
bool apply_protocol(SSL_CTX* ctx, const ProtocolOptions& p, std::string* error);

// A DNS name against a certificate name or listener hostname ("*.example.com" covers exactly
// one label), case-insensitive.
bool dns_matches(std::string_view pattern, std::string_view name);

// The DNS and URI subjectAltNames of `cert`.
std::vector<std::string> san_dns(X509* cert);
std::vector<std::string> san_uris(X509* cert);

// Per-SSL verification state, kept in the SSL's ex_data by the verify callback.
// What an otherwise valid leaf must also satisfy, and the first problem found.
struct VerifyState {
  std::string trust_domain;                   // server side: the client's SPIFFE ID must be in it
  const std::vector<std::string>* accepted_sans = nullptr;  // client side: one must be a SAN
  HandshakeError error = HandshakeError::None;
  std::string detail;
};
// Attaches `state` to `ssl` (owned by the caller, who outlives the handshake).
void attach_verify_state(SSL* ssl, VerifyState* state);
VerifyState* verify_state(SSL* ssl);
HandshakeError classify_verify_error(long x509_error);

// The verify callback both contexts install.
int verify_callback(int preverify_ok, X509_STORE_CTX* store);

}  // namespace infergate::tls::detail
