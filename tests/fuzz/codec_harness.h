// What the HTTP codec fuzz targets share: a ConnectionIo that keeps what the codec writes
// (as tests/unit/gateway's FakeIo, without GoogleTest), a reader that cuts the fuzz input
// into socket reads, and handlers that answer the way an ActiveStream or a router would.
// Single-threaded and deterministic, so a crash input replays exactly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "gateway/http/codec.h"
#include "gateway/http/stream.h"

namespace infergate::gateway::fuzz {

inline void check(bool ok) {
  if (!ok) std::abort();
}

class FuzzIo final : public ConnectionIo {
 public:
  void write(std::string_view bytes) override {
    if (closing || aborted) return;
    written += bytes.size();
    out.append(bytes);
    if (out.size() > (1u << 20)) out.clear();  // the socket took it
    tick_wanted = true;
  }
  size_t write_buffered() const override { return out.size(); }
  void pause_reading(bool paused) override { read_paused = paused; }
  void close_after_write() override {
    closing = true;
    tick_wanted = true;
  }
  void abort() override {
    aborted = true;
    out.clear();
  }
  void schedule_flush() override { tick_wanted = true; }
  bool done() const { return closing || aborted; }

  std::string out;
  size_t written = 0;
  bool read_paused = false;
  bool closing = false;
  bool aborted = false;
  bool tick_wanted = false;
};

// The fuzz input as a sequence of socket reads: each read is [len byte][len bytes]; a zero
// length means "the socket drained what we wrote" instead of a read. Cutting the bytes at
// arbitrary places is what exercises the codecs' incremental parsers.
class Reads {
 public:
  Reads(const uint8_t* data, size_t size) : p_(data), end_(data + size) {}
  bool more() const { return p_ < end_; }
  // The next read; empty for a drain.
  std::string_view next() {
    const size_t want = *p_++;
    const size_t n = want < static_cast<size_t>(end_ - p_) ? want : static_cast<size_t>(end_ - p_);
    std::string_view s(reinterpret_cast<const char*>(p_), n);
    p_ += n;
    return s;
  }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
};

// How a server-side handler behaves, from one byte of the input.
struct Behaviour {
  explicit Behaviour(uint8_t b) : bits(b) {}
  bool answer_on_headers() const { return bits & 1; }  // else at the request's end
  bool chunked() const { return bits & 2; }            // a response without content-length
  bool trailers() const { return bits & 4; }
  bool reset_instead() const { return (bits & 0x18) == 0x18; }
  bool pause_body() const { return bits & 0x20; }
  uint8_t bits;
};

// A request handler: checks what a codec may hand the proxy, and answers as the ActiveStream
// does: a response (before or after the request's end), or reset() then finish().
class FuzzHandler final : public StreamHandler {
 public:
  FuzzHandler(DownstreamStream& s, Behaviour b) : s_(&s), b_(b) {}
  void on_request_headers(RequestHead&& head, bool end_stream) override {
    check(!got_headers_ && !ended_);
    got_headers_ = true;
    // What the codecs promise the proxy about a request head (smuggling vectors refused).
    check(head.headers.count("transfer-encoding") == 0 || head.headers.count("content-length") == 0);
    if (b_.pause_body()) s_->pause_request_body(true);
    if (b_.answer_on_headers() && !end_stream) {
      answer(false);  // may release the stream: touch nothing after it
      return;
    }
    if (end_stream) end();
  }
  void on_request_data(std::string_view, bool end_stream) override {
    check(got_headers_ && !ended_);
    if (end_stream) end();
  }
  void on_request_trailers(HeaderMap&&) override {
    check(got_headers_ && !ended_);
    end();
  }
  void on_downstream_reset(ResetReason) override { s_ = nullptr; }
  void on_downstream_writable() override {}

 private:
  void end() {
    ended_ = true;
    if (!s_) return;
    if (answered_) {
      s_->finish();  // the answer went out early; the exchange is over now
      return;
    }
    if (b_.pause_body()) s_->pause_request_body(false);
    answer(true);
  }
  // Sends the response; with `release`, finish()es the stream (after which the codec may
  // destroy this handler at any time: nothing is touched after it).
  void answer(bool release) {
    answered_ = true;
    DownstreamStream* s = s_;
    if (b_.reset_instead()) {
      s->reset();
      if (s_) s->finish();
      return;
    }
    ResponseHead h;
    h.status = 200;
    if (!b_.chunked()) h.headers.add_lower("content-length", "5");
    s->send_headers(std::move(h), false);
    if (!s_) return;
    s->send_data("hello", !b_.trailers());
    if (!s_) return;
    if (b_.trailers()) {
      HeaderMap t;
      t.add_lower("grpc-status", "0");
      s->send_trailers(std::move(t));
      if (!s_) return;
    }
    if (release) s->finish();
  }
  DownstreamStream* s_;
  Behaviour b_;
  bool got_headers_ = false, ended_ = false, answered_ = false;
};

class FuzzFactory final : public StreamHandlerFactory {
 public:
  explicit FuzzFactory(uint8_t behaviour) : behaviour_(behaviour) {}
  std::unique_ptr<StreamHandler> new_stream(DownstreamStream& stream) override {
    ++streams;
    return std::make_unique<FuzzHandler>(stream, Behaviour(static_cast<uint8_t>(behaviour_ + streams)));
  }
  size_t streams = 0;

 private:
  uint8_t behaviour_;
};

// An upstream request's callbacks for the client codec targets: checks that the codec calls
// them in order (headers before data, nothing after the end or a reset) and releases the
// stream at the end; `b`'s bit 4 pauses and resumes the response. Targets send the request.
class FuzzCall : public UpstreamCallbacks {
 public:
  explicit FuzzCall(uint8_t behaviour) : b(behaviour) {}
  void on_response_headers(ResponseHead&&, bool end_stream) override {
    check(!got_headers && !ended);
    got_headers = true;
    if (end_stream) done();
    else if ((b & 4) && stream) stream->pause_response(true);
  }
  void on_response_data(std::string_view, bool end_stream) override {
    check(got_headers && !ended);
    if ((b & 4) && stream) stream->pause_response(false);
    if (end_stream) done();
  }
  void on_response_trailers(HeaderMap&&) override {
    check(got_headers && !ended);
    done();
  }
  void on_upstream_reset(ResetReason) override {
    check(!ended);
    ended = true;
    stream = nullptr;
  }
  void on_upstream_writable() override {}
  void done() {
    ended = true;
    UpstreamStream* s = stream;
    stream = nullptr;
    if (s) s->release();
  }
  uint8_t b;
  UpstreamStream* stream = nullptr;
  bool got_headers = false, ended = false;
};

}  // namespace infergate::gateway::fuzz
