// One HTTP/1.1 connection: keep-alive and pipelining (requests answered in order), bodies
// streamed through RequestParser, responses as one gathered write or as a chunked stream
// where every write() is its own socket write.
#pragma once

#include <array>
#include <deque>
#include <memory>
#include <optional>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include "bench/modelsim/request_parser.hpp"
#include "bench/modelsim/server_context.hpp"

namespace modelsim {

class Http1Connection final : public ResponseWriter,
                              public std::enable_shared_from_this<Http1Connection> {
 public:
  // `buffer` holds bytes already read while the protocol was being sniffed.
  Http1Connection(ServerContext& ctx, boost::asio::ip::tcp::socket socket,
                  boost::beast::flat_buffer buffer);

  void start();

  void respond(int status, std::string_view content_type, std::string body) override;
  void begin_stream(int status, std::string_view content_type, bool with_trailers) override;
  void write(std::string data, std::function<void()> on_flushed) override;
  void write_static(std::string_view data, std::function<void()> on_flushed) override;
  void finish(const HeaderList& trailers) override;
  void abort() override;
  bool gone() const override { return closed_; }
  boost::asio::any_io_executor executor() override { return socket_.get_executor(); }

 private:
  enum class Kind { kBytes, kChunk, kLast, kAbort };
  struct Pending {
    Kind kind;
    std::string owned;
    std::string_view static_bytes;  // used when owned is empty
    std::function<void()> on_flushed;
    std::array<char, 20> size_line{};
    std::size_t size_line_len = 0;

    std::string_view bytes() const { return owned.empty() ? static_bytes : owned; }
  };

  void read_header();
  void on_header(boost::beast::error_code ec);
  void on_body(boost::beast::error_code ec);
  void reject(boost::beast::error_code ec);
  void dispatch();
  void watch_peer();
  void format_head(int status, std::string_view content_type, std::optional<std::size_t> length,
                   bool trailers);
  void enqueue(Pending pending);
  void write_next();
  void on_written(boost::beast::error_code ec);
  void response_complete();
  void close();
  void flush_callbacks();

  ServerContext& ctx_;
  boost::asio::ip::tcp::socket socket_;
  boost::beast::flat_buffer buffer_;
  HttpRequest request_;
  std::optional<RequestParser> parser_;

  bool keep_alive_ = true;
  bool http10_ = false;
  bool chunked_ = false;
  bool closed_ = false;
  bool writing_ = false;
  bool complete_queued_ = false;  // the response's last bytes are queued
  bool watching_ = false;         // a read is pending to notice the peer leaving
  bool read_after_watch_ = false;

  std::string head_;  // reused across requests
  std::string body_;
  std::deque<Pending> queue_;
};

}  // namespace modelsim
