// HTTP/1.1 test plumbing: a server codec fed raw bytes, and a parser that reads
// back what it wrote (with the gateway's own Beast-based response parser).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "codec_test_util.h"
#include "gateway/http/h1_request_parser.h"
#include "gateway/http/h1_server_codec.h"
#include "gateway/proxy/proxy_stats.h"
#include "metrics/registry.h"

namespace infergate::gateway::testing {

struct ParsedResponse {
  int status = 0;
  HeaderMap headers;
  std::string body;
  HeaderMap trailers;
  bool has_trailers = false;
  bool chunked = false;
};

// Splits `bytes` into complete responses. `head_flags[i]` says whether response i
// answers a HEAD request (no body follows its head). A body delimited by the end of
// the connection is taken to end where the bytes do when `eof` is set. Returns
// whatever parsed; `rest` receives unparsed bytes.
inline std::vector<ParsedResponse> parse_responses(std::string_view bytes, std::vector<bool> head_flags = {},
                                                   bool eof = false, std::string* rest = nullptr) {
  std::vector<ParsedResponse> out;
  while (!bytes.empty()) {
    H1ResponseParser p(1 << 20, 1000, 0);
    ParsedResponse r;
    p.sink.on_body = [&](std::string_view b) { r.body.append(b); };
    if (out.size() < head_flags.size() && head_flags[out.size()]) p.skip(true);
    boost::beast::error_code ec;
    size_t used = p.feed(bytes, ec);
    if (ec) {
      ADD_FAILURE() << "unparseable response: " << ec.message() << " in: " << std::string(bytes.substr(0, 200));
      break;
    }
    if (!p.is_header_done()) break;
    p.eager(true);
    while (!p.is_done() && used < bytes.size()) {
      size_t n = p.feed(bytes.substr(used), ec);
      if (ec) {
        ADD_FAILURE() << "unparseable response body: " << ec.message();
        return out;
      }
      used += n;
      if (n == 0) break;
    }
    if (!p.is_done() && eof && p.need_eof()) {
      p.put_eof(ec);
      EXPECT_FALSE(ec);
    }
    if (!p.is_done()) break;
    r.status = p.response.status;
    r.headers = std::move(p.response.headers);
    r.chunked = p.chunked();
    r.has_trailers = p.has_trailers;
    r.trailers = std::move(p.trailers);
    out.push_back(std::move(r));
    bytes.remove_prefix(used);
  }
  if (rest) rest->assign(bytes);
  return out;
}

// An H1ServerCodec driven with raw request bytes; runs the ticks it asks for.
class H1Server {
 public:
  explicit H1Server(H1ServerOptions opts = {})
      : codec(io, factory, opts, "198.51.100.4", &stats) {}

  bool send(std::string_view bytes) {
    bool ok = codec.on_read(bytes);
    if (!ok) {
      read_failed = true;
      io.close_after_write();  // what SocketConnection does with a false
    }
    settle();
    return ok;
  }

  void settle() {
    for (int i = 0; i < 10000 && io.tick_wanted && !io.aborted; ++i) {
      io.tick_wanted = false;
      codec.on_tick();
    }
  }

  // Everything written so far (and forgotten here), as the socket would take it.
  std::string take() {
    std::string s = io.take();
    if (!s.empty() && !io.aborted) {
      codec.on_write_drained();
      settle();
    }
    return s;
  }

  uint64_t rejected(RejectReason r) const { return stats.rejected[static_cast<size_t>(r)].value(); }

  metrics::Registry registry{1};
  ProxyStats stats{registry};
  TestFactory factory;
  FakeIo io;
  bool read_failed = false;
  H1ServerCodec codec;
};

}  // namespace infergate::gateway::testing
