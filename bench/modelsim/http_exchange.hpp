// The codec-neutral contract between the HTTP/1.1 and HTTP/2 connections and the handlers:
// a parsed request in, a ResponseWriter out.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

namespace modelsim {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method;
  std::string target;   // path and query as received
  HeaderList headers;   // names lower-cased, in arrival order
  std::string body;     // empty when the body was only counted (see body_is_counted_only)
  std::uint64_t body_bytes = 0;

  // The first value of a header (name in lower case), or "" when absent.
  std::string_view header(std::string_view lower_name) const;
  std::string_view path() const;
  std::string_view query() const;

  void clear();
};

// Bodies of these routes are counted as they stream in, never held: uploads can be any size.
bool body_is_counted_only(std::string_view target);

// Bodies that are held are capped; a larger one is answered 413.
inline constexpr std::uint64_t kMaxBufferedBody = 64ull << 20;

// One response. Handlers call either respond() once, or begin_stream(), write()..., then
// finish() or abort(). Calls after the peer went away are ignored; gone() tells handlers to stop.
class ResponseWriter {
 public:
  virtual ~ResponseWriter() = default;

  virtual void respond(int status, std::string_view content_type, std::string body) = 0;

  // HTTP/1.1 uses chunked encoding; with_trailers announces the trailers finish() will send.
  virtual void begin_stream(int status, std::string_view content_type, bool with_trailers) = 0;
  // Each write leaves as its own socket write (HTTP/1.1) or DATA frame(s) (HTTP/2).
  // on_flushed runs on executor() once the bytes are handed to the socket (or the peer is gone):
  // producers wait for it, so nothing piles up in memory.
  virtual void write(std::string data, std::function<void()> on_flushed) = 0;
  // As write(), for bytes that live for the whole process.
  virtual void write_static(std::string_view data, std::function<void()> on_flushed) = 0;
  virtual void finish(const HeaderList& trailers) = 0;
  // Ends the exchange without completing it: TCP close (HTTP/1.1) or RST_STREAM (HTTP/2).
  virtual void abort() = 0;

  virtual bool gone() const = 0;
  virtual boost::asio::any_io_executor executor() = 0;

  // A header for the head that the next respond() / begin_stream() writes (handlers that set
  // what a test asked for: /echo's X-Echo-Set-Header). The caller checks the name and value
  // are legal header text; the connection writes them as given, once.
  void add_header(std::string name, std::string value) { extra_headers_.emplace_back(std::move(name), std::move(value)); }

 protected:
  HeaderList extra_headers_;
};

std::string_view reason_phrase(int status);

}  // namespace modelsim
