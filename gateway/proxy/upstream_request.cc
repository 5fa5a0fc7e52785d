#include "gateway/proxy/upstream_request.h"

namespace infergate::gateway {

bool UpstreamRequest::open(UpstreamStream* stream, pools::EndpointState& endpoint, const ClusterStats& stats) {
  close(false);
  if (!stream) return false;
  stream_ = stream;
  endpoint_ = &endpoint;
  stats_ = &stats;
  endpoint.request_started();
  stats.upstream_rq_total.inc();
  stats.upstream_rq_active.add(1);
  return true;
}

void UpstreamRequest::close(bool release) {
  if (UpstreamStream* s = stream_) {
    stream_ = nullptr;
    if (release) s->release();
    else s->reset();
  }
  end_counts();
}

void UpstreamRequest::end_counts() {
  if (!endpoint_) return;
  endpoint_->request_ended();
  stats_->upstream_rq_active.sub(1);
  endpoint_ = nullptr;
}

}  // namespace infergate::gateway
