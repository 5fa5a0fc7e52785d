// The router, the chain's terminal filter (Envoy's router filter): it sends the request to an
// endpoint of the chosen backend, one UpstreamRequest per attempt, and streams both
// directions with watermark backpressure.
//  - endpoint: the external picker's answer, the pool picker, or the cluster's load balancer
//    (pools/endpoint_choice.h), within the cluster's circuit breakers (DestinationRule
//    connectionPool: active requests, pending requests, retries, connections);
//  - retries: on another endpoint, only while nothing of the response went downstream and
//    the body sent so far is small enough to replay; per-try timeout;
//  - the response: the route's and backend's response header changes, Envoy's
//    x-envoy-upstream-service-time, passive outlier detection on the endpoint.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "gateway/proxy/filter.h"
#include "gateway/proxy/upstream_request.h"

namespace infergate::gateway {

class Router final : public TerminalFilter, public UpstreamCallbacks {
 public:
  explicit Router(FilterCallbacks& stream) : stream_(stream) {}
  ~Router() override;

  // StreamFilter
  FilterStatus decode_headers(bool end_stream) override;
  FilterDataStatus decode_data(std::string_view data, bool end_stream) override;
  FilterStatus decode_trailers() override;
  void on_stream_end() override;

  // TerminalFilter
  void on_try_timeout() override;
  void detach_upstream(bool success) override;
  void pause_response(bool paused) override;
  void on_downstream_writable() override;

  // UpstreamCallbacks
  void on_upstream_ready() override;
  void on_response_headers(ResponseHead&& head, bool end_stream) override;
  void on_response_data(std::string_view data, bool end_stream) override;
  void on_response_trailers(HeaderMap&& trailers) override;
  void on_upstream_reset(ResetReason reason) override;
  void on_upstream_writable() override;

  // Request bodies up to this size are kept until the first response byte so that a failed
  // attempt can be replayed on another endpoint; larger bodies are not retried.
  static constexpr size_t kRetryBufferLimit = 64 * 1024;

 private:
  void start_attempt();
  bool choose_endpoint();
  bool take_attempt_slots();
  void release_attempt_slots();
  void flow_room();
  void send_buffered_request();
  void retain(std::string_view sent);
  void upstream_failed(ResetReason reason);
  bool retry_on_another_endpoint();
  void watch_request_watermark();

  FilterCallbacks& stream_;
  bool ended_ = false;  // the stream finished: no more upstream work
  UpstreamRequest upstream_;
  bool upstream_ready_ = false;
  bool request_sent_complete_ = false;
  std::string retained_body_;  // sent, kept for a retry while small enough
  bool retriable_ = true;
  uint32_t attempts_ = 0;
  uint32_t max_attempts_ = 2;
  bool holds_rq_ = false, holds_pending_ = false, holds_retry_ = false;  // cluster load slots
  bool upstream_paused_ = false;
  bool first_data_ = true;
};

}  // namespace infergate::gateway
