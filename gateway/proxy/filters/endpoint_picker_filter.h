// An InferencePool's external endpoint picker (endpointPickerRef), called as Envoy calls the
// Inference Extension's EPP over ext_proc: the request headers, then the body streamed
// (FULL_DUPLEX_STREAMED). The request waits here, its body held, until the answer names the
// endpoint and its fallbacks (taken only among the pool's own ready endpoints) or answers the
// request itself. On failure, FailOpen lets the pool's own picker decide; FailClose (the
// API's default) answers 500, as Envoy's ext_proc filter does. The picker then learns which
// endpoint served from the response headers.
//
// Pools without an external picker pass through: their built-in picker chooses per attempt
// in the router (pools/endpoint_choice.h), since a retry takes the pick's next fallback.
#pragma once

#include <memory>
#include <string_view>

#include "gateway/proxy/filter.h"
#include "pools/ext_proc/epp_client.h"

namespace infergate::gateway {

class EndpointPickerFilter final : public StreamFilter {
 public:
  explicit EndpointPickerFilter(FilterCallbacks& stream) : stream_(stream) {}
  FilterStatus decode_headers(bool end_stream) override;
  FilterDataStatus decode_data(std::string_view data, bool end_stream) override;
  FilterStatus decode_trailers() override;
  void encode_headers(ResponseHead& head, bool end_stream) override;
  void on_stream_end() override;

 private:
  void on_result(ext_proc::EppResult result);
  void failed(std::string_view why);

  FilterCallbacks& stream_;
  std::unique_ptr<ext_proc::EppCall> epp_;
  bool waiting_ = false;  // no answer yet: body chunks still go to the picker
};

}  // namespace infergate::gateway
