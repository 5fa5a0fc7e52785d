// An InferencePool's external endpoint picker (endpointPickerRef), called as Envoy calls the
// Inference Extension's EPP over ext_proc (proposal 004): the request headers with the
// pool's ready endpoints as the subset hint, then the body streamed (FULL_DUPLEX_STREAMED)
// and the trailers. The request waits here, its body held, until the answer names the
// endpoint and its fallbacks (taken only among the pool's own ready endpoints, in order) or
// answers the request itself. The body goes upstream as the EPP streamed it back (a body
// mutation), with its header and trailer mutations. On failure, or while the EPP's gRPC
// health says NOT_SERVING, FailOpen lets the pool's own picker decide; FailClose (the API's
// default) answers 500, as Envoy's ext_proc filter does.
//
// On the way back the EPP is sent the response headers with the endpoint that served
// (metadata envoy.lb x-gateway-destination-endpoint-served), and the response waits for its
// answer, whose header mutation applies to the response (within the message timeout; the
// EPP's mode_override may skip this).
//
// Pools without an external picker pass through: their built-in picker chooses per attempt
// in the router (pools/endpoint_choice.h), since a retry takes the pick's next fallback.
#pragma once

#include <memory>
#include <optional>
#include <string_view>

#include "gateway/proxy/filter.h"
#include "gateway/proxy/proxy_stats.h"
#include "pools/ext_proc/epp_client.h"

namespace infergate::gateway {

class EndpointPickerFilter final : public StreamFilter {
 public:
  explicit EndpointPickerFilter(FilterCallbacks& stream) : stream_(stream) {}
  FilterStatus decode_headers(bool end_stream) override;
  FilterDataStatus decode_data(std::string_view data, bool end_stream) override;
  FilterStatus decode_trailers() override;
  FilterStatus encode_headers(ResponseHead& head, bool end_stream) override;
  void encode_trailers(HeaderMap& trailers) override;
  void on_stream_end() override;

 private:
  void on_result(ext_proc::EppResult result);
  void on_response_answer(std::optional<ext_proc::HeaderMutations> mutations);
  // After the request stopped here: fails open (the chain goes on) or closed (500).
  void failed(std::string_view why, ClusterStats::EppError error);
  // Counts a failure; true when the pool fails open.
  bool count_failure(ClusterStats::EppError error);

  FilterCallbacks& stream_;
  std::unique_ptr<ext_proc::EppCall> epp_;
  bool waiting_ = false;  // no answer yet: body chunks still go to the picker
  ext_proc::ModeOverride mode_;
  ResponseHead* held_head_ = nullptr;  // the response waiting for the EPP's answer
  bool answered_ = false;  // the EPP answered the response headers: the call stays for trailers
};

}  // namespace infergate::gateway
