// libFuzzer target for the SPIFFE/XFCC code (tls/peer_certificate.h, tls/xfcc.h): the input is
// three parts split on the first two 0xFF bytes: a SAN URI for parse_spiffe, a client
// certificate in DER for describe_certificate, and the client's x-forwarded-client-cert
// header for forward_client_cert in every mode. Checks: a SPIFFE ID that parses prints back
// as its principal, no part of it empty or holding '/'; the header the gateway forwards is
// the client's unchanged, ours alone, or the client's followed by "," and ours.
#include <openssl/x509.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "tls/peer_certificate.h"
#include "tls/xfcc.h"

using namespace infergate::tls;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

std::string_view take_part(std::string_view& rest) {
  const size_t cut = rest.find('\xff');
  const std::string_view part = rest.substr(0, cut);
  rest = cut == std::string_view::npos ? std::string_view() : rest.substr(cut + 1);
  return part;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t flags = data[0];
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::string_view uri = take_part(rest);
  const std::string_view der = take_part(rest);
  const std::string_view incoming = rest;

  if (auto id = parse_spiffe(uri)) {
    check(!id->trust_domain.empty() && !id->ns.empty() && !id->sa.empty());
    check(id->ns.find('/') == std::string::npos && id->sa.find('/') == std::string::npos);
    check("spiffe://" + id->principal() == uri);
  }

  PeerCertificate peer;
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  if (X509* cert = d2i_X509(nullptr, &p, static_cast<long>(der.size()))) {
    peer = describe_certificate(cert, nullptr);
    X509_free(cert);
  } else {
    peer.sha256_hex = "00";
    peer.uris.emplace_back(uri);
    peer.subject = std::string(incoming.substr(0, 32));
  }
  XfccFields fields;
  fields.subject = flags & 1;
  fields.cert = flags & 2;
  fields.chain = flags & 4;
  fields.dns = flags & 8;
  fields.uri = flags & 16;
  const std::string ours = xfcc_element(peer, "spiffe://cluster.local/ns/gw/sa/gw", fields);
  for (XfccMode mode : {XfccMode::Sanitize, XfccMode::ForwardOnly, XfccMode::AppendForward, XfccMode::SanitizeSet,
                        XfccMode::AlwaysForwardOnly}) {
    const auto out = forward_client_cert(mode, fields, (flags & 32) ? std::optional(incoming) : std::nullopt,
                                         (flags & 64) ? &peer : nullptr, "spiffe://cluster.local/ns/gw/sa/gw");
    if (!out) continue;
    const bool client_only = (flags & 32) && *out == incoming;
    const bool ours_only = *out == ours;
    const bool appended = (flags & 32) && !incoming.empty() && *out == std::string(incoming) + "," + ours;
    check(client_only || ours_only || appended);
  }
  return 0;
}
