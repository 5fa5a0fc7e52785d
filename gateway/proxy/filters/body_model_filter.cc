#include "gateway/proxy/filters/body_model_filter.h"

#include "gateway/control/snapshot.h"
#include "gateway/proxy/stream_state.h"

namespace infergate::gateway {

// Bodies that can be JSON: what OpenAI-style APIs take. gRPC and multipart uploads stream
// on at once, never held.
bool BodyModelFilter::wants_body(bool end_stream) const {
  if (end_stream || !stream_.snapshot().config->gateway.body_routing.enabled) return false;
  const RequestHead& request = stream_.state().request;
  const std::string& m = request.method;
  if (m != "POST" && m != "PUT" && m != "PATCH") return false;
  if (const std::string* ct = request.headers.get("content-type")) {
    std::string_view type = *ct;
    type = type.substr(0, type.find(';'));
    while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.remove_suffix(1);
    auto is = [&](std::string_view prefix) {  // case-insensitive, as media types are
      return type.size() >= prefix.size() && iequals(type.substr(0, prefix.size()), prefix);
    };
    // A "+json" type (application/grpc+json among them) is JSON to the model server's framework
    // (FastAPI reads any */*+json body as JSON), so it is read here too.
    const bool json = type.size() >= 5 && iequals(type.substr(type.size() - 5), "+json");
    if (!json && (is("application/grpc") || is("multipart/"))) return false;
  }
  return true;
}

FilterStatus BodyModelFilter::decode_headers(bool end_stream) {
  if (!wants_body(end_stream)) return FilterStatus::Continue;
  awaiting_ = true;
  stream_.state().body_scan.emplace();
  return FilterStatus::StopIteration;
}

FilterDataStatus BodyModelFilter::decode_data(std::string_view data, bool end_stream) {
  (void)end_stream;
  StreamState& st = stream_.state();
  if (awaiting_) {
    // The stream holds the body meanwhile; maxBytes bounds what is held while reading, so no
    // backpressure (pausing before it would stall the read).
    bytes_read_ += data.size();
    const auto state = st.body_scan->feed(data);
    if (state != routing::ModelFieldScanner::State::Scanning || st.request_complete ||
        bytes_read_ >= stream_.snapshot().config->gateway.body_routing.max_bytes) {
      ready();
      return FilterDataStatus::Continue;
    }
    return FilterDataStatus::StopIterationAndBuffer;
  }
  // A body longer than maxBytes, routed on its first part: the rest is read as it passes, and a
  // "model" that would change what the server serves stops the request before this data, and
  // so the body's end, goes anywhere.
  if (st.body_scan && st.body_scan->locked()) {
    const auto state = st.body_scan->feed(data);
    count_duplicate_model();
    if (state == routing::ModelFieldScanner::State::Conflict) refuse_conflict();
  }
  return FilterDataStatus::Continue;
}

FilterStatus BodyModelFilter::decode_trailers() {
  if (awaiting_) ready();
  return FilterStatus::Continue;
}

void BodyModelFilter::ready() {
  awaiting_ = false;
  StreamState& st = stream_.state();
  const ProxyStats& stats = stream_.stats();
  using State = routing::ModelFieldScanner::State;
  if (st.request_complete) st.body_scan->finish();
  const State state = st.body_scan->state();
  count_duplicate_model();
  if (state == State::Conflict) return refuse_conflict();
  if (state == State::Invalid && routing::python_reads_as_utf16_or_32(st.pending_body)) {
    // JSON the model server would decode and read a model from, the gateway cannot: refused
    // rather than routed as naming none.
    stats.body_unsupported_encoding.inc();
    return stream_.send_local_reply(415,
                                    "request body is JSON in UTF-16 or UTF-32; the gateway reads request bodies as "
                                    "UTF-8: send UTF-8\n",
                                    ResponseFlag::None);
  }
  if (st.body_scan->found()) {
    st.request.headers.set("x-gateway-model-name", st.body_scan->model());
    stats.count(state == State::Scanning ? BodyModelResult::TooLarge : BodyModelResult::Found);
  } else {
    stats.count(state == State::Complete   ? BodyModelResult::Absent
                : state == State::Scanning ? BodyModelResult::TooLarge
                                           : BodyModelResult::NotJson);
  }
  if (state == State::Scanning) {
    // The object did not end within maxBytes: the gateway acts on what it read and the rest
    // streams on, still read (decode_data) so that a later "model" cannot make the server
    // serve a model the gateway did not route. The body is never held whole.
    st.body_scan->lock();
  } else if (!st.body_scan->found()) {
    st.body_scan.reset();
  }
  stream_.continue_decoding();
}

void BodyModelFilter::count_duplicate_model() {
  const StreamState& st = stream_.state();
  if (duplicate_counted_ || !st.body_scan || st.body_scan->model_keys() < 2) return;
  duplicate_counted_ = true;
  stream_.stats().duplicate_model.inc();
}

// The model server would serve a model other than the one routed on, rewritten and counted:
// the request ends here, before its body goes upstream, so the server never completes it.
void BodyModelFilter::refuse_conflict() {
  stream_.stats().model_conflict.inc();
  const bool too_many = stream_.state().body_scan->model_keys() > routing::ModelFieldScanner::kMaxModelKeys;
  stream_.send_local_reply(400,
                           too_many ? "request body has too many top-level \"model\" keys\n"
                                    : "request body names a \"model\" after the part the gateway routed on (the first "
                                      "bodyRouting.maxBytes of the body) that differs from the one it routed on; "
                                      "name the model once, before the messages\n",
                           ResponseFlag::None);
}

}  // namespace infergate::gateway
