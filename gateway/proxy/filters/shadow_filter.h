// Request mirrors (HTTPRoute RequestMirror, VirtualService mirror): Envoy's shadows. Each of
// the route's mirrors draws its own percentage and gets a copy of the request as it is
// forwarded (route header changes and rewrites applied), once the backend is chosen and
// before any external endpoint picker is asked, so a request the picker answers itself is
// shadowed too. The copy then follows the body chunk by chunk (proxy/mirror_stream.h).
#pragma once

#include <memory>
#include <vector>

#include "gateway/proxy/filter.h"

namespace infergate::gateway {

class ShadowFilter final : public StreamFilter {
 public:
  explicit ShadowFilter(FilterCallbacks& stream) : stream_(stream) {}
  FilterStatus decode_headers(bool end_stream) override;
  FilterDataStatus decode_data(std::string_view data, bool end_stream) override;
  FilterStatus decode_trailers() override;
  void on_stream_end() override;

 private:
  FilterCallbacks& stream_;
  std::vector<std::shared_ptr<MirrorStream>> mirrors_;
};

}  // namespace infergate::gateway
