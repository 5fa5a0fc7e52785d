#include "gateway/http/h2_session_util.h"

#include <algorithm>
#include <cstring>

namespace infergate::gateway::h2 {

bool is_connection_specific_header(std::string_view name) {
  return name == "connection" || name == "keep-alive" || name == "proxy-connection" ||
         name == "transfer-encoding" || name == "upgrade";
}

bool may_forward_header(std::string_view name, std::string_view value) {
  if (name.empty() || name.front() == ':') return false;  // pseudo-headers are built, never copied
  if (is_connection_specific_header(name)) return false;
  if (name == "te") return iequals(value, "trailers");
  return true;
}

namespace {

nghttp2_nv make_nv(std::string_view name, std::string_view value) {
  // nghttp2 copies both during submit (no NO_COPY flags), so pointing into the
  // caller's strings is safe for the duration of the call.
  nghttp2_nv nv;
  nv.name = reinterpret_cast<uint8_t*>(const_cast<char*>(name.data()));
  nv.namelen = name.size();
  nv.value = reinterpret_cast<uint8_t*>(const_cast<char*>(value.data()));
  nv.valuelen = value.size();
  nv.flags = NGHTTP2_NV_FLAG_NONE;
  return nv;
}

bool has_upper(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

}  // namespace

void HeaderBlock::add(std::string_view name, std::string_view value) {
  nva_.push_back(make_nv(name, value));
}

void HeaderBlock::add_owned(std::string_view name, std::string value) {
  owned_.push_back(std::move(value));
  nva_.push_back(make_nv(name, owned_.back()));
}

void HeaderBlock::add_regular(const HeaderMap& headers, std::string_view skip) {
  for (const auto& e : headers) {
    std::string_view name = e.name;
    if (has_upper(name)) {
      owned_.emplace_back(name);
      ascii_lower(owned_.back());
      name = owned_.back();
    }
    if (!skip.empty() && name == skip) continue;
    if (!may_forward_header(name, e.value)) continue;
    nva_.push_back(make_nv(name, e.value));
  }
}

void OutboundBody::append(std::string_view data) {
  if (ended_ || data.empty()) return;
  if (head_ > 0 && head_ >= buf_.size() / 2) {
    buf_.erase(0, head_);
    head_ = 0;
  }
  buf_.append(data);
}

void OutboundBody::end(std::optional<HeaderMap> trailers) {
  if (ended_) return;
  ended_ = true;
  if (trailers && !trailers->empty()) trailers_ = std::move(trailers);
}

ssize_t OutboundBody::read(nghttp2_session* session, int32_t stream_id, uint8_t* buf,
                           size_t length, uint32_t* data_flags) {
  size_t n = std::min(length, size());
  if (n > 0) {
    std::memcpy(buf, buf_.data() + head_, n);
    head_ += n;
    if (head_ == buf_.size()) {
      buf_.clear();
      head_ = 0;
    }
  }
  if (size() == 0 && ended_) {
    *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    if (trailers_) {
      // Trailers end the stream instead of the last DATA frame; nghttp2 documents
      // submitting them from inside this callback for exactly this purpose.
      HeaderBlock block;
      block.add_regular(*trailers_);
      *data_flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
      int rv = nghttp2_submit_trailer(session, stream_id, block.data(), block.size());
      trailers_.reset();
      if (rv != 0) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }
    return static_cast<ssize_t>(n);
  }
  if (n == 0) {
    deferred_ = true;
    return NGHTTP2_ERR_DEFERRED;
  }
  return static_cast<ssize_t>(n);
}

void OutboundBody::resume(nghttp2_session* session, int32_t stream_id) {
  if (!deferred_) return;
  deferred_ = false;
  nghttp2_session_resume_data(session, stream_id);
}

int pump_output(nghttp2_session* session, ConnectionIo& io, size_t high) {
  while (io.write_buffered() < high) {
    const uint8_t* data = nullptr;
    ssize_t n = nghttp2_session_mem_send(session, &data);
    if (n < 0) return static_cast<int>(n);
    if (n == 0) break;
    io.write(as_view(data, static_cast<size_t>(n)));
  }
  return 0;
}

}  // namespace infergate::gateway::h2
