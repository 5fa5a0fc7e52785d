#include "gateway/net/tls_setup.h"

#include <fstream>
#include <map>
#include <sstream>

namespace infergate::gateway {

namespace {

void report(TlsBuild& b, const config::SourceLocation& where, std::string resource, std::string path,
            std::string message) {
  if (b.errors)
    b.errors->push_back(config::Diagnostic{where.file, where.document, std::move(resource), std::move(path),
                                           where.line, std::move(message)});
}

}  // namespace

bool read_pem(const std::string& path, tls::PemSource& out, TlsBuild& b, std::string* error) {
  b.files.push_back(path);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = "cannot read " + path;
    return false;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  out.pem = ss.str();
  out.origin = path;
  return true;
}

namespace {

tls::ProtocolOptions protocol_of(const config::MeshTls& t) {
  tls::ProtocolOptions p;
  p.min = t.min_version == config::TlsVersion::Tls13 ? tls::Version::Tls13 : tls::Version::Tls12;
  p.max = t.max_version == config::TlsVersion::Tls12 ? tls::Version::Tls12 : tls::Version::Tls13;
  for (const auto& c : t.cipher_suites) {
    if (!p.cipher_list.empty()) p.cipher_list += ':';
    p.cipher_list += c;
  }
  return p;
}

// The certificate a listener's certificateRef names: a Secret in the Gateway's namespace,
// else a GatewayConfig spec.tls.certificates[] entry of that name.
bool credential_for(const config::Config& cfg, const config::Listener& l, const std::string& ref,
                    tls::ServerCredential& cred, TlsBuild& b, std::string* error) {
  if (const auto* s = cfg.find_secret(l.gateway_ns, ref); s && !s->cert_pem.empty()) {
    cred.cert = {s->cert_pem, "Secret " + s->ns + "/" + s->name + " tls.crt"};
    cred.key = {s->key_pem, "Secret " + s->ns + "/" + s->name + " tls.key"};
    return true;
  }
  if (const auto* f = cfg.find_certificate_files(ref))
    return read_pem(f->cert_file, cred.cert, b, error) && read_pem(f->key_file, cred.key, b, error);
  *error = "certificateRef \"" + ref + "\" is neither a kubernetes.io/tls Secret in namespace " + l.gateway_ns +
           " nor a GatewayConfig spec.tls.certificates entry";
  return false;
}

// One client context per distinct set of inputs while any snapshot uses it: a config change
// that leaves a cluster's TLS alone keeps its pooled connections and its resumable session;
// new file contents (a rotation) make a new one.
std::shared_ptr<const tls::ClientContext> shared_client_context(const tls::ClientOptions& o, std::string* error) {
  std::string key;
  for (const auto* p : {&o.cert, &o.key, &o.ca, &o.crl}) key += p->pem + '\x1f';
  for (const auto& s : o.subject_alt_names) key += s + '\x1e';
  for (const auto& s : o.alpn) key += s + '\x1d';
  key += o.sni + '\x1f' + o.protocol.cipher_list + '\x1f' + std::to_string(static_cast<int>(o.protocol.min)) +
         std::to_string(static_cast<int>(o.protocol.max)) + (o.verify ? 'v' : '-') + (o.check_hostname ? 'h' : '-');
  // Built and looked up on the control thread only.
  static std::map<std::string, std::weak_ptr<const tls::ClientContext>> contexts;
  for (auto it = contexts.begin(); it != contexts.end();) it = it->second.expired() ? contexts.erase(it) : std::next(it);
  if (auto existing = contexts[key].lock()) return existing;
  auto ctx = tls::ClientContext::create(o, error);
  if (ctx) contexts[key] = ctx;
  return ctx;
}

}  // namespace

std::string_view mode_name(ListenerSecurity::Mode m) {
  switch (m) {
    case ListenerSecurity::Mode::Plaintext: return "plaintext";
    case ListenerSecurity::Mode::Tls: return "tls";
    case ListenerSecurity::Mode::Permissive: return "permissive";
  }
  return "plaintext";
}

std::shared_ptr<const ListenerSecurity> build_listener_security(const config::Config& cfg,
                                                                const std::vector<const config::Listener*>& listeners,
                                                                uint16_t port, const ListenerSecurity* previous,
                                                                TlsBuild& b) {
  auto sec = std::make_shared<ListenerSecurity>();
  const config::MeshTls& mesh = cfg.gateway.tls;
  sec->mtls = config::effective_mtls(cfg, port);
  const config::Listener* first = listeners.front();
  const std::string resource = "Gateway/" + first->gateway_name;
  tls::ServerOptions opts;
  opts.protocol = protocol_of(mesh);
  opts.session_timeout_s = mesh.session_timeout_s;
  std::string error;
  bool https = false;
  for (const auto* l : listeners) {
    if (l->protocol != config::ListenerProtocol::Https) continue;
    https = true;
    for (const auto& ref : l->certificate_refs) {
      tls::ServerCredential cred;
      if (!credential_for(cfg, *l, ref, cred, b, &error)) {
        report(b, l->source, "Gateway/" + l->gateway_name, "spec.listeners[" + l->name + "].tls.certificateRefs", error);
        return nullptr;
      }
      if (!l->hostname.empty()) cred.server_names.push_back(l->hostname);
      opts.credentials.push_back(std::move(cred));
    }
  }
  const bool mesh_mtls = sec->mtls == config::MtlsMode::Strict || sec->mtls == config::MtlsMode::Permissive;
  if (!https && !mesh_mtls) return sec;  // plain HTTP, no PeerAuthentication asking for more
  if (!https) {
    // A plain listener under PeerAuthentication serves the gateway's workload certificate,
    // as an Istio sidecar does on its inbound port.
    tls::ServerCredential cred;
    if (mesh.cert_file.empty() || mesh.key_file.empty()) {
      report(b, first->source, resource, "spec.listeners",
             "PeerAuthentication asks for mTLS on port " + std::to_string(port) +
                 " but GatewayConfig spec.tls has no certFile/keyFile to serve");
      return nullptr;
    }
    if (!read_pem(mesh.cert_file, cred.cert, b, &error) || !read_pem(mesh.key_file, cred.key, b, &error)) {
      report(b, cfg.gateway.meta.source, "GatewayConfig/" + cfg.gateway.meta.name, "spec.tls", error);
      return nullptr;
    }
    opts.credentials.push_back(std::move(cred));
  }
  if (mesh_mtls) {
    opts.client_auth = sec->mtls == config::MtlsMode::Strict ? tls::ClientAuth::Required : tls::ClientAuth::Optional;
    opts.trust_domain = mesh.trust_domain;
    if (mesh.ca_file.empty() || !read_pem(mesh.ca_file, opts.ca, b, &error) ||
        (!mesh.crl_file.empty() && !read_pem(mesh.crl_file, opts.crl, b, &error))) {
      report(b, cfg.gateway.meta.source, "GatewayConfig/" + cfg.gateway.meta.name, "spec.tls.caFile",
             error.empty() ? "PeerAuthentication requires client certificates: spec.tls.caFile must name the CA bundle"
                           : error);
      return nullptr;
    }
  }
  sec->context = tls::ServerContext::create(opts, &error, previous ? previous->context.get() : nullptr);
  if (!sec->context) {
    report(b, first->source, resource, "spec.listeners", "TLS on port " + std::to_string(port) + ": " + error);
    return nullptr;
  }
  // A plain HTTP listener in PERMISSIVE mode still takes plaintext; HTTPS always handshakes.
  sec->mode = !https && sec->mtls == config::MtlsMode::Permissive ? ListenerSecurity::Mode::Permissive
                                                                   : ListenerSecurity::Mode::Tls;
  return sec;
}

std::shared_ptr<const tls::ClientContext> build_upstream_tls(const config::Config& cfg,
                                                             const config::IstioClientTls& t, std::string_view rule_ns,
                                                             const std::string& resource,
                                                             const config::SourceLocation& where,
                                                             std::string_view default_sni, bool h2, TlsBuild& b) {
  if (t.mode == config::IstioTlsMode::Disable) return nullptr;
  tls::ClientOptions o;
  o.protocol = protocol_of(cfg.gateway.tls);
  o.alpn = {h2 ? "h2" : "http/1.1"};
  o.verify = !t.insecure_skip_verify;
  o.subject_alt_names = t.subject_alt_names;
  o.sni = t.sni.empty() ? std::string(default_sni) : t.sni;
  std::string error;
  bool ok = true;
  if (t.mode == config::IstioTlsMode::IstioMutual) {
    const auto& mesh = cfg.gateway.tls;
    o.check_hostname = false;
    ok = read_pem(mesh.cert_file, o.cert, b, &error) && read_pem(mesh.key_file, o.key, b, &error) &&
         read_pem(mesh.ca_file, o.ca, b, &error);
  } else if (!t.credential_name.empty()) {
    const auto* s = cfg.find_secret(rule_ns, t.credential_name);
    if (!s) {
      ok = false;
      error = "credentialName " + t.credential_name + " is not a Secret in namespace " + std::string(rule_ns);
    } else {
      if (t.mode == config::IstioTlsMode::Mutual) {
        o.cert = {s->cert_pem, "Secret " + s->name + " tls.crt"};
        o.key = {s->key_pem, "Secret " + s->name + " tls.key"};
      }
      if (!s->ca_pem.empty()) o.ca = {s->ca_pem, "Secret " + s->name + " ca.crt"};
      if (!s->crl_pem.empty()) o.crl = {s->crl_pem, "Secret " + s->name + " ca.crl"};
    }
  } else {
    if (t.mode == config::IstioTlsMode::Mutual)
      ok = read_pem(t.client_certificate, o.cert, b, &error) && read_pem(t.private_key, o.key, b, &error);
    if (ok && !t.ca_certificates.empty()) ok = read_pem(t.ca_certificates, o.ca, b, &error);
    if (ok && !t.ca_crl.empty()) ok = read_pem(t.ca_crl, o.crl, b, &error);
  }
  std::shared_ptr<const tls::ClientContext> ctx;
  if (ok) ctx = shared_client_context(o, &error);
  if (!ctx) report(b, where, resource, "spec.trafficPolicy.tls", error);
  return ctx;
}

}  // namespace infergate::gateway
