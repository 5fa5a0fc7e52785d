#include "gateway/proxy/filters/flow_control_filter.h"

#include <charconv>
#include <string>

#include "gateway/control/snapshot.h"
#include "gateway/proxy/flow_stats.h"
#include "gateway/proxy/stream_state.h"
#include "routing/client_identity.h"

namespace infergate::gateway {

namespace {

// A deadline header's milliseconds; nullopt when absent or not a number.
std::optional<int64_t> header_millis(const HeaderMap& headers, const std::string& name) {
  const std::string* v = headers.get(name);
  if (!v) return std::nullopt;
  int64_t ms = 0;
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), ms);
  if (ec != std::errc() || end != v->data() + v->size() || ms < 0) return std::nullopt;
  return ms;
}

// What the request holds while it waits: its headers and the body known so far (or the one
// it announces).
uint64_t held_bytes(const StreamState& st) {
  uint64_t bytes = st.pending_body.size();
  for (const auto& h : st.request.headers) bytes += h.name.size() + h.value.size() + 4;
  if (const auto n = declared_content_length(st.request.headers); n && *n > st.pending_body.size())
    bytes += *n - st.pending_body.size();
  return bytes;
}

}  // namespace

FilterStatus FlowControlFilter::decode_headers(bool) {
  if (!stream_.resolve_backend()) return FilterStatus::StopIteration;  // answered
  StreamState& st = stream_.state();
  if (!st.cluster || !st.cluster->flow) return FilterStatus::Continue;
  policy_ = st.cluster->flow;
  stats_ = st.cstats->flow.get();
  const config::FlowControlConfig& s = policy_->settings;

  std::string_view objective;
  if (const std::string* o = st.request.headers.get("x-gateway-inference-objective")) objective = *o;
  priority_ = policy_->priority(st.model().value_or(std::string_view()), objective);
  const config::FlowBandLimits& band = s.band(priority_);
  ttl_ = band.ttl;

  pools::FlowQueue::Arrival arrival;
  arrival.priority = priority_;
  arrival.flow = std::string(routing::flow_id(st.request.headers, stream_.downstream().principal()));
  arrival.bytes = held_bytes(st);
  const int64_t now_ms = pools::steady_now_ms();
  if (s.ordering == config::FlowOrdering::Edf) {
    const int64_t relative = header_millis(st.request.headers, s.deadline_header)
                                 .value_or(band.deadline.count() > 0 ? band.deadline.count() : band.ttl.count());
    arrival.deadline = now_ms + relative;
  }
  // The wake comes from whichever thread found room; the stream's own thread acts on it
  // (the poster drops it when the stream has ended: the ticket's release then cleans up).
  arrival.wake = [post = stream_.poster(), this](pools::FlowOutcome outcome) {
    post([this, outcome] { on_wake(outcome); });
  };

  const auto admission = policy_->queue->admit(*policy_, st.cluster->endpoints, std::move(arrival), now_ms, st.flow);
  using Admit = pools::FlowQueue::Admit;
  switch (admission.admit) {
    case Admit::Pass:
      if (stats_) stats_->band(priority_).requests[FlowStats::kAdmitted].inc();
      return FilterStatus::Continue;
    case Admit::Refused: {
      if (stats_) stats_->band(priority_).requests[FlowStats::kRejected].inc();
      const bool band_full = admission.refusal == pools::FlowRefusal::BandFull;
      std::string body = "flow control: every model server of the pool is saturated and ";
      body += band_full ? "the queue of priority " + std::to_string(priority_) + " is full"
                        : "the pool's queue is full";
      stream_.send_local_reply(429, body, ResponseFlag::RateLimited);
      return FilterStatus::StopIteration;
    }
    case Admit::Queued: break;
  }
  waiting_ = true;
  queued_at_ = std::chrono::steady_clock::now();
  if (stats_) stats_->band(priority_).queue_size.add(1);
  stream_.schedule(ttl_, [this] { on_ttl(); });
  return FilterStatus::StopIteration;
}

void FlowControlFilter::left(size_t outcome) {
  waiting_ = false;
  if (!stats_) return;
  const FlowStats::Band& band = stats_->band(priority_);
  band.queue_size.sub(1);
  band.requests[outcome].inc();
  band.queue_duration[outcome].observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - queued_at_).count());
}

void FlowControlFilter::on_wake(pools::FlowOutcome outcome) {
  if (!waiting_) return;
  if (outcome == pools::FlowOutcome::Dispatched) {
    left(FlowStats::kDispatched);
    stream_.continue_decoding();
    return;
  }
  left(FlowStats::kEvicted);
  stream_.send_local_reply(429,
                           "flow control: evicted from the queue to make room for a request of higher priority, "
                           "or of a tenant with fewer requests waiting",
                           ResponseFlag::RateLimited);
}

void FlowControlFilter::on_ttl() {
  if (!waiting_ || !policy_->queue->expire(stream_.state().flow)) return;  // already dispatched
  left(FlowStats::kTimedOut);
  std::string body = "flow control: the request waited ";
  body += std::to_string(ttl_.count());
  body += " ms (its band's ttl) for a model server with room";
  stream_.send_local_reply(503, body, ResponseFlag::QueueTimeout);
}

void FlowControlFilter::on_stream_end() {
  // The client left (or the request ended some other way) while waiting: leave the queue now.
  const pools::FlowTicket::Held held = stream_.state().flow.release();
  if (waiting_ && held != pools::FlowTicket::Held::Nothing) left(FlowStats::kCancelled);
  waiting_ = false;
}

}  // namespace infergate::gateway
