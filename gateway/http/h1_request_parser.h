// Incremental HTTP/1.1 message parsers on Beast's basic_parser, streaming bodies
// through callbacks instead of into a container.
//
// Beast already refuses bad chunk sizes, Content-Length together with chunked
// Transfer-Encoding and differing Content-Length values; on top of that we refuse
// what proxies must refuse to stay out of request-smuggling trouble: any repeated
// Content-Length, any Transfer-Encoding on a request that is not exactly `chunked`,
// Transfer-Encoding with Content-Length in either order, obs-fold line folding, and
// more header fields than allowed.
#pragma once

#include <boost/beast/http/basic_parser.hpp>

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <string_view>

#include "routing/http_message.h"

namespace infergate::gateway {

// Why a message was refused: each maps to a status and a counter.
enum class H1Error : uint8_t {
  None,
  BadRequest,        // 400: syntax, smuggling vectors, bad chunk
  HeadersTooLarge,   // 431
  BodyTooLarge,      // 413
};

// Where parsed pieces go. Body views are valid only during the call.
struct H1ParserSink {
  std::function<void(std::string_view)> on_body;
};

template <bool isRequest>
class H1MessageParser final : public boost::beast::http::basic_parser<isRequest> {
  using base = boost::beast::http::basic_parser<isRequest>;

 public:
  using error_code = boost::beast::error_code;

  H1MessageParser(size_t max_header_bytes, size_t max_headers_count, uint64_t max_body_bytes)
      : max_headers_count_(max_headers_count) {
    this->header_limit(static_cast<std::uint32_t>(max_header_bytes));
    // Boost 1.74 compares the content length against an empty optional as
    // "greater", so "unlimited" must be spelled as the largest value.
    this->body_limit(max_body_bytes ? max_body_bytes : std::numeric_limits<std::uint64_t>::max());
    this->eager(false);
  }

  // The head, filled as fields arrive; valid once is_header_done().
  RequestHead request;
  ResponseHead response;
  HeaderMap trailers;
  bool has_trailers = false;
  H1Error error = H1Error::None;
  std::string error_detail;
  H1ParserSink sink;

  // Feeds bytes (all the caller holds unconsumed); returns how many were consumed. Stops
  // after the header so the caller can act on it before the body streams.
  //
  // Once Beast has consumed nothing and asked for more, it is fed again only when the caller
  // holds more than it had then, and at least 5 bytes: Boost 1.74 asserts n >= 5 in
  // parse_chunk_header after a final chunk's "0\r\n", so a tick, a drain or a 1-byte read
  // returns 0 here without reaching it. A whole message always ends in "0\r\n\r\n" or is
  // longer than 5 bytes, so the wait never stalls one.
  size_t feed(std::string_view data, error_code& ec) {
    if (stalled_at_ != kNotStalled && (data.size() <= stalled_at_ || data.size() < 5)) return 0;
    size_t n = this->put(boost::asio::const_buffer(data.data(), data.size()), ec);
    if (ec == boost::beast::http::error::need_more) ec = {};
    if (ec && error == H1Error::None) classify(ec);
    stalled_at_ = n == 0 && !ec ? data.size() : kNotStalled;
    return n;
  }

  static bool has_obs_fold(std::string_view header_block) {
    for (size_t i = 0; i + 2 < header_block.size(); ++i)
      if (header_block[i] == '\r' && header_block[i + 1] == '\n' &&
          (header_block[i + 2] == ' ' || header_block[i + 2] == '\t'))
        return true;
    return false;
  }

 private:
  void classify(const error_code& ec) {
    namespace http = boost::beast::http;
    if (ec == http::error::header_limit) {
      error = H1Error::HeadersTooLarge;
    } else if (ec == http::error::body_limit) {
      error = H1Error::BodyTooLarge;
    } else {
      error = H1Error::BadRequest;
    }
    if (error_detail.empty()) error_detail = ec.message();
  }

  void fail(error_code& ec, H1Error e, std::string detail) {
    error = e;
    error_detail = std::move(detail);
    ec = boost::beast::http::error::bad_value;
  }

  void on_request_impl(boost::beast::http::verb, std::string_view method, std::string_view target,
                       int version, error_code& ec) override {
    if constexpr (isRequest) {
      if (version != 10 && version != 11) return fail(ec, H1Error::BadRequest, "unsupported HTTP version");
      if (target.empty() || (target[0] != '/' && target != "*" && target.find("://") == std::string_view::npos))
        return fail(ec, H1Error::BadRequest, "bad request target");
      request.method.assign(method);
      request.path.assign(target);
      request.version = version == 10 ? HttpVersion::Http10 : HttpVersion::Http11;
    }
  }

  void on_response_impl(int code, std::string_view, int version, error_code&) override {
    if constexpr (!isRequest) {
      response.status = code;
      (void)version;
    }
  }

  void on_field_impl(boost::beast::http::field f, std::string_view name, std::string_view value,
                     error_code& ec) override {
    namespace http = boost::beast::http;
    if (in_trailers_) {
      has_trailers = true;
      trailers.add(name, value);
      return;
    }
    if (++fields_ > max_headers_count_)
      return fail(ec, H1Error::HeadersTooLarge, "too many header fields");
    if (f == http::field::content_length) {
      if (seen_content_length_) return fail(ec, H1Error::BadRequest, "repeated content-length");
      // Beast accepts a list of equal values ("5, 5"); a repeat is a repeat.
      if (value.find(',') != std::string_view::npos)
        return fail(ec, H1Error::BadRequest, "content-length list");
      if (seen_transfer_encoding_) return fail(ec, H1Error::BadRequest, "content-length with transfer-encoding");
      seen_content_length_ = true;
    } else if (f == http::field::transfer_encoding) {
      if (seen_content_length_) return fail(ec, H1Error::BadRequest, "transfer-encoding with content-length");
      if constexpr (isRequest) {
        if (!iequals(trim(value), "chunked"))
          return fail(ec, H1Error::BadRequest, "unsupported transfer-encoding");
      }
      seen_transfer_encoding_ = true;
    }
    if constexpr (isRequest) {
      if (f == http::field::host) {
        if (seen_host_) return fail(ec, H1Error::BadRequest, "repeated host");
        seen_host_ = true;
        request.authority.assign(value);
      }
      request.headers.add(name, value);
    } else {
      response.headers.add(name, value);
    }
  }

  void on_header_impl(error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>&, error_code&) override {}

  size_t on_body_impl(std::string_view body, error_code&) override {
    if (sink.on_body && !body.empty()) sink.on_body(body);
    return body.size();
  }

  void on_chunk_header_impl(std::uint64_t size, std::string_view, error_code&) override {
    if (size == 0) in_trailers_ = true;
  }

  size_t on_chunk_body_impl(std::uint64_t, std::string_view body, error_code&) override {
    if (sink.on_body && !body.empty()) sink.on_body(body);
    return body.size();
  }

  void on_finish_impl(error_code&) override {}

  static std::string_view trim(std::string_view v) {
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    return v;
  }

  size_t max_headers_count_;
  size_t fields_ = 0;
  bool in_trailers_ = false;
  static constexpr size_t kNotStalled = std::numeric_limits<size_t>::max();
  size_t stalled_at_ = kNotStalled;  // what feed() was last given when Beast consumed none of it
  bool seen_content_length_ = false;
  bool seen_transfer_encoding_ = false;
  bool seen_host_ = false;
};

using H1RequestParser = H1MessageParser<true>;
using H1ResponseParser = H1MessageParser<false>;

}  // namespace infergate::gateway
