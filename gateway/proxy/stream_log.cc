// What an ActiveStream leaves behind when it ends: the access log line, the downstream and
// upstream statistics, and the per-version series with the tokens read from the response.
#include "gateway/proxy/active_stream.h"

namespace infergate::gateway {

// Token usage is read from successful OpenAI-style answers (JSON or SSE) that are not
// compressed; anything else streams through untouched.
void ActiveStream::start_usage(const ResponseHead& head) {
  const bool wanted = state_.vstats.version || state_.wants_usage;  // per-version series, token budgets
  if (!wanted || head.status < 200 || head.status >= 300 || head.headers.get("content-encoding")) return;
  const std::string* ct = head.headers.get("content-type");
  if (!ct) return;
  if (auto body = metrics::TokenUsageReader::body_of(*ct)) state_.usage = &usage_.emplace(*body);
}

void ActiveStream::record_version_stats(std::chrono::steady_clock::time_point now) {
  RequestOutcome o;
  o.status = state_.response_code;
  o.local_reply = state_.upstream_status == 0;
  o.flags = state_.flags;
  o.duration = now - state_.start;
  if (first_byte_ != std::chrono::steady_clock::time_point{}) {
    o.ttft = first_byte_ - state_.start;
    o.last_byte = last_byte_ - state_.start;
  }
  if (usage_) {
    o.input_tokens = usage_->prompt_tokens();
    o.output_tokens = usage_->completion_tokens();
    o.stream_events = usage_->data_events();
  }
  o.request_bytes = bytes_received_;
  o.response_bytes = bytes_sent_;
  if (state_.vstats.objective) state_.vstats.objective->running.sub(1);
  VersionStats::record(state_.vstats, o);
}

void ActiveStream::log_and_count() {
  // One clock read for every figure of the finished request.
  const auto now = std::chrono::steady_clock::now();
  const auto ms = [&](std::chrono::steady_clock::time_point since) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(now - since).count();
  };
  const int64_t duration = ms(state_.start);
  ctx_.stats.downstream_rq_active.sub(1);
  if (ctx_.active_requests) --ctx_.active_requests;
  if (state_.response_code) ctx_.stats.count_response(state_.response_code);
  ctx_.stats.downstream_rq_time.observe(static_cast<double>(duration));
  if (state_.cstats && state_.upstream_service_ms >= 0)
    state_.cstats->upstream_rq_time.observe(static_cast<double>(ms(state_.upstream_start)));
  if (state_.vstats.version || state_.vstats.objective) record_version_stats(now);
  if (!ctx_.access_log) return;
  const RequestHead& request = state_.request;
  metrics::AccessLogEntry e;
  e.start_time = start_wall_;
  e.method = request.method;
  e.path = state_.original_path.empty() ? request.path : state_.original_path;  // Envoy logs the original
  e.protocol = std::string(protocol_name(request.version));
  e.response_code = state_.response_code ? state_.response_code : codec_reply_code_;
  e.response_flags = state_.flags.to_string();
  e.bytes_received = bytes_received_;
  e.bytes_sent = bytes_sent_;
  e.duration_ms = duration;
  e.upstream_service_time_ms = state_.upstream_service_ms;
  e.x_forwarded_for = request.headers.get_or("x-forwarded-for", "");
  e.user_agent = request.headers.get_or("user-agent", "");
  e.request_id = request.headers.get_or("x-request-id", "");
  e.authority = request.authority;
  e.upstream_host = std::string(state_.upstream_host);
  if (state_.cluster) e.upstream_cluster = state_.cluster->name;
  if (state_.route) e.route_name = state_.route->name;
  ctx_.access_log->log(std::move(e));
}

}  // namespace infergate::gateway
