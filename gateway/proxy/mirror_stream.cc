#include "gateway/proxy/mirror_stream.h"

#include <boost/asio/post.hpp>

namespace infergate::gateway {

std::string shadow_authority(std::string_view authority) {
  size_t colon = authority.rfind(':');
  // "[::1]:8080" has its port after the bracket; "[::1]" has none.
  if (colon != std::string_view::npos && authority.find(']', colon) != std::string_view::npos)
    colon = std::string_view::npos;
  if (colon == std::string_view::npos) return std::string(authority) + "-shadow";
  return std::string(authority.substr(0, colon)) + "-shadow" + std::string(authority.substr(colon));
}

MirrorStream::MirrorStream(WorkerContext& ctx, std::shared_ptr<const Snapshot> snapshot, const pools::Cluster& cluster)
    : ctx_(ctx), snapshot_(std::move(snapshot)), cluster_(cluster), stats_(snapshot_->stats_for(&cluster)) {}

MirrorStream::~MirrorStream() = default;

std::shared_ptr<MirrorStream> MirrorStream::start(WorkerContext& ctx, std::shared_ptr<const Snapshot> snapshot,
                                                  const pools::Cluster& cluster, const RequestHead& head,
                                                  bool end_stream) {
  auto m = std::make_shared<MirrorStream>(ctx, std::move(snapshot), cluster);
  pools::EndpointState* ep = cluster.pick(ctx.random());
  if (!ep) {
    m->stats_->upstream_cx_none_healthy.inc();
    ctx.stats.count(MirrorResult::Failed);
    return nullptr;
  }
  m->head_ = head;
  m->head_.authority = shadow_authority(head.authority);
  m->request_complete_ = end_stream;
  UpstreamStream* stream =
      ctx.conn_pools.new_stream(*ep, cluster.protocol, m->snapshot_->upstream_tls_for(&cluster), *m, *m->stats_);
  if (!m->upstream_.open(stream, *ep, *m->stats_)) {
    ctx.stats.count(MirrorResult::Failed);
    return nullptr;
  }
  m->self_ = m;
  ctx.stats.count(MirrorResult::Sent);
  return m;
}

void MirrorStream::send_data(std::string_view data, bool end_stream) {
  if (finished_ || request_complete_) return;
  request_complete_ = end_stream;
  if (!ready_) {
    if (pending_.size() + data.size() > Watermarks{}.high) return drop();
    pending_.append(data);
    return;
  }
  upstream_.stream()->send_data(data, end_stream);
  if (end_stream) sent_complete_ = true;
  if (upstream_.is_open() && upstream_.stream()->buffered_bytes() > Watermarks{}.high) drop();
}

void MirrorStream::send_trailers(const HeaderMap& trailers) {
  if (finished_ || request_complete_) return;
  request_complete_ = true;
  trailers_ = trailers;
  has_trailers_ = true;
  if (ready_) flush();
}

void MirrorStream::abandon() {
  if (!finished_ && !request_complete_) drop();
}

void MirrorStream::on_upstream_ready() {
  ready_ = true;
  const bool end = request_complete_ && pending_.empty() && !has_trailers_;
  upstream_.stream()->send_headers(head_, end);
  if (end) {
    sent_complete_ = true;
    return;
  }
  flush();
}

void MirrorStream::flush() {
  if (!upstream_.is_open() || sent_complete_) return;
  if (!pending_.empty() || (request_complete_ && !has_trailers_)) {
    std::string body;
    body.swap(pending_);
    const bool end = request_complete_ && !has_trailers_;
    upstream_.stream()->send_data(body, end);
    if (!upstream_.is_open()) return;
    if (end) sent_complete_ = true;
  }
  if (request_complete_ && has_trailers_ && !sent_complete_) {
    upstream_.stream()->send_trailers(trailers_);
    sent_complete_ = true;
  }
}

void MirrorStream::on_response_headers(ResponseHead&& head, bool end_stream) {
  stats_->count_response(head.status);
  if (pools::EndpointState* ep = upstream_.endpoint()) cluster_.report_result(*ep, head.status < 500);
  if (end_stream) done(true);
}

void MirrorStream::on_response_data(std::string_view, bool end_stream) {
  if (end_stream) done(true);
}

void MirrorStream::on_response_trailers(HeaderMap&&) { done(true); }

void MirrorStream::on_upstream_reset(ResetReason) {
  pools::EndpointState* ep = upstream_.endpoint();
  upstream_.on_reset();
  if (finished_) return;
  if (ep) cluster_.report_result(*ep, false);
  ctx_.stats.count(MirrorResult::Failed);
  done(false);
}

void MirrorStream::drop() {
  if (finished_) return;
  ctx_.stats.count(MirrorResult::Dropped);
  if (upstream_.is_open()) stats_->upstream_rq_tx_reset.inc();
  done(false);
}

// Ends the copy. Its memory goes once the current callback chain has unwound: a codec may
// still be inside a call on this object.
void MirrorStream::done(bool ok) {
  if (finished_) return;
  finished_ = true;
  upstream_.close(ok && sent_complete_);
  pending_.clear();
  if (self_) boost::asio::post(ctx_.io, [keep = std::move(self_)] {});
}

}  // namespace infergate::gateway
