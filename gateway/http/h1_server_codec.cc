#include "gateway/http/h1_server_codec.h"

#include "gateway/http/h1_chunk_writer.h"

#include <spdlog/spdlog.h>

#include <boost/beast/http/status.hpp>

#include <charconv>

namespace infergate::gateway {

namespace {

// Input bytes held beyond what is parsed before the socket stops being read.
constexpr size_t kMaxBufferedInput = 256 * 1024;

void append_status_line(std::string& out, int status) {
  out.append("HTTP/1.1 ");
  char num[8];
  auto r = std::to_chars(num, num + sizeof(num), status);
  out.append(num, r.ptr);
  out.push_back(' ');
  out.append(boost::beast::http::obsolete_reason(static_cast<boost::beast::http::status>(status)));
  out.append("\r\n");
}

bool body_forbidden(int status) { return (status >= 100 && status < 200) || status == 204 || status == 304; }

bool has_token(std::string_view list, std::string_view token) {
  size_t start = 0;
  while (start <= list.size()) {
    size_t end = list.find(',', start);
    if (end == std::string_view::npos) end = list.size();
    std::string_view t = list.substr(start, end - start);
    while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
    while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
    if (iequals(t, token)) return true;
    start = end + 1;
  }
  return false;
}

}  // namespace

H1ServerCodec::H1ServerCodec(ConnectionIo& io, StreamHandlerFactory& factory, const H1ServerOptions& opts,
                             std::string peer_address, ProxyStats* stats)
    : io_(io), factory_(factory), opts_(opts), peer_(std::move(peer_address)), stats_(stats) {}

H1ServerCodec::~H1ServerCodec() = default;

bool H1ServerCodec::on_read(std::string_view bytes) {
  if (closed_) return false;
  if (consumed_ == input_.size()) {
    // Parsed where it lies; compact_input keeps what is left of it when process() is done.
    input_.clear();
    consumed_ = 0;
    borrowed_ = bytes;
    borrowing_ = true;
  } else {
    input_.append(bytes);
  }
  return process();
}

bool H1ServerCodec::process() {
  in_dispatch_ = true;
  bool ok = true;
  while (!closed_) {
    // The previous exchange completed: its parser goes (never from inside a callback
    // that the parser itself is running).
    if (parser_ && headers_delivered_ && !handler_ && !awaiting_body_end_) parser_.reset();
    if (!parser_) {
      if (handler_ || consumed_ == buffered().size()) break;
      if (draining_) break;
      parser_.emplace(opts_.max_header_bytes, opts_.max_headers_count, opts_.max_body_bytes);
      parser_->sink.on_body = [this](std::string_view body) {
        if (handler_ && !handler_finished_) handler_->on_request_data(body, false);
      };
      headers_delivered_ = request_complete_ = response_started_ = response_complete_ = false;
      handler_finished_ = request_paused_ = chunked_response_ = head_request_ = awaiting_body_end_ = false;
    }
    if (request_complete_) break;
    if (headers_delivered_ && request_paused_) break;
    std::string_view avail = buffered().substr(consumed_);
    if (avail.empty()) break;
    boost::beast::error_code ec;
    if (!headers_delivered_) {
      size_t end = avail.find("\r\n\r\n");
      std::string_view block = avail.substr(0, end == std::string_view::npos ? avail.size() : end + 2);
      if (H1RequestParser::has_obs_fold(block)) {
        parser_->error = H1Error::BadRequest;
        parser_->error_detail = "obs-fold";
        ec = boost::beast::http::error::bad_value;
      } else {
        consumed_ += parser_->feed(avail, ec);
      }
      if (ec) {
        // A Content-Length over the body limit is refused while parsing the head.
        local_error(parser_->error == H1Error::HeadersTooLarge ? 431
                    : parser_->error == H1Error::BodyTooLarge  ? 413
                                                               : 400,
                    "");
        ok = false;
        break;
      }
      if (!parser_->is_header_done()) break;
      if (!start_request()) {
        ok = false;
        break;
      }
      continue;
    }
    parser_->eager(true);
    size_t n = parser_->feed(avail, ec);
    consumed_ += n;
    if (closed_) break;  // the handler reset the connection from a body callback
    if (ec) {
      if (!response_started_) {
        local_error(parser_->error == H1Error::BodyTooLarge ? 413 : 400, "");
      } else {
        if (stats_) stats_->reject(RejectReason::Malformed);
        if (handler_ && !handler_finished_) handler_->on_downstream_reset(ResetReason::ProtocolError);
        closed_ = true;
        io_.abort();
      }
      ok = false;
      break;
    }
    if (parser_->is_done()) {
      request_complete_ = true;
      awaiting_body_end_ = false;  // the whole request was read: the connection goes on
      if (handler_ && !handler_finished_) {
        if (parser_->has_trailers)
          handler_->on_request_trailers(std::move(parser_->trailers));
        else
          handler_->on_request_data({}, true);
      }
      maybe_complete();
      continue;
    }
    if (n == 0) break;
  }
  in_dispatch_ = false;
  if (awaiting_body_end_ && !closed_) {
    // The body goes on past what arrived: it cannot be told apart from the next request.
    awaiting_body_end_ = false;
    closed_ = true;
    io_.close_after_write();
  }
  compact_input();
  if (!closed_) io_.pause_reading(input_.size() - consumed_ > kMaxBufferedInput);
  return ok && !closed_;
}

bool H1ServerCodec::start_request() {
  RequestHead& req = parser_->request;
  request_version_ = req.version;
  headers_delivered_ = true;
  const bool end_stream = parser_->is_done();
  request_complete_ = end_stream;

  // Absolute-form targets (proxies' style) become origin-form plus authority.
  if (!req.path.empty() && req.path[0] != '/' && req.path != "*") {
    std::string_view t = req.path;
    size_t scheme_end = t.find("://");
    std::string_view rest = t.substr(scheme_end + 3);
    // The authority ends at the path or, with none ("http://host?q"), at the query (RFC 3986
    // 3.2); the origin-form path is then "/" with the query kept.
    size_t slash = rest.find_first_of("/?");
    std::string authority(rest.substr(0, slash));
    std::string path = slash == std::string_view::npos ? std::string("/")
                       : rest[slash] == '?'            ? "/" + std::string(rest.substr(slash))
                                                       : std::string(rest.substr(slash));
    req.authority = std::move(authority);
    req.path = std::move(path);
  }
  if (req.version == HttpVersion::Http11 && !req.headers.get("host")) {
    local_error(400, "");
    return false;
  }
  const std::string* conn = req.headers.get("connection");
  if (req.version == HttpVersion::Http10) {
    close_after_response_ = !(conn && has_token(*conn, "keep-alive"));
  } else {
    close_after_response_ = conn && has_token(*conn, "close");
  }
  head_request_ = req.method == "HEAD";
  if (const std::string* expect = req.headers.get("expect")) {
    if (iequals(*expect, "100-continue")) {
      req.headers.remove("expect");
      // Envoy answers 100-continue itself rather than proxying it.
      if (!end_stream && req.version == HttpVersion::Http11) io_.write("HTTP/1.1 100 Continue\r\n\r\n");
    }
  }
  handler_ = factory_.new_stream(*this);
  handler_->on_request_headers(std::move(req), end_stream);
  if (end_stream) maybe_complete();
  return !closed_;
}

void H1ServerCodec::on_request_headers_timeout() {
  if (closed_ || handler_) return;
  // Envoy's answer to its request_headers_timeout; not a protocol error of the client's.
  if (stats_) stats_->count_response(408);
  reply_and_close(408, "request header timeout");
}

void H1ServerCodec::local_error(int status, std::string_view body) {
  spdlog::debug("h1 downstream: answering {} and closing: {}", status,
                parser_ && !parser_->error_detail.empty() ? parser_->error_detail : std::string("limit"));
  if (stats_) {
    stats_->downstream_cx_protocol_error.inc();
    stats_->reject(status == 431 ? RejectReason::HeadersTooLarge
                                 : status == 413 ? RejectReason::BodyTooLarge : RejectReason::Malformed);
    stats_->count_response(status);
  }
  if (handler_ && !handler_finished_) {
    handler_->on_codec_reply(status);
    handler_->on_downstream_reset(ResetReason::ProtocolError);
    handler_finished_ = true;
  }
  reply_and_close(status, body.empty() ? std::string_view(boost::beast::http::obsolete_reason(
                                              static_cast<boost::beast::http::status>(status)))
                                        : body);
}

void H1ServerCodec::reply_and_close(int status, std::string_view text) {
  std::string out;
  append_status_line(out, status);
  out.append("content-length: ").append(std::to_string(text.size())).append("\r\n");
  out.append("content-type: text/plain\r\nconnection: close\r\n\r\n");
  out.append(text);
  io_.write(out);
  io_.close_after_write();
  closed_ = true;
}

void H1ServerCodec::send_headers(ResponseHead&& head, bool end_stream) {
  if (closed_) return;
  response_started_ = true;
  head.headers.remove("transfer-encoding");
  head.headers.remove("connection");
  if (draining_) close_after_response_ = true;
  std::string out;
  out.reserve(256 + head.headers.byte_size() + head.headers.size() * 4);
  append_status_line(out, head.status);
  const bool no_body = head_request_ || body_forbidden(head.status);
  chunked_response_ = false;
  if (!no_body && !head.headers.get("content-length")) {
    if (end_stream) {
      out.append("content-length: 0\r\n");
    } else if (request_version_ == HttpVersion::Http11) {
      chunked_response_ = true;
      out.append("transfer-encoding: chunked\r\n");
    } else {
      close_after_response_ = true;  // HTTP/1.0: the body ends when the connection does
    }
  }
  for (const auto& h : head.headers) {
    out.append(h.name).append(": ").append(h.value).append("\r\n");
  }
  if (close_after_response_) {
    out.append("connection: close\r\n");
  } else if (request_version_ == HttpVersion::Http10) {
    out.append("connection: keep-alive\r\n");
  }
  out.append("\r\n");
  io_.write(out);
  if (end_stream) end_response();
}

void H1ServerCodec::send_data(std::string_view data, bool end_stream) {
  if (closed_) return;
  if (chunked_response_) {
    write_chunk(io_, data, end_stream);
  } else if (!data.empty() && !head_request_) {
    io_.write(data);
  }
  if (end_stream) end_response();
}

void H1ServerCodec::send_trailers(HeaderMap&& trailers) {
  if (closed_) return;
  if (chunked_response_) {
    std::string out("0\r\n");
    for (const auto& h : trailers) out.append(h.name).append(": ").append(h.value).append("\r\n");
    out.append("\r\n");
    io_.write(out);
  }
  end_response();
}

void H1ServerCodec::end_response() {
  response_complete_ = true;
  if (close_after_response_) {
    io_.close_after_write();
  }
  maybe_complete();
}

void H1ServerCodec::reset() {
  if (closed_) return;
  if (stats_) stats_->downstream_rq_tx_reset.inc();
  handler_finished_ = true;  // the handler asked for it: no reset callback back to it
  closed_ = true;
  io_.abort();
}

void H1ServerCodec::pause_request_body(bool paused) {
  if (request_paused_ == paused) return;
  request_paused_ = paused;
  if (!paused) io_.schedule_flush();
}

void H1ServerCodec::finish() {
  handler_finished_ = true;
  maybe_complete();
}

void H1ServerCodec::maybe_complete() {
  if (!handler_ || !handler_finished_ || !response_complete_) return;
  retired_ = std::move(handler_);
  if (close_after_response_ || (!request_complete_ && !in_dispatch_)) {
    // The rest of an unread request body cannot be told apart from the next request.
    closed_ = true;
    io_.close_after_write();
  } else if (!request_complete_) {
    // Finished from a body callback (body routing answered once it read the model): the
    // parser may be about to reach the body's end; process() decides.
    awaiting_body_end_ = true;
    request_paused_ = false;
  }
  io_.schedule_flush();
}

void H1ServerCodec::on_tick() {
  retired_.reset();
  if (closed_ || in_dispatch_) return;
  if (!handler_ && (parser_ || consumed_ < buffered().size())) {
    process();
  } else if (handler_ && headers_delivered_ && !request_complete_ && !request_paused_ && consumed_ < buffered().size()) {
    process();
  }
}

void H1ServerCodec::on_write_drained() {
  if (handler_ && !handler_finished_ && response_started_) handler_->on_downstream_writable();
}

void H1ServerCodec::on_connection_closed() {
  const bool active = handler_ && !handler_finished_;
  closed_ = true;
  if (active) {
    handler_finished_ = true;
    if (stats_) stats_->downstream_cx_destroy_remote_active_rq.inc();
    handler_->on_downstream_reset(ResetReason::ConnectionTermination);
  }
}

void H1ServerCodec::start_drain() {
  draining_ = true;
  close_after_response_ = true;
  if (!handler_) {
    closed_ = true;
    io_.close_after_write();
  }
}

void H1ServerCodec::compact_input() {
  if (borrowing_) {
    borrowing_ = false;
    input_.assign(borrowed_.substr(consumed_));
    borrowed_ = {};
    consumed_ = 0;
    return;
  }
  if (consumed_ == input_.size()) {
    input_.clear();
    consumed_ = 0;
  } else if (consumed_ > 64 * 1024) {
    input_.erase(0, consumed_);
    consumed_ = 0;
  }
}

}  // namespace infergate::gateway
