// One proxied request: Envoy's ActiveStream (the connection manager's per-request part).
//
// It applies the connection manager's request policy (hop-by-hop removal, forwarding
// headers, XFCC, request id, path normalization), runs the request through the filter chain
// (proxy/filter_chain.h) whose last filter, the router, talks to the upstream, and sends the
// response back with watermark backpressure. It owns what outlives any one filter: the
// request's StreamState, its one timer (request, per-try and stream-idle deadlines), local
// replies, and the access log line and statistics written when it finishes.
#pragma once

#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gateway/http/stream.h"
#include "gateway/net/listener_info.h"
#include "gateway/net/worker_context.h"
#include "gateway/proxy/filter.h"
#include "gateway/proxy/filter_chain.h"
#include "gateway/proxy/mirror_stream.h"
#include "gateway/proxy/stream_state.h"
#include "metrics/token_usage.h"

namespace infergate::gateway {

class ActiveStream final : public StreamHandler, public FilterCallbacks {
 public:
  // `tls` is the connection's TLS state (nullptr for plaintext).
  ActiveStream(WorkerContext& ctx, DownstreamStream& downstream, const ListenerInfo& listener,
               std::shared_ptr<const DownstreamTls> tls = nullptr);
  ~ActiveStream() override;

  // StreamHandler
  void on_request_headers(RequestHead&& head, bool end_stream) override;
  void on_request_data(std::string_view data, bool end_stream) override;
  void on_request_trailers(HeaderMap&& trailers) override;
  void on_downstream_reset(ResetReason reason) override;
  void on_codec_reply(int status) override;
  void on_downstream_writable() override;

  // FilterCallbacks
  StreamState& state() override { return state_; }
  const Snapshot& snapshot() const override { return *snapshot_; }
  const DownstreamInfo& downstream() const override { return info_; }
  const ProxyStats& stats() const override { return ctx_.stats; }
  const SecurityStats& security() const override { return ctx_.security; }
  uint64_t random() override { return ctx_.random(); }
  void continue_decoding() override;
  void continue_encoding() override;
  void send_local_reply(int status, std::string_view body, ResponseFlag flag, HeaderMap extra = {}) override;
  void schedule(std::chrono::milliseconds delay, std::function<void()> fn) override;
  std::function<void(std::function<void()>)> poster() override;
  bool resolve_backend() override;
  void deadlines_changed() override { arm_timer(); }
  UpstreamStream* new_upstream_stream(const pools::Cluster& cluster, const pools::EndpointState& endpoint,
                                      UpstreamCallbacks& callbacks, const ClusterStats& stats,
                                      const ConnectionBudget* budget) override {
    return ctx_.conn_pools.new_stream(endpoint, cluster.protocol, snapshot_->upstream_tls_for(&cluster), callbacks, stats,
                                      budget);
  }
  std::shared_ptr<MirrorStream> start_mirror(const pools::Cluster& cluster, const RequestHead& head,
                                             bool end_stream) override {
    return MirrorStream::start(ctx_, snapshot_, cluster, head, end_stream);
  }
  void encode_headers(ResponseHead&& head, bool end_stream) override;
  void encode_data(std::string_view data, bool end_stream) override;
  void encode_trailers(HeaderMap&& trailers) override;
  void pause_request_body(bool paused) override;
  size_t downstream_buffered_bytes() const override { return downstream_.buffered_bytes(); }
  void response_complete() override;
  void reset_downstream() override;

 private:
  void prepare_request_headers();
  void reserve_held_body(uint64_t already_received);
  void decode_headers_from(size_t index);
  void encode_headers_from(size_t end);
  void send_response_head();
  void finish();
  void abandon_upstream();
  std::chrono::steady_clock::time_point next_deadline() const;
  void arm_timer();
  void on_timer();
  void on_request_timeout();
  void on_stream_idle_timeout();
  std::weak_ptr<ActiveStream*> alive();
  // stream_log.cc
  void start_usage(const ResponseHead& head);
  void log_and_count();
  void record_version_stats(std::chrono::steady_clock::time_point now);

  WorkerContext& ctx_;
  DownstreamStream& downstream_;
  const ListenerInfo& listener_;
  std::shared_ptr<const DownstreamTls> tls_;
  std::shared_ptr<const Snapshot> snapshot_;
  DownstreamInfo info_;
  StreamState state_;

  FilterChain filters_;
  TerminalFilter* router_ = nullptr;  // filters_.back()
  size_t decoded_ = 0;       // filters that have seen the request headers
  bool stopped_ = false;     // a filter stopped the decode iteration
  bool headers_only_ = false;

  // The response head while the encoder filters run; held with what follows it while one
  // stopped the iteration.
  ResponseHead encoding_head_;
  bool encoding_end_ = false;
  bool encode_stopped_ = false;
  size_t encode_stopped_at_ = 0;
  std::string held_response_data_;
  bool held_response_end_ = false;
  std::optional<HeaderMap> held_response_trailers_;

  bool response_done_ = false;
  bool finished_ = false;
  bool downstream_gone_ = false;
  bool downstream_paused_ = false;
  int codec_reply_code_ = 0;  // answered by the codec: logged, counted there

  std::chrono::system_clock::time_point start_wall_;
  uint64_t bytes_received_ = 0, bytes_sent_ = 0;
  // Token metrics: usage read from the response as it streams through, first and last body byte.
  std::optional<metrics::TokenUsageReader> usage_;
  std::chrono::steady_clock::time_point first_byte_{}, last_byte_{};

  bool timer_armed_ = false;
  std::optional<boost::asio::steady_timer> timer_;
  std::vector<std::unique_ptr<boost::asio::steady_timer>> scheduled_;  // filters' timers
  std::shared_ptr<ActiveStream*> alive_;  // timers and posts hold a weak_ptr: none outlives us
};

}  // namespace infergate::gateway
