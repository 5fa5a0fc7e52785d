#include "tls/context_util.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <memory>

namespace infergate::tls::detail {

namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

BioPtr mem_bio(const std::string& pem) { return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()))); }

int ex_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

std::vector<std::string> sans_of_type(X509* cert, int type) {
  std::vector<std::string> out;
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (!names) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
    if (n->type != type) continue;
    const ASN1_IA5STRING* s = type == GEN_DNS ? n->d.dNSName : n->d.uniformResourceIdentifier;
    out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)), ASN1_STRING_length(s));
  }
  GENERAL_NAMES_free(names);
  return out;
}

}  // namespace

bool dns_matches(std::string_view pattern, std::string_view name) {
  auto lower_eq = [](std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
      if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
        return false;
    return true;
  };
  if (pattern.size() > 2 && pattern.substr(0, 2) == "*.") {
    size_t dot = name.find('.');
    return dot != std::string_view::npos && dot > 0 && lower_eq(pattern.substr(1), name.substr(dot));
  }
  return lower_eq(pattern, name);
}

std::string openssl_errors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

bool use_certificate(SSL_CTX* ctx, const PemSource& cert, const PemSource& key, std::string* error) {
  ERR_clear_error();
  auto bio = mem_bio(cert.pem);
  X509* leaf = PEM_read_bio_X509_AUX(bio.get(), nullptr, nullptr, nullptr);
  if (!leaf) {
    *error = cert.origin + ": no PEM certificate (" + openssl_errors() + ")";
    return false;
  }
  const int ok = SSL_CTX_use_certificate(ctx, leaf);
  X509_free(leaf);
  if (ok != 1) {
    *error = cert.origin + ": certificate rejected (" + openssl_errors() + ")";
    return false;
  }
  SSL_CTX_clear_chain_certs(ctx);
  while (X509* ca = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    if (SSL_CTX_add0_chain_cert(ctx, ca) != 1) {
      X509_free(ca);
      *error = cert.origin + ": bad chain certificate (" + openssl_errors() + ")";
      return false;
    }
  }
  ERR_clear_error();  // the loop ends on "no start line"
  auto kbio = mem_bio(key.pem);
  EVP_PKEY* pkey = PEM_read_bio_PrivateKey(kbio.get(), nullptr, nullptr, nullptr);
  if (!pkey) {
    *error = key.origin + ": no PEM private key (" + openssl_errors() + ")";
    return false;
  }
  const int kok = SSL_CTX_use_PrivateKey(ctx, pkey);
  EVP_PKEY_free(pkey);
  if (kok != 1 || SSL_CTX_check_private_key(ctx) != 1) {
    *error = key.origin + ": the private key does not match " + cert.origin + " (" + openssl_errors() + ")";
    return false;
  }
  return true;
}

bool use_trust(SSL_CTX* ctx, const PemSource& ca, const PemSource& crl, std::string* error) {
  ERR_clear_error();
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  auto bio = mem_bio(ca.pem);
  int certs = 0;
  STACK_OF(X509_NAME)* names = sk_X509_NAME_new_null();
  while (X509* c = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    X509_STORE_add_cert(store, c);
    sk_X509_NAME_push(names, X509_NAME_dup(X509_get_subject_name(c)));
    X509_free(c);
    ++certs;
  }
  ERR_clear_error();
  if (certs == 0) {
    sk_X509_NAME_pop_free(names, X509_NAME_free);
    *error = ca.origin + ": no PEM certificate in the CA bundle";
    return false;
  }
  SSL_CTX_set_client_CA_list(ctx, names);  // takes ownership
  if (!crl.empty()) {
    auto cbio = mem_bio(crl.pem);
    int crls = 0;
    while (X509_CRL* c = PEM_read_bio_X509_CRL(cbio.get(), nullptr, nullptr, nullptr)) {
      X509_STORE_add_crl(store, c);
      X509_CRL_free(c);
      ++crls;
    }
    ERR_clear_error();
    if (crls == 0) {
      *error = crl.origin + ": no PEM CRL";
      return false;
    }
    // The leaf only: intermediates of a mesh CA rarely publish CRLs, and CRL_CHECK_ALL would
    // then reject every client for want of one.
    X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
  }
  return true;
}

bool apply_protocol(SSL_CTX* ctx, const ProtocolOptions& p, std::string* error) {
  auto version = [](Version v) { return v == Version::Tls13 ? TLS1_3_VERSION : TLS1_2_VERSION; };
  SSL_CTX_set_min_proto_version(ctx, version(p.min));
  SSL_CTX_set_max_proto_version(ctx, version(p.max));
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                               SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1 | SSL_OP_NO_SSLv3);
  static constexpr const char* kCiphers =
      "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
      "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
  const std::string list = p.cipher_list.empty() ? kCiphers : p.cipher_list;
  if (SSL_CTX_set_cipher_list(ctx, list.c_str()) != 1) {
    *error = "cipher suites \"" + list + "\": none usable (" + openssl_errors() + ")";
    return false;
  }
  if (SSL_CTX_set1_groups_list(ctx, "X25519:P-256:P-384") != 1) {
    *error = "key exchange groups: " + openssl_errors();
    return false;
  }
  // Large records cost a full 16 KiB of buffering per connection while reading; the
  // gateway's reads are small and frequent (SSE tokens), so OpenSSL's default is right.
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  return true;
}

std::vector<std::string> san_dns(X509* cert) { return sans_of_type(cert, GEN_DNS); }
std::vector<std::string> san_uris(X509* cert) { return sans_of_type(cert, GEN_URI); }

void attach_verify_state(SSL* ssl, VerifyState* state) { SSL_set_ex_data(ssl, ex_index(), state); }

VerifyState* verify_state(SSL* ssl) { return static_cast<VerifyState*>(SSL_get_ex_data(ssl, ex_index())); }

HandshakeError classify_verify_error(long e) {
  switch (e) {
    case X509_V_OK: return HandshakeError::None;
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD: return HandshakeError::Expired;
    case X509_V_ERR_CERT_NOT_YET_VALID:
    case X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD: return HandshakeError::NotYetValid;
    case X509_V_ERR_CERT_REVOKED: return HandshakeError::Revoked;
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
    case X509_V_ERR_APPLICATION_VERIFICATION: return HandshakeError::BadSan;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
    case X509_V_ERR_CERT_UNTRUSTED:
    case X509_V_ERR_INVALID_CA: return HandshakeError::UnknownCa;
    default: return HandshakeError::Other;
  }
}

int verify_callback(int preverify_ok, X509_STORE_CTX* store) {
  SSL* ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  VerifyState* st = ssl ? verify_state(ssl) : nullptr;
  if (!st) return preverify_ok;
  if (!preverify_ok) {
    if (st->error == HandshakeError::None) {
      const int e = X509_STORE_CTX_get_error(store);
      st->error = classify_verify_error(e);
      st->detail = X509_verify_cert_error_string(e);
    }
    return 0;
  }
  if (X509_STORE_CTX_get_error_depth(store) != 0) return 1;
  X509* leaf = X509_STORE_CTX_get_current_cert(store);
  if (!st->trust_domain.empty()) {
    const std::string want = "spiffe://" + st->trust_domain + "/";
    for (const auto& uri : san_uris(leaf))
      if (uri.compare(0, want.size(), want) == 0) return 1;
    st->error = HandshakeError::BadSan;
    st->detail = "no SPIFFE ID of trust domain " + st->trust_domain + " in the certificate";
    X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
    return 0;
  }
  if (st->accepted_sans && !st->accepted_sans->empty()) {
    const auto dns = san_dns(leaf);
    const auto uris = san_uris(leaf);
    for (const auto& want : *st->accepted_sans) {
      for (const auto& d : dns)
        if (dns_matches(d, want)) return 1;
      for (const auto& u : uris)
        if (u == want) return 1;
    }
    st->error = HandshakeError::BadSan;
    st->detail = "the server certificate has none of the expected subjectAltNames";
    X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
    return 0;
  }
  return 1;
}

}  // namespace infergate::tls::detail
