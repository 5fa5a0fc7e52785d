// The nghttp2 building blocks of h2::Session (h2_session.h): session ownership,
// header blocks, the per-stream outbound body behind a deferred data provider, the
// per-stream inbound body that withholds flow-control credit while its consumer is
// paused, and the output pump that stops at the connection's write watermark.
#pragma once

#include <nghttp2/nghttp2.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/http/codec.h"
#include "routing/http_message.h"

namespace infergate::gateway::h2 {

struct SessionDeleter {
  void operator()(nghttp2_session* s) const { nghttp2_session_del(s); }
};
using SessionPtr = std::unique_ptr<nghttp2_session, SessionDeleter>;

struct OptionDeleter {
  void operator()(nghttp2_option* o) const { nghttp2_option_del(o); }
};
using OptionPtr = std::unique_ptr<nghttp2_option, OptionDeleter>;

struct CallbacksDeleter {
  void operator()(nghttp2_session_callbacks* c) const { nghttp2_session_callbacks_del(c); }
};
using CallbacksPtr = std::unique_ptr<nghttp2_session_callbacks, CallbacksDeleter>;

// Hop-by-hop headers RFC 9113 §8.2.2 forbids in HTTP/2; `te` is allowed only as
// "te: trailers", which callers check separately. `name` must be lower-case.
bool is_connection_specific_header(std::string_view name);

// Whether a regular header may be forwarded into an HTTP/2 header block.
bool may_forward_header(std::string_view name, std::string_view value);

inline std::string_view as_view(const uint8_t* p, size_t n) {
  return {reinterpret_cast<const char*>(p), n};
}

// An nghttp2_nv array for one submit_* call. nghttp2 copies names and values during
// the call, so the block only has to outlive it.
class HeaderBlock {
 public:
  // `name` must be lower-case; the view must stay valid until the submit call.
  void add(std::string_view name, std::string_view value);
  // Adds a value the block keeps a copy of (numbers formatted on the fly).
  void add_owned(std::string_view name, std::string value);
  // Adds every forwardable header of `headers` (names lower-cased if a caller broke
  // the HeaderMap convention), skipping `skip` (a lower-case name) if not empty.
  void add_regular(const HeaderMap& headers, std::string_view skip = {});

  const nghttp2_nv* data() const { return nva_.data(); }
  size_t size() const { return nva_.size(); }

 private:
  std::vector<nghttp2_nv> nva_;
  std::deque<std::string> owned_;  // deque: growth never moves strings nva_ points into
};

// Body bytes a stream accepted from its producer and nghttp2 has not framed yet.
// nghttp2 pulls them through `read()` from a data provider; when nothing is pending
// the provider defers and `resume()` wakes it on the next append.
class OutboundBody {
 public:
  void append(std::string_view data);
  size_t size() const { return buf_.size() - head_; }
  // Marks the end of the body; `trailers` (if non-empty) follow it in a HEADERS frame.
  void end(std::optional<HeaderMap> trailers = std::nullopt);
  bool ended() const { return ended_; }

  // nghttp2_data_source_read_callback body for stream `stream_id`.
  ssize_t read(nghttp2_session* session, int32_t stream_id, uint8_t* buf, size_t length,
               uint32_t* data_flags);
  // Wakes a deferred data provider after new bytes or the end arrived.
  void resume(nghttp2_session* session, int32_t stream_id);

 private:
  std::string buf_;
  size_t head_ = 0;  // consumed prefix of buf_, compacted once it dominates
  bool ended_ = false;
  bool deferred_ = false;
  std::optional<HeaderMap> trailers_;
};

// Body bytes that arrived while their consumer was paused. They stay here, with
// their flow-control credit withheld, so the peer can send at most one window more;
// events behind them (end of stream, trailers) wait their turn.
struct InboundHold {
  bool paused = false;
  std::string data;
  bool end = false;
  std::optional<HeaderMap> trailers;

  bool holding() const { return !data.empty() || end || trailers.has_value(); }
  void clear() {
    data.clear();
    end = false;
    trailers.reset();
  }
};

// Moves frames nghttp2 has ready into `io` until its queue reaches `high` bytes or
// nghttp2 has nothing left. Returns 0, or nghttp2's (fatal) error code.
int pump_output(nghttp2_session* session, ConnectionIo& io, size_t high);

}  // namespace infergate::gateway::h2
