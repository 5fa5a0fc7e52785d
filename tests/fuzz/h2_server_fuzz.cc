// libFuzzer target for the HTTP/2 server codec (gateway/http/h2_server_codec.h, nghttp2 under
// it): after the client preface and, unless the first byte says otherwise, an empty SETTINGS
// frame, the input is frames cut into arbitrary socket reads with drains in between: HEADERS
// with HPACK, CONTINUATION, DATA against the flow-control windows, RST_STREAM floods,
// PRIORITY, WINDOW_UPDATE, GOAWAY, PING. Handlers answer early or late, with trailers, or
// reset (codec_harness.h). No crash, leak, hang, or request head with both Transfer-Encoding
// and Content-Length.
#include "gateway/http/h2_server_codec.h"

#include "tests/fuzz/codec_harness.h"

using namespace infergate::gateway;
using namespace infergate::gateway::fuzz;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  FuzzFactory factory(data[0]);
  H2ServerOptions opts;
  if (data[1] & 1) opts.max_concurrent_streams = 2;
  if (data[1] & 2) opts.initial_stream_window = 64;
  if (data[1] & 4) opts.max_header_list_bytes = 256, opts.max_headers_count = 4;
  if (data[1] & 8) opts.reset_burst = 4, opts.reset_rate_per_s = 1;
  if (data[1] & 16) opts.connection_write_high = 64;
  const bool send_settings = !(data[1] & 32);
  const bool drain = data[1] & 64;
  FuzzIo io;
  {
    H2ServerCodec codec(io, factory, opts, "198.51.100.4");
    auto settle = [&] {
      for (int i = 0; i < 1000 && io.tick_wanted && !io.aborted; ++i) {
        io.tick_wanted = false;
        codec.on_tick();
      }
    };
    std::string preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    if (send_settings) preface.append("\x00\x00\x00\x04\x00\x00\x00\x00\x00", 9);
    bool open = codec.on_read(preface);
    settle();
    Reads reads(data + 2, size - 2);
    size_t n = 0;
    while (open && reads.more() && !io.done()) {
      const std::string_view bytes = reads.next();
      if (bytes.empty()) {
        io.out.clear();
        codec.on_write_drained();
      } else if (!codec.on_read(bytes)) {
        open = false;
        io.close_after_write();
      }
      if (drain && ++n == 3) codec.start_drain();
      settle();
    }
    if (drain) codec.finish_drain();
    settle();
    codec.on_connection_closed();
    settle();
  }
  return 0;
}
