#include "bench/modelsim/http1_connection.hpp"

#include <charconv>
#include <cstdio>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>

#include "bench/modelsim/routes.hpp"

namespace modelsim {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

constexpr std::size_t kWatchReadBytes = 4096;
constexpr std::size_t kMaxPipelinedBytes = 64 * 1024;

void append_number(std::string& out, std::uint64_t value) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
  (void)ec;
  out.append(digits, end);
}

}  // namespace

Http1Connection::Http1Connection(ServerContext& ctx, asio::ip::tcp::socket socket,
                                 beast::flat_buffer buffer)
    : ctx_(ctx), socket_(std::move(socket)), buffer_(std::move(buffer)) {}

void Http1Connection::start() { read_header(); }

void Http1Connection::read_header() {
  if (closed_) return;
  keep_alive_ = true;
  chunked_ = false;
  complete_queued_ = false;
  parser_.emplace(request_);
  http::async_read_header(socket_, buffer_, *parser_,
                          [self = shared_from_this()](beast::error_code ec, std::size_t) {
                            self->on_header(ec);
                          });
}

void Http1Connection::on_header(beast::error_code ec) {
  if (ec) {
    reject(ec);
    return;
  }
  if (parser_->is_done()) {
    dispatch();
    return;
  }
  auto read_body = [self = shared_from_this()] {
    http::async_read(self->socket_, self->buffer_, *self->parser_,
                     [self](beast::error_code ec, std::size_t) { self->on_body(ec); });
  };
  if (parser_->expects_continue()) {
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    asio::async_write(socket_, asio::buffer(kContinue.data(), kContinue.size()),
                      [self = shared_from_this(), read_body](beast::error_code ec, std::size_t) {
                        if (ec) {
                          self->close();
                          return;
                        }
                        read_body();
                      });
    return;
  }
  read_body();
}

void Http1Connection::on_body(beast::error_code ec) {
  if (ec) {
    reject(ec);
    return;
  }
  dispatch();
}

// A read failed: a peer that left is closed quietly; a bad message is answered, then closed.
void Http1Connection::reject(beast::error_code ec) {
  keep_alive_ = false;
  if (ec.category() != http::make_error_code(http::error::bad_target).category() ||
      ec == http::error::end_of_stream || ec == http::error::partial_message) {
    close();
    return;
  }
  int status = 400;
  std::string message = "malformed HTTP request: " + ec.message();
  if (ec == http::error::header_limit) {
    status = 431;
    message = "request header larger than " + std::to_string(kMaxHeaderBytes) + " bytes";
  } else if (ec == http::error::body_limit) {
    status = 413;
    message = "request body larger than " + std::to_string(kMaxBufferedBody) + " bytes";
  }
  std::string body = R"({"error":{"message":")" + message +
                     R"(","type":"invalid_request_error","param":null,"code":null}})";
  respond(status, "application/json", std::move(body));
}

void Http1Connection::dispatch() {
  keep_alive_ = parser_->keep_alive();
  http10_ = parser_->http_version() == 10;
  handle_request(ctx_, request_, shared_from_this());
  // A handler that answers later (timers, queueing, streaming) leaves the socket idle: keep a
  // read pending so a peer that leaves is noticed and its slot freed.
  if (!complete_queued_ && !closed_) watch_peer();
}

void Http1Connection::watch_peer() {
  if (watching_ || closed_ || buffer_.size() >= kMaxPipelinedBytes) return;
  watching_ = true;
  socket_.async_read_some(buffer_.prepare(kWatchReadBytes),
                          [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                            self->watching_ = false;
                            if (ec) {
                              self->close();
                              return;
                            }
                            self->buffer_.commit(n);  // a pipelined request: parsed later
                            if (self->read_after_watch_) {
                              self->read_after_watch_ = false;
                              self->read_header();
                            } else {
                              self->watch_peer();
                            }
                          });
}

void Http1Connection::format_head(int status, std::string_view content_type,
                                  std::optional<std::size_t> length, bool trailers) {
  head_.clear();
  head_ += "HTTP/1.1 ";
  append_number(head_, static_cast<std::uint64_t>(status));
  head_ += ' ';
  head_ += reason_phrase(status);
  head_ += "\r\n";
  if (!content_type.empty()) {
    head_ += "Content-Type: ";
    head_ += content_type;
    head_ += "\r\n";
  }
  if (length) {
    head_ += "Content-Length: ";
    append_number(head_, *length);
    head_ += "\r\n";
  } else if (chunked_) {
    head_ += "Transfer-Encoding: chunked\r\n";
    if (trailers) head_ += "Trailer: x-modelsim-tokens\r\n";
  }
  if (content_type == "text/event-stream") head_ += "Cache-Control: no-cache\r\n";
  head_ += "x-modelsim-instance: ";
  head_ += ctx_.instance;
  head_ += "\r\n";
  for (const auto& [name, value] : extra_headers_) {
    head_ += name;
    head_ += ": ";
    head_ += value;
    head_ += "\r\n";
  }
  extra_headers_.clear();  // the connection serves the next request with its own
  if (!keep_alive_) {
    head_ += "Connection: close\r\n";
  } else if (http10_) {
    head_ += "Connection: keep-alive\r\n";
  }
  head_ += "\r\n";
}

void Http1Connection::respond(int status, std::string_view content_type, std::string body) {
  if (closed_ || complete_queued_) return;
  complete_queued_ = true;
  format_head(status, content_type, body.size(), false);
  body_ = std::move(body);
  writing_ = true;
  std::array<asio::const_buffer, 2> buffers{asio::buffer(head_), asio::buffer(body_)};
  asio::async_write(socket_, buffers,
                    [self = shared_from_this()](beast::error_code ec, std::size_t) {
                      self->writing_ = false;
                      if (ec) {
                        self->close();
                        return;
                      }
                      self->response_complete();
                    });
}

void Http1Connection::begin_stream(int status, std::string_view content_type, bool with_trailers) {
  if (closed_ || complete_queued_) return;
  // HTTP/1.0 has no chunked encoding: the body runs to the connection's close.
  chunked_ = !http10_;
  if (!chunked_) keep_alive_ = false;
  format_head(status, content_type, std::nullopt, with_trailers && chunked_);
  enqueue(Pending{Kind::kBytes, head_, {}, {}});
}

void Http1Connection::write(std::string data, std::function<void()> on_flushed) {
  enqueue(Pending{Kind::kChunk, std::move(data), {}, std::move(on_flushed)});
}

void Http1Connection::write_static(std::string_view data, std::function<void()> on_flushed) {
  enqueue(Pending{Kind::kChunk, {}, data, std::move(on_flushed)});
}

void Http1Connection::finish(const HeaderList& trailers) {
  if (complete_queued_) return;
  complete_queued_ = true;
  Pending last{Kind::kLast, {}, {}, {}};
  if (chunked_) {
    last.owned = "0\r\n";
    for (const auto& [name, value] : trailers) {
      last.owned += name;
      last.owned += ": ";
      last.owned += value;
      last.owned += "\r\n";
    }
    last.owned += "\r\n";
  }
  enqueue(std::move(last));
}

void Http1Connection::abort() {
  if (complete_queued_) return;
  complete_queued_ = true;
  enqueue(Pending{Kind::kAbort, {}, {}, {}});
}

void Http1Connection::enqueue(Pending pending) {
  if (closed_) {
    if (pending.on_flushed) asio::post(socket_.get_executor(), std::move(pending.on_flushed));
    return;
  }
  if (pending.kind == Kind::kChunk && chunked_) {
    if (pending.bytes().empty()) {  // an empty chunk would end the body
      if (pending.on_flushed) asio::post(socket_.get_executor(), std::move(pending.on_flushed));
      return;
    }
    auto [end, ec] = std::to_chars(pending.size_line.data(), pending.size_line.data() + 16,
                                   pending.bytes().size(), 16);
    (void)ec;  // 16 hex digits hold any size_t
    end[0] = '\r';
    end[1] = '\n';
    pending.size_line_len = static_cast<std::size_t>(end + 2 - pending.size_line.data());
  }
  queue_.push_back(std::move(pending));
  if (!writing_) write_next();
}

void Http1Connection::write_next() {
  if (queue_.empty() || closed_) return;
  Pending& front = queue_.front();
  if (front.kind == Kind::kAbort) {
    queue_.pop_front();
    close();
    return;
  }
  writing_ = true;
  std::array<asio::const_buffer, 3> buffers{
      asio::buffer(front.size_line.data(), front.size_line_len), asio::buffer(front.bytes().data(), front.bytes().size()),
      asio::buffer("\r\n", front.size_line_len ? 2 : 0)};
  asio::async_write(socket_, buffers,
                    [self = shared_from_this()](beast::error_code ec, std::size_t) {
                      self->on_written(ec);
                    });
}

void Http1Connection::on_written(beast::error_code ec) {
  writing_ = false;
  if (ec) {
    close();
    return;
  }
  if (closed_ || queue_.empty()) return;  // closed meanwhile; callbacks already posted
  Pending done = std::move(queue_.front());
  queue_.pop_front();
  if (done.on_flushed) done.on_flushed();
  if (done.kind == Kind::kLast) {
    response_complete();
    return;
  }
  if (!writing_) write_next();
}

void Http1Connection::response_complete() {
  if (!keep_alive_) {
    beast::error_code ignored;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
    close();
    return;
  }
  if (watching_) {
    read_after_watch_ = true;
  } else {
    read_header();
  }
}

void Http1Connection::close() {
  if (closed_) return;
  closed_ = true;
  beast::error_code ignored;
  socket_.close(ignored);
  flush_callbacks();
}

// Producers wait on on_flushed; after a close they still get it, see gone(), and stop.
void Http1Connection::flush_callbacks() {
  for (auto& pending : queue_) {
    if (pending.on_flushed) asio::post(socket_.get_executor(), std::move(pending.on_flushed));
  }
  queue_.clear();
}

}  // namespace modelsim
