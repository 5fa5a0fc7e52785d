// HTTP/1.1 client codec for one upstream keep-alive connection: one request at a time.
//
// The connection is reusable only when both the request and the response ended
// cleanly with their framing known (no close-delimited body, no `connection: close`,
// no early reset), which is what keeps a pooled connection from carrying a stray byte
// into the next request.
#pragma once

#include <optional>
#include <string>

#include "gateway/http/codec.h"
#include "gateway/http/h1_request_parser.h"

namespace infergate::gateway {

struct H1ClientOptions {
  size_t max_header_bytes = 60 * 1024;
  size_t max_headers_count = 100;
};

class H1ClientCodec final : public ClientCodec, private UpstreamStream {
 public:
  H1ClientCodec(ConnectionIo& io, const H1ClientOptions& opts);

  bool on_read(std::string_view bytes) override;
  void on_write_drained() override;
  void on_tick() override;
  void on_connected() override;
  void on_connection_closed(ResetReason reason) override;
  UpstreamStream* new_stream(UpstreamCallbacks& callbacks) override;
  bool can_take_stream() const override { return !callbacks_ && reusable_ && !broken_; }
  size_t active_streams() const override { return callbacks_ ? 1 : 0; }
  bool reusable() const override { return reusable_ && !broken_; }
  bool protocol_failed() const override { return protocol_failed_; }

 private:
  // UpstreamStream
  void send_headers(const RequestHead& head, bool end_stream) override;
  void send_data(std::string_view data, bool end_stream) override;
  void send_trailers(const HeaderMap& trailers) override;
  void reset() override;
  size_t buffered_bytes() const override { return io_.write_buffered(); }
  void pause_response(bool paused) override;
  void release() override;

  bool parse();
  void fail(ResetReason reason);

  ConnectionIo& io_;
  H1ClientOptions opts_;
  UpstreamCallbacks* callbacks_ = nullptr;
  std::optional<H1ResponseParser> parser_;
  std::string input_;
  size_t consumed_ = 0;
  bool connected_ = false;
  bool ready_pending_ = false;
  bool chunked_request_ = false;
  bool request_complete_ = false;
  bool headers_delivered_ = false;
  bool response_complete_ = false;
  bool paused_ = false;
  bool head_request_ = false;
  bool reusable_ = true;
  bool broken_ = false;
  bool protocol_failed_ = false;
  bool in_parse_ = false;
};

}  // namespace infergate::gateway
