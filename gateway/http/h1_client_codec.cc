#include "gateway/http/h1_client_codec.h"

#include "gateway/http/h1_chunk_writer.h"

#include <charconv>

namespace infergate::gateway {

namespace {

bool has_close_token(const HeaderMap& headers) {
  const std::string* v = headers.get("connection");
  if (!v) return false;
  std::string_view s = *v;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(',', start);
    if (end == std::string_view::npos) end = s.size();
    std::string_view t = s.substr(start, end - start);
    while (!t.empty() && t.front() == ' ') t.remove_prefix(1);
    while (!t.empty() && t.back() == ' ') t.remove_suffix(1);
    if (iequals(t, "close")) return true;
    start = end + 1;
  }
  return false;
}

}  // namespace

H1ClientCodec::H1ClientCodec(ConnectionIo& io, const H1ClientOptions& opts) : io_(io), opts_(opts) {}

UpstreamStream* H1ClientCodec::new_stream(UpstreamCallbacks& callbacks) {
  if (!can_take_stream()) return nullptr;
  callbacks_ = &callbacks;
  request_complete_ = headers_delivered_ = response_complete_ = paused_ = head_request_ = false;
  chunked_request_ = false;
  parser_.emplace(opts_.max_header_bytes, opts_.max_headers_count, 0);
  parser_->sink.on_body = [this](std::string_view body) {
    if (callbacks_) callbacks_->on_response_data(body, false);
  };
  if (connected_) {
    ready_pending_ = true;
    io_.schedule_flush();
  }
  return this;
}

void H1ClientCodec::on_connected() {
  connected_ = true;
  if (callbacks_) {
    ready_pending_ = true;
    io_.schedule_flush();
  }
}

void H1ClientCodec::on_tick() {
  if (ready_pending_ && callbacks_) {
    ready_pending_ = false;
    callbacks_->on_upstream_ready();
    return;
  }
  if (callbacks_ && !paused_ && consumed_ < input_.size() && !in_parse_) parse();
}

void H1ClientCodec::send_headers(const RequestHead& head, bool end_stream) {
  std::string out;
  out.reserve(128 + head.headers.byte_size() + head.headers.size() * 4);
  out.append(head.method).push_back(' ');
  out.append(head.path.empty() ? std::string_view("/") : std::string_view(head.path));
  out.append(" HTTP/1.1\r\nhost: ");
  out.append(head.authority).append("\r\n");
  head_request_ = head.method == "HEAD";
  bool has_length = false;
  for (const auto& h : head.headers) {
    if (h.name == "host" || h.name == "transfer-encoding") continue;
    if (h.name == "content-length") has_length = true;
    out.append(h.name).append(": ").append(h.value).append("\r\n");
  }
  if (!has_length && !end_stream) {
    chunked_request_ = true;
    out.append("transfer-encoding: chunked\r\n");
  }
  out.append("\r\n");
  io_.write(out);
  if (end_stream) request_complete_ = true;
  if (head_request_ && parser_) parser_->skip(true);
}

void H1ClientCodec::send_data(std::string_view data, bool end_stream) {
  if (broken_) return;
  if (chunked_request_) {
    write_chunk(io_, data, end_stream);
  } else {
    io_.write(data);
  }
  if (end_stream) request_complete_ = true;
}

void H1ClientCodec::send_trailers(const HeaderMap& trailers) {
  if (broken_) return;
  if (chunked_request_) {
    std::string out("0\r\n");
    for (const auto& h : trailers) out.append(h.name).append(": ").append(h.value).append("\r\n");
    out.append("\r\n");
    io_.write(out);
  }
  request_complete_ = true;
}

bool H1ClientCodec::on_read(std::string_view bytes) {
  if (!callbacks_) {
    // Bytes on an idle keep-alive connection: the upstream broke framing.
    broken_ = protocol_failed_ = true;
    return false;
  }
  if (consumed_ == input_.size()) {
    input_.assign(bytes);
    consumed_ = 0;
  } else {
    input_.append(bytes);
  }
  return parse();
}

bool H1ClientCodec::parse() {
  in_parse_ = true;
  while (callbacks_ && !paused_ && consumed_ < input_.size()) {
    boost::beast::error_code ec;
    std::string_view avail(input_.data() + consumed_, input_.size() - consumed_);
    if (!headers_delivered_) {
      consumed_ += parser_->feed(avail, ec);
      if (ec) {
        in_parse_ = false;
        fail(ResetReason::ProtocolError);
        return false;
      }
      if (!parser_->is_header_done()) break;
      ResponseHead& resp = parser_->response;
      if (resp.status >= 100 && resp.status < 200 && resp.status != 101) {
        // Interim responses are not forwarded; parse the real one next.
        parser_.emplace(opts_.max_header_bytes, opts_.max_headers_count, 0);
        parser_->sink.on_body = [this](std::string_view body) {
          if (callbacks_) callbacks_->on_response_data(body, false);
        };
        if (head_request_) parser_->skip(true);
        continue;
      }
      headers_delivered_ = true;
      if (has_close_token(resp.headers)) reusable_ = false;
      const bool done = parser_->is_done();
      if (done) response_complete_ = true;
      callbacks_->on_response_headers(std::move(resp), done);
      continue;
    }
    // Eager only after the head went out, so no body byte overtakes it.
    parser_->eager(true);
    size_t n = parser_->feed(avail, ec);
    consumed_ += n;
    if (ec) {
      in_parse_ = false;
      fail(ResetReason::ProtocolError);
      return false;
    }
    if (!callbacks_) break;
    if (parser_->is_done()) {
      response_complete_ = true;
      if (parser_->has_trailers)
        callbacks_->on_response_trailers(std::move(parser_->trailers));
      else
        callbacks_->on_response_data({}, true);
      break;
    }
    if (n == 0) break;
  }
  in_parse_ = false;
  if (consumed_ == input_.size()) {
    input_.clear();
    consumed_ = 0;
  }
  return !broken_;
}

void H1ClientCodec::pause_response(bool paused) {
  if (paused_ == paused) return;
  paused_ = paused;
  io_.pause_reading(paused);
  if (!paused) io_.schedule_flush();
}

void H1ClientCodec::release() {
  if (!response_complete_ || !request_complete_ || consumed_ < input_.size()) reusable_ = false;
  if (parser_ && parser_->need_eof()) reusable_ = false;
  callbacks_ = nullptr;
  paused_ = false;
  io_.pause_reading(false);
  if (!reusable_) io_.close_after_write();
  else io_.schedule_flush();  // lets the connection go back to its pool's idle list
}

void H1ClientCodec::reset() {
  callbacks_ = nullptr;
  reusable_ = false;
  broken_ = true;
  io_.abort();
}

void H1ClientCodec::fail(ResetReason reason) {
  broken_ = true;
  if (reason == ResetReason::ProtocolError) protocol_failed_ = true;
  reusable_ = false;
  if (UpstreamCallbacks* cb = callbacks_) {
    callbacks_ = nullptr;
    cb->on_upstream_reset(reason);
  }
}

void H1ClientCodec::on_write_drained() {
  if (callbacks_ && !request_complete_) callbacks_->on_upstream_writable();
}

void H1ClientCodec::on_connection_closed(ResetReason reason) {
  reusable_ = false;
  if (!callbacks_) return;
  // A body delimited by the connection's close ends here.
  if (headers_delivered_ && parser_ && parser_->need_eof() && !response_complete_) {
    boost::beast::error_code ec;
    parser_->put_eof(ec);
    if (!ec) {
      response_complete_ = true;
      UpstreamCallbacks* cb = callbacks_;
      cb->on_response_data({}, true);
      return;
    }
  }
  if (response_complete_) return;
  fail(connected_ ? (reason == ResetReason::ConnectFailure ? ResetReason::ConnectionTermination : reason)
                  : ResetReason::ConnectFailure);
}

}  // namespace infergate::gateway
