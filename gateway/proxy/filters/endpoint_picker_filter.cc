#include "gateway/proxy/filters/endpoint_picker_filter.h"

#include <unordered_map>

#include "gateway/control/snapshot.h"
#include "gateway/proxy/stream_state.h"

namespace infergate::gateway {

namespace {

// Envoy's ext_proc filter lets a processor change any header but these.
bool epp_may_mutate(std::string_view name) {
  return !name.empty() && name[0] != ':' && name != "host" && !name.starts_with("x-envoy-");
}

// Applies an EPP header mutation as Envoy does (append actions, removals).
void apply(const ext_proc::HeaderMutations& m, HeaderMap& headers) {
  for (const auto& set : m.set) {
    if (!epp_may_mutate(set.key)) continue;
    if (set.action == ext_proc::AppendAction::kAppendIfExistsOrAdd) headers.add_lower(set.key, set.value);
    else if (set.action == ext_proc::AppendAction::kAddIfAbsent) {
      if (!headers.get(set.key)) headers.add_lower(set.key, set.value);
    } else if (set.action == ext_proc::AppendAction::kOverwriteIfExistsOrAdd || headers.get(set.key)) {
      headers.set(set.key, set.value);
    }
  }
  for (const auto& name : m.remove)
    if (epp_may_mutate(name)) headers.remove(name);
}

ext_proc::Headers to_headers(const HeaderMap& map) {
  ext_proc::Headers out;
  out.reserve(map.size());
  for (const auto& h : map) out.emplace_back(h.name, h.value);
  return out;
}

// The subset hint (the pool's eligible endpoints) stays the same list from one request to the
// next until an endpoint is ejected or comes back: each worker keeps the last one per pool and
// shares it with every call, instead of copying every endpoint's key per request. The cache
// is checked against the endpoints themselves (it holds them), so a pool of a new snapshot at
// a reused address cannot be served a stale list.
std::shared_ptr<const std::vector<std::string>> subset_hint(const pools::Cluster& cluster, int64_t now) {
  struct Entry {
    std::vector<std::shared_ptr<pools::EndpointState>> eligible;
    std::shared_ptr<const std::vector<std::string>> keys;
  };
  thread_local std::unordered_map<const pools::Cluster*, Entry> cache;
  Entry& entry = cache[&cluster];
  size_t n = 0;
  bool same = entry.keys != nullptr;
  for (const auto& ep : cluster.endpoints) {
    if (!ep->eligible(now)) continue;
    same = same && n < entry.eligible.size() && entry.eligible[n] == ep;
    ++n;
  }
  if (same && n == entry.eligible.size()) return entry.keys;
  if (cache.size() > 64) {  // pools of replaced snapshots
    cache.clear();
    return subset_hint(cluster, now);
  }
  entry.eligible.clear();
  auto keys = std::make_shared<std::vector<std::string>>();
  for (const auto& ep : cluster.endpoints) {
    if (!ep->eligible(now)) continue;
    entry.eligible.push_back(ep);
    keys->push_back(ep->key());
  }
  entry.keys = std::move(keys);
  return entry.keys;
}

ClusterStats::EppError error_of(ext_proc::FailureKind kind) {
  switch (kind) {
    case ext_proc::FailureKind::kUnavailable: return ClusterStats::kEppUnavailable;
    case ext_proc::FailureKind::kTimeout: return ClusterStats::kEppTimeout;
    case ext_proc::FailureKind::kProtocolError: return ClusterStats::kEppProtocolError;
    case ext_proc::FailureKind::kStreamError: return ClusterStats::kEppStreamError;
    case ext_proc::FailureKind::kClosedEarly: return ClusterStats::kEppClosedEarly;
  }
  return ClusterStats::kEppStreamError;
}

}  // namespace

FilterStatus EndpointPickerFilter::decode_headers(bool) {
  if (!stream_.resolve_backend()) return FilterStatus::StopIteration;
  StreamState& st = stream_.state();
  const auto& channel = stream_.snapshot().epp_for(st.cluster);
  if (!channel) return FilterStatus::Continue;
  if (!channel->ready()) {
    // Decided before stopping: the chain just goes on (FailOpen) or is answered here.
    if (count_failure(ClusterStats::kEppNotServing)) return FilterStatus::Continue;
    stream_.send_local_reply(500, "endpoint picker failed: its health service says NOT_SERVING", ResponseFlag::None);
    return FilterStatus::StopIteration;
  }
  ext_proc::EppCallOptions options;
  // The endpoints the gateway would send to: an EPP must not pick one it knows is down.
  if (st.cluster->epp.subset_hint) options.subset_hint = subset_hint(*st.cluster, pools::steady_now_ms());
  epp_ = std::make_unique<ext_proc::EppCall>(
      channel, stream_.poster(), [this](ext_proc::EppResult r) { on_result(std::move(r)); }, std::move(options));
  ext_proc::Headers headers;
  headers.reserve(st.request.headers.size() + 4);
  headers.emplace_back(":method", st.request.method);
  headers.emplace_back(":path", st.request.path);
  headers.emplace_back(":authority", st.request.authority);
  headers.emplace_back(":scheme", stream_.downstream().listener->scheme);
  for (const auto& h : st.request.headers) headers.emplace_back(h.name, h.value);
  const bool no_body = st.request_complete && st.pending_body.empty() && !st.has_request_trailers;
  epp_->start(headers, no_body);
  if (!no_body) {
    const bool body_done = st.request_complete && !st.has_request_trailers;
    if (!st.pending_body.empty() || body_done) epp_->send_body(st.pending_body, body_done);
    if (st.has_request_trailers) epp_->send_trailers(to_headers(st.request_trailers));
  }
  waiting_ = true;
  return FilterStatus::StopIteration;
}

FilterDataStatus EndpointPickerFilter::decode_data(std::string_view data, bool end_stream) {
  if (waiting_) epp_->send_body(data, end_stream);
  return FilterDataStatus::Continue;
}

FilterStatus EndpointPickerFilter::decode_trailers() {
  if (waiting_) epp_->send_trailers(to_headers(stream_.state().request_trailers));
  return FilterStatus::Continue;
}

void EndpointPickerFilter::on_result(ext_proc::EppResult r) {
  if (!waiting_) return;
  waiting_ = false;
  StreamState& st = stream_.state();
  switch (r.kind) {
    case ext_proc::ResultKind::kEndpoints: {
      if (st.endpoints.accept_external(*st.cluster, r.endpoints, pools::steady_now_ms()) == 0) {
        std::string why = "no ready endpoint of the pool among ";
        for (size_t i = 0; i < r.endpoints.size(); ++i) {
          if (i) why += ',';
          why += r.endpoints[i];
        }
        return failed(why, ClusterStats::kEppRejectedEndpoint);
      }
      // Envoy applies the picker's header mutations (x-gateway-destination-endpoint among
      // them) to the upstream request, except to pseudo-headers, host and x-envoy-*.
      apply(r.mutations, st.request.headers);
      if (st.has_request_trailers) apply(r.trailer_mutations, st.request_trailers);
      // FULL_DUPLEX_STREAMED: what goes upstream is the body the EPP streamed back. The whole
      // body is held here (the EPP answers only after its end), so it is swapped whole.
      if (r.body && *r.body != st.pending_body) {
        st.pending_body = std::move(*r.body);
        if (st.request.headers.get("content-length"))
          st.request.headers.set("content-length", std::to_string(st.pending_body.size()));
        st.cstats->epp_body_mutations.inc();
      }
      mode_ = r.mode;
      st.cstats->epp_results[ClusterStats::kEppEndpoint].inc();
      stream_.continue_decoding();
      return;
    }
    case ext_proc::ResultKind::kImmediateResponse: {
      st.cstats->epp_results[ClusterStats::kEppImmediate].inc();
      HeaderMap extra;
      for (const auto& [name, value] : r.immediate.headers)
        if (!name.empty() && name[0] != ':') extra.add(name, value);
      epp_.reset();
      const int status = r.immediate.status >= 200 && r.immediate.status < 600 ? r.immediate.status : 500;
      stream_.send_local_reply(status, r.immediate.body, ResponseFlag::None, std::move(extra));
      return;
    }
    case ext_proc::ResultKind::kFailure:
      return failed(std::string(ext_proc::to_string(r.failure.kind)) + ": " + r.failure.message,
                    error_of(r.failure.kind));
  }
}

bool EndpointPickerFilter::count_failure(ClusterStats::EppError error) {
  StreamState& st = stream_.state();
  st.cstats->epp_errors[error].inc();
  st.endpoints.clear();
  const bool open = st.cluster->endpoint_picker->failure_mode == config::FailureMode::FailOpen;
  st.cstats->epp_results[open ? ClusterStats::kEppFailOpen : ClusterStats::kEppFailClose].inc();
  return open;
}

void EndpointPickerFilter::failed(std::string_view why, ClusterStats::EppError error) {
  epp_.reset();
  waiting_ = false;
  if (count_failure(error)) {
    stream_.continue_decoding();
    return;
  }
  stream_.send_local_reply(500, "endpoint picker failed: " + std::string(why), ResponseFlag::None);
}

// Proposal 004: the EPP learns which endpoint served from the response headers message's
// metadata; its answer may change the response headers (the conformance suite's lwepp
// reports the served endpoint that way).
FilterStatus EndpointPickerFilter::encode_headers(ResponseHead& head, bool end_stream) {
  const pools::EndpointState* endpoint = stream_.state().endpoints.current();
  if (!epp_ || !endpoint) return FilterStatus::Continue;
  if (mode_.skip_response_headers) {
    epp_->finish();
    epp_.reset();
    return FilterStatus::Continue;
  }
  ext_proc::Headers headers;
  headers.reserve(head.headers.size() + 2);
  headers.emplace_back(":status", std::to_string(head.status));
  for (const auto& h : head.headers) headers.emplace_back(h.name, h.value);
  // The header form too, for EPPs written against earlier drafts.
  headers.emplace_back(std::string(ext_proc::kDestinationEndpointServedHeader), endpoint->key());
  const bool waits = epp_->send_response_headers(
      headers, end_stream, endpoint->key(),
      [this](std::optional<ext_proc::HeaderMutations> m) { on_response_answer(std::move(m)); });
  if (!waits) {
    epp_.reset();
    return FilterStatus::Continue;
  }
  held_head_ = &head;
  return FilterStatus::StopIteration;
}

void EndpointPickerFilter::on_response_answer(std::optional<ext_proc::HeaderMutations> m) {
  if (!held_head_) return;
  if (m && !m->empty()) {
    apply(*m, held_head_->headers);
    stream_.state().cstats->epp_response_mutations.inc();
  }
  held_head_ = nullptr;
  answered_ = true;  // the call stays open for the response trailers, if any
  stream_.continue_encoding();
}

void EndpointPickerFilter::encode_trailers(HeaderMap& trailers) {
  if (!epp_ || !answered_) return;
  if (!mode_.skip_response_trailers) epp_->send_response_trailers(to_headers(trailers));
  epp_->finish();
  epp_.reset();
}

void EndpointPickerFilter::on_stream_end() {
  waiting_ = false;
  held_head_ = nullptr;
  // A response the EPP already answered ends the call cleanly; anything else cancels it.
  if (epp_ && answered_) epp_->finish();
  epp_.reset();
}

}  // namespace infergate::gateway
