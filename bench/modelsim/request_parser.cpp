#include "bench/modelsim/request_parser.hpp"

#include <algorithm>
#include <cctype>
#include <limits>

#include <boost/beast/http/error.hpp>

namespace modelsim {

namespace http = boost::beast::http;

RequestParser::RequestParser(HttpRequest& out) : out_(out) {
  out_.clear();
  header_limit(kMaxHeaderBytes);
  // Buffered bodies are capped in take_body, counted ones never. Not boost::none: Boost 1.74
  // compares the content length against the optional and then rejects every body.
  body_limit(std::numeric_limits<std::uint64_t>::max());
  eager(true);
}

void RequestParser::on_request_impl(http::verb, string_view method, string_view target,
                                    int version, error_code&) {
  version_ = version;
  out_.method.assign(method);
  out_.target.assign(target);
  count_only_ = body_is_counted_only(target);
}

void RequestParser::on_response_impl(int, string_view, int, error_code& ec) {
  ec = http::error::bad_version;  // never called for a request parser
}

void RequestParser::on_field_impl(http::field field, string_view name, string_view value,
                                  error_code&) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (field == http::field::expect) {
    std::string v(value);
    std::transform(v.begin(), v.end(), v.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    expect_continue_ = v == "100-continue";
  }
  out_.headers.emplace_back(std::move(lower), std::string(value));
}

void RequestParser::on_header_impl(error_code&) {}

void RequestParser::on_body_init_impl(const boost::optional<std::uint64_t>& length,
                                      error_code& ec) {
  if (!count_only_ && length && *length > kMaxBufferedBody) {
    ec = http::error::body_limit;
    return;
  }
  if (!count_only_ && length) out_.body.reserve(static_cast<std::size_t>(*length));
}

std::size_t RequestParser::take_body(string_view body, error_code& ec) {
  out_.body_bytes += body.size();
  if (!count_only_) {
    if (out_.body.size() + body.size() > kMaxBufferedBody) {
      ec = http::error::body_limit;
      return 0;
    }
    out_.body.append(body);
  }
  return body.size();
}

std::size_t RequestParser::on_body_impl(string_view body, error_code& ec) {
  return take_body(body, ec);
}

void RequestParser::on_chunk_header_impl(std::uint64_t, string_view, error_code&) {}

std::size_t RequestParser::on_chunk_body_impl(std::uint64_t, string_view body, error_code& ec) {
  return take_body(body, ec);
}

void RequestParser::on_finish_impl(error_code&) {}

}  // namespace modelsim
