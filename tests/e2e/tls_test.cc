// TLS termination through the real binary with real clients (curl, openssl s_client,
// h2load): ALPN, SNI, Secrets, mTLS STRICT and PERMISSIVE with every refusal counted by
// reason, XFCC, resumption, certificate rotation under load, bad certificates on reload.
#include <filesystem>

#include "tests/e2e/tls_env.h"

namespace infergate::e2e {
namespace {

#define REQUIRE_CERTS(certs) \
  TestCerts certs;           \
  ASSERT_TRUE(certs.ok()) << certs.error()

std::string status_of(const CommandResult& r) { return r.out.size() >= 3 ? r.out.substr(r.out.size() - 3) : r.out; }

TEST(Tls, HttpsListenerServesH2AndHttp11WithAlpn) {
  E2E_REQUIRE_TOOL(curl_bin, "curl");
  E2E_REQUIRE_TOOL(openssl_bin, "openssl");
  REQUIRE_CERTS(certs);
  Modelsim sim;
  Gateway gw([&](uint16_t port, uint16_t admin) {
    return tls_gateway_yaml(certs, backend(sim.port()), port, admin);
  });
  CommandResult h2 = curl_tls(curl_bin, certs, gw.port(), "/echo", "", {"-i", "--http2"});
  ASSERT_EQ(h2.exit_code, 0) << h2.err;
  EXPECT_NE(h2.out.find("HTTP/2 200"), std::string::npos) << h2.out;
  EXPECT_NE(h2.out.find("\"x-forwarded-proto\":\"https\""), std::string::npos) << h2.out;
  CommandResult h1 = curl_tls(curl_bin, certs, gw.port(), "/v1/models", "", {"-i", "--http1.1"});
  ASSERT_EQ(h1.exit_code, 0) << h1.err;
  EXPECT_NE(h1.out.find("HTTP/1.1 200"), std::string::npos) << h1.out;
  CommandResult s = run_command({openssl_bin, "s_client", "-connect", "127.0.0.1:" + std::to_string(gw.port()),
                                 "-servername", "gateway.example.com", "-alpn", "h2,http/1.1", "-CAfile",
                                 certs.path("ca.crt"), "-verify_return_error"},
                                milliseconds(10000), ProcessOptions{});
  EXPECT_NE(s.out.find("ALPN protocol: h2"), std::string::npos) << s.out;
  EXPECT_NE(s.out.find("Verify return code: 0 (ok)"), std::string::npos) << s.out;
  EXPECT_GE(gw.stat("listener.ssl.handshake"), 3);
  EXPECT_EQ(gw.stat("listener.ssl.connection_error"), 0);
}

TEST(Tls, PlaintextGarbageAndOldProtocolsAreRefusedAndCounted) {
  E2E_REQUIRE_TOOL(openssl_bin, "openssl");
  REQUIRE_CERTS(certs);
  Modelsim sim;
  Gateway gw([&](uint16_t port, uint16_t admin) {
    return tls_gateway_yaml(certs, backend(sim.port()), port, admin);
  });
  {
    RawSocket plain(gw.port());
    ASSERT_TRUE(plain.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    EXPECT_TRUE(plain.read_until_closed(scaled(3000)));
    EXPECT_EQ(plain.received().find("HTTP/1.1 200"), std::string::npos);
  }
  {
    RawSocket garbage(gw.port());
    ASSERT_TRUE(garbage.send(std::string("\x16\x03\x01\x00\x04\x00\x00\x00\x00", 9)));
    EXPECT_TRUE(garbage.read_until_closed(scaled(3000)));
  }
  CommandResult old = run_command({openssl_bin, "s_client", "-connect", "127.0.0.1:" + std::to_string(gw.port()),
                                   "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"},
                                  milliseconds(10000));
  EXPECT_NE(old.exit_code, 0);
  EXPECT_NE(old.out.find("Cipher is (NONE)"), std::string::npos) << old.out;
  ASSERT_TRUE(gw.wait_stat_at_least("listener.ssl.connection_error", 3, scaled(3000)));
  EXPECT_EQ(gw.stat("listener.ssl.handshake_error.not_tls"), 1);
  EXPECT_EQ(gw.stat("listener.ssl.handshake_error.protocol"), 2);
  EXPECT_EQ(gw.stat("listener.ssl.handshake"), 0);
  EXPECT_TRUE(gw.process().running());
}

TEST(Tls, SniSelectsEachListenersCertificate) {
  E2E_REQUIRE_TOOL(curl_bin, "curl");
  REQUIRE_CERTS(certs);
  Modelsim sim;
  Gateway gw([&](uint16_t port, uint16_t admin) {
    const std::string p = std::to_string(port);
    TlsGatewayYaml y = backend(sim.port());
    y.listeners = "  - name: gateway\n    hostname: gateway.example.com\n    port: " + p +
                  "\n    protocol: HTTPS\n    tls: {certificateRefs: [{name: gw-cert}]}\n"
                  "  - name: api\n    hostname: api.example.org\n    port: " + p +
                  "\n    protocol: HTTPS\n    tls: {certificateRefs: [{name: api-cert}]}\n";
    return tls_gateway_yaml(certs, y, port, admin);
  });
  // curl checks the certificate's name: each succeeds only with its listener's certificate.
  for (const char* host : {"gateway.example.com", "api.example.org"}) {
    CommandResult r = curl_tls(curl_bin, certs, gw.port(), "/v1/models", "", {"-o", "/dev/null", "-w", "%{http_code}"},
                               host);
    EXPECT_EQ(r.exit_code, 0) << host << ": " << r.err;
    EXPECT_EQ(r.out, "200") << host;
  }
}

std::string base64(const std::string& s) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < s.size(); i += 3) {
    const uint32_t v = (uint8_t(s[i]) << 16) | (uint8_t(s[i + 1]) << 8) | uint8_t(s[i + 2]);
    for (int j = 18; j >= 0; j -= 6) out.push_back(k[(v >> j) & 63]);
  }
  if (i + 1 == s.size()) {
    const uint32_t v = uint8_t(s[i]) << 16;
    out += {k[(v >> 18) & 63], k[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == s.size()) {
    const uint32_t v = (uint8_t(s[i]) << 16) | (uint8_t(s[i + 1]) << 8);
    out += {k[(v >> 18) & 63], k[(v >> 12) & 63], k[(v >> 6) & 63], '='};
  }
  return out;
}

std::string tls_secret(const std::string& name, const std::string& cert, const std::string& key) {
  return "---\napiVersion: v1\nkind: Secret\nmetadata: {name: " + name + "}\ntype: kubernetes.io/tls\ndata:\n  tls.crt: " +
         base64(cert) + "\n  tls.key: " + base64(key) + "\n";
}

TEST(Tls, SecretManifestsServeAndABadCertificateIsRejectedOnReload) {
  E2E_REQUIRE_TOOL(curl_bin, "curl");
  REQUIRE_CERTS(certs);
  Modelsim sim;
  auto yaml = [&](uint16_t port, uint16_t admin, const std::string& cert) {
    TlsGatewayYaml y = backend(sim.port());
    y.listeners = "  - name: https\n    port: " + std::to_string(port) +
                  "\n    protocol: HTTPS\n    tls: {certificateRefs: [{kind: Secret, name: from-secret}]}\n";
    y.extra_documents = tls_secret("from-secret", cert, read_file(certs.path("server.key")));
    return tls_gateway_yaml(certs, y, port, admin);
  };
  Gateway gw([&](uint16_t port, uint16_t admin) { return yaml(port, admin, read_file(certs.path("server.crt"))); });
  CommandResult r = curl_tls(curl_bin, certs, gw.port(), "/v1/models", "", {"-o", "/dev/null", "-w", "%{http_code}"});
  EXPECT_EQ(r.out, "200") << r.err;
  // A certificate that does not match its key: the reload is refused, the old one serves.
  gw.write_config(yaml(gw.port(), gw.admin_port(), read_file(certs.path("server2.crt"))));
  gw.process().signal(SIGHUP);
  ASSERT_TRUE(gw.wait_stat_at_least("infergate.config.reload_failure", 1, scaled(5000)));
  EXPECT_TRUE(gw.process().wait_err("Secret default/from-secret tls.key: the private key does not match", scaled(2000)) ||
              gw.process().wait_out("Secret default/from-secret tls.key: the private key does not match", scaled(100)))
      << gw.process().describe();
  r = curl_tls(curl_bin, certs, gw.port(), "/v1/models", "", {"-o", "/dev/null", "-w", "%{http_code}"});
  EXPECT_EQ(r.out, "200") << r.err;
}

TEST(Tls, StrictMtlsRefusesEveryBadClientCertificateByReason) {
  E2E_REQUIRE_TOOL(curl_bin, "curl");
  REQUIRE_CERTS(certs);
  Modelsim sim;
  Gateway gw([&](uint16_t port, uint16_t admin) {
    TlsGatewayYaml y = backend(sim.port());
    y.extra_documents = peer_authentication("STRICT");
    return tls_gateway_yaml(certs, y, port, admin);
  });
  CommandResult ok = curl_tls(curl_bin, certs, gw.port(), "/echo", "client-frontend", {"-w", "%{http_code}"});
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(status_of(ok), "200");
  // SANITIZE (Envoy's default): the model server learns nothing the client wrote.
  EXPECT_EQ(ok.out.find("x-forwarded-client-cert"), std::string::npos) << ok.out;
  const std::vector<std::pair<std::string, std::string>> refusals = {
      {"", "no_certificate"},           {"client-otherca", "unknown_ca"}, {"client-expired", "expired"},
      {"client-notyet", "not_yet_valid"}, {"client-revoked", "revoked"},  {"client-nospiffe", "bad_san"},
      {"client-foreign-td", "bad_san"}};
  std::map<std::string, int> expected;
  for (const auto& [client, reason] : refusals) {
    CommandResult r = curl_tls(curl_bin, certs, gw.port(), "/echo", client, {"-o", "/dev/null", "-w", "%{http_code}"});
    EXPECT_NE(r.out, "200") << client << " was let in";
    ++expected[reason];
  }
  for (const auto& [reason, n] : expected)
    EXPECT_TRUE(gw.wait_stat_at_least("listener.ssl.handshake_error." + reason, n, scaled(3000)))
        << reason << ": " << gw.stat("listener.ssl.handshake_error." + reason);
  EXPECT_EQ(gw.stat("listener.ssl.fail_verify_no_cert"), 1);
  EXPECT_EQ(gw.stat("listener.ssl.fail_verify_error"), 4);
  EXPECT_EQ(gw.stat("listener.ssl.fail_verify_san"), 2);
  EXPECT_EQ(gw.stat("listener.ssl.connection_error"), 7);
  EXPECT_TRUE(gw.process().running());
  const HttpResponse dump = gw.admin("GET", "/config_dump");
  EXPECT_NE(dump.body.find("\"client_certificate\": \"required\""), std::string::npos) << dump.body;
  EXPECT_NE(dump.body.find("\"peer_authentication\": \"STRICT\""), std::string::npos) << dump.body;
}

TEST(Tls, PermissiveTakesPlaintextAndMtlsOnOnePortWithXfcc) {
  E2E_REQUIRE_TOOL(curl_bin, "curl");
  REQUIRE_CERTS(certs);
  Modelsim sim;
  Gateway gw([&](uint16_t port, uint16_t admin) {
    TlsGatewayYaml y = backend(sim.port());
    y.listeners = "  - name: http\n    port: " + std::to_string(port) + "\n    protocol: HTTP\n";
    y.spec_extra =
        "  forwardClientCertDetails: SANITIZE_SET\n  setCurrentClientCertDetails: {subject: true, uri: true, dns: "
        "false}\n";
    y.extra_documents = peer_authentication("PERMISSIVE");
    return tls_gateway_yaml(certs, y, port, admin);
  });
  // Plaintext, with a forged XFCC the gateway must drop.
  CommandResult plain = curl(curl_bin, {"-H", "x-forwarded-client-cert: By=x;Hash=forged", gw.url("/echo")});
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_NE(plain.out.find("\"x-forwarded-proto\":\"http\""), std::string::npos) << plain.out;
  EXPECT_EQ(plain.out.find("forged"), std::string::npos) << plain.out;
  // mTLS on the same port: the workload certificate is served (SAN localhost), the client's
  // identity goes upstream in Envoy's XFCC format.
  CommandResult tls = curl_tls(curl_bin, certs, gw.port(), "/echo", "client-frontend",
                               {"-H", "x-forwarded-client-cert: By=x;Hash=forged"}, "localhost");
  ASSERT_EQ(tls.exit_code, 0) << tls.err;
  EXPECT_NE(tls.out.find("\"x-forwarded-proto\":\"https\""), std::string::npos) << tls.out;
  EXPECT_NE(tls.out.find("\"x-forwarded-client-cert\":\"By=spiffe://cluster.local/ns/istio-system/sa/"
                         "infergate-gateway;Hash="),
            std::string::npos)
      << tls.out;
  EXPECT_NE(tls.out.find(";URI=spiffe://cluster.local/ns/frontend/sa/chat-ui"), std::string::npos) << tls.out;
  EXPECT_NE(tls.out.find(";Subject=\\\""), std::string::npos) << tls.out;
  EXPECT_EQ(tls.out.find("forged"), std::string::npos) << tls.out;
  // TLS without a client certificate is allowed in PERMISSIVE mode.
  CommandResult anon = curl_tls(curl_bin, certs, gw.port(), "/v1/models", "", {"-o", "/dev/null", "-w", "%{http_code}"},
                                "localhost");
  EXPECT_EQ(anon.out, "200") << anon.err;
  EXPECT_EQ(gw.stat("listener.permissive_plaintext"), 1);
  EXPECT_NE(gw.admin("GET", "/config_dump").body.find("\"transport\": \"permissive\""), std::string::npos);
  EXPECT_EQ(gw.stat("listener.ssl.handshake"), 2);
  EXPECT_EQ(gw.stat("listener.ssl.no_certificate"), 1);
}

TEST(Tls, SessionsAreResumed) {
  E2E_REQUIRE_TOOL(openssl_bin, "openssl");
  REQUIRE_CERTS(certs);
  Modelsim sim;
  Gateway gw([&](uint16_t port, uint16_t admin) {
    return tls_gateway_yaml(certs, backend(sim.port()), port, admin);
  });
  CommandResult r = run_command({openssl_bin, "s_client", "-connect", "127.0.0.1:" + std::to_string(gw.port()),
                                 "-tls1_2", "-reconnect", "-CAfile", certs.path("ca.crt")},
                                milliseconds(15000));
  size_t reused = 0;
  for (size_t at = r.out.find("Reused, TLSv1.2"); at != std::string::npos; at = r.out.find("Reused, TLSv1.2", at + 1))
    ++reused;
  EXPECT_EQ(reused, 5u) << r.out;
  EXPECT_GE(gw.stat("listener.ssl.session_reused"), 5);
}

std::string fingerprint(const std::string& openssl_bin, const std::string& pem_path) {
  CommandResult r = run_command({openssl_bin, "x509", "-in", pem_path, "-noout", "-fingerprint", "-sha256"});
  return r.out;
}

// The certificate the gateway serves now, as its fingerprint line.
std::string served_fingerprint(const std::string& openssl_bin, uint16_t port, const TempDir& dir) {
  CommandResult s = run_command({openssl_bin, "s_client", "-connect", "127.0.0.1:" + std::to_string(port),
                                 "-servername", "gateway.example.com"},
                                milliseconds(10000));
  const std::string pem_path = dir.write("served.pem", s.out);
  return fingerprint(openssl_bin, pem_path);
}

TEST(Tls, RotationUnderLoadFailsNoRequest) {
  E2E_REQUIRE_TOOL(curl_bin, "curl");
  E2E_REQUIRE_TOOL(openssl_bin, "openssl");
  E2E_REQUIRE_TOOL(h2load_bin, "h2load");
  REQUIRE_CERTS(certs);
  Modelsim sim;
  // The listener serves files in a directory of their own, replaced as cert-manager does.
  TempDir live;
  std::filesystem::copy_file(certs.path("server.crt"), live.file("tls.crt"));
  std::filesystem::copy_file(certs.path("server.key"), live.file("tls.key"));
  Gateway gw([&](uint16_t port, uint16_t admin) {
    TlsGatewayYaml y = backend(sim.port());
    y.tls_extra = "    - {name: live, certFile: " + live.file("tls.crt") + ", keyFile: " + live.file("tls.key") + "}\n";
    y.listeners = "  - name: https\n    port: " + std::to_string(port) +
                  "\n    protocol: HTTPS\n    tls: {certificateRefs: [{name: live}]}\n";
    return tls_gateway_yaml(certs, y, port, admin);
  });
  const std::string old_fp = fingerprint(openssl_bin, certs.path("server.crt"));
  const std::string new_fp = fingerprint(openssl_bin, certs.path("server-new.crt"));
  ASSERT_NE(old_fp, new_fp);
  EXPECT_EQ(served_fingerprint(openssl_bin, gw.port(), live), old_fp);
  // Established connections (h2load keeps its 4 for the whole run) and new ones (curl,
  // one handshake each) across the rotation.
  Process load({h2load_bin, "-c", "4", "-m", "2", "-D", std::to_string(4 * time_scale()),
                "https://127.0.0.1:" + std::to_string(gw.port()) + "/v1/models"});
  std::this_thread::sleep_for(milliseconds(800));
  // Key and certificate are replaced one after the other: for a moment they do not match and
  // that state must not be served.
  std::filesystem::copy_file(certs.path("server-new.key"), live.file("tls.key.tmp"));
  std::filesystem::rename(live.file("tls.key.tmp"), live.file("tls.key"));
  std::this_thread::sleep_for(milliseconds(300));
  std::filesystem::copy_file(certs.path("server-new.crt"), live.file("tls.crt.tmp"));
  std::filesystem::rename(live.file("tls.crt.tmp"), live.file("tls.crt"));
  int curl_failures = 0;
  for (int i = 0; i < 10; ++i) {
    CommandResult r = curl_tls(curl_bin, certs, gw.port(), "/v1/models", "", {"-o", "/dev/null", "-w", "%{http_code}"});
    if (r.out != "200") ++curl_failures;
    std::this_thread::sleep_for(milliseconds(100));
  }
  EXPECT_EQ(curl_failures, 0);
  ASSERT_TRUE(gw.wait_stat_at_least("tls.certificate_reload_success", 1, scaled(3000)));
  EXPECT_EQ(served_fingerprint(openssl_bin, gw.port(), live), new_fp);
  ASSERT_TRUE(load.wait_exit(scaled(15000)));
  const std::string out = load.out();
  EXPECT_NE(out.find(" 0 failed, 0 errored, 0 timeout"), std::string::npos) << out;
  EXPECT_EQ(out.find("requests: 0 total"), std::string::npos) << out;
  EXPECT_TRUE(gw.process().running());
}

// nghttpx as the model server's TLS front (optionally asking for client certificates).
class TlsFront {
 public:
  TlsFront(const std::string& nghttpx, const TestCerts& certs, uint16_t backend, bool verify_client) {
    port_ = free_port();
    std::vector<std::string> argv = {nghttpx, "--frontend=127.0.0.1," + std::to_string(port_),
                                     "--backend=127.0.0.1," + std::to_string(backend), "--workers=1",
                                     "--no-ocsp", "--log-level=WARN", "--errorlog-file=/dev/stderr",
                                     "--accesslog-file=/dev/null", certs.path("upstream-server.key"),
                                     certs.path("upstream-server.crt")};
    if (verify_client) {
      argv.push_back("--verify-client");
      argv.push_back("--verify-client-cacert=" + certs.path("ca.crt"));
    }
    process_ = std::make_unique<Process>(argv);
    for (int i = 0; i < 100 && RawSocket::connect_error(port_) != 0; ++i) std::this_thread::sleep_for(milliseconds(50));
  }
  uint16_t port() const { return port_; }

 private:
  uint16_t port_ = 0;
  std::unique_ptr<Process> process_;
};

std::string destination_rule_tls(const std::string& tls) {
  return "---\napiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: sim}\nspec:\n  host: sim\n"
         "  trafficPolicy:\n    tls:\n" + tls;
}

TEST(Tls, UpstreamSimpleAndMutualPerDestinationRule) {
  E2E_REQUIRE_TOOL(curl_bin, "curl");
  E2E_REQUIRE_TOOL(nghttpx_bin, "nghttpx");
  REQUIRE_CERTS(certs);
  Modelsim sim;
  TlsFront front(nghttpx_bin, certs, sim.port(), /*verify_client=*/true);
  auto yaml = [&](uint16_t port, uint16_t admin, const std::string& tls) {
    TlsGatewayYaml y = backend(front.port());
    y.listeners = "  - name: http\n    port: " + std::to_string(port) + "\n    protocol: HTTP\n";
    y.extra_documents = destination_rule_tls(tls);
    return tls_gateway_yaml(certs, y, port, admin);
  };
  const std::string mutual = "      mode: MUTUAL\n      sni: model.internal\n      caCertificates: " + certs.path("ca.crt") +
                             "\n      clientCertificate: " + certs.path("upstream-client.crt") +
                             "\n      privateKey: " + certs.path("upstream-client.key") + "\n";
  Gateway gw([&](uint16_t port, uint16_t admin) { return yaml(port, admin, mutual); });
  CommandResult r = curl(curl_bin, {"-o", "/dev/null", "-w", "%{http_code}", gw.url("/v1/models")});
  EXPECT_EQ(r.out, "200") << r.err;
  EXPECT_GE(gw.stat("cluster_manager.ssl.handshake"), 1);
  // SIMPLE against a server that wants a client certificate: refused by the server.
  auto reload = [&](const std::string& tls, int version) {
    gw.write_config(yaml(gw.port(), gw.admin_port(), tls));
    gw.process().signal(SIGHUP);
    ASSERT_TRUE(gw.wait_stat_at_least("infergate.config.version", version, scaled(5000)));
  };
  reload("      mode: SIMPLE\n      sni: model.internal\n      caCertificates: " + certs.path("ca.crt") + "\n", 2);
  r = curl(curl_bin, {"-o", "/dev/null", "-w", "%{http_code}", gw.url("/v1/models")});
  EXPECT_EQ(r.out, "503");
  // A server certificate from a CA we do not trust.
  reload(mutual.substr(0, mutual.find("      caCertificates")) + "      caCertificates: " + certs.path("other-ca.crt") +
             mutual.substr(mutual.find("\n      clientCertificate")),
         3);
  r = curl(curl_bin, {"-o", "/dev/null", "-w", "%{http_code}", gw.url("/v1/models")});
  EXPECT_EQ(r.out, "503");
  EXPECT_GE(gw.stat("cluster_manager.ssl.handshake_error.unknown_ca"), 1);
  // A name the server's certificate does not have.
  reload("      mode: MUTUAL\n      sni: wrong.internal\n      caCertificates: " + certs.path("ca.crt") +
             "\n      clientCertificate: " + certs.path("upstream-client.crt") + "\n      privateKey: " +
             certs.path("upstream-client.key") + "\n",
         4);
  r = curl(curl_bin, {"-o", "/dev/null", "-w", "%{http_code}", gw.url("/v1/models")});
  EXPECT_EQ(r.out, "503");
  EXPECT_GE(gw.stat("cluster_manager.ssl.handshake_error.bad_san"), 1);
  reload(mutual, 5);
  r = curl(curl_bin, {"-o", "/dev/null", "-w", "%{http_code}", gw.url("/v1/models")});
  EXPECT_EQ(r.out, "200") << r.err;
}

}  // namespace
}  // namespace infergate::e2e

namespace infergate::e2e {
namespace {

// The README's security walk-through, as written (fixed ports 8443, 9903, 18021).
TEST(Examples, MtlsRunsAsTheReadmeSays) {
  E2E_REQUIRE_TOOL(curl_bin, "curl");
  const std::string build = infergate_path().substr(0, infergate_path().rfind('/'));
  CommandResult r = run_command({"/bin/bash", source_path("examples/mtls/run.sh"), build, "--once"},
                                milliseconds(60000 * time_scale()));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("RBAC: access denied 403"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"x-forwarded-client-cert\":\"Hash="), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("URI=spiffe://cluster.local/ns/frontend/sa/chat-ui"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("200 200 200 200 200 429 429"), std::string::npos) << r.out;
  for (const char* refused : {"none", "client-otherca", "client-expired", "client-revoked"})
    EXPECT_NE(r.out.find(std::string(refused) + std::string(16 - std::string(refused).size(), ' ') + " 000 (refused"),
              std::string::npos)
        << refused << "\n" << r.out;
  EXPECT_NE(r.out.find("listener.ssl.handshake_error.revoked: 1"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace infergate::e2e
