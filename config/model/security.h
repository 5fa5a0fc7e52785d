#pragma once
// The validated security model: TLS material, mesh identity, upstream TLS and
// client-certificate forwarding. Plain structs, checked by the loader (see config/model.h).
// Istio's PeerAuthentication is in istio_security.h, the admin API's settings in admin_model.h.
// Every file path here is absolute and named a readable regular file at load time: a relative
// path is resolved against the directory of the YAML file that wrote it (the process's working
// directory for documents that came from no file, e.g. POST /config). PEM is not parsed here.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/source_location.h"

namespace infergate::config {

// A Kubernetes v1 Secret of type kubernetes.io/tls (data tls.crt / tls.key, base64; or
// stringData), or an Opaque one carrying a CA bundle in ca.crt. PEM text, decoded.
struct TlsSecret {
  std::string ns = "default";
  std::string name;
  std::string cert_pem;  // tls.crt ("" for a CA-only secret)
  std::string key_pem;   // tls.key
  std::string ca_pem;    // ca.crt, optional
  std::string crl_pem;   // ca.crl, optional
  SourceLocation source;
};

// GatewayConfig spec.tls.certificates[]: a certificate kept in files, which a Gateway listener's
// tls.certificateRefs may name instead of a Secret. Files are watched and reloaded on change.
struct CertificateFiles {
  std::string name;       // unique among certificates; what certificateRefs[].name names
  std::string cert_file;  // PEM chain, leaf first
  std::string key_file;   // PEM private key
  SourceLocation source;
};

enum class TlsVersion { Tls12, Tls13 };

// GatewayConfig spec.tls: the gateway's own mesh identity and TLS defaults.
struct MeshTls {
  std::string trust_domain = "cluster.local";   // spiffe://<trustDomain>/ns/<ns>/sa/<sa>
  // The workload certificate: served on plain-HTTP listeners that PeerAuthentication puts in
  // STRICT or PERMISSIVE mode, and presented to ISTIO_MUTUAL upstreams. "" = none.
  std::string cert_file;
  std::string key_file;
  std::string ca_file;   // CA bundle peer certificates are verified against ("" = none)
  std::string crl_file;  // optional CRL (PEM) checked for the leaf certificate
  TlsVersion min_version = TlsVersion::Tls12;
  TlsVersion max_version = TlsVersion::Tls13;
  std::vector<std::string> cipher_suites;  // TLS 1.2 suites (OpenSSL names); empty = our defaults
  std::vector<CertificateFiles> certificates;
  uint32_t watch_interval_ms = 1000;   // how often certificate files are checked for a change
  uint32_t session_timeout_s = 7200;   // TLS session / ticket lifetime (resumption)
};

// Envoy's forward_client_cert_details (HttpConnectionManager), GatewayConfig
// spec.forwardClientCertDetails.
enum class ForwardClientCert { Sanitize, ForwardOnly, AppendForward, SanitizeSet, AlwaysForwardOnly };

struct ForwardClientCertConfig {
  ForwardClientCert mode = ForwardClientCert::Sanitize;   // Envoy's default
  // set_current_client_cert_details: which fields beyond By and Hash are written.
  bool subject = false;
  bool cert = false;
  bool chain = false;
  bool dns = false;
  bool uri = true;
};

// GatewayConfig spec.workload: the workload this gateway stands for, as Istio would see its
// pod: PeerAuthentication and AuthorizationPolicy selectors match these labels, policies of
// this namespace (and of the root namespace) apply.
struct WorkloadIdentity {
  std::string ns;             // "" = the GatewayConfig's namespace
  std::map<std::string, std::string> labels;
  std::string root_namespace = "istio-system";  // Istio's mesh-wide policy namespace
};

// Istio DestinationRule trafficPolicy.tls (ClientTLSSettings).
enum class IstioTlsMode { Disable, Simple, Mutual, IstioMutual };

struct IstioClientTls {
  IstioTlsMode mode = IstioTlsMode::Disable;
  std::string client_certificate;   // file (MUTUAL)
  std::string private_key;          // file (MUTUAL)
  std::string ca_certificates;      // file; "" = no verification unless credentialName has ca.crt
  std::string ca_crl;               // file
  std::string credential_name;      // a Secret (kubernetes.io/tls, optional ca.crt) in the rule's namespace
  std::vector<std::string> subject_alt_names;  // accepted server SANs (DNS or URI); empty = sni / host
  std::string sni;
  bool insecure_skip_verify = false;
  int line = 0;  // of the tls mapping, for the cross-resource checks' diagnostics
};

}  // namespace infergate::config
