#include "tls/peer_certificate.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>

#include "tls/context_util.h"

namespace infergate::tls {

namespace {

std::string pem_of(X509* cert) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) return {};
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

std::string subject_of(X509* cert) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  if (!bio) return {};
  X509_NAME_print_ex(bio.get(), X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

bool valid_segment(std::string_view s) { return !s.empty() && s.find('/') == std::string_view::npos; }

}  // namespace

std::optional<SpiffeId> parse_spiffe(std::string_view uri) {
  constexpr std::string_view kScheme = "spiffe://";
  if (uri.substr(0, kScheme.size()) != kScheme) return std::nullopt;
  std::string_view rest = uri.substr(kScheme.size());
  const size_t slash = rest.find('/');
  if (slash == std::string_view::npos || slash == 0) return std::nullopt;
  SpiffeId id;
  id.trust_domain = std::string(rest.substr(0, slash));
  std::string_view path = rest.substr(slash);  // "/ns/<ns>/sa/<sa>"
  if (path.substr(0, 4) != "/ns/") return std::nullopt;
  path.remove_prefix(4);
  const size_t sa = path.find("/sa/");
  if (sa == std::string_view::npos) return std::nullopt;
  const std::string_view ns = path.substr(0, sa), name = path.substr(sa + 4);
  if (!valid_segment(ns) || !valid_segment(name)) return std::nullopt;
  id.ns = std::string(ns);
  id.sa = std::string(name);
  return id;
}

PeerCertificate describe_certificate(X509* leaf, STACK_OF_X509* chain) {
  PeerCertificate p;
  if (!leaf) return p;
  p.uris = detail::san_uris(leaf);
  p.dns = detail::san_dns(leaf);
  for (const auto& u : p.uris) {
    if (auto id = parse_spiffe(u)) {
      p.principal = id->principal();
      p.ns = id->ns;
      break;
    }
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (X509_digest(leaf, EVP_sha256(), md, &len) == 1) {
    static constexpr char kHex[] = "0123456789abcdef";
    p.sha256_hex.reserve(len * 2);
    for (unsigned i = 0; i < len; ++i) {
      p.sha256_hex.push_back(kHex[md[i] >> 4]);
      p.sha256_hex.push_back(kHex[md[i] & 15]);
    }
  }
  p.subject = subject_of(leaf);
  p.pem = pem_of(leaf);
  if (chain) {
    for (int i = 0; i < sk_X509_num(chain); ++i) p.chain_pem += pem_of(sk_X509_value(chain, i));
  }
  if (p.chain_pem.empty()) p.chain_pem = p.pem;
  return p;
}

}  // namespace infergate::tls
