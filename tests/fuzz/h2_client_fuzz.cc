// libFuzzer target for the HTTP/2 client codec (gateway/http/h2_client_codec.h): a few
// requests opened on an upstream connection, and the input as the server's bytes (its
// SETTINGS, HEADERS/CONTINUATION with HPACK, DATA, trailers, RST_STREAM, GOAWAY, PUSH_PROMISE,
// window updates), cut into arbitrary reads. Checks that callbacks come in order and that
// every stream ends (response or reset) once the connection closes.
#include "gateway/http/h2_client_codec.h"

#include <vector>

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
    h.method = "POST";
    h.path = "/v1/chat/completions";
    h.authority = "upstream";
    h.headers.add_lower("content-type", "application/json");
    const bool body = b & 2;
    stream->send_headers(h, !body);
    if (body && stream) stream->send_data("{\"model\":\"m\"}", !(b & 8));
    if (body && (b & 8) && stream) {
      HeaderMap t;
      t.add_lower("x-trailer", "1");
      stream->send_trailers(t);
    }
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  H2ClientOptions opts;
  if (data[1] & 1) opts.max_concurrent_streams = 2;
  if (data[1] & 2) opts.initial_stream_window = 64;
  if (data[1] & 4) opts.max_header_list_bytes = 256, opts.max_headers_count = 4;
  const size_t streams = 1 + (data[1] >> 5);
  FuzzIo io;
  std::vector<std::unique_ptr<Call>> calls;
  {
    H2ClientCodec codec(io, opts);
    auto settle = [&] {
      for (int i = 0; i < 1000 && io.tick_wanted && !io.aborted; ++i) {
        io.tick_wanted = false;
        codec.on_tick();
      }
    };
    auto open = [&] {
      while (calls.size() < streams && codec.can_take_stream()) {
        calls.push_back(std::make_unique<Call>(static_cast<uint8_t>(data[0] + calls.size())));
        calls.back()->stream = codec.new_stream(*calls.back());
        if (!calls.back()->stream) {
          calls.pop_back();
          break;
        }
      }
    };
    open();
    codec.on_connected();
    settle();
    Reads reads(data + 2, size - 2);
    bool up = true;
    while (up && reads.more() && !io.done()) {
      const std::string_view bytes = reads.next();
      if (bytes.empty()) {
        io.out.clear();
        codec.on_write_drained();
        open();
      } else if (!codec.on_read(bytes)) {
        up = false;
        io.close_after_write();
      }
      settle();
    }
    codec.on_connection_closed(ResetReason::ConnectionTermination);
    settle();
  }
  for (const auto& c : calls) check(c->ended);
  return 0;
}
