#include "gateway/proxy/filters/endpoint_picker_filter.h"

#include "gateway/control/snapshot.h"
#include "gateway/proxy/stream_state.h"

namespace infergate::gateway {

namespace {

// Envoy's ext_proc filter lets a processor change any request header but these.
bool epp_may_mutate(std::string_view name) {
  return !name.empty() && name[0] != ':' && name != "host" && !name.starts_with("x-envoy-");
}

}  // namespace

FilterStatus EndpointPickerFilter::decode_headers(bool) {
  if (!stream_.resolve_backend()) return FilterStatus::StopIteration;
  StreamState& st = stream_.state();
  const auto& channel = stream_.snapshot().epp_for(st.cluster);
  if (!channel) return FilterStatus::Continue;
  epp_ = std::make_unique<ext_proc::EppCall>(channel, stream_.poster(),
                                             [this](ext_proc::EppResult r) { on_result(std::move(r)); });
  ext_proc::Headers headers;
  headers.reserve(st.request.headers.size() + 4);
  headers.emplace_back(":method", st.request.method);
  headers.emplace_back(":path", st.request.path);
  headers.emplace_back(":authority", st.request.authority);
  headers.emplace_back(":scheme", stream_.downstream().listener->scheme);
  for (const auto& h : st.request.headers) headers.emplace_back(h.name, h.value);
  const bool no_body = st.request_complete && st.pending_body.empty();
  epp_->start(headers, no_body);
  if (!no_body && (!st.pending_body.empty() || st.request_complete)) epp_->send_body(st.pending_body, st.request_complete);
  waiting_ = true;
  return FilterStatus::StopIteration;
}

FilterDataStatus EndpointPickerFilter::decode_data(std::string_view data, bool end_stream) {
  if (waiting_) epp_->send_body(data, end_stream);
  return FilterDataStatus::Continue;
}

FilterStatus EndpointPickerFilter::decode_trailers() {
  if (waiting_) epp_->send_body({}, true);
  return FilterStatus::Continue;
}

void EndpointPickerFilter::on_result(ext_proc::EppResult r) {
  if (!waiting_) return;
  waiting_ = false;
  StreamState& st = stream_.state();
  switch (r.kind) {
    case ext_proc::ResultKind::kEndpoints: {
      if (st.endpoints.accept_external(*st.cluster, r.endpoints, pools::steady_now_ms()) == 0)
        return failed("no ready endpoint of the pool among " + (r.endpoints.empty() ? "none" : r.endpoints.front()));
      // Envoy applies the picker's header mutations (x-gateway-destination-endpoint among
      // them) to the upstream request, except to pseudo-headers, host and x-envoy-*.
      HeaderMap& headers = st.request.headers;
      for (const auto& set : r.mutations.set) {
        if (!epp_may_mutate(set.key)) continue;
        if (set.action == ext_proc::AppendAction::kAppendIfExistsOrAdd) headers.add_lower(set.key, set.value);
        else if (set.action == ext_proc::AppendAction::kAddIfAbsent) {
          if (!headers.get(set.key)) headers.add_lower(set.key, set.value);
        } else if (set.action == ext_proc::AppendAction::kOverwriteIfExistsOrAdd || headers.get(set.key)) {
          headers.set(set.key, set.value);
        }
      }
      for (const auto& name : r.mutations.remove)
        if (epp_may_mutate(name)) headers.remove(name);
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
      return failed(std::string(ext_proc::to_string(r.failure.kind)) + ": " + r.failure.message);
  }
}

void EndpointPickerFilter::failed(std::string_view why) {
  epp_.reset();
  StreamState& st = stream_.state();
  st.endpoints.clear();
  if (st.cluster->endpoint_picker->failure_mode == config::FailureMode::FailOpen) {
    st.cstats->epp_results[ClusterStats::kEppFailOpen].inc();
    stream_.continue_decoding();
    return;
  }
  st.cstats->epp_results[ClusterStats::kEppFailClose].inc();
  stream_.send_local_reply(500, "endpoint picker failed: " + std::string(why), ResponseFlag::None);
}

// The GIE EPP learns which endpoint served from the response headers it is sent.
void EndpointPickerFilter::encode_headers(ResponseHead& head, bool) {
  const pools::EndpointState* endpoint = stream_.state().endpoints.current();
  if (!epp_ || !endpoint) return;
  ext_proc::Headers headers;
  headers.reserve(head.headers.size() + 2);
  headers.emplace_back(":status", std::to_string(head.status));
  for (const auto& h : head.headers) headers.emplace_back(h.name, h.value);
  headers.emplace_back(std::string(ext_proc::kDestinationEndpointServedHeader), endpoint->key());
  epp_->send_response_headers(headers, false);
  epp_->finish();
  epp_.reset();
}

void EndpointPickerFilter::on_stream_end() {
  waiting_ = false;
  epp_.reset();
}

}  // namespace infergate::gateway
