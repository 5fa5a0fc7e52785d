// HTTP/1.1 server codec: Beast's incremental parser in, hand-framed responses out.
//
// One request at a time per connection: pipelined requests wait, unparsed, in the
// input buffer until the response before them is complete, which answers them in
// order without buffering responses. Request smuggling vectors are refused before a
// request reaches the ActiveStream (see h1_request_parser.h).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "gateway/http/codec.h"
#include "gateway/http/h1_request_parser.h"
#include "gateway/proxy/proxy_stats.h"

namespace infergate::gateway {

struct H1ServerOptions {
  size_t max_header_bytes = 60 * 1024;  // Envoy's max_request_headers_kb default
  size_t max_headers_count = 100;       // Envoy's max_headers_count default
  uint64_t max_body_bytes = 0;          // 0 = unlimited
  Watermarks watermarks;
};

class H1ServerCodec final : public ServerCodec, private DownstreamStream {
 public:
  H1ServerCodec(ConnectionIo& io, StreamHandlerFactory& factory, const H1ServerOptions& opts,
                std::string peer_address, ProxyStats* stats);
  ~H1ServerCodec() override;

  bool on_read(std::string_view bytes) override;
  void on_write_drained() override;
  void on_tick() override;
  void on_connection_closed() override;
  void start_drain() override;
  bool idle() const override { return !handler_ && buffered().size() == consumed_; }
  // A head is partly in: bytes wait unparsed, or the parser took some (Beast consumes a
  // complete start line on its own) and has not delivered the head yet.
  bool awaiting_request_headers() const override {
    return !closed_ && !handler_ && ((parser_ && !headers_delivered_) || buffered().size() > consumed_);
  }
  void on_request_headers_timeout() override;
  size_t active_streams() const override { return handler_ ? 1 : 0; }

 private:
  // DownstreamStream
  void send_headers(ResponseHead&& head, bool end_stream) override;
  void send_data(std::string_view data, bool end_stream) override;
  void send_trailers(HeaderMap&& trailers) override;
  void reset() override;
  size_t buffered_bytes() const override { return io_.write_buffered(); }
  void pause_request_body(bool paused) override;
  void finish() override;
  const std::string& peer_address() const override { return peer_; }
  HttpVersion version() const override { return request_version_; }

  // Parses what the input buffer holds, as far as the current state allows.
  bool process();
  bool start_request();
  void local_error(int status, std::string_view body);
  // A text/plain answer with Connection: close, then the connection closes after it.
  void reply_and_close(int status, std::string_view text);
  void end_response();
  void maybe_complete();
  void compact_input();
  // What is being parsed: the bytes of the current read themselves while nothing was left
  // over from an earlier one (no copy), else input_.
  std::string_view buffered() const { return borrowing_ ? borrowed_ : std::string_view(input_); }

  ConnectionIo& io_;
  StreamHandlerFactory& factory_;
  H1ServerOptions opts_;
  std::string peer_;
  ProxyStats* stats_;

  std::string input_;
  std::string_view borrowed_;  // the read being parsed in place (valid during on_read only)
  bool borrowing_ = false;
  size_t consumed_ = 0;        // of buffered()
  std::optional<H1RequestParser> parser_;
  std::unique_ptr<StreamHandler> handler_;
  std::unique_ptr<StreamHandler> retired_;  // destroyed on the next tick, never in its own callback

  HttpVersion request_version_ = HttpVersion::Http11;
  bool headers_delivered_ = false;
  bool request_complete_ = false;
  bool response_started_ = false;
  bool response_complete_ = false;
  bool handler_finished_ = false;
  bool request_paused_ = false;
  bool chunked_response_ = false;
  bool close_after_response_ = false;
  bool head_request_ = false;
  bool draining_ = false;
  bool closed_ = false;
  bool in_dispatch_ = false;
  // The exchange finished from inside a body callback, before the parser could say whether
  // the body ended with the bytes it was given: decided when the parser returns.
  bool awaiting_body_end_ = false;
};

}  // namespace infergate::gateway
