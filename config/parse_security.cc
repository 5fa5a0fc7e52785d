// Secret (kubernetes.io/tls, or Opaque carrying a CA bundle), PeerAuthentication, GatewayConfig
// security fields, Istio trafficPolicy.tls. Certificate files are resolved and checked for
// readability here, where the field's node still gives the diagnostic its line; their PEM is
// parsed by tls/ when a snapshot is built.
#include <absl/strings/escaping.h>
#include <absl/strings/numbers.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "config/parsers.h"
#include "config/str_cat.h"

namespace infergate::config::detail {

namespace {

namespace fs = std::filesystem;

// "" when `p` names a regular file this process can open; otherwise why not.
std::string unreadable(const fs::path& p) {
  std::error_code ec;
  const fs::file_status st = fs::status(p, ec);
  if (st.type() == fs::file_type::not_found) return "does not exist";
  if (ec) return cat("cannot be read: ", ec.message());
  if (!fs::is_regular_file(st)) return "is not a regular file";
  std::FILE* f = std::fopen(p.c_str(), "rb");
  if (!f) return cat("cannot be read: ", std::strerror(errno));
  std::fclose(f);
  return "";
}

// The file field `key` of `m`, made absolute: a relative path is read as the operator means
// it, relative to the YAML file that wrote it (loaded by path, a directory's file or one file),
// not to wherever the process happened to be started. Documents from no file (POST /config,
// tests' strings) resolve against the working directory. nullopt (reported) when the file is
// missing or unreadable.
std::optional<std::string> file_path(ParseContext& ctx, const MapView& m, std::string_view key) {
  auto written = m.string(key);
  if (!written) return std::nullopt;
  const YAML::Node& node = *m.find(key);
  if (written->empty()) {
    ctx.error(node, m.path_of(key), "must not be empty");
    return std::nullopt;
  }
  fs::path p(*written);
  std::error_code ec;
  if (p.is_relative()) {
    const std::string yaml_file = ctx.location(node).file;
    if (!yaml_file.empty() && fs::is_regular_file(yaml_file, ec))
      p = fs::path(yaml_file).parent_path() / p;
    p = fs::absolute(p, ec).lexically_normal();
  }
  if (std::string why = unreadable(p); !why.empty()) {
    const std::string shown = p.string() == *written
                                  ? cat("\"", *written, "\"")
                                  : cat("\"", *written, "\" (", p.string(), ")");
    ctx.error(node, m.path_of(key), cat("file ", shown, " ", why));
    return std::nullopt;
  }
  return p.string();
}

// ---- Secret ----------------------------------------------------------------------------------

// The keys Istio reads TLS material from (ExtractCertInfo / ExtractRoot): Kubernetes' names
// for kubernetes.io/tls Secrets, Istio's generic names (cert, key, cacert, crl) in Opaque ones.
constexpr std::string_view kSecretKeys[] = {"tls.crt", "tls.key", "ca.crt", "ca.crl",
                                            "cert",    "key",     "cacert", "crl"};

bool is_secret_key(std::string_view k) {
  for (auto known : kSecretKeys)
    if (k == known) return true;
  return false;
}

// data (base64) and stringData (text) merged as the API server does: stringData wins.
// False when a value was bad (reported).
bool secret_values(ParseContext& ctx, const MapView& doc, std::map<std::string, std::string>& out) {
  bool ok = true;
  if (auto data = doc.map("data")) {
    for (const auto& [key, node] : data->items()) {
      if (!is_secret_key(key) || node.IsNull()) continue;  // not ours to judge
      auto text = scalar_string(ctx, node, data->path_of(key));
      if (!text) {
        ok = false;
        continue;
      }
      std::string decoded;
      if (!absl::Base64Unescape(to_absl(*text), &decoded)) {
        ctx.error(node, data->path_of(key), "is not valid base64");
        ok = false;
        continue;
      }
      out[key] = std::move(decoded);
    }
  }
  if (auto string_data = doc.map("stringData")) {
    for (const auto& [key, node] : string_data->items()) {
      if (!is_secret_key(key) || node.IsNull()) continue;
      if (auto text = scalar_string(ctx, node, string_data->path_of(key))) out[key] = *text;
      else ok = false;
    }
  }
  return ok;
}

const std::string* value_of(const std::map<std::string, std::string>& v, std::string_view key) {
  auto it = v.find(std::string(key));
  return it == v.end() ? nullptr : &it->second;
}

// ---- PeerAuthentication ----------------------------------------------------------------------

std::optional<MtlsMode> mtls_mode(ParseContext& ctx, const MapView& m) {
  m.allow({"mode"});
  auto mode = one_of(ctx, m, "mode", {"UNSET", "DISABLE", "PERMISSIVE", "STRICT"});
  if (!mode) return m.has("mode") ? std::nullopt : std::optional(MtlsMode::Unset);
  if (*mode == "DISABLE") return MtlsMode::Disable;
  if (*mode == "PERMISSIVE") return MtlsMode::Permissive;
  if (*mode == "STRICT") return MtlsMode::Strict;
  return MtlsMode::Unset;
}

// ---- GatewayConfig spec.tls ------------------------------------------------------------------

// Istio's TLSProtocol names; TLS 1.0 and 1.1 are deprecated (RFC 8996) and not offered.
std::optional<TlsVersion> tls_version(ParseContext& ctx, const MapView& m, std::string_view key,
                                      TlsVersion auto_means) {
  auto v = m.string(key);
  if (!v) return std::nullopt;
  if (*v == "TLSV1_2") return TlsVersion::Tls12;
  if (*v == "TLSV1_3") return TlsVersion::Tls13;
  if (*v == "TLS_AUTO") return auto_means;
  const bool old = *v == "TLSV1_0" || *v == "TLSV1_1";
  ctx.error(*m.find(key), m.path_of(key),
            old ? cat("\"", *v, "\": TLS 1.0 and 1.1 are not supported (RFC 8996); use TLSV1_2 or TLSV1_3")
                : cat("\"", *v, "\" is not one of: TLS_AUTO, TLSV1_2, TLSV1_3"));
  return std::nullopt;
}

// SPIFFE trust domain: lower-case letters, digits, ".", "-", "_" (SPIFFE-ID spec 2.1).
bool valid_trust_domain(std::string_view td) {
  if (td.empty() || td.size() > 255) return false;
  for (char c : td) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

// OpenSSL's cipher names are [A-Za-z0-9-_]; anything else (a ":" list, spaces) would change
// the meaning of the cipher string tls/ builds from them.
bool valid_cipher_name(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

// certFile / keyFile given together or not at all (one is useless without the other).
void require_pair(ParseContext& ctx, const MapView& m, std::string_view a, std::string_view b) {
  if (m.has(a) && !m.has(b)) ctx.error(m.node(), m.path_of(b), cat("is required with ", a));
  if (m.has(b) && !m.has(a)) ctx.error(m.node(), m.path_of(a), cat("is required with ", b));
}

void parse_certificates(ParseContext& ctx, const MapView& tls, MeshTls& out) {
  std::map<std::string, std::string> first_path;
  for (const auto& [path, node] : tls.list("certificates")) {
    MapView m(ctx, node, path);
    if (!m.valid()) continue;
    m.allow({"name", "certFile", "keyFile"});
    CertificateFiles c;
    c.source = ctx.location(node);
    auto name = m.string("name", true);
    m.require("certFile");
    m.require("keyFile");
    auto cert = file_path(ctx, m, "certFile");
    auto key = file_path(ctx, m, "keyFile");
    if (!name) continue;
    if (name->empty()) {
      ctx.error(*m.find("name"), m.path_of("name"), "must not be empty");
      continue;
    }
    if (auto [it, fresh] = first_path.emplace(*name, path); !fresh) {
      ctx.error(*m.find("name"), m.path_of("name"),
                cat("duplicate certificate name \"", *name, "\" (first at ", it->second, ")"));
      continue;
    }
    if (!cert || !key) continue;
    c.name = *name;
    c.cert_file = *cert;
    c.key_file = *key;
    out.certificates.push_back(std::move(c));
  }
}

void parse_mesh_tls(ParseContext& ctx, const MapView& m, MeshTls& t) {
  m.allow({"trustDomain", "certFile", "keyFile", "caFile", "crlFile", "minProtocolVersion",
           "maxProtocolVersion", "cipherSuites", "certificates", "watchInterval", "sessionTimeout"});
  if (auto td = m.string("trustDomain")) {
    if (valid_trust_domain(*td)) t.trust_domain = *td;
    else
      ctx.error(*m.find("trustDomain"), m.path_of("trustDomain"),
                cat("\"", *td, "\" is not a valid trust domain (lower-case letters, digits, \".\", \"-\" and \"_\")"));
  }
  if (auto f = file_path(ctx, m, "certFile")) t.cert_file = *f;
  if (auto f = file_path(ctx, m, "keyFile")) t.key_file = *f;
  if (auto f = file_path(ctx, m, "caFile")) t.ca_file = *f;
  if (auto f = file_path(ctx, m, "crlFile")) t.crl_file = *f;
  require_pair(ctx, m, "certFile", "keyFile");
  if (m.has("crlFile") && !m.has("caFile"))
    ctx.error(*m.find("crlFile"), m.path_of("crlFile"), "needs caFile: a CRL is checked while verifying peers");
  auto min = tls_version(ctx, m, "minProtocolVersion", TlsVersion::Tls12);
  auto max = tls_version(ctx, m, "maxProtocolVersion", TlsVersion::Tls13);
  if (min) t.min_version = *min;
  if (max) t.max_version = *max;
  // The defaults (1.2 .. 1.3) admit every written value alone: only both together can clash.
  if (min && max && *min == TlsVersion::Tls13 && *max == TlsVersion::Tls12)
    ctx.error(*m.find("maxProtocolVersion"), m.path_of("maxProtocolVersion"),
              "must not be lower than minProtocolVersion");
  for (const auto& [path, node] : m.list("cipherSuites")) {
    auto s = scalar_string(ctx, node, path);
    if (!s) continue;
    if (!valid_cipher_name(*s)) {
      ctx.error(node, path, cat("\"", *s, "\" is not a cipher suite name (one OpenSSL name per entry)"));
      continue;
    }
    t.cipher_suites.push_back(*s);
  }
  parse_certificates(ctx, m, t);
  if (auto d = m.duration("watchInterval")) {
    // Below 100 ms the stat() calls of the watcher cost more than a late reload.
    if (*d < std::chrono::milliseconds(100) || *d > std::chrono::hours(24))
      ctx.error(*m.find("watchInterval"), m.path_of("watchInterval"), "must be from 100ms to 24h");
    else
      t.watch_interval_ms = static_cast<uint32_t>(d->count());
  }
  if (auto d = m.duration("sessionTimeout")) {
    // RFC 8446 4.6.1: a ticket lifetime is at most 7 days.
    if (*d < std::chrono::seconds(1) || *d > std::chrono::hours(24 * 7))
      ctx.error(*m.find("sessionTimeout"), m.path_of("sessionTimeout"), "must be from 1s to 168h");
    else
      t.session_timeout_s = static_cast<uint32_t>((d->count() + 999) / 1000);
  }
}

bool valid_namespace(std::string_view ns) { return !ns.empty() && ns.size() <= 63; }

void parse_workload(ParseContext& ctx, const MapView& m, WorkloadIdentity& w) {
  m.allow({"namespace", "labels", "rootNamespace"});
  const std::pair<std::string_view, std::string*> fields[] = {{"namespace", &w.ns},
                                                              {"rootNamespace", &w.root_namespace}};
  for (const auto& [key, out] : fields) {
    if (auto ns = m.string(key)) {
      if (valid_namespace(*ns)) *out = *ns;
      else ctx.error(*m.find(key), m.path_of(key), "must be 1 to 63 characters");
    }
  }
  if (auto l = m.labels("labels")) w.labels = std::move(*l);
}

}  // namespace

std::optional<TlsSecret> parse_secret(ParseContext& ctx, const MapView& doc) {
  doc.allow({"apiVersion", "kind", "metadata", "type", "data", "stringData", "immutable"});
  ObjectMeta meta = parse_metadata(ctx, doc);
  // Other Secrets (tokens, registry credentials) are none of ours: reported as before, when
  // every Secret was an ignored kind.
  auto not_ours = [&] {
    ctx.warning(doc.node(), "", "v1 Secret is not used by the gateway; ignored");
    return std::nullopt;
  };
  const std::string type = doc.string("type").value_or("Opaque");  // the API server's default
  const bool tls_type = type == "kubernetes.io/tls";
  if (!tls_type && type != "Opaque") return not_ours();
  const size_t errors_before = ctx.error_count();
  std::map<std::string, std::string> v;
  const bool values_ok = secret_values(ctx, doc, v);

  TlsSecret s;
  s.ns = meta.ns;
  s.name = meta.name;
  s.source = meta.source;
  const std::string* cert = value_of(v, "tls.crt");
  const std::string* key = value_of(v, "tls.key");
  if (tls_type) {
    // Kubernetes itself requires both keys of a kubernetes.io/tls Secret.
    for (std::string_view k : {"tls.crt", "tls.key"})
      if (values_ok && !value_of(v, k))
        ctx.error(doc.node(), cat("data.", k), "is required in a kubernetes.io/tls Secret");
  } else if (!(cert && key)) {
    cert = value_of(v, "cert");  // Istio's generic Secret
    key = value_of(v, "key");
  }
  if (cert && key) {
    s.cert_pem = *cert;
    s.key_pem = *key;
  }
  const std::string* ca = value_of(v, "ca.crt");
  if (!ca) ca = value_of(v, "cacert");
  if (ca) s.ca_pem = *ca;
  const std::string* crl = value_of(v, "ca.crl");
  if (!crl) crl = value_of(v, "crl");
  if (crl) s.crl_pem = *crl;
  if (ctx.error_count() != errors_before || meta.name.empty()) return std::nullopt;
  if (!tls_type && s.cert_pem.empty() && s.ca_pem.empty()) return not_ours();
  return s;
}

std::optional<PeerAuthentication> parse_peer_authentication(ParseContext& ctx, const MapView& doc) {
  // Unlike most kinds an empty spec is valid: it sets nothing (UNSET) at its level.
  doc.allow({"apiVersion", "kind", "metadata", "spec", "status"});
  ObjectMeta meta = parse_metadata(ctx, doc);
  const size_t errors_before = ctx.error_count();
  PeerAuthentication pa;
  pa.ns = meta.ns;
  pa.name = meta.name;
  pa.creation_timestamp = meta.creation_timestamp;
  pa.source = meta.source;
  if (auto spec = doc.map("spec")) {
    spec->allow({"selector", "mtls", "portLevelMtls"});
    if (auto sel = spec->map("selector")) {
      sel->allow({"matchLabels"});
      if (auto l = sel->labels("matchLabels")) pa.selector = std::move(*l);
      pa.has_selector = !pa.selector.empty();
    }
    if (auto m = spec->map("mtls"))
      if (auto mode = mtls_mode(ctx, *m)) pa.mode = *mode;
    if (auto plm = spec->map("portLevelMtls")) {
      // Istio's ValidatePeerAuthentication rules, with its messages.
      if (!pa.has_selector)
        ctx.error(plm->node(), plm->path(),
                  "mesh/namespace wide PeerAuthentication cannot have port level mTLS (give "
                  "spec.selector.matchLabels)");
      const auto entries = plm->items();
      if (entries.empty())
        ctx.error(plm->node(), plm->path(), "port level mTLS, if defined, must have at least one element");
      for (const auto& [port_text, value] : entries) {
        const std::string path = plm->path_of(port_text);
        int64_t port = 0;
        if (!absl::SimpleAtoi(to_absl(port_text), &port) || port < 1 || port > 65535) {
          ctx.error(value, path, cat("port \"", port_text, "\" must be a number from 1 to 65535"));
          continue;
        }
        MapView vm(ctx, value, path);
        if (!vm.valid()) continue;
        if (auto mode = mtls_mode(ctx, vm)) pa.port_level[static_cast<uint16_t>(port)] = *mode;
      }
    }
  }
  if (meta.name.empty() || ctx.error_count() != errors_before) return std::nullopt;
  return pa;
}

void parse_gateway_security(ParseContext& ctx, const MapView& spec, GatewayConfig& gc) {
  if (auto m = spec.map("tls")) parse_mesh_tls(ctx, *m, gc.tls);
  if (auto f = one_of(ctx, spec, "forwardClientCertDetails",
                      {"SANITIZE", "FORWARD_ONLY", "APPEND_FORWARD", "SANITIZE_SET", "ALWAYS_FORWARD_ONLY"})) {
    using F = ForwardClientCert;
    gc.forward_client_cert.mode = *f == "FORWARD_ONLY"          ? F::ForwardOnly
                                  : *f == "APPEND_FORWARD"      ? F::AppendForward
                                  : *f == "SANITIZE_SET"        ? F::SanitizeSet
                                  : *f == "ALWAYS_FORWARD_ONLY" ? F::AlwaysForwardOnly
                                                                : F::Sanitize;
  }
  if (auto m = spec.map("setCurrentClientCertDetails")) {
    m->allow({"subject", "cert", "chain", "dns", "uri"});
    ForwardClientCertConfig& f = gc.forward_client_cert;
    const std::pair<std::string_view, bool*> fields[] = {
        {"subject", &f.subject}, {"cert", &f.cert}, {"chain", &f.chain}, {"dns", &f.dns}, {"uri", &f.uri}};
    for (const auto& [key, out] : fields)
      if (auto b = m->boolean(key)) *out = *b;
  }
  if (auto m = spec.map("workload")) parse_workload(ctx, *m, gc.workload);
}

std::optional<IstioClientTls> parse_client_tls(ParseContext& ctx, const MapView& parent) {
  auto m = parent.map("tls");
  if (!m) return std::nullopt;
  m->allow({"mode", "clientCertificate", "privateKey", "caCertificates", "caCrl", "credentialName",
            "subjectAltNames", "sni", "insecureSkipVerify"});
  IstioClientTls t;
  t.line = m->line();
  if (auto mode = one_of(ctx, *m, "mode", {"DISABLE", "SIMPLE", "MUTUAL", "ISTIO_MUTUAL"}))
    t.mode = *mode == "SIMPLE"         ? IstioTlsMode::Simple
             : *mode == "MUTUAL"       ? IstioTlsMode::Mutual
             : *mode == "ISTIO_MUTUAL" ? IstioTlsMode::IstioMutual
                                       : IstioTlsMode::Disable;  // Istio's default
  if (auto f = file_path(ctx, *m, "clientCertificate")) t.client_certificate = *f;
  if (auto f = file_path(ctx, *m, "privateKey")) t.private_key = *f;
  if (auto f = file_path(ctx, *m, "caCertificates")) t.ca_certificates = *f;
  if (auto f = file_path(ctx, *m, "caCrl")) t.ca_crl = *f;
  if (auto c = m->string("credentialName")) t.credential_name = *c;
  if (auto s = m->string("sni")) t.sni = *s;
  t.subject_alt_names = m->string_list("subjectAltNames");
  if (auto b = m->boolean("insecureSkipVerify")) t.insecure_skip_verify = *b;

  // Istio's validateTLS, with its messages.
  auto at = [&](std::string_view key) { return *m->find(key); };
  if (t.insecure_skip_verify) {
    if (m->has("caCertificates"))
      ctx.error(at("caCertificates"), m->path_of("caCertificates"),
                "cannot set caCertificates when insecureSkipVerify is set true");
    if (m->has("subjectAltNames"))
      ctx.error(at("subjectAltNames"), m->path_of("subjectAltNames"),
                "cannot set subjectAltNames when insecureSkipVerify is set true");
  }
  const bool files = m->has("clientCertificate") || m->has("privateKey") || m->has("caCertificates") ||
                     m->has("caCrl");
  const bool simple_or_mutual = t.mode == IstioTlsMode::Simple || t.mode == IstioTlsMode::Mutual;
  if (simple_or_mutual && m->has("credentialName") && files)
    ctx.error(at("credentialName"), m->path_of("credentialName"),
              "cannot specify client certificates or CA certificate or CA CRL if credentialName is set");
  if (t.mode == IstioTlsMode::Mutual && !m->has("credentialName")) {
    if (!m->has("clientCertificate"))
      ctx.error(m->node(), m->path_of("clientCertificate"), "client certificate required for mutual tls");
    if (!m->has("privateKey"))
      ctx.error(m->node(), m->path_of("privateKey"), "private key required for mutual tls");
  }
  if (t.mode == IstioTlsMode::IstioMutual && (files || m->has("credentialName")))
    ctx.warning(m->node(), m->path(),
                "ISTIO_MUTUAL presents the gateway's own certificate (GatewayConfig spec.tls); "
                "clientCertificate, privateKey, caCertificates, caCrl and credentialName are ignored");
  return t;
}

std::optional<std::string> resolve_file(ParseContext& ctx, const MapView& m, std::string_view key) {
  return file_path(ctx, m, key);
}

}  // namespace infergate::config::detail
