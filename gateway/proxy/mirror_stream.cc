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

MirrorStream::~MirrorStream() {
  if (upstream_) {
    UpstreamStream* u = upstream_;
    upstream_ = nullptr;
    u->reset();
  }
  if (endpoint_) endpoint_->active_requests.fetch_sub(1, std::memory_order_relaxed);
}

std::shared_ptr<MirrorStream> MirrorStream::start(WorkerContext& ctx, std::shared_ptr<const Snapshot> snapshot,
                                                  const pools::Cluster& cluster, const RequestHead& head,
                                                  bool end_stream) {
  auto m = std::make_shared<MirrorStream>(ctx, std::move(snapshot), cluster);
  const pools::EndpointState* ep = cluster.pick(ctx.random());
  if (!ep) {
    m->stats_->upstream_cx_none_healthy.inc();
    ctx.stats.count(MirrorResult::Failed);
    return nullptr;
  }
  ConnPool& pool = ctx.conn_pools.get(ep->address, ep->port,
                                     cluster.protocol,
                                     m->snapshot_->upstream_tls_for(&cluster));
  m->head_ = head;
  m->head_.authority = shadow_authority(head.authority);
  m->request_complete_ = end_stream;
  m->upstream_ = pool.new_stream(*m, m->stats_);
  if (!m->upstream_) {
    ctx.stats.count(MirrorResult::Failed);
    return nullptr;
  }
  m->endpoint_ = const_cast<pools::EndpointState*>(ep);
  m->endpoint_->active_requests.fetch_add(1, std::memory_order_relaxed);
  m->stats_->upstream_rq_total.inc();
  m->stats_->upstream_rq_active.add(1);
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
  upstream_->send_data(data, end_stream);
  if (end_stream) sent_complete_ = true;
  if (upstream_ && upstream_->buffered_bytes() > Watermarks{}.high) drop();
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
  upstream_->send_headers(head_, end);
  if (end) {
    sent_complete_ = true;
    return;
  }
  flush();
}

void MirrorStream::flush() {
  if (!upstream_ || sent_complete_) return;
  if (!pending_.empty() || (request_complete_ && !has_trailers_)) {
    std::string body;
    body.swap(pending_);
    const bool end = request_complete_ && !has_trailers_;
    upstream_->send_data(body, end);
    if (!upstream_) return;
    if (end) sent_complete_ = true;
  }
  if (request_complete_ && has_trailers_ && !sent_complete_) {
    upstream_->send_trailers(trailers_);
    sent_complete_ = true;
  }
}

void MirrorStream::on_response_headers(ResponseHead&& head, bool end_stream) {
  stats_->count_response(head.status);
  cluster_.report_result(*endpoint_, head.status < 500);
  if (end_stream) done(true);
}

void MirrorStream::on_response_data(std::string_view, bool end_stream) {
  if (end_stream) done(true);
}

void MirrorStream::on_response_trailers(HeaderMap&&) { done(true); }

void MirrorStream::on_upstream_reset(ResetReason) {
  upstream_ = nullptr;
  if (finished_) return;
  if (endpoint_) cluster_.report_result(*endpoint_, false);
  ctx_.stats.count(MirrorResult::Failed);
  done(false);
}

void MirrorStream::drop() {
  if (finished_) return;
  ctx_.stats.count(MirrorResult::Dropped);
  if (upstream_) stats_->upstream_rq_tx_reset.inc();
  done(false);
}

// Ends the copy. Its memory goes once the current callback chain has unwound: a codec may
// still be inside a call on this object.
void MirrorStream::done(bool ok) {
  if (finished_) return;
  finished_ = true;
  stats_->upstream_rq_active.sub(1);
  if (upstream_) {
    UpstreamStream* u = upstream_;
    upstream_ = nullptr;
    if (ok && sent_complete_) u->release();
    else u->reset();
  }
  if (endpoint_) {
    endpoint_->active_requests.fetch_sub(1, std::memory_order_relaxed);
    endpoint_ = nullptr;
  }
  pending_.clear();
  if (self_) boost::asio::post(ctx_.io, [keep = std::move(self_)] {});
}

}  // namespace infergate::gateway
