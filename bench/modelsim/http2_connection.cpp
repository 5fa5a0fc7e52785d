#include "bench/modelsim/http2_connection.hpp"

#include <algorithm>
#include <cstring>
#include <deque>
#include <functional>
#include <vector>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <nghttp2/nghttp2.h>

#include "bench/modelsim/routes.hpp"

namespace modelsim {

namespace asio = boost::asio;

namespace {

constexpr std::size_t kMaxHeaderBytes = 64 * 1024;
constexpr std::size_t kWriteBatchBytes = 64 * 1024;
constexpr std::int32_t kWindowBytes = 16 << 20;

nghttp2_nv make_nv(std::string_view name, std::string_view value) {
  // nghttp2 copies names and values on submit; the casts only satisfy its C signature.
  return nghttp2_nv{reinterpret_cast<std::uint8_t*>(const_cast<char*>(name.data())),
                    reinterpret_cast<std::uint8_t*>(const_cast<char*>(value.data())), name.size(),
                    value.size(), NGHTTP2_NV_FLAG_NONE};
}

}  // namespace

class Http2Stream final : public ResponseWriter {
 public:
  Http2Stream(std::weak_ptr<Http2Connection> connection, std::int32_t id,
              asio::any_io_executor executor)
      : connection_(std::move(connection)), id_(id), executor_(std::move(executor)) {}

  HttpRequest request;
  std::size_t header_bytes = 0;
  bool count_only = false;
  bool body_too_large = false;

  void respond(int status, std::string_view content_type, std::string body) override {
    auto connection = live();
    if (!connection || started_) return;
    started_ = true;
    eof_ = true;
    const bool has_body = !body.empty();
    if (has_body) pending_.push_back(Chunk{std::move(body), {}, 0, {}});
    submit_head(*connection, status, content_type, pending_.empty() ? 0 : pending_.front().owned.size(),
                true, has_body);
  }

  void begin_stream(int status, std::string_view content_type, bool) override {
    auto connection = live();
    if (!connection || started_) return;
    started_ = true;
    submit_head(*connection, status, content_type, 0, false, true);
  }

  void write(std::string data, std::function<void()> on_flushed) override {
    push(Chunk{std::move(data), {}, 0, std::move(on_flushed)});
  }

  void write_static(std::string_view data, std::function<void()> on_flushed) override {
    push(Chunk{{}, data, 0, std::move(on_flushed)});
  }

  void finish(const HeaderList& trailers) override {
    auto connection = live();
    if (!connection || eof_) return;
    eof_ = true;
    trailers_ = trailers;
    resume(*connection);
  }

  void abort() override {
    auto connection = live();
    if (!connection) return;
    eof_ = true;
    nghttp2_submit_rst_stream(connection->session_, NGHTTP2_FLAG_NONE, id_, NGHTTP2_INTERNAL_ERROR);
    connection->flush();
  }

  bool gone() const override {
    auto connection = connection_.lock();
    return closed_ || !connection || connection->closed_;
  }

  asio::any_io_executor executor() override { return executor_; }

  // The stream ended (reset by the peer, completed, or the connection died).
  void on_closed() {
    closed_ = true;
    for (auto& chunk : pending_) {
      if (chunk.on_flushed) asio::post(executor_, std::move(chunk.on_flushed));
    }
    pending_.clear();
  }

  static ssize_t read_data(nghttp2_session* session, std::int32_t, std::uint8_t* buf,
                           std::size_t length, std::uint32_t* flags, nghttp2_data_source* source,
                           void*) {
    auto* self = static_cast<Http2Stream*>(source->ptr);
    std::size_t copied = 0;
    while (copied < length && !self->pending_.empty()) {
      Chunk& chunk = self->pending_.front();
      const std::string_view bytes = chunk.bytes();
      const std::size_t n = std::min(length - copied, bytes.size() - chunk.offset);
      std::memcpy(buf + copied, bytes.data() + chunk.offset, n);
      copied += n;
      chunk.offset += n;
      if (chunk.offset == bytes.size()) {
        if (chunk.on_flushed) asio::post(self->executor_, std::move(chunk.on_flushed));
        self->pending_.pop_front();
      }
    }
    if (!self->pending_.empty()) return static_cast<ssize_t>(copied);
    if (!self->eof_) {
      if (copied > 0) return static_cast<ssize_t>(copied);
      self->deferred_ = true;
      return NGHTTP2_ERR_DEFERRED;
    }
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    if (!self->trailers_.empty()) {
      std::vector<nghttp2_nv> nva;
      for (const auto& [name, value] : self->trailers_) nva.push_back(make_nv(name, value));
      if (nghttp2_submit_trailer(session, self->id_, nva.data(), nva.size()) == 0) {
        *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
      }
    }
    return static_cast<ssize_t>(copied);
  }

 private:
  struct Chunk {
    std::string owned;
    std::string_view static_bytes;
    std::size_t offset = 0;
    std::function<void()> on_flushed;
    std::string_view bytes() const { return owned.empty() ? static_bytes : owned; }
  };

  std::shared_ptr<Http2Connection> live() const {
    auto connection = connection_.lock();
    if (!connection || connection->closed_ || closed_) return nullptr;
    return connection;
  }

  void submit_head(Http2Connection& connection, int status, std::string_view content_type,
                   std::size_t content_length, bool known_length, bool has_body) {
    const std::string status_text = std::to_string(status);
    const std::string length_text = std::to_string(content_length);
    std::vector<nghttp2_nv> nva;
    nva.push_back(make_nv(":status", status_text));
    if (!content_type.empty()) nva.push_back(make_nv("content-type", content_type));
    if (known_length) nva.push_back(make_nv("content-length", length_text));
    if (content_type == "text/event-stream") nva.push_back(make_nv("cache-control", "no-cache"));
    nva.push_back(make_nv("x-modelsim-instance", connection.ctx_.instance));
    for (const auto& [name, value] : extra_headers_) nva.push_back(make_nv(name, value));
    nghttp2_data_provider provider{};
    provider.source.ptr = this;
    provider.read_callback = &Http2Stream::read_data;
    nghttp2_submit_response(connection.session_, id_, nva.data(), nva.size(),
                            has_body ? &provider : nullptr);
    connection.flush();
  }

  void push(Chunk chunk) {
    auto connection = live();
    if (!connection || eof_) {
      if (chunk.on_flushed) asio::post(executor_, std::move(chunk.on_flushed));
      return;
    }
    if (chunk.bytes().empty()) {
      if (chunk.on_flushed) asio::post(executor_, std::move(chunk.on_flushed));
      return;
    }
    pending_.push_back(std::move(chunk));
    resume(*connection);
  }

  void resume(Http2Connection& connection) {
    if (deferred_) {
      deferred_ = false;
      nghttp2_session_resume_data(connection.session_, id_);
    }
    connection.flush();
  }

  std::weak_ptr<Http2Connection> connection_;
  std::int32_t id_;
  asio::any_io_executor executor_;
  std::deque<Chunk> pending_;
  HeaderList trailers_;
  bool started_ = false;
  bool eof_ = false;
  bool deferred_ = false;
  bool closed_ = false;
};

struct Http2Callbacks {
  static Http2Connection& self(void* user) { return *static_cast<Http2Connection*>(user); }

  static Http2Stream* stream(nghttp2_session* session, std::int32_t id) {
    return static_cast<Http2Stream*>(nghttp2_session_get_stream_user_data(session, id));
  }

  static int on_begin_headers(nghttp2_session* session, const nghttp2_frame* frame, void* user) {
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    auto& connection = self(user);
    auto created = std::make_shared<Http2Stream>(connection.weak_from_this(), frame->hd.stream_id,
                                                 connection.socket_.get_executor());
    nghttp2_session_set_stream_user_data(session, frame->hd.stream_id, created.get());
    connection.streams_[frame->hd.stream_id] = std::move(created);
    return 0;
  }

  static int on_header(nghttp2_session* session, const nghttp2_frame* frame, const std::uint8_t* name,
                       std::size_t namelen, const std::uint8_t* value, std::size_t valuelen,
                       std::uint8_t, void*) {
    Http2Stream* s = stream(session, frame->hd.stream_id);
    if (!s) return 0;
    s->header_bytes += namelen + valuelen + 32;
    if (s->header_bytes > kMaxHeaderBytes) return 0;  // answered 431 once complete
    std::string_view n(reinterpret_cast<const char*>(name), namelen);
    std::string_view v(reinterpret_cast<const char*>(value), valuelen);
    if (n == ":method") {
      s->request.method = v;
    } else if (n == ":path") {
      s->request.target = v;
      s->count_only = body_is_counted_only(v);
    } else if (n == ":authority") {
      s->request.headers.emplace_back("host", v);
    } else if (!n.starts_with(':')) {
      s->request.headers.emplace_back(n, v);
    }
    return 0;
  }

  static int on_data_chunk(nghttp2_session* session, std::uint8_t, std::int32_t stream_id,
                           const std::uint8_t* data, std::size_t len, void*) {
    Http2Stream* s = stream(session, stream_id);
    if (!s) return 0;
    s->request.body_bytes += len;
    if (s->count_only || s->body_too_large) return 0;
    if (s->request.body.size() + len > kMaxBufferedBody) {
      s->body_too_large = true;
      s->request.body.clear();
      return 0;
    }
    s->request.body.append(reinterpret_cast<const char*>(data), len);
    return 0;
  }

  static int on_frame_recv(nghttp2_session* session, const nghttp2_frame* frame, void* user) {
    if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) return 0;
    if (!(frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) return 0;
    Http2Stream* s = stream(session, frame->hd.stream_id);
    if (!s) return 0;
    auto& connection = self(user);
    auto found = connection.streams_.find(frame->hd.stream_id);
    if (found == connection.streams_.end()) return 0;
    std::shared_ptr<Http2Stream> writer = found->second;
    if (s->header_bytes > kMaxHeaderBytes) {
      respond_error(*writer, 431, "request header larger than 65536 bytes");
    } else if (s->body_too_large) {
      respond_error(*writer, 413, "request body too large");
    } else if (s->request.method.empty() || s->request.target.empty()) {
      respond_error(*writer, 400, "request lacks :method or :path");
    } else {
      handle_request(connection.ctx_, s->request, writer);
    }
    return 0;
  }

  static int on_stream_close(nghttp2_session*, std::int32_t stream_id, std::uint32_t, void* user) {
    auto& connection = self(user);
    auto found = connection.streams_.find(stream_id);
    if (found == connection.streams_.end()) return 0;
    found->second->on_closed();
    connection.streams_.erase(found);
    return 0;
  }
};

Http2Connection::Http2Connection(ServerContext& ctx, asio::ip::tcp::socket socket,
                                 boost::beast::flat_buffer buffer)
    : ctx_(ctx), socket_(std::move(socket)), initial_(std::move(buffer)) {}

Http2Connection::~Http2Connection() {
  if (session_) nghttp2_session_del(session_);
}

void Http2Connection::start() {
  nghttp2_session_callbacks* callbacks = nullptr;
  nghttp2_session_callbacks_new(&callbacks);
  nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, &Http2Callbacks::on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(callbacks, &Http2Callbacks::on_header);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, &Http2Callbacks::on_data_chunk);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, &Http2Callbacks::on_frame_recv);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, &Http2Callbacks::on_stream_close);
  const int rv = nghttp2_session_server_new(&session_, callbacks, this);
  nghttp2_session_callbacks_del(callbacks);
  if (rv != 0) {
    session_ = nullptr;
    close();
    return;
  }
  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 1000},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, static_cast<std::uint32_t>(kWindowBytes)},
  };
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings));
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, kWindowBytes);

  auto sniffed = initial_.data();
  if (!feed(static_cast<const std::uint8_t*>(sniffed.data()), sniffed.size())) return;
  initial_.consume(initial_.size());
  flush();
  read();
}

bool Http2Connection::feed(const std::uint8_t* data, std::size_t size) {
  in_recv_ = true;
  const auto rv = nghttp2_session_mem_recv(session_, data, size);
  in_recv_ = false;
  if (rv < 0) {
    close();
    return false;
  }
  return true;
}

void Http2Connection::read() {
  if (closed_) return;
  socket_.async_read_some(asio::buffer(read_buffer_),
                          [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                            if (ec) {
                              self->close();
                              return;
                            }
                            if (!self->feed(self->read_buffer_.data(), n)) return;
                            self->flush();
                            self->read();
                          });
}

void Http2Connection::flush() {
  if (writing_ || in_recv_ || closed_) return;
  out_.clear();
  for (;;) {
    const std::uint8_t* data = nullptr;
    const auto n = nghttp2_session_mem_send(session_, &data);
    if (n < 0) {
      close();
      return;
    }
    if (n == 0) break;
    out_.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
    if (out_.size() >= kWriteBatchBytes) break;
  }
  if (out_.empty()) {
    if (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_)) close();
    return;
  }
  writing_ = true;
  asio::async_write(socket_, asio::buffer(out_),
                    [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                      self->writing_ = false;
                      if (ec) {
                        self->close();
                        return;
                      }
                      self->flush();
                    });
}

void Http2Connection::close() {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ignored;
  socket_.close(ignored);
  auto streams = std::move(streams_);
  streams_.clear();
  for (auto& [id, stream] : streams) stream->on_closed();
}

}  // namespace modelsim
