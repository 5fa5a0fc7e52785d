// A lean HTTP/1.1 request parser on Beast's basic_parser: fills a reused HttpRequest, keeps
// the body only for routes that need it, and counts streamed bodies without holding them.
#pragma once

#include <boost/beast/http/basic_parser.hpp>

#include "bench/modelsim/http_exchange.hpp"

namespace modelsim {

inline constexpr std::uint32_t kMaxHeaderBytes = 64 * 1024;  // larger heads get 431

class RequestParser final : public boost::beast::http::basic_parser<true> {
 public:
  explicit RequestParser(HttpRequest& out);

  bool expects_continue() const { return expect_continue_; }
  int http_version() const { return version_; }  // 10 or 11

 private:
  using error_code = boost::beast::error_code;
  using string_view = std::string_view;

  void on_request_impl(boost::beast::http::verb, string_view method, string_view target, int,
                       error_code&) override;
  void on_response_impl(int, string_view, int, error_code&) override;
  void on_field_impl(boost::beast::http::field, string_view name, string_view value,
                     error_code&) override;
  void on_header_impl(error_code&) override;
  void on_body_init_impl(const boost::optional<std::uint64_t>& length, error_code& ec) override;
  std::size_t on_body_impl(string_view body, error_code& ec) override;
  void on_chunk_header_impl(std::uint64_t, string_view, error_code&) override;
  std::size_t on_chunk_body_impl(std::uint64_t, string_view body, error_code& ec) override;
  void on_finish_impl(error_code&) override;

  std::size_t take_body(string_view body, error_code& ec);

  HttpRequest& out_;
  bool count_only_ = false;
  bool expect_continue_ = false;
  int version_ = 11;
};

}  // namespace modelsim
