// Test certificates (tests/e2e/tls_certs.sh, openssl) and the gateway configs of the
// security tests: a GatewayConfig with the mesh TLS settings, one Gateway, a Service of one
// modelsim and an HTTPRoute to it.
#pragma once

#include <string>

#include "tests/e2e/e2e_test.h"

namespace infergate::e2e {

// A CA, server and client certificates (good and bad) in a temp dir of their own.
class TestCerts {
 public:
  TestCerts() {
    const CommandResult r = run_command({"/bin/bash", source_path("tests/e2e/tls_certs.sh"), dir_.path()});
    ok_ = r.exit_code == 0;
    error_ = r.err;
  }
  bool ok() const { return ok_; }
  const std::string& error() const { return error_; }
  std::string path(const std::string& name) const { return dir_.file(name); }
  const TempDir& dir() const { return dir_; }

 private:
  TempDir dir_;
  bool ok_ = false;
  std::string error_;
};

struct TlsGatewayYaml {
  uint16_t backend_port = 0;        // the modelsim (or a TLS front of it)
  unsigned workers = 2;
  // Gateway listeners (YAML list items, 2-space indented under `listeners:`); "" = one HTTPS
  // listener "https" serving certificate "gw-cert" (server.crt) for any hostname.
  std::string listeners;
  std::string spec_extra;    // more lines under GatewayConfig spec (2-space indented)
  std::string tls_extra;     // more lines under spec.tls (4-space indented)
  std::string extra_documents;
};

inline TlsGatewayYaml backend(uint16_t port) {
  TlsGatewayYaml y;
  y.backend_port = port;
  return y;
}

inline std::string tls_gateway_yaml(const TestCerts& certs, const TlsGatewayYaml& y, uint16_t port, uint16_t admin) {
  const std::string p = std::to_string(port);
  std::string listeners = y.listeners;
  if (listeners.empty())
    listeners = "  - name: https\n    port: " + p +
                "\n    protocol: HTTPS\n    tls: {mode: Terminate, certificateRefs: [{kind: Secret, name: gw-cert}]}\n";
  std::string out = "apiVersion: infergate.dev/v1alpha1\nkind: GatewayConfig\nmetadata: {name: gw}\nspec:\n  workers: " +
                    std::to_string(y.workers) + "\n  admin: {port: " + std::to_string(admin) + "}\n" +
                    "  tls:\n    trustDomain: cluster.local\n    caFile: " + certs.path("ca.crt") +
                    "\n    crlFile: " + certs.path("ca.crl") + "\n    certFile: " + certs.path("workload.crt") +
                    "\n    keyFile: " + certs.path("workload.key") + "\n    watchInterval: 100ms\n" +
                    "    certificates:\n    - {name: gw-cert, certFile: " + certs.path("server.crt") +
                    ", keyFile: " + certs.path("server.key") + "}\n    - {name: api-cert, certFile: " +
                    certs.path("server2.crt") + ", keyFile: " + certs.path("server2.key") + "}\n" + y.tls_extra +
                    "  endpoints:\n  - {name: sim, address: 127.0.0.1, port: " + std::to_string(y.backend_port) +
                    ", labels: {app: sim}}\n" + y.spec_extra;
  out += "---\napiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: gw}\nspec:\n"
         "  gatewayClassName: infergate\n  addresses: [{type: IPAddress, value: 127.0.0.1}]\n  listeners:\n" +
         listeners;
  out += "---\napiVersion: v1\nkind: Service\nmetadata: {name: sim}\nspec:\n  selector: {app: sim}\n"
         "  ports: [{port: 8000}]\n"
         "---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r}\nspec:\n"
         "  parentRefs: [{name: gw}]\n  rules:\n  - backendRefs: [{name: sim, port: 8000}]\n";
  out += y.extra_documents;
  return out;
}

// A PeerAuthentication for the whole `default` namespace (the gateway's workload namespace).
inline std::string peer_authentication(const std::string& mode) {
  return "---\napiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: default, namespace: "
         "default}\nspec:\n  mtls: {mode: " + mode + "}\n";
}

// curl over TLS to the gateway as `host` (resolved to 127.0.0.1), trusting the test CA and
// presenting client certificate `client` ("" = none).
inline CommandResult curl_tls(const std::string& curl_bin, const TestCerts& certs, uint16_t port,
                              const std::string& path, const std::string& client = {},
                              std::vector<std::string> extra = {}, const std::string& host = "gateway.example.com") {
  std::vector<std::string> args = {"--cacert", certs.path("ca.crt"), "--resolve",
                                   host + ":" + std::to_string(port) + ":127.0.0.1"};
  if (!client.empty()) {
    args.push_back("--cert");
    args.push_back(certs.path(client + ".crt"));
    args.push_back("--key");
    args.push_back(certs.path(client + ".key"));
  }
  args.insert(args.end(), extra.begin(), extra.end());
  args.push_back("https://" + host + ":" + std::to_string(port) + path);
  return curl(curl_bin, args, milliseconds(10000));
}

}  // namespace infergate::e2e
