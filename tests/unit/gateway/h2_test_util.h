// HTTP/2 test plumbing: a client codec wired to a server codec in memory, and a
// raw-frame peer (frames built by hand, header blocks by nghttp2's HPACK encoder)
// for what a well-behaved client codec would never send.
#pragma once

#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gateway/http/h2_client_codec.h"
#include "gateway/http/h2_server_codec.h"
#include "codec_test_util.h"

namespace infergate::gateway::testing {

// H2ClientCodec <-> H2ServerCodec over a Wire. The client is "connected" from the
// start, so its preface and SETTINGS go out on the first pump.
class H2Pair {
 public:
  explicit H2Pair(H2ClientOptions copts = {}, H2ServerOptions sopts = {}) {
    copts.stats_sink = &client_sink;
    sopts.stats_sink = &server_sink;
    client = std::make_unique<H2ClientCodec>(ce.io, copts);
    server = std::make_unique<H2ServerCodec>(se.io, factory, sopts, "192.0.2.7");
    ce.read = [this](std::string_view b) { return client->on_read(b); };
    ce.tick = [this] { client->on_tick(); };
    ce.drained = [this] { client->on_write_drained(); };
    ce.closed = [this] { client->on_connection_closed(ResetReason::ConnectionTermination); };
    se.read = [this](std::string_view b) { return server->on_read(b); };
    se.tick = [this] { server->on_tick(); };
    se.drained = [this] { server->on_write_drained(); };
    se.closed = [this] { server->on_connection_closed(); };
    client->on_connected();
  }

  // Opens a stream for `request`; it is sent once the codec reports ready (next pump).
  ClientCall& start(RequestHead request, std::string body = {},
                    std::optional<HeaderMap> trailers = std::nullopt) {
    calls.push_back(std::make_unique<ClientCall>());
    ClientCall& c = *calls.back();
    c.request = std::move(request);
    c.request_body = std::move(body);
    c.request_trailers = std::move(trailers);
    c.stream = client->new_stream(c);
    EXPECT_NE(c.stream, nullptr) << "client codec refused a stream";
    return c;
  }

  int pump() { return wire.pump(); }

  H2ClientStats client_sink;
  H2ServerStats server_sink;
  TestFactory factory;
  std::vector<std::unique_ptr<ClientCall>> calls;
  Endpoint ce;
  Endpoint se;
  Wire wire{ce, se};
  std::unique_ptr<H2ServerCodec> server;
  std::unique_ptr<H2ClientCodec> client;
};

namespace raw {

inline constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

enum FrameType : uint8_t {
  DATA = 0x0,
  HEADERS = 0x1,
  PRIORITY = 0x2,
  RST_STREAM = 0x3,
  SETTINGS = 0x4,
  PUSH_PROMISE = 0x5,
  PING = 0x6,
  GOAWAY = 0x7,
  WINDOW_UPDATE = 0x8,
  CONTINUATION = 0x9,
};

enum Flags : uint8_t {
  END_STREAM = 0x1,
  ACK = 0x1,
  END_HEADERS = 0x4,
};

inline std::string u32(uint32_t v) {
  std::string s(4, '\0');
  for (int i = 0; i < 4; ++i) s[static_cast<size_t>(i)] = static_cast<char>((v >> (24 - 8 * i)) & 0xff);
  return s;
}

inline uint32_t get_u32(std::string_view s, size_t at) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(s[at + i]);
  return v;
}

inline std::string frame(uint8_t type, uint8_t flags, uint32_t stream, std::string_view payload) {
  std::string f;
  size_t n = payload.size();
  f.push_back(static_cast<char>((n >> 16) & 0xff));
  f.push_back(static_cast<char>((n >> 8) & 0xff));
  f.push_back(static_cast<char>(n & 0xff));
  f.push_back(static_cast<char>(type));
  f.push_back(static_cast<char>(flags));
  f.append(u32(stream & 0x7fffffffu));
  f.append(payload);
  return f;
}

inline std::string rst_stream(uint32_t stream, uint32_t code) { return frame(RST_STREAM, 0, stream, u32(code)); }

struct Frame {
  uint8_t type = 0;
  uint8_t flags = 0;
  uint32_t stream = 0;
  std::string payload;

  // RST_STREAM and GOAWAY error codes; GOAWAY's last stream id.
  uint32_t error_code() const {
    if (type == RST_STREAM && payload.size() >= 4) return get_u32(payload, 0);
    if (type == GOAWAY && payload.size() >= 8) return get_u32(payload, 4);
    return 0xffffffffu;
  }
  uint32_t last_stream_id() const { return payload.size() >= 4 ? get_u32(payload, 0) & 0x7fffffffu : 0; }
};

// Splits a byte stream of whole frames; a torn trailing frame is a test failure.
inline std::vector<Frame> parse(std::string_view bytes) {
  std::vector<Frame> out;
  size_t i = 0;
  while (i + 9 <= bytes.size()) {
    size_t n = (size_t{static_cast<uint8_t>(bytes[i])} << 16) | (size_t{static_cast<uint8_t>(bytes[i + 1])} << 8) |
               size_t{static_cast<uint8_t>(bytes[i + 2])};
    if (i + 9 + n > bytes.size()) break;
    Frame f;
    f.type = static_cast<uint8_t>(bytes[i + 3]);
    f.flags = static_cast<uint8_t>(bytes[i + 4]);
    f.stream = get_u32(bytes, i + 5) & 0x7fffffffu;
    f.payload.assign(bytes.substr(i + 9, n));
    out.push_back(std::move(f));
    i += 9 + n;
  }
  EXPECT_EQ(i, bytes.size()) << "output ends in a partial frame";
  return out;
}

using Fields = std::vector<std::pair<std::string, std::string>>;

// HPACK through nghttp2's own deflater/inflater, so the blocks are valid by
// construction and only the framing around them is hand-made.
class Encoder {
 public:
  Encoder() { nghttp2_hd_deflate_new(&d_, 4096); }
  ~Encoder() { nghttp2_hd_deflate_del(d_); }
  Encoder(const Encoder&) = delete;
  Encoder& operator=(const Encoder&) = delete;

  std::string encode(const Fields& fields) {
    std::vector<nghttp2_nv> nva;
    for (const auto& [n, v] : fields) {
      nghttp2_nv nv;
      nv.name = reinterpret_cast<uint8_t*>(const_cast<char*>(n.data()));
      nv.namelen = n.size();
      nv.value = reinterpret_cast<uint8_t*>(const_cast<char*>(v.data()));
      nv.valuelen = v.size();
      nv.flags = NGHTTP2_NV_FLAG_NONE;
      nva.push_back(nv);
    }
    std::string out(nghttp2_hd_deflate_bound(d_, nva.data(), nva.size()), '\0');
    ssize_t n = nghttp2_hd_deflate_hd(d_, reinterpret_cast<uint8_t*>(out.data()), out.size(), nva.data(),
                                      nva.size());
    EXPECT_GE(n, 0);
    out.resize(n < 0 ? 0 : static_cast<size_t>(n));
    return out;
  }

 private:
  nghttp2_hd_deflater* d_ = nullptr;
};

class Decoder {
 public:
  Decoder() { nghttp2_hd_inflate_new(&i_); }
  ~Decoder() { nghttp2_hd_inflate_del(i_); }
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  Fields decode(std::string_view block) {
    Fields out;
    auto* in = reinterpret_cast<const uint8_t*>(block.data());
    size_t left = block.size();
    for (;;) {
      nghttp2_nv nv;
      int flags = 0;
      ssize_t n = nghttp2_hd_inflate_hd2(i_, &nv, &flags, in, left, 1);
      if (n < 0) {
        ADD_FAILURE() << "bad header block from the codec";
        return out;
      }
      in += n;
      left -= static_cast<size_t>(n);
      if (flags & NGHTTP2_HD_INFLATE_EMIT) {
        out.emplace_back(std::string(reinterpret_cast<char*>(nv.name), nv.namelen),
                         std::string(reinterpret_cast<char*>(nv.value), nv.valuelen));
      }
      if (flags & NGHTTP2_HD_INFLATE_FINAL) {
        nghttp2_hd_inflate_end_headers(i_);
        break;
      }
      if ((flags & NGHTTP2_HD_INFLATE_EMIT) == 0 && left == 0) break;
    }
    return out;
  }

 private:
  nghttp2_hd_inflater* i_ = nullptr;
};

inline Fields request_fields(std::string path, Fields extra = {}) {
  Fields f{{":method", "GET"}, {":scheme", "http"}, {":authority", "gw.example"}, {":path", std::move(path)}};
  for (auto& e : extra) f.push_back(std::move(e));
  return f;
}

}  // namespace raw

// A server codec driven by hand-made frames: the test is the client.
class RawH2Server {
 public:
  explicit RawH2Server(H2ServerOptions opts = {}) {
    opts.stats_sink = &sink;
    server = std::make_unique<H2ServerCodec>(io, factory, opts, "192.0.2.9");
  }

  // Feeds bytes; false once the codec wants the connection closed.
  bool send(std::string_view bytes) {
    bool ok = server->on_read(bytes);
    if (!ok) read_failed = true;
    settle();
    return ok;
  }

  // Runs the ticks the codec asked for.
  void settle() {
    for (int i = 0; i < 10000 && io.tick_wanted; ++i) {
      io.tick_wanted = false;
      server->on_tick();
    }
  }

  // Frames the server wrote since the last call (also kept in `seen`).
  std::vector<raw::Frame> frames() {
    std::vector<raw::Frame> f = raw::parse(io.take());
    server->on_write_drained();
    settle();
    std::vector<raw::Frame> more = raw::parse(io.take());
    f.insert(f.end(), more.begin(), more.end());
    seen.insert(seen.end(), f.begin(), f.end());
    return f;
  }

  // Preface, empty SETTINGS, and the ACK of the server's SETTINGS.
  void handshake() {
    ASSERT_TRUE(send(std::string(raw::kPreface) + raw::frame(raw::SETTINGS, 0, 0, "")));
    auto f = frames();
    ASSERT_FALSE(f.empty());
    EXPECT_EQ(f.front().type, raw::SETTINGS);
    ASSERT_TRUE(send(raw::frame(raw::SETTINGS, raw::ACK, 0, "")));
    frames();
  }

  std::string headers(uint32_t stream, const raw::Fields& fields, uint8_t flags = raw::END_HEADERS | raw::END_STREAM) {
    return raw::frame(raw::HEADERS, flags, stream, enc.encode(fields));
  }

  const raw::Frame* find_seen(uint8_t type, uint32_t stream = 0xffffffffu) const {
    for (const auto& f : seen)
      if (f.type == type && (stream == 0xffffffffu || f.stream == stream)) return &f;
    return nullptr;
  }

  H2ServerStats sink;
  TestFactory factory;
  FakeIo io;
  raw::Encoder enc;
  raw::Decoder dec;
  std::vector<raw::Frame> seen;
  bool read_failed = false;
  std::unique_ptr<H2ServerCodec> server;
};

}  // namespace infergate::gateway::testing
