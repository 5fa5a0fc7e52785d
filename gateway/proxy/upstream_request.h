// One request sent to one endpoint of a cluster: the stream from the worker's connection
// pool and the counts it holds while it runs (the endpoint's in-flight requests, the
// cluster's upstream_rq_total and upstream_rq_active). The router opens one per attempt; a
// mirror opens one for its copy. Both drive the stream themselves.
#pragma once

#include "gateway/http/stream.h"
#include "gateway/proxy/proxy_stats.h"
#include "pools/cluster.h"

namespace infergate::gateway {

class UpstreamRequest {
 public:
  UpstreamRequest() = default;
  UpstreamRequest(const UpstreamRequest&) = delete;
  UpstreamRequest& operator=(const UpstreamRequest&) = delete;
  ~UpstreamRequest() { close(false); }

  // Takes `stream` (from ConnPools::new_stream) to `endpoint` and starts the counts. False
  // when there is no stream (a connection limit refused it); nothing is counted then.
  bool open(UpstreamStream* stream, pools::EndpointState& endpoint, const ClusterStats& stats);

  bool is_open() const { return stream_ != nullptr; }
  UpstreamStream* stream() const { return stream_; }
  pools::EndpointState* endpoint() const { return endpoint_; }

  // The codec reset the stream (on_upstream_reset): it calls no more; the counts end.
  void on_reset() {
    stream_ = nullptr;
    end_counts();
  }
  // Done with it: the stream goes back to its pool after a complete exchange (`release`),
  // else it is reset; the counts end. No-op once closed.
  void close(bool release);

 private:
  void end_counts();

  UpstreamStream* stream_ = nullptr;
  pools::EndpointState* endpoint_ = nullptr;
  const ClusterStats* stats_ = nullptr;
};

}  // namespace infergate::gateway
