// The security kinds as the loader reads and checks them: Secrets, PeerAuthentication (and
// which policy governs the gateway, effective_mtls), GatewayConfig spec.tls and client
// certificate forwarding, DestinationRule trafficPolicy.tls, listener certificates. Every
// rejection is checked as the exact diagnostic (file, line, document, resource, path).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "config/loader.h"
#include "test_util.h"

namespace infergate::config {
namespace {

namespace fs = std::filesystem;
using testing::has_diagnostic;
using testing::line_of;
using testing::render;

// A directory with certificate-looking files: the loader only checks they can be read.
const fs::path& files() {
  static const fs::path dir = [] {
    fs::path d = fs::path(::testing::TempDir()) / ("infergate-seccfg-" + std::to_string(::getpid()));
    fs::create_directories(d / "conf" / "certs");
    fs::create_directories(d / "a-directory.pem");
    for (const char* f : {"cert.pem", "key.pem", "ca.pem", "crl.pem", "conf/certs/rel.pem"})
      std::ofstream(d / f) << "-----BEGIN X-----\nAA==\n-----END X-----\n";
    return fs::absolute(d).lexically_normal();
  }();
  return dir;
}

// `text` with every "{d}" replaced by files().
std::string fill(std::string text) {
  const std::string dir = files().string();
  for (size_t p; (p = text.find("{d}")) != std::string::npos;) text.replace(p, 3, dir);
  return text;
}

struct Loaded {
  std::string text;
  LoadResult r;
  // "sec.yaml:<line>" of the nth line containing needle.
  std::string where(std::string_view needle, int nth = 1) const {
    const int line = line_of(text, needle, nth);
    EXPECT_GT(line, 0) << "fixture has no line with \"" << needle << "\"";
    return "sec.yaml:" + std::to_string(line);
  }
  // where(needle) + ": " + rest, with "{d}" and "{at:NEEDLE}" / "{at:NEEDLE#N}" (where the nth
  // line with NEEDLE is) filled in: line numbers are looked up, never hard-coded.
  std::string at(std::string_view needle, std::string rest, int nth = 1) const {
    for (size_t p; (p = rest.find("{at:")) != std::string::npos;) {
      const size_t end = rest.find('}', p);
      std::string ref = rest.substr(p + 4, end - p - 4);
      int n = 1;
      if (auto hash = ref.rfind('#'); hash != std::string::npos) {
        n = std::stoi(ref.substr(hash + 1));
        ref.resize(hash);
      }
      rest.replace(p, end + 1 - p, where(ref, n));
    }
    return where(needle, nth) + ": " + fill(rest);
  }
};

Loaded load(const std::string& yaml) {
  std::string text = fill(yaml);
  LoadResult r = load_string(text, "sec.yaml");
  return Loaded{std::move(text), std::move(r)};
}

// GatewayConfig spec lines, indented for "spec:".
std::string gateway_config(const std::string& spec) {
  return "apiVersion: infergate.dev/v1alpha1\nkind: GatewayConfig\nmetadata: {name: gc}\nspec:\n" + spec;
}
const std::string kMeshTls = "  tls: {certFile: {d}/cert.pem, keyFile: {d}/key.pem, caFile: {d}/ca.pem}\n";

// ---- Secret ----------------------------------------------------------------------------------

TEST(SecretConfig, KubernetesTlsSecretFromBase64Data) {
  Loaded l = load(R"(apiVersion: v1
kind: Secret
metadata: {name: web-cert, namespace: edge}
type: kubernetes.io/tls
data:
  tls.crt: Q0VSVA==
  tls.key: S0VZ
  ca.crt: Q0E=
  ca.crl: Q1JM
)");
  ASSERT_TRUE(l.r.ok()) << render(l.r.errors);
  EXPECT_TRUE(l.r.warnings.empty()) << render(l.r.warnings);
  ASSERT_EQ(l.r.config->secrets.size(), 1u);
  const TlsSecret& s = l.r.config->secrets[0];
  EXPECT_EQ(s.ns, "edge");
  EXPECT_EQ(s.name, "web-cert");
  EXPECT_EQ(s.cert_pem, "CERT");
  EXPECT_EQ(s.key_pem, "KEY");
  EXPECT_EQ(s.ca_pem, "CA");
  EXPECT_EQ(s.crl_pem, "CRL");
  EXPECT_EQ(s.source.line, 1);
  EXPECT_EQ(l.r.config->find_secret("edge", "web-cert"), &s);
  EXPECT_EQ(l.r.config->find_secret("default", "web-cert"), nullptr);
}

TEST(SecretConfig, StringDataIsPemTextAndWinsOverData) {
  Loaded l = load(R"(apiVersion: v1
kind: Secret
metadata: {name: s}
type: kubernetes.io/tls
data:
  tls.crt: Q0VSVA==
  tls.key: S0VZ
stringData:
  tls.crt: |
    -----BEGIN CERTIFICATE-----
    MIIB
    -----END CERTIFICATE-----
)");
  ASSERT_TRUE(l.r.ok()) << render(l.r.errors);
  ASSERT_EQ(l.r.config->secrets.size(), 1u);
  EXPECT_EQ(l.r.config->secrets[0].ns, "default");
  EXPECT_EQ(l.r.config->secrets[0].cert_pem,
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
  EXPECT_EQ(l.r.config->secrets[0].key_pem, "KEY");
}

TEST(SecretConfig, OpaqueSecretsCarryCaBundlesOrIstioGenericKeys) {
  Loaded l = load(R"(apiVersion: v1
kind: Secret
metadata: {name: ca-only}
type: Opaque
data: {ca.crt: Q0E=, password: not-base64-and-not-ours!}
---
apiVersion: v1
kind: Secret
metadata: {name: generic}
stringData: {cert: C, key: K, cacert: A}
)");
  ASSERT_TRUE(l.r.ok()) << render(l.r.errors);
  EXPECT_TRUE(l.r.warnings.empty()) << render(l.r.warnings);
  ASSERT_EQ(l.r.config->secrets.size(), 2u);
  const TlsSecret& ca = l.r.config->secrets[0];
  EXPECT_EQ(ca.cert_pem, "");
  EXPECT_EQ(ca.key_pem, "");
  EXPECT_EQ(ca.ca_pem, "CA");
  const TlsSecret& g = l.r.config->secrets[1];
  EXPECT_EQ(g.cert_pem, "C");
  EXPECT_EQ(g.key_pem, "K");
  EXPECT_EQ(g.ca_pem, "A");
}

TEST(SecretConfig, OtherSecretsAreIgnoredAsBefore) {
  Loaded l = load(R"(apiVersion: v1
kind: Secret
metadata: {name: token}
type: kubernetes.io/service-account-token
data: {token: dG9r}
---
apiVersion: v1
kind: Secret
metadata: {name: db}
type: Opaque
data: {password: cGFzcw==}
)");
  ASSERT_TRUE(l.r.ok()) << render(l.r.errors);
  EXPECT_TRUE(l.r.config->secrets.empty());
  ASSERT_EQ(l.r.warnings.size(), 2u) << render(l.r.warnings);
  EXPECT_EQ(l.r.warnings[0].to_string(),
            l.at("apiVersion", "document 1 (Secret/token): v1 Secret is not used by the gateway; ignored"));
  EXPECT_EQ(l.r.warnings[1].to_string(),
            l.at("apiVersion", "document 2 (Secret/db): v1 Secret is not used by the gateway; ignored", 2));
}

// ---- One exact diagnostic per case ---------------------------------------------------------

enum class Kind { Error, Warning };

struct Case {
  std::string label;
  std::string yaml;    // "{d}" = the directory of readable files
  std::string needle;  // the line the diagnostic names
  std::string rest;    // "document N (Kind/name): path: message"
  Kind kind = Kind::Error;
  int nth = 1;
};

std::string secret(const std::string& body, const std::string& name = "s") {
  return "apiVersion: v1\nkind: Secret\nmetadata: {name: " + name + "}\n" + body;
}
std::string peer(const std::string& spec, const std::string& name = "pa") {
  return "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: " + name +
         "}\nspec:\n" + spec;
}
// A DestinationRule for Service llm (defined by kService, which every DR case includes).
const std::string kService =
    "apiVersion: v1\nkind: Service\nmetadata: {name: llm}\nspec:\n  selector: {app: llm}\n"
    "  ports: [{port: 80}]\n---\n";
std::string dr(const std::string& spec) {
  return kService + "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: rule}\n"
                    "spec:\n  host: llm\n" + spec;
}
std::string https_gateway(const std::string& refs, const std::string& ns = "default") {
  return "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: gw, namespace: " + ns +
         "}\nspec:\n  listeners:\n  - {name: plain, port: 8080, protocol: HTTP}\n"
         "  - name: web\n    port: 8443\n    protocol: HTTPS\n    tls:\n      certificateRefs: " + refs + "\n";
}
const std::string kHttpGateway =
    "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: gw}\nspec:\n"
    "  listeners: [{name: http, port: 8080, protocol: HTTP}, {name: web, port: 8443, protocol: HTTPS, "
    "tls: {certificateRefs: [{name: c}]}}]\n";

const Case kCases[] = {
    // --- Secret -------------------------------------------------------------------------------
    {"bad base64", secret("type: kubernetes.io/tls\ndata:\n  tls.crt: '%%%'\n  tls.key: S0VZ\n"), "tls.crt:",
     "document 1 (Secret/s): data.tls.crt: is not valid base64"},
    {"tls secret without key", secret("type: kubernetes.io/tls\ndata:\n  tls.crt: Q0VSVA==\n"), "apiVersion",
     "document 1 (Secret/s): data.tls.key: is required in a kubernetes.io/tls Secret"},
    {"stringData not a string", secret("type: kubernetes.io/tls\nstringData:\n  tls.crt: [a]\n  tls.key: k\n"),
     "tls.crt:", "document 1 (Secret/s): stringData.tls.crt: must be a string, got a list"},
    {"duplicate secret", secret("stringData: {ca.crt: A}\n") + "---\n" + secret("stringData: {ca.crt: B}\n"),
     "apiVersion", "document 2 (Secret/s): metadata.name: duplicate Secret \"default/s\" (first defined at "
                   "{at:apiVersion})",
     Kind::Error, 2},
    // --- PeerAuthentication -------------------------------------------------------------------
    {"bad mtls mode", peer("  mtls: {mode: ON}\n"), "mtls:",
     "document 1 (PeerAuthentication/pa): spec.mtls.mode: \"ON\" is not one of: UNSET, DISABLE, PERMISSIVE, STRICT"},
    {"port level without selector", peer("  mtls: {mode: STRICT}\n  portLevelMtls:\n    8080: {mode: DISABLE}\n"),
     "8080:",
     "document 1 (PeerAuthentication/pa): spec.portLevelMtls: mesh/namespace wide PeerAuthentication cannot "
     "have port level mTLS (give spec.selector.matchLabels)",
     Kind::Error, 1},
    {"port level with empty selector", peer("  selector: {matchLabels: {}}\n  portLevelMtls:\n    8080: {mode: DISABLE}\n"),
     "8080:",
     "document 1 (PeerAuthentication/pa): spec.portLevelMtls: mesh/namespace wide PeerAuthentication cannot "
     "have port level mTLS (give spec.selector.matchLabels)"},
    {"port level empty", peer("  selector: {matchLabels: {app: gw}}\n  portLevelMtls: {}\n"), "portLevelMtls:",
     "document 1 (PeerAuthentication/pa): spec.portLevelMtls: port level mTLS, if defined, must have at least "
     "one element"},
    {"port level bad port", peer("  selector: {matchLabels: {app: gw}}\n  portLevelMtls:\n    http: {mode: STRICT}\n"),
     "http:", "document 1 (PeerAuthentication/pa): spec.portLevelMtls.http: port \"http\" must be a number "
              "from 1 to 65535"},
    {"port level port 0", peer("  selector: {matchLabels: {app: gw}}\n  portLevelMtls:\n    0: {mode: STRICT}\n"),
     "0:", "document 1 (PeerAuthentication/pa): spec.portLevelMtls.0: port \"0\" must be a number from 1 to 65535"},
    {"port level bad mode", peer("  selector: {matchLabels: {app: gw}}\n  portLevelMtls:\n    9000: {mode: OFF}\n"),
     "9000:", "document 1 (PeerAuthentication/pa): spec.portLevelMtls.9000.mode: \"OFF\" is not one of: UNSET, "
              "DISABLE, PERMISSIVE, STRICT"},
    {"peer unknown field", peer("  mtls: {mode: STRICT}\n  future: 1\n"), "future:",
     "document 1 (PeerAuthentication/pa): spec.future: unknown field \"future\", ignored", Kind::Warning},
    {"root namespace selector", "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\n"
                                "metadata: {name: pa, namespace: istio-system}\nspec:\n  selector: "
                                "{matchLabels: {app: gw}}\n  mtls: {mode: STRICT}\n---\n" +
                                    gateway_config("  workload: {labels: {app: gw}}\n"),
     "apiVersion: security.istio.io/v1",
     "document 1 (PeerAuthentication/pa): spec.selector: a policy with a selector in the root namespace "
     "\"istio-system\" applies to no workload (Istio reads root-namespace policies only without a selector, as "
     "mesh-wide); ignored",
     Kind::Warning},
    {"strict needs caFile and certificate", peer("  mtls: {mode: STRICT}\n") + "---\n" + gateway_config("  workers: 1\n") +
                                                "---\n" + kHttpGateway + "---\n" + secret("stringData: {tls.crt: C, tls.key: K}\n", "c"),
     "apiVersion: security.istio.io/v1",
     "document 1 (PeerAuthentication/pa): spec.mtls.mode: puts listener \"default/gw/http\" (port 8080, "
     "{at:listeners:}) in STRICT mode: GatewayConfig/gc ({at:infergate.dev}) spec.tls needs caFile, certFile, keyFile "
     "(caFile verifies client certificates; certFile and keyFile are the certificate a plain-HTTP listener "
     "then serves)"},
    {"permissive https listener needs caFile", peer("  mtls: {mode: PERMISSIVE}\n") + "---\n" + kHttpGateway +
                                                   "---\n" + secret("stringData: {tls.crt: C, tls.key: K}\n", "c"),
     "apiVersion: security.istio.io/v1",
     "document 1 (PeerAuthentication/pa): spec.mtls.mode: puts listener \"default/gw/web\" (port 8443, "
     "{at:listeners:}) in PERMISSIVE mode: a GatewayConfig with spec.tls needs caFile (caFile verifies client "
     "certificates)"},
    {"port level strict needs certificate",
     peer("  selector: {matchLabels: {app: gw}}\n  portLevelMtls:\n    8080: {mode: STRICT}\n") + "---\n" +
         gateway_config("  workload: {labels: {app: gw}}\n  tls: {caFile: {d}/ca.pem}\n") + "---\n" + kHttpGateway +
         "---\n" + secret("stringData: {tls.crt: C, tls.key: K}\n", "c"),
     "apiVersion: security.istio.io/v1",
     "document 1 (PeerAuthentication/pa): spec.portLevelMtls.8080.mode: puts listener \"default/gw/http\" "
     "(port 8080, {at:listeners:}) in STRICT mode: GatewayConfig/gc ({at:infergate.dev}) spec.tls needs certFile, keyFile "
     "(caFile verifies client certificates; certFile and keyFile are the certificate a plain-HTTP listener "
     "then serves)"},
    // --- GatewayConfig spec.tls ---------------------------------------------------------------
    {"missing file", gateway_config("  tls:\n    caFile: {d}/missing.pem\n"), "caFile:",
     "document 1 (GatewayConfig/gc): spec.tls.caFile: file \"{d}/missing.pem\" does not exist"},
    {"directory as file", gateway_config("  tls:\n    caFile: {d}/a-directory.pem\n"), "caFile:",
     "document 1 (GatewayConfig/gc): spec.tls.caFile: file \"{d}/a-directory.pem\" is not a regular file"},
    {"empty file name", gateway_config("  tls:\n    caFile: ''\n"), "caFile:",
     "document 1 (GatewayConfig/gc): spec.tls.caFile: must not be empty"},
    {"cert without key", gateway_config("  tls:\n    certFile: {d}/cert.pem\n"), "certFile:",
     "document 1 (GatewayConfig/gc): spec.tls.keyFile: is required with certFile"},
    {"key without cert", gateway_config("  tls:\n    keyFile: {d}/key.pem\n"), "keyFile:",
     "document 1 (GatewayConfig/gc): spec.tls.certFile: is required with keyFile"},
    {"crl without ca", gateway_config("  tls:\n    crlFile: {d}/crl.pem\n"), "crlFile:",
     "document 1 (GatewayConfig/gc): spec.tls.crlFile: needs caFile: a CRL is checked while verifying peers"},
    {"min above max", gateway_config("  tls:\n    minProtocolVersion: TLSV1_3\n    maxProtocolVersion: TLSV1_2\n"),
     "maxProtocolVersion:",
     "document 1 (GatewayConfig/gc): spec.tls.maxProtocolVersion: must not be lower than minProtocolVersion"},
    {"old protocol", gateway_config("  tls: {minProtocolVersion: TLSV1_0}\n"), "tls:",
     "document 1 (GatewayConfig/gc): spec.tls.minProtocolVersion: \"TLSV1_0\": TLS 1.0 and 1.1 are not "
     "supported (RFC 8996); use TLSV1_2 or TLSV1_3",
    },
    {"unknown protocol", gateway_config("  tls: {maxProtocolVersion: TLS13}\n"), "tls:",
     "document 1 (GatewayConfig/gc): spec.tls.maxProtocolVersion: \"TLS13\" is not one of: TLS_AUTO, "
     "TLSV1_2, TLSV1_3"},
    {"cipher list in one entry", gateway_config("  tls:\n    cipherSuites: [\"A:B\"]\n"), "cipherSuites:",
     "document 1 (GatewayConfig/gc): spec.tls.cipherSuites[0]: \"A:B\" is not a cipher suite name (one "
     "OpenSSL name per entry)"},
    {"bad trust domain", gateway_config("  tls: {trustDomain: Cluster/Local}\n"), "tls:",
     "document 1 (GatewayConfig/gc): spec.tls.trustDomain: \"Cluster/Local\" is not a valid trust domain "
     "(lower-case letters, digits, \".\", \"-\" and \"_\")"},
    {"watch interval too short", gateway_config("  tls: {watchInterval: 50ms}\n"), "tls:",
     "document 1 (GatewayConfig/gc): spec.tls.watchInterval: must be from 100ms to 24h"},
    {"session timeout too long", gateway_config("  tls: {sessionTimeout: 200h}\n"), "tls:",
     "document 1 (GatewayConfig/gc): spec.tls.sessionTimeout: must be from 1s to 168h"},
    {"certificate without key", gateway_config("  tls:\n    certificates:\n    - {name: a, certFile: {d}/cert.pem}\n"),
     "- {name: a",
     "document 1 (GatewayConfig/gc): spec.tls.certificates[0].keyFile: is required"},
    {"duplicate certificate", gateway_config("  tls:\n    certificates:\n"
                                             "    - {name: a, certFile: {d}/cert.pem, keyFile: {d}/key.pem}\n"
                                             "    - {name: a, certFile: {d}/cert.pem, keyFile: {d}/key.pem}\n"),
     "- {name: a",
     "document 1 (GatewayConfig/gc): spec.tls.certificates[1].name: duplicate certificate name \"a\" (first at "
     "spec.tls.certificates[0])",
     Kind::Error, 2},
    {"tls unknown field is an error", gateway_config("  tls: {certFiles: x}\n"), "tls:",
     "document 1 (GatewayConfig/gc): spec.tls.certFiles: unknown field \"certFiles\" (known: trustDomain, "
     "certFile, keyFile, caFile, crlFile, minProtocolVersion, maxProtocolVersion, cipherSuites, certificates, "
     "watchInterval, sessionTimeout)"},
    {"bad forward mode", gateway_config("  forwardClientCertDetails: APPEND\n"), "forwardClientCertDetails:",
     "document 1 (GatewayConfig/gc): spec.forwardClientCertDetails: \"APPEND\" is not one of: SANITIZE, "
     "FORWARD_ONLY, APPEND_FORWARD, SANITIZE_SET, ALWAYS_FORWARD_ONLY"},
    {"bad cert details", gateway_config("  setCurrentClientCertDetails: {uri: yes}\n"), "setCurrent",
     "document 1 (GatewayConfig/gc): spec.setCurrentClientCertDetails.uri: must be true or false"},
    {"bad workload namespace", gateway_config("  workload: {namespace: ''}\n"), "workload:",
     "document 1 (GatewayConfig/gc): spec.workload.namespace: must be 1 to 63 characters"},
    // --- DestinationRule trafficPolicy.tls -----------------------------------------------------
    {"mutual without files", dr("  trafficPolicy:\n    tls: {mode: MUTUAL}\n"), "tls:",
     "document 2 (DestinationRule/rule): spec.trafficPolicy.tls.clientCertificate: client certificate required "
     "for mutual tls"},
    {"mutual without key", dr("  trafficPolicy:\n    tls: {mode: MUTUAL, clientCertificate: {d}/cert.pem}\n"), "tls:",
     "document 2 (DestinationRule/rule): spec.trafficPolicy.tls.privateKey: private key required for mutual tls"},
    {"subset file missing", dr("  subsets:\n  - name: v1\n    labels: {version: v1}\n    trafficPolicy:\n"
                               "      tls:\n        mode: SIMPLE\n        caCertificates: nope.pem\n"),
     "caCertificates:",
     "document 2 (DestinationRule/rule): spec.subsets[0].trafficPolicy.tls.caCertificates: file \"nope.pem\" (" +
         (fs::current_path() / "nope.pem").string() + ") does not exist"},
    {"skip verify with ca", dr("  trafficPolicy:\n    tls:\n      mode: SIMPLE\n      insecureSkipVerify: true\n"
                               "      caCertificates: {d}/ca.pem\n"),
     "caCertificates:",
     "document 2 (DestinationRule/rule): spec.trafficPolicy.tls.caCertificates: cannot set caCertificates when "
     "insecureSkipVerify is set true"},
    {"skip verify with sans", dr("  trafficPolicy:\n    tls:\n      mode: SIMPLE\n      insecureSkipVerify: true\n"
                                 "      subjectAltNames: [a.example]\n"),
     "subjectAltNames:",
     "document 2 (DestinationRule/rule): spec.trafficPolicy.tls.subjectAltNames: cannot set subjectAltNames "
     "when insecureSkipVerify is set true"},
    {"credential and files", dr("  trafficPolicy:\n    tls:\n      mode: SIMPLE\n      credentialName: c\n"
                                "      caCertificates: {d}/ca.pem\n"),
     "credentialName:",
     "document 2 (DestinationRule/rule): spec.trafficPolicy.tls.credentialName: cannot specify client "
     "certificates or CA certificate or CA CRL if credentialName is set"},
    {"bad tls mode", dr("  trafficPolicy:\n    tls: {mode: STRICT}\n"), "tls:",
     "document 2 (DestinationRule/rule): spec.trafficPolicy.tls.mode: \"STRICT\" is not one of: DISABLE, SIMPLE, "
     "MUTUAL, ISTIO_MUTUAL"},
    {"tls unknown field", dr("  trafficPolicy:\n    tls: {mode: SIMPLE, future: 1}\n"), "tls:",
     "document 2 (DestinationRule/rule): spec.trafficPolicy.tls.future: unknown field \"future\", ignored",
     Kind::Warning},
    {"istio mutual ignores files", dr("  trafficPolicy:\n    tls: {mode: ISTIO_MUTUAL, credentialName: c}\n") +
                                       "---\n" + gateway_config(kMeshTls),
     "tls:",
     "document 2 (DestinationRule/rule): spec.trafficPolicy.tls: ISTIO_MUTUAL presents the gateway's own "
     "certificate (GatewayConfig spec.tls); clientCertificate, privateKey, caCertificates, caCrl and "
     "credentialName are ignored",
     Kind::Warning},
    {"istio mutual without mesh ca", dr("  subsets:\n  - name: v1\n    trafficPolicy:\n"
                                        "      tls: {mode: ISTIO_MUTUAL}\n") +
                                         "---\n" + gateway_config("  tls: {certFile: {d}/cert.pem, keyFile: {d}/key.pem}\n"),
     "tls: {mode",
     "document 2 (DestinationRule/rule): spec.subsets[0].trafficPolicy.tls.mode: ISTIO_MUTUAL presents the "
     "gateway's mesh certificate and verifies the server against the mesh CA: GatewayConfig/gc ({at:infergate.dev}) "
     "spec.tls needs certFile, keyFile and caFile (missing: caFile)"},
    {"credential not defined", dr("  trafficPolicy:\n    tls: {mode: SIMPLE, credentialName: upstream-ca}\n"),
     "tls:",
     "document 2 (DestinationRule/rule): spec.trafficPolicy.tls.credentialName: Secret \"default/upstream-ca\" "
     "is not defined (credentialName names a Secret in the rule's namespace)"},
    {"mutual credential without key", dr("  trafficPolicy:\n    tls: {mode: MUTUAL, credentialName: c}\n") + "---\n" +
                                          secret("stringData: {ca.crt: A}\n", "c"),
     "tls:",
     "document 2 (DestinationRule/rule): spec.trafficPolicy.tls.credentialName: Secret \"default/c\" "
     "({at:apiVersion: v1#2}) has no tls.crt and tls.key, which MUTUAL presents to the server"},
    // --- Listener certificates -----------------------------------------------------------------
    {"listener certificate missing", https_gateway("[{name: web-cert}]"), "- name: web",
     "document 1 (Gateway/gw): spec.listeners[1].tls.certificateRefs[0]: certificate \"web-cert\" is neither a "
     "Secret in namespace \"default\" (kubernetes.io/tls) nor a GatewayConfig spec.tls.certificates[] entry"},
    {"listener certificate in other namespace", https_gateway("[{kind: Secret, name: web-cert}]", "edge") +
                                                    "---\n" + secret("type: kubernetes.io/tls\nstringData: "
                                                                     "{tls.crt: C, tls.key: K}\n", "web-cert"),
     "- name: web",
     "document 1 (Gateway/gw): spec.listeners[1].tls.certificateRefs[0]: certificate \"web-cert\" is neither a "
     "Secret in namespace \"edge\" (kubernetes.io/tls) nor a GatewayConfig spec.tls.certificates[] entry"},
    {"listener certificate is a ca bundle", https_gateway("[{name: ok}, {name: ca}]") + "---\n" +
                                                secret("stringData: {ca.crt: A}\n", "ca") + "---\n" +
                                                secret("stringData: {tls.crt: C, tls.key: K}\n", "ok"),
     "- name: web",
     "document 1 (Gateway/gw): spec.listeners[1].tls.certificateRefs[1]: Secret \"default/ca\" ({at:apiVersion: v1}) "
     "has no tls.crt and tls.key: a listener needs a certificate and its key"},
};

class SecurityDiagnostics : public ::testing::TestWithParam<Case> {};

TEST_P(SecurityDiagnostics, ReportedExactly) {
  const Case& k = GetParam();
  Loaded l = load(k.yaml);
  const std::string wanted = l.at(k.needle, k.rest, k.nth);
  if (k.kind == Kind::Error) {
    EXPECT_FALSE(l.r.ok());
    EXPECT_TRUE(has_diagnostic(l.r.errors, wanted)) << "wanted " << wanted << "\ngot\n" << render(l.r.errors);
  } else {
    EXPECT_TRUE(l.r.ok()) << render(l.r.errors);
    EXPECT_TRUE(has_diagnostic(l.r.warnings, wanted)) << "wanted " << wanted << "\ngot\n" << render(l.r.warnings);
  }
}

INSTANTIATE_TEST_SUITE_P(Table, SecurityDiagnostics, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           std::string name;
                           for (char c : info.param.label)
                             name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
                           return name;
                         });

// ---- What loads, field by field ---------------------------------------------------------------

TEST(PeerAuthenticationConfig, EveryField) {
  Loaded l = load(R"(apiVersion: security.istio.io/v1beta1
kind: PeerAuthentication
metadata: {name: gw, namespace: edge, creationTimestamp: "2025-01-02T03:04:05Z"}
spec:
  selector: {matchLabels: {app: gw}}
  mtls: {mode: PERMISSIVE}
  portLevelMtls:
    8080: {mode: STRICT}
    9090: {mode: DISABLE}
    9091: {}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: empty}
)");
  ASSERT_TRUE(l.r.ok()) << render(l.r.errors);
  EXPECT_TRUE(l.r.warnings.empty()) << render(l.r.warnings);
  ASSERT_EQ(l.r.config->peer_authentications.size(), 2u);
  const PeerAuthentication& p = l.r.config->peer_authentications[0];
  EXPECT_EQ(p.ns, "edge");
  EXPECT_EQ(p.name, "gw");
  EXPECT_EQ(p.creation_timestamp, "2025-01-02T03:04:05Z");
  EXPECT_TRUE(p.has_selector);
  EXPECT_EQ(p.selector, (Labels{{"app", "gw"}}));
  EXPECT_EQ(p.mode, MtlsMode::Permissive);
  EXPECT_EQ(p.port_level, (std::map<uint16_t, MtlsMode>{
                              {8080, MtlsMode::Strict}, {9090, MtlsMode::Disable}, {9091, MtlsMode::Unset}}));
  EXPECT_EQ(p.source.line, 1);
  const PeerAuthentication& e = l.r.config->peer_authentications[1];
  EXPECT_EQ(e.ns, "default");
  EXPECT_FALSE(e.has_selector);
  EXPECT_EQ(e.mode, MtlsMode::Unset);
  EXPECT_TRUE(e.port_level.empty());
}

TEST(GatewaySecurityConfig, DefaultsWhenAbsent) {
  Loaded l = load(gateway_config("  workers: 1\n"));
  ASSERT_TRUE(l.r.ok()) << render(l.r.errors);
  const GatewayConfig& g = l.r.config->gateway;
  EXPECT_EQ(g.tls.trust_domain, "cluster.local");
  EXPECT_EQ(g.tls.cert_file, "");
  EXPECT_EQ(g.tls.min_version, TlsVersion::Tls12);
  EXPECT_EQ(g.tls.max_version, TlsVersion::Tls13);
  EXPECT_EQ(g.tls.watch_interval_ms, 1000u);
  EXPECT_EQ(g.tls.session_timeout_s, 7200u);
  EXPECT_EQ(g.forward_client_cert.mode, ForwardClientCert::Sanitize);
  EXPECT_TRUE(g.forward_client_cert.uri);
  EXPECT_FALSE(g.forward_client_cert.subject);
  EXPECT_EQ(g.workload.ns, "");
  EXPECT_EQ(g.workload.root_namespace, "istio-system");
  EXPECT_EQ(effective_mtls(*l.r.config, 8080), MtlsMode::Unset);
}

TEST(GatewaySecurityConfig, EveryField) {
  Loaded l = load(gateway_config(R"(  tls:
    trustDomain: example.org
    certFile: {d}/cert.pem
    keyFile: {d}/key.pem
    caFile: {d}/ca.pem
    crlFile: {d}/crl.pem
    minProtocolVersion: TLSV1_3
    maxProtocolVersion: TLS_AUTO
    cipherSuites: [ECDHE-ECDSA-AES128-GCM-SHA256, ECDHE-RSA-AES256-GCM-SHA384]
    certificates:
    - {name: web, certFile: {d}/cert.pem, keyFile: {d}/key.pem}
    watchInterval: 250ms
    sessionTimeout: 1500ms
  forwardClientCertDetails: APPEND_FORWARD
  setCurrentClientCertDetails: {subject: true, cert: true, chain: true, dns: true, uri: false}
  workload:
    namespace: edge
    labels: {app: gw, istio: ingressgateway}
    rootNamespace: mesh-root
)"));
  ASSERT_TRUE(l.r.ok()) << render(l.r.errors);
  const GatewayConfig& g = l.r.config->gateway;
  const std::string d = files().string();
  EXPECT_EQ(g.tls.trust_domain, "example.org");
  EXPECT_EQ(g.tls.cert_file, d + "/cert.pem");
  EXPECT_EQ(g.tls.key_file, d + "/key.pem");
  EXPECT_EQ(g.tls.ca_file, d + "/ca.pem");
  EXPECT_EQ(g.tls.crl_file, d + "/crl.pem");
  EXPECT_EQ(g.tls.min_version, TlsVersion::Tls13);
  EXPECT_EQ(g.tls.max_version, TlsVersion::Tls13);
  EXPECT_EQ(g.tls.cipher_suites,
            (std::vector<std::string>{"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384"}));
  ASSERT_EQ(g.tls.certificates.size(), 1u);
  EXPECT_EQ(g.tls.certificates[0].name, "web");
  EXPECT_EQ(g.tls.certificates[0].cert_file, d + "/cert.pem");
  EXPECT_EQ(g.tls.certificates[0].key_file, d + "/key.pem");
  EXPECT_EQ(g.tls.certificates[0].source.line, line_of(l.text, "- {name: web"));
  EXPECT_EQ(l.r.config->find_certificate_files("web"), &g.tls.certificates[0]);
  EXPECT_EQ(l.r.config->find_certificate_files("other"), nullptr);
  EXPECT_EQ(g.tls.watch_interval_ms, 250u);
  EXPECT_EQ(g.tls.session_timeout_s, 2u);  // rounded up
  EXPECT_EQ(g.forward_client_cert.mode, ForwardClientCert::AppendForward);
  EXPECT_TRUE(g.forward_client_cert.subject && g.forward_client_cert.cert && g.forward_client_cert.chain &&
              g.forward_client_cert.dns);
  EXPECT_FALSE(g.forward_client_cert.uri);
  EXPECT_EQ(g.workload.ns, "edge");
  EXPECT_EQ(g.workload.labels, (Labels{{"app", "gw"}, {"istio", "ingressgateway"}}));
  EXPECT_EQ(g.workload.root_namespace, "mesh-root");
}

TEST(GatewaySecurityConfig, TlsAutoMinimumIsTls12) {
  Loaded l = load(gateway_config("  tls: {minProtocolVersion: TLS_AUTO, maxProtocolVersion: TLSV1_2}\n"
                                 "  forwardClientCertDetails: SANITIZE_SET\n"));
  ASSERT_TRUE(l.r.ok()) << render(l.r.errors);
  EXPECT_EQ(l.r.config->gateway.tls.min_version, TlsVersion::Tls12);
  EXPECT_EQ(l.r.config->gateway.tls.max_version, TlsVersion::Tls12);
  EXPECT_EQ(l.r.config->gateway.forward_client_cert.mode, ForwardClientCert::SanitizeSet);
}

// Relative certificate paths mean "next to this YAML file", wherever the process was started.
TEST(GatewaySecurityConfig, RelativePathsResolveAgainstTheConfigFile) {
  const fs::path conf = files() / "conf";
  std::ofstream(conf / "gateway.yaml") << gateway_config(
      "  tls:\n    caFile: certs/rel.pem\n    certificates:\n"
      "    - {name: web, certFile: ./certs/../certs/rel.pem, keyFile: " + (files() / "key.pem").string() + "}\n");
  LoadResult r = load_path(conf.string());
  ASSERT_TRUE(r.ok()) << render(r.errors);
  EXPECT_EQ(r.config->gateway.tls.ca_file, (conf / "certs" / "rel.pem").string());
  EXPECT_EQ(r.config->gateway.tls.certificates[0].cert_file, (conf / "certs" / "rel.pem").string());
  EXPECT_EQ(r.config->gateway.tls.certificates[0].key_file, (files() / "key.pem").string());

  // The same document from no file (POST /config): relative to the working directory.
  Loaded l = load(gateway_config("  tls: {caFile: certs/rel.pem}\n"));
  ASSERT_EQ(l.r.errors.size(), 1u) << render(l.r.errors);
  EXPECT_EQ(l.r.errors[0].message,
            "file \"certs/rel.pem\" (" + (fs::current_path() / "certs" / "rel.pem").string() + ") does not exist");
  fs::remove(conf / "gateway.yaml");
}

TEST(ClientTlsConfig, RuleAndSubsetTlsAndTheirMerge) {
  Loaded l = load(dr(R"(  trafficPolicy:
    loadBalancer: {simple: ROUND_ROBIN}
    tls:
      mode: SIMPLE
      caCertificates: {d}/ca.pem
      caCrl: {d}/crl.pem
      sni: llm.example
      subjectAltNames: [spiffe://cluster.local/ns/default/sa/llm, llm.example]
  subsets:
  - name: v1
    labels: {version: v1}
  - name: v2
    labels: {version: v2}
    trafficPolicy:
      tls:
        mode: MUTUAL
        clientCertificate: {d}/cert.pem
        privateKey: {d}/key.pem
  - name: v3
    trafficPolicy:
      tls: {mode: MUTUAL, credentialName: client, insecureSkipVerify: true}
  - name: v4
    trafficPolicy:
      tls: {mode: ISTIO_MUTUAL, sni: v4.llm}
---
apiVersion: v1
kind: Secret
metadata: {name: client}
type: kubernetes.io/tls
stringData: {tls.crt: C, tls.key: K}
---
)" + gateway_config(kMeshTls)));
  ASSERT_TRUE(l.r.ok()) << render(l.r.errors);
  const DestinationRule& rule = l.r.config->destination_rules.at(0);
  const std::string d = files().string();
  ASSERT_TRUE(rule.traffic_policy && rule.traffic_policy->tls);
  const IstioClientTls& t = *rule.traffic_policy->tls;
  EXPECT_EQ(t.mode, IstioTlsMode::Simple);
  EXPECT_EQ(t.ca_certificates, d + "/ca.pem");
  EXPECT_EQ(t.ca_crl, d + "/crl.pem");
  EXPECT_EQ(t.sni, "llm.example");
  EXPECT_EQ(t.subject_alt_names,
            (std::vector<std::string>{"spiffe://cluster.local/ns/default/sa/llm", "llm.example"}));
  EXPECT_FALSE(t.insecure_skip_verify);
  EXPECT_EQ(t.line, line_of(l.text, "mode: SIMPLE"));

  // A subset without tls keeps the rule's; one with tls replaces it as a whole (Istio).
  IstioTrafficPolicy v1 = merged_traffic_policy(rule, &rule.subsets[0]);
  ASSERT_TRUE(v1.tls);
  EXPECT_EQ(v1.tls->mode, IstioTlsMode::Simple);
  EXPECT_EQ(v1.tls->sni, "llm.example");
  IstioTrafficPolicy v2 = merged_traffic_policy(rule, &rule.subsets[1]);
  ASSERT_TRUE(v2.tls);
  EXPECT_EQ(v2.tls->mode, IstioTlsMode::Mutual);
  EXPECT_EQ(v2.tls->client_certificate, d + "/cert.pem");
  EXPECT_EQ(v2.tls->private_key, d + "/key.pem");
  EXPECT_EQ(v2.tls->sni, "");              // not inherited field by field
  EXPECT_EQ(v2.tls->ca_certificates, "");
  ASSERT_TRUE(v2.load_balancer);           // other policies still merge as before
  EXPECT_EQ(v2.load_balancer->policy, IstioLbPolicy::RoundRobin);
  IstioTrafficPolicy v3 = merged_traffic_policy(rule, &rule.subsets[2]);
  EXPECT_EQ(v3.tls->credential_name, "client");
  EXPECT_TRUE(v3.tls->insecure_skip_verify);
  IstioTrafficPolicy v4 = merged_traffic_policy(rule, &rule.subsets[3]);
  EXPECT_EQ(v4.tls->mode, IstioTlsMode::IstioMutual);
  EXPECT_EQ(v4.tls->sni, "v4.llm");
}

TEST(ListenerCertificateConfig, SecretsAndCertificateFilesResolve) {
  Loaded l = load(https_gateway("[{name: from-secret}, {name: from-files}]", "edge") + "---\n" +
                  "apiVersion: v1\nkind: Secret\nmetadata: {name: from-secret, namespace: edge}\n"
                  "type: kubernetes.io/tls\nstringData: {tls.crt: C, tls.key: K}\n---\n" +
                  gateway_config("  tls:\n    certificates:\n"
                                 "    - {name: from-files, certFile: {d}/cert.pem, keyFile: {d}/key.pem}\n"));
  ASSERT_TRUE(l.r.ok()) << render(l.r.errors);
  EXPECT_TRUE(l.r.warnings.empty()) << render(l.r.warnings);
}

TEST(PeerAuthenticationConfig, MeshStrictLoadsWithTheGatewaysCertificate) {
  Loaded l = load(peer("  mtls: {mode: STRICT}\n") + "---\n" + gateway_config(kMeshTls) + "---\n" + kHttpGateway +
                  "---\n" + secret("stringData: {tls.crt: C, tls.key: K}\n", "c"));
  ASSERT_TRUE(l.r.ok()) << render(l.r.errors);
  // Its namespace is the workload's ("default"), not the root namespace: namespace-wide.
  const PeerAuthentication* by = nullptr;
  EXPECT_EQ(effective_mtls(*l.r.config, 8080, &by), MtlsMode::Strict);
  ASSERT_NE(by, nullptr);
  EXPECT_EQ(by->name, "pa");
}

// ---- effective_mtls: Istio's precedence -------------------------------------------------------

PeerAuthentication pa(std::string ns, std::string name, MtlsMode mode, Labels selector = {},
                      std::string created = "") {
  PeerAuthentication p;
  p.ns = std::move(ns);
  p.name = std::move(name);
  p.mode = mode;
  p.has_selector = !selector.empty();
  p.selector = std::move(selector);
  p.creation_timestamp = std::move(created);
  return p;
}

class EffectiveMtls : public ::testing::Test {
 protected:
  EffectiveMtls() {
    c.gateway.meta.ns = "edge";
    c.gateway.workload.labels = {{"app", "gw"}};
  }
  MtlsMode mode(uint16_t port = 8080) { return effective_mtls(c, port, &by); }
  std::string by_name() const { return by ? by->ns + "/" + by->name : "none"; }

  Config c;
  const PeerAuthentication* by = nullptr;
};

TEST_F(EffectiveMtls, NothingSetIsUnset) {
  EXPECT_EQ(mode(), MtlsMode::Unset);
  EXPECT_EQ(by_name(), "none");
  c.peer_authentications = {pa("istio-system", "mesh", MtlsMode::Unset), pa("edge", "ns", MtlsMode::Unset)};
  EXPECT_EQ(mode(), MtlsMode::Unset);
  EXPECT_EQ(by_name(), "none");
}

TEST_F(EffectiveMtls, WorkloadBeatsNamespaceBeatsMesh) {
  c.peer_authentications = {pa("istio-system", "mesh", MtlsMode::Strict)};
  EXPECT_EQ(mode(), MtlsMode::Strict);
  EXPECT_EQ(by_name(), "istio-system/mesh");
  c.peer_authentications.push_back(pa("edge", "ns", MtlsMode::Permissive));
  EXPECT_EQ(mode(), MtlsMode::Permissive);
  EXPECT_EQ(by_name(), "edge/ns");
  c.peer_authentications.push_back(pa("edge", "wl", MtlsMode::Disable, {{"app", "gw"}}));
  EXPECT_EQ(mode(), MtlsMode::Disable);
  EXPECT_EQ(by_name(), "edge/wl");
}

TEST_F(EffectiveMtls, UnsetInheritsFromTheLevelBelow) {
  c.peer_authentications = {pa("istio-system", "mesh", MtlsMode::Strict), pa("edge", "ns", MtlsMode::Unset),
                            pa("edge", "wl", MtlsMode::Unset, {{"app", "gw"}})};
  EXPECT_EQ(mode(), MtlsMode::Strict);
  EXPECT_EQ(by_name(), "istio-system/mesh");
}

TEST_F(EffectiveMtls, PolicyElsewhereOrForOtherWorkloadsDoesNotApply) {
  c.peer_authentications = {pa("other", "ns", MtlsMode::Strict),                         // other namespace
                            pa("edge", "wl", MtlsMode::Strict, {{"app", "model"}}),      // other workload
                            pa("other", "wl", MtlsMode::Strict, {{"app", "gw"}}),        // other namespace
                            pa("istio-system", "root-wl", MtlsMode::Strict, {{"app", "gw"}})};  // Istio ignores
  EXPECT_EQ(mode(), MtlsMode::Unset);
}

TEST_F(EffectiveMtls, PortLevelBeatsTheWorkloadModeAndUnsetInherits) {
  PeerAuthentication wl = pa("edge", "wl", MtlsMode::Unset, {{"app", "gw"}});
  wl.port_level = {{8080, MtlsMode::Disable}, {9090, MtlsMode::Unset}};
  c.peer_authentications = {pa("edge", "ns", MtlsMode::Strict), wl};
  EXPECT_EQ(mode(8080), MtlsMode::Disable);
  EXPECT_EQ(by_name(), "edge/wl");
  EXPECT_EQ(mode(9090), MtlsMode::Strict);  // inherits the workload's, itself the namespace's
  EXPECT_EQ(by_name(), "edge/ns");
  EXPECT_EQ(mode(8443), MtlsMode::Strict);
}

TEST_F(EffectiveMtls, OldestWinsWithinALevelThenName) {
  c.peer_authentications = {pa("edge", "b", MtlsMode::Strict, {}, "2025-01-02T00:00:00Z"),
                            pa("edge", "a", MtlsMode::Permissive, {}, "2025-03-01T00:00:00Z"),
                            pa("edge", "0-untimed", MtlsMode::Disable)};  // no timestamp = newest
  EXPECT_EQ(mode(), MtlsMode::Strict);
  EXPECT_EQ(by_name(), "edge/b");
  c.peer_authentications = {pa("edge", "wl-b", MtlsMode::Strict, {{"app", "gw"}}),
                            pa("edge", "wl-a", MtlsMode::Permissive, {{"app", "gw"}})};
  EXPECT_EQ(mode(), MtlsMode::Permissive);
  EXPECT_EQ(by_name(), "edge/wl-a");
}

TEST_F(EffectiveMtls, WorkloadNamespaceAndRootNamespaceAreConfigurable) {
  c.peer_authentications = {pa("edge", "ns", MtlsMode::Strict), pa("team", "ns", MtlsMode::Disable),
                            pa("mesh-root", "mesh", MtlsMode::Permissive)};
  EXPECT_EQ(mode(), MtlsMode::Strict);  // the GatewayConfig's namespace by default
  c.gateway.workload.ns = "team";
  EXPECT_EQ(mode(), MtlsMode::Disable);
  c.gateway.workload.ns = "elsewhere";
  EXPECT_EQ(mode(), MtlsMode::Unset);   // istio-system holds nothing
  c.gateway.workload.root_namespace = "mesh-root";
  EXPECT_EQ(mode(), MtlsMode::Permissive);
  // A workload in the root namespace: a policy there without selector is mesh-wide, and still
  // applies (Istio reads it once, as the mesh level).
  c.gateway.workload.ns = "mesh-root";
  EXPECT_EQ(mode(), MtlsMode::Permissive);
  EXPECT_EQ(by_name(), "mesh-root/mesh");
}

}  // namespace
}  // namespace infergate::config
