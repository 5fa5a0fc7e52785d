// Server and client sessions wired back to back in memory: handshakes, ALPN, SNI, data,
// client-certificate verification and every refusal reason, resumption.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tls/session.h"

namespace infergate::tls {
namespace {

std::string certs_dir() {
  static const std::string dir = [] {
    std::string d = (std::filesystem::temp_directory_path() / ("infergate-tls-test-" + std::to_string(::getpid()))).string();
    const std::string cmd = std::string("bash ") + INFERGATE_SOURCE_DIR + "/tests/e2e/tls_certs.sh " + d;
    if (std::system(cmd.c_str()) != 0) return std::string();
    static const std::string keep = d;
    std::atexit([] { std::filesystem::remove_all(keep); });
    return d;
  }();
  return dir;
}

PemSource pem(const std::string& name) {
  std::ifstream in(certs_dir() + "/" + name);
  std::ostringstream ss;
  ss << in.rdbuf();
  return {ss.str(), name};
}

class TlsSession : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(certs_dir().empty()) << "tests/e2e/tls_certs.sh failed"; }

  static ServerOptions server_options(ClientAuth auth = ClientAuth::None) {
    ServerOptions o;
    o.credentials.push_back({pem("server.crt"), pem("server.key"), {}});
    o.client_auth = auth;
    if (auth != ClientAuth::None) {
      o.ca = pem("ca.crt");
      o.crl = pem("ca.crl");
      o.trust_domain = "cluster.local";
    }
    return o;
  }
  static ClientOptions client_options(const std::string& client = "") {
    ClientOptions o;
    o.ca = pem("ca.crt");
    o.sni = "gateway.example.com";
    o.alpn = {"h2", "http/1.1"};
    if (!client.empty()) {
      o.cert = pem(client + ".crt");
      o.key = pem(client + ".key");
    }
    return o;
  }

  // Moves bytes both ways until neither side has anything to say.
  static bool pump(Session& c, Session& s, std::string* client_got = nullptr, std::string* server_got = nullptr) {
    std::string sink;
    for (int i = 0; i < 20; ++i) {
      std::string wire;
      c.take_output(wire);
      bool moved = !wire.empty();
      if (!wire.empty() && !s.receive(wire, server_got ? *server_got : sink)) {
        std::string alert;
        s.take_output(alert);
        if (!alert.empty()) c.receive(alert, sink);
        return false;
      }
      wire.clear();
      s.take_output(wire);
      moved = moved || !wire.empty();
      if (!wire.empty() && !c.receive(wire, client_got ? *client_got : sink)) return false;
      if (!moved) return true;
    }
    return true;
  }
};

TEST_F(TlsSession, HandshakeNegotiatesH2AndCarriesDataBothWays) {
  std::string error;
  auto sctx = ServerContext::create(server_options(), &error);
  ASSERT_TRUE(sctx) << error;
  auto cctx = ClientContext::create(client_options(), &error);
  ASSERT_TRUE(cctx) << error;
  auto s = Session::server(sctx);
  auto c = Session::client(cctx);
  ASSERT_TRUE(c->send("GET / HTTP/1.1\r\n\r\n"));  // held until the handshake completes
  std::string at_server, at_client;
  ASSERT_TRUE(pump(*c, *s, &at_client, &at_server));
  EXPECT_TRUE(s->established());
  EXPECT_TRUE(c->established());
  EXPECT_EQ(s->alpn(), "h2");
  EXPECT_EQ(c->alpn(), "h2");
  EXPECT_EQ(s->sni(), "gateway.example.com");
  EXPECT_EQ(s->version(), "TLSv1.3");
  EXPECT_EQ(at_server, "GET / HTTP/1.1\r\n\r\n");
  EXPECT_EQ(s->peer(), nullptr);
  ASSERT_TRUE(s->send(std::string(100000, 'x')));
  ASSERT_TRUE(pump(*c, *s, &at_client, &at_server));
  EXPECT_EQ(at_client.size(), 100000u);
  s->close();
  ASSERT_TRUE(pump(*c, *s, &at_client, &at_server));
  EXPECT_TRUE(c->peer_closed());
}

TEST_F(TlsSession, AlpnFallsBackToHttp11AndToNone) {
  std::string error;
  auto sctx = ServerContext::create(server_options(), &error);
  auto o = client_options();
  o.alpn = {"http/1.1"};
  auto c = Session::client(ClientContext::create(o, &error));
  auto s = Session::server(sctx);
  ASSERT_TRUE(pump(*c, *s));
  EXPECT_EQ(s->alpn(), "http/1.1");
  o.alpn = {"spdy/3"};
  c = Session::client(ClientContext::create(o, &error));
  s = Session::server(sctx);
  ASSERT_TRUE(pump(*c, *s));
  EXPECT_TRUE(s->established());
  EXPECT_EQ(s->alpn(), "");
}

TEST_F(TlsSession, SniSelectsTheListenersCertificate) {
  std::string error;
  ServerOptions so = server_options();
  so.credentials.push_back({pem("server2.crt"), pem("server2.key"), {"api.example.org"}});
  auto sctx = ServerContext::create(so, &error);
  ASSERT_TRUE(sctx) << error;
  EXPECT_EQ(sctx->select("api.example.org"), 1u);
  EXPECT_EQ(sctx->select("gateway.example.com"), 0u);
  EXPECT_EQ(sctx->select("x.example.com"), 0u);  // the wildcard SAN of server.crt
  EXPECT_EQ(sctx->select("unknown.test"), 0u);   // the default
  auto o = client_options();
  o.sni = "api.example.org";  // verified against server2's SAN: fails if the wrong one is served
  auto c = Session::client(ClientContext::create(o, &error));
  auto s = Session::server(sctx);
  ASSERT_TRUE(pump(*c, *s)) << c->error_detail();
  EXPECT_TRUE(c->established());
}

TEST_F(TlsSession, ClientCertificateGivesTheSpiffePrincipal) {
  std::string error;
  auto sctx = ServerContext::create(server_options(ClientAuth::Required), &error);
  ASSERT_TRUE(sctx) << error;
  auto c = Session::client(ClientContext::create(client_options("client-frontend"), &error));
  auto s = Session::server(sctx);
  ASSERT_TRUE(pump(*c, *s)) << s->error_detail();
  ASSERT_TRUE(s->established());
  ASSERT_NE(s->peer(), nullptr);
  EXPECT_EQ(s->peer()->principal, "cluster.local/ns/frontend/sa/chat-ui");
  EXPECT_EQ(s->peer()->ns, "frontend");
  EXPECT_EQ(s->peer()->sha256_hex.size(), 64u);
  EXPECT_NE(s->peer()->pem.find("BEGIN CERTIFICATE"), std::string::npos);
}

struct Refusal {
  const char* client;  // "" = no certificate
  HandshakeError expected;
};

class TlsRefusal : public TlsSession, public ::testing::WithParamInterface<Refusal> {};

TEST_P(TlsRefusal, IsCountedByReason) {
  std::string error;
  auto sctx = ServerContext::create(server_options(ClientAuth::Required), &error);
  ASSERT_TRUE(sctx) << error;
  auto cctx = ClientContext::create(client_options(GetParam().client), &error);
  ASSERT_TRUE(cctx) << error;
  auto c = Session::client(cctx);
  auto s = Session::server(sctx);
  pump(*c, *s);
  EXPECT_FALSE(s->established());
  EXPECT_EQ(s->error(), GetParam().expected)
      << handshake_error_name(s->error()) << ": " << s->error_detail();
}

INSTANTIATE_TEST_SUITE_P(
    Reasons, TlsRefusal,
    ::testing::Values(Refusal{"", HandshakeError::NoCertificate}, Refusal{"client-otherca", HandshakeError::UnknownCa},
                      Refusal{"client-expired", HandshakeError::Expired},
                      Refusal{"client-notyet", HandshakeError::NotYetValid},
                      Refusal{"client-revoked", HandshakeError::Revoked},
                      Refusal{"client-nospiffe", HandshakeError::BadSan},
                      Refusal{"client-foreign-td", HandshakeError::BadSan}),
    [](const auto& info) {
      std::string n = info.param.client[0] ? info.param.client : "none";
      for (char& ch : n)
        if (ch == '-') ch = '_';
      return n;
    });

TEST_F(TlsSession, OptionalClientAuthTakesClientsWithoutCertificates) {
  std::string error;
  auto sctx = ServerContext::create(server_options(ClientAuth::Optional), &error);
  auto c = Session::client(ClientContext::create(client_options(), &error));
  auto s = Session::server(sctx);
  ASSERT_TRUE(pump(*c, *s));
  EXPECT_TRUE(s->established());
  EXPECT_EQ(s->peer(), nullptr);
  // ...but a certificate that is sent must verify.
  c = Session::client(ClientContext::create(client_options("client-otherca"), &error));
  s = Session::server(sctx);
  pump(*c, *s);
  EXPECT_EQ(s->error(), HandshakeError::UnknownCa);
}

TEST_F(TlsSession, GarbageIsNotTls) {
  std::string error, plain;
  auto s = Session::server(ServerContext::create(server_options(), &error));
  EXPECT_FALSE(s->receive("GET / HTTP/1.1\r\nHost: x\r\n\r\n", plain));
  EXPECT_EQ(s->error(), HandshakeError::NotTls);
  s = Session::server(ServerContext::create(server_options(), &error));
  std::string bad("\x16\x03\x01\x00\x05hello", 10);
  EXPECT_FALSE(s->receive(bad, plain));
  EXPECT_EQ(s->error(), HandshakeError::Protocol);
}

TEST_F(TlsSession, ClientVerifiesTheServerName) {
  std::string error;
  auto sctx = ServerContext::create(server_options(), &error);
  auto o = client_options();
  o.sni = "not-the-server.test";
  auto c = Session::client(ClientContext::create(o, &error));
  auto s = Session::server(sctx);
  pump(*c, *s);
  EXPECT_EQ(c->error(), HandshakeError::BadSan) << c->error_detail();
  o.subject_alt_names = {"gateway.example.com"};  // explicit SANs replace the SNI check
  c = Session::client(ClientContext::create(o, &error));
  s = Session::server(sctx);
  EXPECT_TRUE(pump(*c, *s)) << c->error_detail();
  o.subject_alt_names = {"spiffe://cluster.local/ns/x/sa/y"};
  c = Session::client(ClientContext::create(o, &error));
  s = Session::server(sctx);
  pump(*c, *s);
  EXPECT_EQ(c->error(), HandshakeError::BadSan);
  o.verify = false;  // insecureSkipVerify
  c = Session::client(ClientContext::create(o, &error));
  s = Session::server(sctx);
  EXPECT_TRUE(pump(*c, *s));
  o = client_options();
  o.ca = pem("other-ca.crt");
  c = Session::client(ClientContext::create(o, &error));
  s = Session::server(sctx);
  pump(*c, *s);
  EXPECT_EQ(c->error(), HandshakeError::UnknownCa);
}

TEST_F(TlsSession, ClientContextResumesItsLastSession) {
  std::string error;
  for (bool tls13 : {false, true}) {
    ServerOptions so = server_options();
    if (!tls13) so.protocol.max = Version::Tls12;
    auto sctx = ServerContext::create(so, &error);
    auto cctx = ClientContext::create(client_options(), &error);
    auto c = Session::client(cctx);
    auto s = Session::server(sctx);
    ASSERT_TRUE(pump(*c, *s));
    EXPECT_FALSE(s->resumed());
    c = Session::client(cctx);
    s = Session::server(sctx);
    ASSERT_TRUE(pump(*c, *s));
    EXPECT_TRUE(s->resumed()) << (tls13 ? "TLS 1.3" : "TLS 1.2");
    // A rotated server context takes the ticket keys over: TLS 1.3 clients still resume.
    if (!tls13) continue;
    auto rotated = ServerContext::create(so, &error, sctx.get());
    c = Session::client(cctx);
    s = Session::server(rotated);
    ASSERT_TRUE(pump(*c, *s));
    EXPECT_TRUE(s->resumed()) << "after rotation";
  }
}

TEST_F(TlsSession, ASessionFromBeforeStrictDoesNotResumeWithoutACertificate) {
  std::string error;
  ServerOptions open = server_options();
  auto before = ServerContext::create(open, &error);
  auto cctx = ClientContext::create(client_options(), &error);  // no client certificate
  auto c = Session::client(cctx);
  auto s = Session::server(before);
  ASSERT_TRUE(pump(*c, *s));
  // The port turns STRICT (ticket keys carried over, as a rotation does): the ticket the
  // client holds must not stand in for the certificate it does not have.
  auto strict = ServerContext::create(server_options(ClientAuth::Required), &error, before.get());
  ASSERT_TRUE(strict) << error;
  c = Session::client(cctx);
  s = Session::server(strict);
  pump(*c, *s);
  EXPECT_FALSE(s->established());
  EXPECT_EQ(s->error(), HandshakeError::NoCertificate);
  // Unchanged client-auth settings do resume across a rebuild.
  auto again = ServerContext::create(server_options(), &error, before.get());
  c = Session::client(cctx);
  s = Session::server(before);
  ASSERT_TRUE(pump(*c, *s));
  c = Session::client(cctx);
  s = Session::server(again);
  ASSERT_TRUE(pump(*c, *s));
  EXPECT_TRUE(s->resumed());
}

TEST_F(TlsSession, MtlsOnACertificateChosenBySni) {
  std::string error;
  ServerOptions so = server_options(ClientAuth::Required);
  so.credentials.push_back({pem("server2.crt"), pem("server2.key"), {"api.example.org"}});
  auto sctx = ServerContext::create(so, &error);
  ASSERT_TRUE(sctx) << error;
  auto o = client_options("client-frontend");
  o.sni = "api.example.org";
  auto cctx = ClientContext::create(o, &error);
  for (int i = 0; i < 2; ++i) {
    auto c = Session::client(cctx);
    auto s = Session::server(sctx);
    ASSERT_TRUE(pump(*c, *s)) << s->error_detail();
    ASSERT_NE(s->peer(), nullptr);
    EXPECT_EQ(s->peer()->principal, "cluster.local/ns/frontend/sa/chat-ui");
  }
}

TEST_F(TlsSession, BadMaterialIsAClearError) {
  std::string error;
  ServerOptions o = server_options();
  o.credentials[0].key = pem("server2.key");
  EXPECT_FALSE(ServerContext::create(o, &error));
  EXPECT_NE(error.find("does not match"), std::string::npos) << error;
  o = server_options();
  o.credentials[0].cert = {"not a pem", "Secret default/x tls.crt"};
  EXPECT_FALSE(ServerContext::create(o, &error));
  EXPECT_NE(error.find("Secret default/x tls.crt: no PEM certificate"), std::string::npos) << error;
  o = server_options(ClientAuth::Required);
  o.ca = {};
  EXPECT_FALSE(ServerContext::create(o, &error));
  o = server_options();
  o.protocol.cipher_list = "NOPE";
  EXPECT_FALSE(ServerContext::create(o, &error));
  EXPECT_NE(error.find("cipher suites"), std::string::npos) << error;
}

}  // namespace
}  // namespace infergate::tls
