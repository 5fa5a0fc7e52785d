#include "gateway/proxy/header_policy.h"

#include "gateway/proxy/stream_state.h"
#include "tls/xfcc.h"

#include <array>

namespace infergate::gateway {

void strip_hop_by_hop(HeaderMap& headers, bool keep_te_trailers) {
  if (headers.get("connection")) {
    // Names listed in Connection are hop-by-hop too, in every Connection field: a
    // repeated field is one comma-separated list (RFC 9110 5.3).
    std::string list;
    for (const auto& h : headers)
      if (h.name == "connection") list.append(h.value).push_back(',');
    size_t start = 0;
    while (start < list.size()) {
      size_t end = list.find(',', start);
      if (end == std::string::npos) end = list.size();
      std::string token = list.substr(start, end - start);
      size_t b = token.find_first_not_of(" \t"), e = token.find_last_not_of(" \t");
      if (b != std::string::npos) {
        token = token.substr(b, e - b + 1);
        ascii_lower(token);
        if (token != "close" && token != "keep-alive") headers.remove(token);
      }
      start = end + 1;
    }
    headers.remove("connection");
  }
  static constexpr std::array<std::string_view, 4> kAlways = {"keep-alive", "proxy-connection", "transfer-encoding",
                                                              "upgrade"};
  for (auto name : kAlways) headers.remove(name);
  if (const std::string* te = headers.get("te")) {
    if (!keep_te_trailers || !iequals(*te, "trailers")) headers.remove("te");
  }
}

void append_forwarded_for(HeaderMap& headers, std::string_view peer_address) {
  if (peer_address.empty()) return;
  for (auto& h : headers) {
    if (h.name == "x-forwarded-for") {
      h.value.append(", ").append(peer_address);
      return;
    }
  }
  headers.add_lower("x-forwarded-for", peer_address);
}

namespace {

bool valid_request_id(std::string_view v) {
  if (v.empty() || v.size() > 128) return false;
  for (char c : v)
    if (c <= ' ' || c > '~') return false;
  return true;
}

}  // namespace

void ensure_request_id(HeaderMap& headers, WorkerContext& ctx) {
  if (const std::string* id = headers.get("x-request-id"); id && valid_request_id(*id)) return;
  uint64_t hi = ctx.random(), lo = ctx.random();
  hi = (hi & 0xFFFFFFFFFFFF0FFFull) | 0x0000000000004000ull;  // version 4
  lo = (lo & 0x3FFFFFFFFFFFFFFFull) | 0x8000000000000000ull;  // variant 10
  static constexpr char kHex[] = "0123456789abcdef";
  char out[36];
  int pos = 0;
  auto put = [&](uint64_t v, int nibbles) {
    for (int i = nibbles - 1; i >= 0; --i) out[pos++] = kHex[(v >> (i * 4)) & 0xF];
  };
  put(hi >> 32, 8);
  out[pos++] = '-';
  put((hi >> 16) & 0xFFFF, 4);
  out[pos++] = '-';
  put(hi & 0xFFFF, 4);
  out[pos++] = '-';
  put(lo >> 48, 4);
  out[pos++] = '-';
  put(lo & 0xFFFFFFFFFFFFull, 12);
  headers.set("x-request-id", std::string_view(out, sizeof(out)));
}

namespace {

bool trusts_model_header(const DownstreamInfo& downstream, const Snapshot* snapshot) {
  if (!snapshot || !downstream.tls || !downstream.tls->peer) return false;
  for (const std::string& p : snapshot->config->gateway.body_routing.trusted_model_header_principals)
    if (p == "*" || p == downstream.tls->peer->principal) return true;
  return false;
}

// Envoy's forward_client_cert_details: what the model server learns about the client's
// certificate, and never a header the client wrote itself unless the mode trusts it.
void apply_forward_client_cert(RequestHead& request, const DownstreamInfo& downstream, const Snapshot* snapshot) {
  if (!snapshot) return;
  const config::ForwardClientCertConfig& f = snapshot->config->gateway.forward_client_cert;
  static constexpr std::string_view kXfcc = "x-forwarded-client-cert";
  const std::string* incoming = request.headers.get(kXfcc);
  const tls::PeerCertificate* peer = downstream.tls ? downstream.tls->peer.get() : nullptr;
  if (!incoming && !peer) return;
  const tls::XfccFields fields{f.subject, f.cert, f.chain, f.dns, f.uri};
  tls::XfccMode mode = tls::XfccMode::Sanitize;
  switch (f.mode) {
    case config::ForwardClientCert::Sanitize: mode = tls::XfccMode::Sanitize; break;
    case config::ForwardClientCert::ForwardOnly: mode = tls::XfccMode::ForwardOnly; break;
    case config::ForwardClientCert::AppendForward: mode = tls::XfccMode::AppendForward; break;
    case config::ForwardClientCert::SanitizeSet: mode = tls::XfccMode::SanitizeSet; break;
    case config::ForwardClientCert::AlwaysForwardOnly: mode = tls::XfccMode::AlwaysForwardOnly; break;
  }
  std::optional<std::string_view> in;
  if (incoming) in = *incoming;
  std::optional<std::string> out =
      tls::forward_client_cert(mode, fields, in, peer, downstream.tls ? downstream.tls->local_uri : "");
  if (out) request.headers.set(kXfcc, *out);
  else request.headers.remove(kXfcc);
}

}  // namespace

void prepare_downstream_request(RequestHead& request, const DownstreamInfo& downstream, const Snapshot* snapshot,
                                WorkerContext& ctx) {
  strip_hop_by_hop(request.headers, /*keep_te_trailers=*/true);
  if (request.headers.get("x-gateway-model-name") && !trusts_model_header(downstream, snapshot))
    request.headers.remove("x-gateway-model-name");
  append_forwarded_for(request.headers, downstream.peer_address);
  request.headers.set("x-forwarded-proto", downstream.tls ? "https" : "http");
  apply_forward_client_cert(request, downstream, snapshot);
  ensure_request_id(request.headers, ctx);
  if (request.authority.empty()) {
    if (const std::string* host = request.headers.get("host")) request.authority = *host;
  }
  request.headers.remove("host");
}

}  // namespace infergate::gateway
