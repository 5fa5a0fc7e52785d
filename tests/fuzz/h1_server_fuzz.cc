// libFuzzer target for the HTTP/1.1 server codec (gateway/http/h1_server_codec.h): request
// bytes cut into arbitrary socket reads, with drains in between, through the real codec and
// Beast parser: pipelining, chunked bodies, trailers, the smuggling vectors, limits. The
// handler answers early or late, chunked or not, with trailers, or resets (codec_harness.h).
// Besides no crash, leak or hang, it checks that no request reaches the proxy with both
// Transfer-Encoding and Content-Length, and that a closed connection takes no more bytes.
#include "gateway/http/h1_server_codec.h"

#include "metrics/registry.h"
#include "tests/fuzz/codec_harness.h"

using namespace infergate::gateway;
using namespace infergate::gateway::fuzz;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  // Byte 0: the handlers' behaviour; byte 1: the codec's limits.
  FuzzFactory factory(data[0]);
  H1ServerOptions opts;
  if (data[1] & 1) opts.max_header_bytes = 256;
  if (data[1] & 2) opts.max_headers_count = 4;
  if (data[1] & 4) opts.max_body_bytes = 64;
  if (data[1] & 8) opts.watermarks = Watermarks{64, 16};
  const bool drain_early = data[1] & 16;
  // One registry for the process: building the proxy's counters costs more than an input.
  static infergate::metrics::Registry registry{1};
  static ProxyStats stats{registry};
  FuzzIo io;
  {
    H1ServerCodec codec(io, factory, opts, "198.51.100.4", &stats);
    auto settle = [&] {
      for (int i = 0; i < 1000 && io.tick_wanted && !io.aborted; ++i) {
        io.tick_wanted = false;
        codec.on_tick();
      }
    };
    if (drain_early) codec.start_drain();
    Reads reads(data + 2, size - 2);
    while (reads.more() && !io.done()) {
      const std::string_view bytes = reads.next();
      if (bytes.empty()) {
        io.out.clear();
        codec.on_write_drained();
      } else if (!codec.on_read(bytes)) {
        io.close_after_write();  // what SocketConnection does with a false
      }
      settle();
    }
    if (!io.done()) {
      io.out.clear();
      codec.on_write_drained();
      settle();
    }
    codec.on_connection_closed();
    settle();
  }
  return 0;
}
