// SPIFFE identities and x-forwarded-client-cert, as Istio and Envoy write them.
#include <gtest/gtest.h>

#include "tls/peer_certificate.h"
#include "tls/xfcc.h"

namespace infergate::tls {
namespace {

TEST(Spiffe, IstioWorkloadIdsBecomePrincipals) {
  auto id = parse_spiffe("spiffe://cluster.local/ns/frontend/sa/chat-ui");
  ASSERT_TRUE(id);
  EXPECT_EQ(id->trust_domain, "cluster.local");
  EXPECT_EQ(id->ns, "frontend");
  EXPECT_EQ(id->sa, "chat-ui");
  EXPECT_EQ(id->principal(), "cluster.local/ns/frontend/sa/chat-ui");
}

TEST(Spiffe, AnythingElseIsNoIdentity) {
  for (const char* uri : {"https://cluster.local/ns/a/sa/b", "spiffe://cluster.local/ns/a", "spiffe:///ns/a/sa/b",
                          "spiffe://td/ns//sa/b", "spiffe://td/ns/a/sa/", "spiffe://td/ns/a/sa/b/c", "spiffe://td/x/a/sa/b"})
    EXPECT_FALSE(parse_spiffe(uri)) << uri;
}

PeerCertificate peer() {
  PeerCertificate p;
  p.principal = "cluster.local/ns/frontend/sa/chat-ui";
  p.sha256_hex = "ab12";
  p.subject = "CN=chat-ui,O=\"Acme, Inc\"";
  p.uris = {"spiffe://cluster.local/ns/frontend/sa/chat-ui"};
  p.dns = {"a.example.com", "b.example.com"};
  p.pem = "-----BEGIN CERTIFICATE-----\nAB+/=\n-----END CERTIFICATE-----\n";
  p.chain_pem = p.pem;
  return p;
}

TEST(Xfcc, ElementInEnvoysOrder) {
  XfccFields all{true, true, true, true, true};
  const std::string e = xfcc_element(peer(), "spiffe://cluster.local/ns/istio-system/sa/gw", all);
  EXPECT_EQ(e.find("By=spiffe://cluster.local/ns/istio-system/sa/gw;Hash=ab12;Cert=\"-----BEGIN%20CERTIFICATE"), 0u)
      << e;
  EXPECT_NE(e.find("AB%2B%2F%3D"), std::string::npos) << e;
  EXPECT_NE(e.find(";Subject=\"CN=chat-ui,O=\\\"Acme, Inc\\\"\";URI=spiffe://cluster.local/ns/frontend/sa/chat-ui;"
                   "DNS=a.example.com;DNS=b.example.com"),
            std::string::npos)
      << e;
  XfccFields minimal{false, false, false, false, false};
  EXPECT_EQ(xfcc_element(peer(), "", minimal), "Hash=ab12");
}

TEST(Xfcc, ModesFollowEnvoy) {
  const XfccFields f{};
  const PeerCertificate p = peer();
  const std::string mine = xfcc_element(p, "", f);
  // SANITIZE never forwards.
  EXPECT_FALSE(forward_client_cert(XfccMode::Sanitize, f, "Hash=evil", &p, ""));
  // FORWARD_ONLY forwards the client's header only over mTLS.
  EXPECT_EQ(*forward_client_cert(XfccMode::ForwardOnly, f, "Hash=x", &p, ""), "Hash=x");
  EXPECT_FALSE(forward_client_cert(XfccMode::ForwardOnly, f, "Hash=x", nullptr, ""));
  // APPEND_FORWARD appends our element to the client's.
  EXPECT_EQ(*forward_client_cert(XfccMode::AppendForward, f, "Hash=x", &p, ""), "Hash=x," + mine);
  EXPECT_EQ(*forward_client_cert(XfccMode::AppendForward, f, std::nullopt, &p, ""), mine);
  EXPECT_FALSE(forward_client_cert(XfccMode::AppendForward, f, "Hash=x", nullptr, ""));
  // SANITIZE_SET replaces it.
  EXPECT_EQ(*forward_client_cert(XfccMode::SanitizeSet, f, "Hash=evil", &p, ""), mine);
  EXPECT_FALSE(forward_client_cert(XfccMode::SanitizeSet, f, "Hash=evil", nullptr, ""));
  // ALWAYS_FORWARD_ONLY forwards whatever came, even over plaintext.
  EXPECT_EQ(*forward_client_cert(XfccMode::AlwaysForwardOnly, f, "Hash=x", nullptr, ""), "Hash=x");
  EXPECT_FALSE(forward_client_cert(XfccMode::AlwaysForwardOnly, f, std::nullopt, &p, ""));
}

}  // namespace
}  // namespace infergate::tls
