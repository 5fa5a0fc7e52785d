// One proxied request: the router between a downstream stream and an upstream stream.
//
// It applies the connection-manager header policy (request id, forwarding headers,
// hop-by-hop removal), matches a route on the snapshot it started with, picks a
// weighted backend and an endpoint, and streams both directions with watermark
// backpressure. It retries on another endpoint only while nothing of the response has
// gone downstream, and answers with Envoy's local replies and response flags.
#pragma once

#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "gateway/net/listener_info.h"
#include "gateway/proxy/mirror_stream.h"
#include "gateway/proxy/response_flags.h"
#include "gateway/proxy/route_actions_apply.h"
#include "gateway/http/stream.h"
#include "gateway/proxy/version_stats.h"
#include "gateway/net/worker_context.h"
#include "metrics/token_usage.h"
#include "pools/ext_proc/epp_client.h"
#include "routing/body_model.h"

namespace infergate::gateway {

class Exchange final : public StreamHandler, public UpstreamCallbacks {
 public:
  // `tls` is the connection's TLS state (nullptr for plaintext).
  Exchange(WorkerContext& ctx, DownstreamStream& downstream, const ListenerInfo& listener,
           std::shared_ptr<const DownstreamTls> tls = nullptr);
  ~Exchange() override;

  // StreamHandler
  void on_request_headers(RequestHead&& head, bool end_stream) override;
  void on_request_data(std::string_view data, bool end_stream) override;
  void on_request_trailers(HeaderMap&& trailers) override;
  void on_downstream_reset(ResetReason reason) override;
  void on_codec_reply(int status) override;
  void on_downstream_writable() override;

  // UpstreamCallbacks
  void on_upstream_ready() override;
  void on_response_headers(ResponseHead&& head, bool end_stream) override;
  void on_response_data(std::string_view data, bool end_stream) override;
  void on_response_trailers(HeaderMap&& trailers) override;
  void on_upstream_reset(ResetReason reason) override;
  void on_upstream_writable() override;

 private:
  void prepare_request_headers();
  void apply_forward_client_cert();
  bool wants_body_model(bool end_stream) const;
  void scan_body(std::string_view data);
  void body_model_ready();
  void rewrite_model();
  bool trusts_model_header() const;
  void count_duplicate_model();
  void refuse_model_conflict();
  void start_mirrors();
  void end_mirrors();
  void route_request();
  bool rate_limited();
  bool authorized();
  void start_fault_delay();
  void after_fault_delay();
  void choose_backend();
  void apply_request_actions();
  void start_attempt();
  bool pick_from_pool();
  void no_healthy_upstream();
  void charge_prefill();
  void release_prefill();
  bool start_epp();
  void on_epp_result(ext_proc::EppResult result);
  void epp_failed(std::string_view why);
  void report_served_to_epp(const ResponseHead& head);
  std::string_view prompt_text() const;
  bool take_attempt_slots();
  void release_attempt_slots();
  void send_buffered_request();
  void local_reply(int status, std::string_view body, ResponseFlag flag, HeaderMap extra = {});
  void upstream_failed(ResetReason reason);
  bool retry_on_another_endpoint();
  void response_complete();
  void finish();
  void detach_upstream(bool success);
  std::chrono::steady_clock::time_point next_deadline() const;
  void arm_timer();
  void on_timer();
  void on_request_timeout();
  void on_per_try_timeout();
  void on_stream_idle_timeout();
  void log_and_count();
  void start_usage(const ResponseHead& head);
  void record_version_stats(std::chrono::steady_clock::time_point now);

  WorkerContext& ctx_;
  DownstreamStream& downstream_;
  const ListenerInfo& listener_;
  std::shared_ptr<const DownstreamTls> tls_;
  std::shared_ptr<const Snapshot> snapshot_;

  RequestHead request_;
  HeaderMap request_trailers_;
  bool has_request_trailers_ = false;
  std::string pending_body_;   // not yet sent upstream
  std::string retained_body_;  // sent, kept for a retry while small enough
  bool retriable_ = true;
  bool request_complete_ = false;
  // Body-based routing: the body is held in pending_body_ until its "model" is known.
  bool awaiting_body_model_ = false;
  std::optional<routing::ModelFieldScanner> body_scan_;
  std::vector<std::shared_ptr<MirrorStream>> mirrors_;  // copies of this request (shadows)
  std::string_view adapter_;    // the model forwarded instead of the body's (in snapshot_'s table)
  HeaderMap rate_limit_headers_;  // x-ratelimit-* added to the response ("" = none)
  std::string session_cookie_;  // Set-Cookie starting a sessionPersistence session ("" = none)

  const routing::Route* route_ = nullptr;
  std::string_view matched_prefix_;  // HTTPRoute PathPrefix that matched (in snapshot_'s table)
  const routing::BackendRef* backend_ = nullptr;  // the route's backend this request goes to
  FaultDecision fault_;
  std::string original_path_;  // before a rewrite; "" when the path was not rewritten
  const pools::Cluster* cluster_ = nullptr;
  const ClusterStats* cstats_ = nullptr;
  VersionStats::Series vstats_;  // resolved once the backend and model are known
  const pools::EndpointState* endpoint_ = nullptr;
  pools::PickResult picked_;  // an InferencePool picker's choice: primary, then fallbacks
  uint32_t prompt_bytes_ = 0;  // the prompt the picker saw
  // Prefill this attempt added to its endpoint's EndpointState::prefill_bytes, taken back at
  // the first response byte or when the attempt ends.
  pools::EndpointState* prefill_on_ = nullptr;
  int64_t prefill_charge_ = 0;
  uint8_t next_fallback_ = 1;
  // External endpoint picker call (InferencePool endpointPickerRef): open from the request's
  // headers until the response headers are reported.
  std::unique_ptr<ext_proc::EppCall> epp_;
  bool epp_waiting_ = false;  // no answer yet: body chunks still go to the EPP
  routing::BodyEdits body_edits_;  // what rewrite_model() changed in pending_body_
  bool duplicate_model_counted_ = false;
  UpstreamStream* upstream_ = nullptr;
  bool upstream_ready_ = false;
  bool request_sent_complete_ = false;
  uint32_t attempts_ = 0;
  uint32_t max_attempts_ = 2;
  bool holds_rq_ = false, holds_pending_ = false, holds_retry_ = false;  // cluster_->load slots

  bool response_started_ = false;
  bool response_done_ = false;
  bool finished_ = false;
  bool downstream_gone_ = false;
  bool upstream_paused_ = false;
  bool downstream_paused_ = false;
  int response_code_ = 0;
  int upstream_status_ = 0;   // what the model server answered (0: nothing)
  int codec_reply_code_ = 0;  // answered by the codec: logged, counted there
  ResponseFlags flags_;

  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point upstream_start_;
  int64_t upstream_service_ms_ = -1;
  std::chrono::system_clock::time_point start_wall_;
  uint64_t bytes_received_ = 0, bytes_sent_ = 0;
  std::string upstream_host_;
  // Token metrics: usage read from the response as it streams through, first and last body byte.
  std::optional<metrics::TokenUsageReader> usage_;
  std::chrono::steady_clock::time_point first_byte_{}, last_byte_{};

  static constexpr auto kNever = std::chrono::steady_clock::time_point::max();
  std::chrono::steady_clock::time_point request_deadline_ = kNever;
  std::chrono::steady_clock::time_point try_deadline_ = kNever;
  std::chrono::steady_clock::time_point last_activity_{};
  std::chrono::milliseconds stream_idle_{0};
  bool timer_armed_ = false;
  std::optional<boost::asio::steady_timer> timer_;
  std::optional<boost::asio::steady_timer> fault_timer_;  // an injected delay
  std::shared_ptr<Exchange*> alive_;  // timers hold a weak_ptr: a fired timer never outlives us
};

}  // namespace infergate::gateway
