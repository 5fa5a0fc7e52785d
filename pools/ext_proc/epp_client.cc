#include "pools/ext_proc/epp_client.h"

#include <grpc/support/time.h>
#include <grpcpp/alarm.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <mutex>
#include <optional>

#include "pools/ext_proc/epp_channel_impl.h"
#include "pools/ext_proc/epp_protocol.h"

namespace infergate::ext_proc {

namespace pb = detail::pb;

namespace {

gpr_timespec deadline_after(std::chrono::milliseconds ms) {
  return gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                      gpr_time_from_millis(static_cast<int64_t>(ms.count()), GPR_TIMESPAN));
}

}  // namespace

// The reactor. Ownership: the EppCall holds one reference; once start() ran, the stream also
// holds itself (self_) until OnDone, so gRPC never sees a dead reactor whatever the caller
// does. A write-side hold (AddHold) keeps OnDone from running while the caller may still
// start writes; it is released once writing is over (WritesDone finished, the call failed,
// or it was cancelled). Locks are never held across calls into gRPC.
class EppCall::Stream
    : public grpc::ClientBidiReactor<pb::ProcessingRequest, pb::ProcessingResponse>,
      public std::enable_shared_from_this<EppCall::Stream> {
 public:
  Stream(std::shared_ptr<EppChannel> channel, PostFn post, ResultFn on_result,
         EppCallOptions options)
      : channel_(std::move(channel)),
        post_(std::move(post)),
        on_result_(std::move(on_result)),
        options_(std::move(options)) {
    if (options_.message_timeout.count() <= 0) {
      options_.message_timeout = channel_->options().message_timeout;
    }
  }

  // --- caller (worker) side ---------------------------------------------------------

  void start(const Headers& headers, bool end_of_stream) {
    started_at_ = std::chrono::steady_clock::now();
    phase_.emplace(end_of_stream, options_.result_on_endpoint,
                   channel_->options().max_body_mutation_bytes);
    self_ = shared_from_this();
    channel_->stats().calls.fetch_add(1, std::memory_order_relaxed);
    channel_->impl().stub->async()->Process(&context_, this);
    AddHold();
    {
      std::lock_guard lk(mu_);
      queue_.push_back(detail::make_request_headers(headers, end_of_stream, options_));
    }
    StartRead(&read_buf_);
    if (end_of_stream) arm_timeout();
    pump();
    StartCall();
  }

  void send_body(std::string_view chunk, bool end_of_stream, bool response) {
    if (response && !options_.send_response_body) return;
    {
      std::lock_guard lk(mu_);
      if (writes_closed_locked()) return;
      const std::size_t max = std::max<std::size_t>(1, channel_->options().max_body_chunk);
      do {
        std::string_view piece = chunk.substr(0, max);
        chunk.remove_prefix(piece.size());
        bool last = chunk.empty();
        if (piece.empty() && !(last && end_of_stream)) break;
        queue_.push_back(response ? detail::make_response_body(piece, end_of_stream && last)
                                  : detail::make_request_body(piece, end_of_stream && last));
      } while (!chunk.empty());
    }
    if (end_of_stream && !response) arm_timeout();
    pump();
  }

  void send_trailers(const Headers& trailers, bool response) {
    {
      std::lock_guard lk(mu_);
      if (writes_closed_locked()) return;
      queue_.push_back(response ? detail::make_response_trailers(trailers)
                                : detail::make_request_trailers(trailers));
    }
    if (!response) arm_timeout();
    pump();
  }

  // Worker thread. False when the stream can take no more: on_answer will not run.
  bool send_response_headers(const Headers& headers, bool end_of_stream, const std::string& served,
                             ResponseAnswerFn on_answer) {
    {
      std::lock_guard lk(mu_);
      if (writes_closed_locked()) return false;
      queue_.push_back(detail::make_response_headers(headers, end_of_stream, served));
    }
    response_fn_ = std::move(on_answer);
    response_state_.store(kAwaiting);
    arm_response_timeout();
    pump();
    return true;
  }

  void finish() {
    {
      std::lock_guard lk(mu_);
      finish_requested_ = true;
    }
    pump();
    arm_grace();
  }

  void cancel() {
    caller_cancelled_.store(true, std::memory_order_relaxed);
    on_result_ = nullptr;  // worker thread, like every other use of on_result_
    if (!result_decided_.load()) {
      channel_->stats().cancelled.fetch_add(1, std::memory_order_relaxed);
    }
    {
      std::lock_guard lk(mu_);
      cancelled_ = true;
      queue_.clear();
    }
    context_.TryCancel();
    pump();
  }

  bool result_ran() const { return result_ran_; }

  // --- gRPC reactions -----------------------------------------------------------------

  void OnReadDone(bool ok) override {
    if (!ok) {
      {
        std::lock_guard lk(mu_);
        read_ended_ = true;
        queue_.clear();
      }
      pump();
      return;
    }
    if (!result_decided_.load()) {
      if (auto r = phase_->on_response(read_buf_)) decide(std::move(*r), true);
    } else if (read_buf_.has_response_headers()) {
      answer_response(detail::header_mutations(read_buf_.response_headers().response().header_mutation()));
    }
    // Other answers after the result (response bodies and trailers, late body echoes) are
    // read and dropped (observability style).
    read_buf_.Clear();
    StartRead(&read_buf_);
  }

  void OnWriteDone(bool ok) override {
    {
      std::lock_guard lk(mu_);
      write_in_flight_ = false;
      if (!ok) write_failed_ = true;
    }
    pump();
  }

  void OnWritesDoneDone(bool /*ok*/) override {
    {
      std::lock_guard lk(mu_);
      write_in_flight_ = false;
      writes_done_finished_ = true;
    }
    pump();
  }

  void OnDone(const grpc::Status& status) override {
    auto keep = std::move(self_);  // may be the last reference: dies when OnDone returns
    {
      std::lock_guard lk(alarm_mu_);
      alarms_closed_ = true;
      if (timeout_alarm_) timeout_alarm_->Cancel();
      if (grace_alarm_) grace_alarm_->Cancel();
      if (response_alarm_) response_alarm_->Cancel();
    }
    answer_response(std::nullopt);
    if (result_decided_.load()) return;
    EppResult r;
    if (status.ok()) {
      r = phase_->on_closed_ok();
    } else {
      FailureKind kind = FailureKind::kStreamError;
      switch (status.error_code()) {
        case grpc::StatusCode::UNAVAILABLE:
        case grpc::StatusCode::CANCELLED: kind = FailureKind::kUnavailable; break;
        case grpc::StatusCode::DEADLINE_EXCEEDED: kind = FailureKind::kTimeout; break;
        default: break;
      }
      r = detail::failure(kind, "EPP stream ended: " + status.error_message(),
                          static_cast<int>(status.error_code()));
    }
    decide(std::move(r), false);
  }

 private:
  bool writes_closed_locked() const {
    return cancelled_ || read_ended_ || write_failed_ || terminal_ || finish_requested_;
  }

  // Starts the next write, WritesDone, or releases the hold; one operation at a time.
  void pump() {
    std::unique_lock lk(mu_);
    if (hold_released_ || write_in_flight_ || !self_started()) return;
    bool dead = cancelled_ || read_ended_ || write_failed_;
    if (!dead && !queue_.empty()) {
      write_buf_ = std::move(queue_.front());
      queue_.pop_front();
      write_in_flight_ = true;
      lk.unlock();
      StartWrite(&write_buf_);
      return;
    }
    if (!dead && finish_requested_ && !writes_done_started_) {
      writes_done_started_ = true;
      write_in_flight_ = true;
      lk.unlock();
      StartWritesDone();
      return;
    }
    if (dead || writes_done_finished_) {
      hold_released_ = true;
      lk.unlock();
      RemoveHold();
    }
  }
  bool self_started() const { return phase_.has_value(); }

  // The single decision. `cancel_stream`: stop the stream after a failure decided here
  // (protocol error, timeout); false when the stream already ended.
  void decide(EppResult r, bool cancel_stream) {
    bool expected = false;
    if (!result_decided_.compare_exchange_strong(expected, true)) return;
    r.latency = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - started_at_);
    auto& st = channel_->stats();
    switch (r.kind) {
      case ResultKind::kEndpoints:
        st.endpoints.fetch_add(1, std::memory_order_relaxed);
        if (r.endpoint_conflict) st.endpoint_conflicts.fetch_add(1, std::memory_order_relaxed);
        break;
      case ResultKind::kImmediateResponse:
        st.immediate.fetch_add(1, std::memory_order_relaxed);
        break;
      case ResultKind::kFailure:
        st.failures.fetch_add(1, std::memory_order_relaxed);
        if (r.failure.kind == FailureKind::kTimeout) st.timeouts.fetch_add(1, std::memory_order_relaxed);
        if (r.failure.kind == FailureKind::kUnavailable) st.unavailable.fetch_add(1, std::memory_order_relaxed);
        if (r.failure.kind == FailureKind::kProtocolError) st.protocol_errors.fetch_add(1, std::memory_order_relaxed);
        break;
    }
    {
      std::lock_guard lk(alarm_mu_);
      if (timeout_alarm_) timeout_alarm_->Cancel();
    }
    if (r.kind != ResultKind::kEndpoints) {
      // Envoy stops sending after an immediate response or an error.
      std::lock_guard lk(mu_);
      terminal_ = true;
      queue_.clear();
    }
    if (r.kind == ResultKind::kFailure && cancel_stream) {
      {
        std::lock_guard lk(mu_);
        cancelled_ = true;
      }
      context_.TryCancel();
      pump();
    } else if (r.kind == ResultKind::kImmediateResponse && cancel_stream) {
      // Half-close; the EPP closes its side (or finish_grace cancels the stream).
      {
        std::lock_guard lk(mu_);
        finish_requested_ = true;
      }
      pump();
      arm_grace();
    }
    if (caller_cancelled_.load(std::memory_order_relaxed)) return;
    post_([s = shared_from_this(), r = std::move(r)]() mutable { s->run_result(std::move(r)); });
  }

  void run_result(EppResult r) {  // worker thread
    if (caller_cancelled_.load(std::memory_order_relaxed)) return;
    result_ran_ = true;
    auto fn = std::move(on_result_);
    on_result_ = nullptr;
    if (fn) fn(std::move(r));
  }

  void arm_timeout() {
    std::lock_guard lk(alarm_mu_);
    if (alarms_closed_ || timeout_alarm_ || result_decided_.load()) return;
    timeout_alarm_ = std::make_unique<grpc::Alarm>();
    std::weak_ptr<Stream> weak = weak_from_this();
    auto ms = options_.message_timeout;
    timeout_alarm_->Set(deadline_after(ms), [weak, ms](bool fired) {
      if (!fired) return;
      if (auto s = weak.lock()) {
        s->decide(detail::failure(FailureKind::kTimeout,
                                  "EPP did not answer within " + std::to_string(ms.count()) +
                                      " ms"),
                  true);
      }
    });
  }

  // The single answer to the response headers: the EPP's mutation, or nullopt (timeout, or
  // the stream ended).
  void answer_response(std::optional<HeaderMutations> m) {
    int expected = kAwaiting;
    if (!response_state_.compare_exchange_strong(expected, kAnswered)) return;
    {
      std::lock_guard lk(alarm_mu_);
      if (response_alarm_) response_alarm_->Cancel();
    }
    auto& st = channel_->stats();
    (m ? st.response_mutations : st.response_timeouts).fetch_add(1, std::memory_order_relaxed);
    if (caller_cancelled_.load(std::memory_order_relaxed)) return;
    post_([s = shared_from_this(), m = std::move(m)]() mutable {
      if (s->caller_cancelled_.load(std::memory_order_relaxed)) return;
      auto fn = std::move(s->response_fn_);
      s->response_fn_ = nullptr;
      if (fn) fn(std::move(m));
    });
  }

  void arm_response_timeout() {
    std::unique_lock lk(alarm_mu_);
    if (alarms_closed_) {
      // The stream ended (OnDone ran) before we were waiting: answer now, or never.
      lk.unlock();
      answer_response(std::nullopt);
      return;
    }
    if (response_alarm_) return;
    response_alarm_ = std::make_unique<grpc::Alarm>();
    std::weak_ptr<Stream> weak = weak_from_this();
    response_alarm_->Set(deadline_after(options_.message_timeout), [weak](bool fired) {
      if (!fired) return;
      if (auto s = weak.lock()) s->answer_response(std::nullopt);
    });
  }

  void arm_grace() {
    std::lock_guard lk(alarm_mu_);
    if (alarms_closed_ || grace_alarm_) return;
    grace_alarm_ = std::make_unique<grpc::Alarm>();
    std::weak_ptr<Stream> weak = weak_from_this();
    grace_alarm_->Set(deadline_after(channel_->options().finish_grace), [weak](bool fired) {
      if (!fired) return;
      if (auto s = weak.lock()) s->context_.TryCancel();
    });
  }

  std::shared_ptr<EppChannel> channel_;
  PostFn post_;
  ResultFn on_result_;  // touched on the worker thread only
  ResponseAnswerFn response_fn_;  // worker thread only
  static constexpr int kNone = 0, kAwaiting = 1, kAnswered = 2;
  std::atomic<int> response_state_{kNone};
  EppCallOptions options_;
  grpc::ClientContext context_;
  pb::ProcessingResponse read_buf_;   // reactions only (reads are serialized)
  pb::ProcessingRequest write_buf_;   // the write in flight
  std::optional<detail::RequestPhase> phase_;  // set in start(), then reactions only
  std::chrono::steady_clock::time_point started_at_;
  std::shared_ptr<Stream> self_;

  std::mutex mu_;
  std::deque<pb::ProcessingRequest> queue_;
  bool write_in_flight_ = false;
  bool write_failed_ = false;
  bool finish_requested_ = false;
  bool writes_done_started_ = false;
  bool writes_done_finished_ = false;
  bool read_ended_ = false;
  bool cancelled_ = false;
  bool terminal_ = false;
  bool hold_released_ = false;

  std::atomic<bool> result_decided_{false};
  std::atomic<bool> caller_cancelled_{false};
  bool result_ran_ = false;  // worker thread

  std::mutex alarm_mu_;  // never taken while mu_ is held, nor the other way round
  bool alarms_closed_ = false;
  std::unique_ptr<grpc::Alarm> timeout_alarm_;
  std::unique_ptr<grpc::Alarm> grace_alarm_;
  std::unique_ptr<grpc::Alarm> response_alarm_;
};

EppCall::EppCall(std::shared_ptr<EppChannel> channel, PostFn post, ResultFn on_result,
                 EppCallOptions options)
    : stream_(std::make_shared<Stream>(std::move(channel), std::move(post),
                                       std::move(on_result), std::move(options))) {}

EppCall::~EppCall() {
  if (started_ && !closed_) cancel();
}

void EppCall::start(const Headers& request_headers, bool end_of_stream) {
  if (started_ || closed_) return;
  started_ = true;
  stream_->start(request_headers, end_of_stream);
}

void EppCall::send_body(std::string_view chunk, bool end_of_stream) {
  if (!started_ || closed_) return;
  stream_->send_body(chunk, end_of_stream, false);
}

void EppCall::send_trailers(const Headers& trailers) {
  if (!started_ || closed_) return;
  stream_->send_trailers(trailers, false);
}

bool EppCall::send_response_headers(const Headers& response_headers, bool end_of_stream,
                                    const std::string& served, ResponseAnswerFn on_answer) {
  if (!started_ || closed_) return false;
  return stream_->send_response_headers(response_headers, end_of_stream, served, std::move(on_answer));
}

void EppCall::send_response_trailers(const Headers& trailers) {
  if (!started_ || closed_) return;
  stream_->send_trailers(trailers, true);
}

void EppCall::send_response_body(std::string_view chunk, bool end_of_stream) {
  if (!started_ || closed_) return;
  stream_->send_body(chunk, end_of_stream, true);
}

void EppCall::finish() {
  if (!started_ || closed_) return;
  closed_ = true;
  stream_->finish();
}

void EppCall::cancel() {
  if (closed_) return;
  closed_ = true;
  if (started_) stream_->cancel();
}

bool EppCall::result_delivered() const { return stream_->result_ran(); }

}  // namespace infergate::ext_proc
