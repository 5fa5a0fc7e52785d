#pragma once
// What the gateway knows about a verified peer certificate: its SPIFFE identity (the Istio
// principal AuthorizationPolicy matches) and the fields x-forwarded-client-cert carries.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

typedef struct x509_st X509;
typedef struct stack_st_X509 STACK_OF_X509;

namespace infergate::tls {

struct SpiffeId {
  std::string trust_domain;
  std::string ns;
  std::string sa;
  // Istio's principal: "<trust domain>/ns/<ns>/sa/<sa>".
  std::string principal() const { return trust_domain + "/ns/" + ns + "/sa/" + sa; }
};

// "spiffe://td/ns/x/sa/y" (Istio's workload form) -> {td, x, y}; nullopt for anything else.
std::optional<SpiffeId> parse_spiffe(std::string_view uri);

struct PeerCertificate {
  std::string principal;   // "" when the certificate has no Istio-form SPIFFE ID
  std::string ns;          // the SPIFFE ID's namespace (source.namespace)
  std::string sha256_hex;  // of the DER leaf (XFCC Hash=)
  std::string subject;     // RFC 2253 (XFCC Subject=)
  std::vector<std::string> uris;
  std::vector<std::string> dns;
  std::string pem;         // the leaf (XFCC Cert=)
  std::string chain_pem;   // leaf and intermediates the peer sent (XFCC Chain=)
};

// Reads the fields from `leaf` (and `chain`, may be null: the peer's chain as sent).
PeerCertificate describe_certificate(X509* leaf, STACK_OF_X509* chain);

}  // namespace infergate::tls
