// libFuzzer target for the HTTP/1.1 client codec (gateway/http/h1_client_codec.h): one or
// more requests sent upstream, and the fuzz input as the upstream's response bytes, cut into
// arbitrary reads: status lines, 1xx, chunked and length-delimited bodies, trailers, bodies
// to EOF, HEAD responses, garbage. Checks that the router's callbacks come in order (headers
// before data, nothing after the end or a reset) besides no crash, leak or hang.
#include "gateway/http/h1_client_codec.h"

#include "tests/fuzz/codec_harness.h"

using namespace infergate;
using namespace infergate::gateway;
using namespace infergate::gateway::fuzz;

namespace {

struct Call final : FuzzCall {
  using FuzzCall::FuzzCall;
  void on_upstream_ready() override {
    check(stream != nullptr && !ended);
    RequestHead h;
    h.method = (b & 1) ? "HEAD" : "POST";
    h.path = "/v1/completions";
    h.authority = "upstream";
    const bool body = !(b & 1) && (b & 2);
    if (body) h.headers.add_lower("content-length", "2");
    stream->send_headers(h, !body);
    if (body && stream) stream->send_data("{}", true);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  H1ClientOptions opts;
  if (data[1] & 1) opts.max_header_bytes = 256;
  if (data[1] & 2) opts.max_headers_count = 4;
  FuzzIo io;
  std::vector<std::unique_ptr<Call>> calls;
  {
    H1ClientCodec codec(io, opts);
    auto settle = [&] {
      for (int i = 0; i < 1000 && io.tick_wanted && !io.aborted; ++i) {
        io.tick_wanted = false;
        codec.on_tick();
      }
    };
    auto open = [&] {
      if (!codec.can_take_stream() || calls.size() >= 8) return;
      calls.push_back(std::make_unique<Call>(static_cast<uint8_t>(data[0] + calls.size())));
      calls.back()->stream = codec.new_stream(*calls.back());
      if (!calls.back()->stream) calls.pop_back();
    };
    open();
    codec.on_connected();
    settle();
    Reads reads(data + 2, size - 2);
    while (reads.more() && !io.done()) {
      const std::string_view bytes = reads.next();
      if (bytes.empty()) {
        io.out.clear();
        codec.on_write_drained();
        open();  // a keep-alive connection takes the next request
      } else if (!codec.on_read(bytes)) {
        io.close_after_write();
      }
      settle();
    }
    codec.on_connection_closed(ResetReason::ConnectionTermination);
    settle();
  }
  for (const auto& c : calls) check(c->ended);  // every stream got its end or its reset
  return 0;
}
