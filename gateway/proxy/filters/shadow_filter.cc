#include "gateway/proxy/filters/shadow_filter.h"

#include "gateway/control/snapshot.h"
#include "gateway/proxy/mirror_stream.h"
#include "gateway/proxy/stream_state.h"
#include "routing/route_actions.h"

namespace infergate::gateway {

FilterStatus ShadowFilter::decode_headers(bool) {
  StreamState& st = stream_.state();
  if (!st.route || st.route->mirrors.empty()) return FilterStatus::Continue;
  if (!stream_.resolve_backend()) return FilterStatus::StopIteration;
  for (const routing::Mirror& m : st.route->mirrors) {
    if (!routing::fraction_hit(m.per_million, stream_.random())) continue;
    const pools::Cluster* c = stream_.snapshot().clusters->find(m.cluster);
    if (!c) continue;
    const bool end = st.request_complete && !st.has_request_trailers;
    auto copy = stream_.start_mirror(*c, st.request, end && st.pending_body.empty());
    if (!copy) continue;
    if (!st.pending_body.empty()) copy->send_data(st.pending_body, end);
    if (st.request_complete && st.has_request_trailers) copy->send_trailers(st.request_trailers);
    mirrors_.push_back(std::move(copy));
  }
  return FilterStatus::Continue;
}

FilterDataStatus ShadowFilter::decode_data(std::string_view data, bool end_stream) {
  for (auto& m : mirrors_) m->send_data(data, end_stream);
  return FilterDataStatus::Continue;
}

FilterStatus ShadowFilter::decode_trailers() {
  for (auto& m : mirrors_) m->send_trailers(stream_.state().request_trailers);
  return FilterStatus::Continue;
}

// The request ended: a copy still waiting for its body is cut off; a complete one finishes.
void ShadowFilter::on_stream_end() {
  for (auto& m : mirrors_) m->abandon();
  mirrors_.clear();
}

}  // namespace infergate::gateway
