// Cross-resource checks of the security kinds. Errors are what would leave a listener or an
// upstream without the certificate it needs at snapshot build, reported here where the YAML
// is still known; PEM contents are tls/'s to judge.
#include "config/validate_security.h"

#include <map>
#include <string>

#include "config/emit.h"
#include "config/str_cat.h"

namespace infergate::config::detail {

namespace {

Diagnostic at(const SourceLocation& s, std::string resource, std::string path, int line,
              std::string message) {
  return Diagnostic{s.file, s.document, std::move(resource), std::move(path), line > 0 ? line : s.line,
                    std::move(message)};
}

std::string_view mode_name(MtlsMode m) {
  switch (m) {
    case MtlsMode::Disable: return "DISABLE";
    case MtlsMode::Permissive: return "PERMISSIVE";
    case MtlsMode::Strict: return "STRICT";
    case MtlsMode::Unset: break;
  }
  return "UNSET";
}

// "GatewayConfig/gc (gateway.yaml:3) spec.tls", or how to add one when there is none.
std::string gateway_tls(const Collected& c) {
  if (c.gateway_config_sources.empty()) return "a GatewayConfig with spec.tls";
  return cat(c.gateway_config_resources[0], " (", where(c.gateway_config_sources[0]), ") spec.tls");
}

class SecurityChecks {
 public:
  SecurityChecks(const Collected& c, std::vector<Diagnostic>* errors, std::vector<Diagnostic>* warnings)
      : c_(c), config_(c.config), errors_(errors), warnings_(warnings) {}

  void run() {
    duplicates();
    listener_certificates();
    for (const auto& dr : config_.destination_rules) destination_rule(dr);
    peer_authentication();
  }

 private:
  void duplicates() {
    std::map<std::pair<std::string, std::string>, const TlsSecret*> secrets;
    for (const auto& s : config_.secrets)
      if (auto [it, fresh] = secrets.emplace(std::make_pair(s.ns, s.name), &s); !fresh)
        errors_->push_back(at(s.source, "Secret/" + s.name, "metadata.name", 0,
                              cat("duplicate Secret \"", s.ns, "/", s.name, "\" (first defined at ",
                                  where(it->second->source), ")")));
    std::map<std::pair<std::string, std::string>, const PeerAuthentication*> policies;
    for (const auto& p : config_.peer_authentications)
      if (auto [it, fresh] = policies.emplace(std::make_pair(p.ns, p.name), &p); !fresh)
        errors_->push_back(at(p.source, "PeerAuthentication/" + p.name, "metadata.name", 0,
                              cat("duplicate PeerAuthentication \"", p.ns, "/", p.name,
                                  "\" (first defined at ", where(it->second->source), ")")));
  }

  // A Gateway API listener's certificateRefs name Secrets in the Gateway's namespace; ours
  // may also name a GatewayConfig spec.tls.certificates[] entry (files, reloaded on change).
  void listener_certificates() {
    std::map<std::pair<std::string, std::string>, size_t> index;  // listener index per Gateway
    for (const auto& l : config_.listeners) {
      const size_t li = index[{l.gateway_ns, l.gateway_name}]++;
      if (l.protocol != ListenerProtocol::Https) continue;
      for (size_t i = 0; i < l.certificate_refs.size(); ++i) {
        const std::string& name = l.certificate_refs[i];
        const std::string path = cat("spec.listeners[", li, "].tls.certificateRefs[", i, "]");
        if (config_.find_certificate_files(name)) continue;
        const TlsSecret* s = config_.find_secret(l.gateway_ns, name);
        if (s && !s->cert_pem.empty() && !s->key_pem.empty()) continue;
        errors_->push_back(at(
            l.source, "Gateway/" + l.gateway_name, path, 0,
            s ? cat("Secret \"", s->ns, "/", name, "\" (", where(s->source),
                    ") has no tls.crt and tls.key: a listener needs a certificate and its key")
              : cat("certificate \"", name, "\" is neither a Secret in namespace \"", l.gateway_ns,
                    "\" (kubernetes.io/tls) nor a GatewayConfig spec.tls.certificates[] entry")));
      }
    }
  }

  void destination_rule(const DestinationRule& dr) {
    if (dr.traffic_policy && dr.traffic_policy->tls)
      client_tls(dr, *dr.traffic_policy->tls, "spec.trafficPolicy.tls");
    for (size_t i = 0; i < dr.subsets.size(); ++i) {
      const auto& tp = dr.subsets[i].traffic_policy;
      if (tp && tp->tls) client_tls(dr, *tp->tls, cat("spec.subsets[", i, "].trafficPolicy.tls"));
    }
  }

  void client_tls(const DestinationRule& dr, const IstioClientTls& t, const std::string& path) {
    Emit e(errors_, warnings_);
    if (t.mode == IstioTlsMode::IstioMutual) {
      // Istio presents the sidecar's workload certificate and verifies the server against the
      // mesh CA; here both come from GatewayConfig spec.tls.
      const MeshTls& m = config_.gateway.tls;
      std::vector<std::string> missing;
      if (m.cert_file.empty()) missing.push_back("certFile");
      if (m.key_file.empty()) missing.push_back("keyFile");
      if (m.ca_file.empty()) missing.push_back("caFile");
      if (!missing.empty())
        e.error(dr.meta, "DestinationRule", path + ".mode", t.line,
                cat("ISTIO_MUTUAL presents the gateway's mesh certificate and verifies the server "
                    "against the mesh CA: ",
                    gateway_tls(c_), " needs certFile, keyFile and caFile (missing: ", join(missing, ", "),
                    ")"));
      return;
    }
    if (t.credential_name.empty() || t.mode == IstioTlsMode::Disable) return;
    const TlsSecret* s = config_.find_secret(dr.meta.ns, t.credential_name);
    if (!s) {
      e.error(dr.meta, "DestinationRule", path + ".credentialName", t.line,
              cat("Secret \"", dr.meta.ns, "/", t.credential_name,
                  "\" is not defined (credentialName names a Secret in the rule's namespace)"));
      return;
    }
    if (t.mode == IstioTlsMode::Mutual && (s->cert_pem.empty() || s->key_pem.empty()))
      e.error(dr.meta, "DestinationRule", path + ".credentialName", t.line,
              cat("Secret \"", s->ns, "/", s->name, "\" (", where(s->source),
                  ") has no tls.crt and tls.key, which MUTUAL presents to the server"));
  }

  // STRICT or PERMISSIVE on a listener means verifying client certificates (caFile), and on a
  // plain-HTTP listener serving TLS with the gateway's own certificate (certFile/keyFile).
  void peer_authentication() {
    const WorkloadIdentity& w = config_.gateway.workload;
    for (const auto& pa : config_.peer_authentications) {
      if (pa.has_selector && pa.ns == w.root_namespace && selector_matches(pa.selector, w.labels))
        warnings_->push_back(at(pa.source, "PeerAuthentication/" + pa.name, "spec.selector", 0,
                                cat("a policy with a selector in the root namespace \"", w.root_namespace,
                                    "\" applies to no workload (Istio reads root-namespace policies "
                                    "only without a selector, as mesh-wide); ignored")));
    }
    for (const auto& l : config_.listeners) {
      const PeerAuthentication* by = nullptr;
      const MtlsMode mode = effective_mtls(config_, l.port, &by);
      if ((mode != MtlsMode::Strict && mode != MtlsMode::Permissive) || !by) continue;
      const MeshTls& m = config_.gateway.tls;
      std::vector<std::string> missing;
      if (m.ca_file.empty()) missing.push_back("caFile");
      const bool plain = l.protocol == ListenerProtocol::Http;
      if (plain && m.cert_file.empty()) missing.push_back("certFile");
      if (plain && m.key_file.empty()) missing.push_back("keyFile");
      if (missing.empty()) continue;
      auto port_entry = by->port_level.find(l.port);
      const bool port_level = port_entry != by->port_level.end() && port_entry->second != MtlsMode::Unset;
      const std::string path = port_level ? cat("spec.portLevelMtls.", l.port, ".mode") : "spec.mtls.mode";
      errors_->push_back(at(
          by->source, "PeerAuthentication/" + by->name, path, 0,
          cat("puts listener \"", l.key(), "\" (port ", l.port, ", ", where(l.source), ") in ",
              mode_name(mode), " mode: ", gateway_tls(c_), " needs ", join(missing, ", "),
              " (caFile verifies client certificates",
              plain ? "; certFile and keyFile are the certificate a plain-HTTP listener then serves" : "",
              ")")));
    }
  }

  const Collected& c_;
  const Config& config_;
  std::vector<Diagnostic>* errors_;
  std::vector<Diagnostic>* warnings_;
};

}  // namespace

void validate_security(const Collected& collected, std::vector<Diagnostic>* errors,
                       std::vector<Diagnostic>* warnings) {
  SecurityChecks(collected, errors, warnings).run();
}

}  // namespace infergate::config::detail
