// Body-based routing (GatewayConfig bodyRouting): a JSON request body is held until its
// top-level "model" is known, which then routes as X-Gateway-Model-Name does. The body is
// read as the model server reads it (routing/body_model.h): a body longer than maxBytes is
// routed on its first part and the rest is still read as it streams on, so a later "model"
// that would make the server serve another model stops the request (400) before that data
// goes anywhere.
#pragma once

#include <cstddef>

#include "gateway/proxy/filter.h"

namespace infergate::gateway {

class BodyModelFilter final : public StreamFilter {
 public:
  explicit BodyModelFilter(FilterCallbacks& stream) : stream_(stream) {}

  FilterStatus decode_headers(bool end_stream) override;
  FilterDataStatus decode_data(std::string_view data, bool end_stream) override;
  FilterStatus decode_trailers() override;

 private:
  bool wants_body(bool end_stream) const;
  // The model is known (or cannot be): expose it to route matching and let the chain go on.
  void ready();
  void count_duplicate_model();
  void refuse_conflict();

  FilterCallbacks& stream_;
  bool awaiting_ = false;
  bool duplicate_counted_ = false;
  size_t bytes_read_ = 0;
};

}  // namespace infergate::gateway
