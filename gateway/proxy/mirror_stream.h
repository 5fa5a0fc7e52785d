// A request copy for a mirror cluster (HTTPRoute RequestMirror, VirtualService mirror):
// Envoy's shadow. Fire and forget: it never delays or fails the request it copies, its response
// is read and dropped, and a mirror slower than the client is given up (counted "dropped")
// rather than buffered beyond one stream's watermark. The copy's authority gets Envoy's
// "-shadow" suffix so the mirror can tell copies from real traffic.
#pragma once

#include <memory>
#include <string>

#include "gateway/http/stream.h"
#include "gateway/net/worker_context.h"
#include "gateway/proxy/upstream_request.h"

namespace infergate::gateway {

class MirrorStream final : public UpstreamCallbacks {
 public:
  // Starts a copy of `head` (headers as forwarded) toward an endpoint of `cluster`. nullptr
  // when the cluster has no endpoint to send to or its pool refuses (counted "failed").
  static std::shared_ptr<MirrorStream> start(WorkerContext& ctx, std::shared_ptr<const Snapshot> snapshot,
                                             const pools::Cluster& cluster, const RequestHead& head, bool end_stream);
  ~MirrorStream() override;

  void send_data(std::string_view data, bool end_stream);
  void send_trailers(const HeaderMap& trailers);
  // The original request ended before its body did: the copy is cut off.
  void abandon();

  // UpstreamCallbacks
  void on_upstream_ready() override;
  void on_response_headers(ResponseHead&& head, bool end_stream) override;
  void on_response_data(std::string_view data, bool end_stream) override;
  void on_response_trailers(HeaderMap&& trailers) override;
  void on_upstream_reset(ResetReason reason) override;
  void on_upstream_writable() override {}

  MirrorStream(WorkerContext& ctx, std::shared_ptr<const Snapshot> snapshot, const pools::Cluster& cluster);

 private:
  void flush();
  void done(bool ok);
  void drop();

  WorkerContext& ctx_;
  std::shared_ptr<const Snapshot> snapshot_;  // keeps cluster_ and stats_ alive
  const pools::Cluster& cluster_;
  const ClusterStats* stats_;
  UpstreamRequest upstream_;
  RequestHead head_;
  std::string pending_;
  HeaderMap trailers_;
  bool has_trailers_ = false;
  bool request_complete_ = false;
  bool ready_ = false;
  bool sent_complete_ = false;
  bool finished_ = false;
  std::shared_ptr<MirrorStream> self_;  // held while the upstream stream is
};

// "host-shadow", "host-shadow:port": Envoy's shadow authority.
std::string shadow_authority(std::string_view authority);

}  // namespace infergate::gateway
