// In-memory plumbing for codec tests: a ConnectionIo that queues bytes, a wire that
// moves them between two codecs the way a socket pair would (bounded reads, drain
// callbacks, EOF on close), and recording handlers for both ends of a stream.
//
// Everything is single-threaded and deterministic: a test drives the codecs with
// pump() and then asserts on what the recorders saw.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gateway/http/codec.h"
#include "gateway/http/stream.h"
#include "routing/http_message.h"

namespace infergate::gateway::testing {

// A ConnectionIo that keeps what the codec wrote until the wire takes it. Like the
// real SocketConnection, writing schedules a tick, and nothing is accepted once the
// codec asked to close.
class FakeIo final : public ConnectionIo {
 public:
  void write(std::string_view bytes) override {
    if (closing || aborted || bytes.empty()) return;
    out.append(bytes);
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

  // Takes everything written so far.
  std::string take() {
    std::string s;
    s.swap(out);
    return s;
  }

  std::string out;
  bool read_paused = false;
  bool closing = false;
  bool aborted = false;
  bool tick_wanted = false;
};

// One side of a wire: a codec seen through four entry points.
struct Endpoint {
  FakeIo io;
  std::function<bool(std::string_view)> read;
  std::function<void()> tick;
  std::function<void()> drained;
  std::function<void()> closed;
  bool down = false;         // this side's socket is gone
  bool read_failed = false;  // the codec answered false to a read
};

// Moves bytes between two endpoints like a TCP connection: each step delivers at
// most `chunk` bytes per direction (a socket read), reports the writer drained once
// its queue is empty, honours pause_reading, and turns a close on one side into
// on_connection_closed on both.
class Wire {
 public:
  Wire(Endpoint& a, Endpoint& b) : a_(a), b_(b) {}

  size_t chunk = 64 * 1024;
  // Directions can be stalled to build up state (a slow network).
  bool stall_a_to_b = false;
  bool stall_b_to_a = false;

  // Runs until nothing moves. Returns the number of steps taken.
  int pump(int max_steps = 200000) {
    int steps = 0;
    for (;;) {
      bool progress = false;
      for (Endpoint* e : {&a_, &b_}) {
        if (!e->down && e->io.tick_wanted) {
          e->io.tick_wanted = false;
          e->tick();
          progress = true;
        }
      }
      if (!stall_a_to_b) progress |= transfer(a_, b_);
      if (!stall_b_to_a) progress |= transfer(b_, a_);
      progress |= check_close(a_, b_);
      progress |= check_close(b_, a_);
      if (!progress) break;
      if (++steps > max_steps) {
        ADD_FAILURE() << "wire did not settle after " << max_steps << " steps";
        break;
      }
    }
    return steps;
  }

 private:
  bool transfer(Endpoint& from, Endpoint& to) const {
    if (from.down || from.io.out.empty()) return false;
    if (to.down) return false;  // check_close handles the dead peer
    if (to.io.read_paused) return false;
    size_t n = std::min(from.io.out.size(), to.io.closing ? from.io.out.size() : chunk);
    std::string bytes = from.io.out.substr(0, n);
    from.io.out.erase(0, n);
    if (to.io.closing) {
      // A closing socket still reads (and discards) what arrives.
    } else if (!to.read(bytes)) {
      to.read_failed = true;
      to.io.close_after_write();
    }
    if (from.io.out.empty() && !from.down) from.drained();
    return true;
  }

  static bool check_close(Endpoint& e, Endpoint& other) {
    if (e.down) return false;
    if (!(e.io.aborted || (e.io.closing && e.io.out.empty()))) return false;
    // Like SocketConnection::finish_close: the closing side's codec hears about it
    // too, then the peer reads EOF.
    e.down = true;
    e.closed();
    if (!other.down) {
      other.down = true;
      other.closed();
    }
    return true;
  }

  Endpoint& a_;
  Endpoint& b_;
};

// ---- server side -------------------------------------------------------------

// What one request stream's handler saw; outlives the handler itself.
struct ServerCall {
  DownstreamStream* stream = nullptr;  // null once the handler may no longer use it
  RequestHead head;
  bool got_headers = false;
  bool headers_end = false;
  std::string body;
  int data_calls = 0;
  bool ended = false;  // END_STREAM reached the handler (data, trailers or headers)
  bool got_trailers = false;
  HeaderMap trailers;
  std::optional<ResetReason> reset;
  int writable = 0;
  bool destroyed = false;
  std::vector<std::string> events;

  // Sends a complete response and releases the handler.
  void respond(int status, std::string_view body_text, std::optional<HeaderMap> resp_trailers = std::nullopt,
               HeaderMap headers = {}) {
    ASSERT_NE(stream, nullptr);
    ResponseHead h;
    h.status = status;
    h.headers = std::move(headers);
    DownstreamStream* s = stream;
    bool headers_only = body_text.empty() && !resp_trailers;
    s->send_headers(std::move(h), headers_only);
    if (!headers_only) {
      if (!body_text.empty() || !resp_trailers) s->send_data(body_text, !resp_trailers);
      if (resp_trailers) s->send_trailers(std::move(*resp_trailers));
    }
    s->finish();
  }
};

class TestFactory;

class TestHandler final : public StreamHandler {
 public:
  TestHandler(TestFactory& f, std::shared_ptr<ServerCall> call) : f_(f), call_(std::move(call)) {}
  ~TestHandler() override {
    call_->stream = nullptr;
    call_->destroyed = true;
  }
  void on_request_headers(RequestHead&& head, bool end_stream) override;
  void on_request_data(std::string_view data, bool end_stream) override;
  void on_request_trailers(HeaderMap&& trailers) override;
  void on_downstream_reset(ResetReason reason) override {
    call_->events.push_back("reset");
    call_->reset = reason;
    call_->stream = nullptr;
  }
  void on_downstream_writable() override {
    ++call_->writable;
    call_->events.push_back("writable");
  }

 private:
  void ended();
  TestFactory& f_;
  std::shared_ptr<ServerCall> call_;
};

// Creates a recording handler per stream. By default a complete request is answered
// 200 with its own body echoed and an `x-path` header; tests replace `on_end` (or
// set it empty) to answer later by hand.
class TestFactory final : public StreamHandlerFactory {
 public:
  std::unique_ptr<StreamHandler> new_stream(DownstreamStream& stream) override {
    if (refuse) return nullptr;
    auto call = std::make_shared<ServerCall>();
    call->stream = &stream;
    calls.push_back(call);
    return std::make_unique<TestHandler>(*this, std::move(call));
  }

  static void echo(ServerCall& c) {
    HeaderMap h;
    h.add_lower("x-path", c.head.path);
    c.respond(200, c.body, std::nullopt, std::move(h));
  }

  std::vector<std::shared_ptr<ServerCall>> calls;
  std::function<void(ServerCall&)> on_headers;               // after headers arrived
  std::function<void(ServerCall&)> on_data;                  // after a (non-final) body chunk
  std::function<void(ServerCall&)> on_end = &TestFactory::echo;  // after the request ended
  bool refuse = false;
};

inline void TestHandler::on_request_headers(RequestHead&& head, bool end_stream) {
  call_->events.push_back("headers");
  call_->got_headers = true;
  call_->headers_end = end_stream;
  call_->head = std::move(head);
  if (f_.on_headers) f_.on_headers(*call_);
  if (end_stream) ended();
}

inline void TestHandler::on_request_data(std::string_view data, bool end_stream) {
  call_->events.push_back(end_stream ? "data-end" : "data");
  call_->body.append(data);
  ++call_->data_calls;
  if (f_.on_data && !end_stream) f_.on_data(*call_);
  if (end_stream) ended();
}

inline void TestHandler::on_request_trailers(HeaderMap&& trailers) {
  call_->events.push_back("trailers");
  call_->got_trailers = true;
  call_->trailers = std::move(trailers);
  ended();
}

inline void TestHandler::ended() {
  EXPECT_FALSE(call_->ended) << "request ended twice";
  call_->ended = true;
  if (f_.on_end && call_->stream != nullptr) f_.on_end(*call_);
}

// ---- client side -------------------------------------------------------------

// One request as the upstream Exchange would drive it: sends `request` once the
// codec says ready, records the response, and releases the stream when it ends.
struct ClientCall final : UpstreamCallbacks {
  RequestHead request;
  std::string request_body;
  std::optional<HeaderMap> request_trailers;
  bool send_on_ready = true;
  bool auto_release = true;
  std::function<void(ClientCall&)> after_headers;  // runs inside on_response_headers

  UpstreamStream* stream = nullptr;  // null once released or reset
  int ready = 0;
  bool got_headers = false;
  bool headers_end = false;
  ResponseHead head;
  std::string body;
  bool data_end = false;
  bool got_trailers = false;
  HeaderMap trailers;
  std::optional<ResetReason> reset;
  int writable = 0;
  std::vector<std::string> events;

  bool complete() const { return headers_end || data_end || got_trailers; }

  void send_request() {
    ASSERT_NE(stream, nullptr);
    bool headers_only = request_body.empty() && !request_trailers;
    stream->send_headers(request, headers_only);
    if (headers_only) return;
    if (!request_body.empty() || !request_trailers) stream->send_data(request_body, !request_trailers);
    if (request_trailers) stream->send_trailers(*request_trailers);
  }

  void on_upstream_ready() override {
    ++ready;
    events.push_back("ready");
    if (send_on_ready) send_request();
  }
  void on_response_headers(ResponseHead&& h, bool end_stream) override {
    events.push_back("headers");
    got_headers = true;
    headers_end = end_stream;
    head = std::move(h);
    if (after_headers) after_headers(*this);
    if (end_stream) finished();
  }
  void on_response_data(std::string_view data, bool end_stream) override {
    events.push_back(end_stream ? "data-end" : "data");
    body.append(data);
    if (end_stream) {
      data_end = true;
      finished();
    }
  }
  void on_response_trailers(HeaderMap&& t) override {
    events.push_back("trailers");
    got_trailers = true;
    trailers = std::move(t);
    finished();
  }
  void on_upstream_reset(ResetReason reason) override {
    events.push_back("reset");
    reset = reason;
    stream = nullptr;
  }
  void on_upstream_writable() override {
    ++writable;
    events.push_back("writable");
  }

 private:
  void finished() {
    if (auto_release && stream != nullptr) {
      stream->release();
      stream = nullptr;
    }
  }
};

inline RequestHead make_request(std::string method, std::string path,
                                std::vector<std::pair<std::string, std::string>> headers = {}) {
  RequestHead r;
  r.method = std::move(method);
  r.path = std::move(path);
  r.authority = "backend.example";
  r.scheme = "http";
  for (auto& [n, v] : headers) r.headers.add(n, v);
  return r;
}

// A body whose every byte depends on its offset, so reordering or loss shows.
inline std::string pattern_body(size_t n, char seed = 'a') {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(seed + (i * 7 + i / 251) % 26);
  return s;
}

}  // namespace infergate::gateway::testing
