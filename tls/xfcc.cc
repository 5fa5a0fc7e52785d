#include "tls/xfcc.h"

namespace infergate::tls {

namespace {

// Envoy URL-encodes the PEM of Cert= and Chain= (RFC 3986 unreserved characters stay).
void append_url_encoded(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
        c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
}

// Subject= is quoted; a quote inside it is escaped as Envoy does.
void append_quoted(std::string& out, std::string_view s) {
  out.push_back('"');
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
}

}  // namespace

std::string xfcc_element(const PeerCertificate& peer, std::string_view by, const XfccFields& fields) {
  std::string e;
  if (!by.empty()) {
    e += "By=";
    e += by;
    e += ';';
  }
  e += "Hash=";
  e += peer.sha256_hex;
  if (fields.cert) {
    e += ";Cert=\"";
    append_url_encoded(e, peer.pem);
    e += '"';
  }
  if (fields.chain) {
    e += ";Chain=\"";
    append_url_encoded(e, peer.chain_pem);
    e += '"';
  }
  if (fields.subject) {
    e += ";Subject=";
    append_quoted(e, peer.subject);
  }
  if (fields.uri && !peer.uris.empty()) {
    e += ";URI=";
    e += peer.uris.front();
  }
  if (fields.dns) {
    for (const auto& d : peer.dns) {
      e += ";DNS=";
      e += d;
    }
  }
  return e;
}

std::optional<std::string> forward_client_cert(XfccMode mode, const XfccFields& fields,
                                               std::optional<std::string_view> incoming,
                                               const PeerCertificate* peer, std::string_view by) {
  if (mode == XfccMode::AlwaysForwardOnly) {
    if (incoming) return std::string(*incoming);
    return std::nullopt;
  }
  // Every other mode trusts nothing from a client that did not present a certificate.
  if (!peer || mode == XfccMode::Sanitize) return std::nullopt;
  switch (mode) {
    case XfccMode::ForwardOnly:
      if (incoming) return std::string(*incoming);
      return std::nullopt;
    case XfccMode::AppendForward: {
      std::string out = incoming && !incoming->empty() ? std::string(*incoming) + "," : std::string();
      out += xfcc_element(*peer, by, fields);
      return out;
    }
    case XfccMode::SanitizeSet: return xfcc_element(*peer, by, fields);
    default: return std::nullopt;
  }
}

}  // namespace infergate::tls
