// Internal: the ext_proc message side of the EPP client, free of gRPC calls so it can be
// tested message by message. epp_client.h is the public contract; this header is not.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pools/ext_proc/epp_client.h"
#include "pools/ext_proc/ext_proc.pb.h"

namespace infergate::ext_proc::detail {

namespace pb = ::envoy::service::ext_proc::v3;
namespace core = ::envoy::config::core::v3;

// Header value as the EPP wrote it: raw_value when set (recent Envoy and the GIE EPP),
// else value (older servers).
std::string header_value(const core::HeaderValue& h);

// Keys lower-cased, value in raw_value (value left empty), as recent Envoy sends them.
void fill_header_map(const Headers& headers, core::HeaderMap* out);

// First message of a stream: request_headers + protocol_config (request body
// FULL_DUPLEX_STREAMED; response body FULL_DUPLEX_STREAMED when send_response_body, else
// NONE) + metadata_context envoy.lb.subset_hint when a hint is given.
pb::ProcessingRequest make_request_headers(const Headers& headers, bool end_of_stream,
                                           const EppCallOptions& options);
pb::ProcessingRequest make_request_body(std::string_view chunk, bool end_of_stream);
pb::ProcessingRequest make_request_trailers(const Headers& trailers);
// With metadata_context envoy.lb {x-gateway-destination-endpoint-served: served} when set.
pb::ProcessingRequest make_response_headers(const Headers& headers, bool end_of_stream,
                                            const std::string& served = {});
pb::ProcessingRequest make_response_body(std::string_view chunk, bool end_of_stream);
pb::ProcessingRequest make_response_trailers(const Headers& trailers);

// A HeaderMutation as the gateway applies it: keys lower-cased, the deprecated `append`
// BoolValue winning over append_action when present, as in Envoy.
HeaderMutations header_mutations(const pb::HeaderMutation& mutation);

// Builds a Failure result.
EppResult failure(FailureKind kind, std::string message, int grpc_code = 0);

// Interprets the EPP's answers during the request phase (request headers and body) and
// decides the call's result. One per call; not thread-safe (the reactor serializes reads).
class RequestPhase {
 public:
  // headers_end_of_stream: the request had no body (no body responses are then expected).
  // max_body: the largest body the EPP may stream back.
  RequestPhase(bool headers_end_of_stream, bool result_on_endpoint, std::size_t max_body = 8u << 20)
      : no_body_(headers_end_of_stream), result_on_endpoint_(result_on_endpoint), max_body_(max_body) {}

  // One ProcessingResponse. Returns the result once it is decided (endpoints, immediate
  // response, or a protocol error); nullopt while more answers are needed.
  std::optional<EppResult> on_response(const pb::ProcessingResponse& response);
  // The EPP closed the stream with OK before a result was decided. Envoy then continues
  // without the processor, keeping mutations it already applied: endpoints when a headers
  // response named one, else Failure{kClosedEarly}.
  EppResult on_closed_ok() const;

  bool headers_answered() const { return headers_answered_; }
  bool body_answered() const { return body_answered_; }

 private:
  // Takes header mutations and an endpoint value from one CommonResponse; false (and
  // error_ set) when the endpoint value is malformed.
  bool absorb(const pb::CommonResponse& common);
  bool absorb_metadata(const pb::ProcessingResponse& response);
  std::optional<EppResult> complete_if_ready(bool allow_early);
  EppResult endpoints_result() const;

  bool no_body_;
  bool result_on_endpoint_;
  std::size_t max_body_;
  bool headers_answered_ = false;
  bool body_answered_ = false;  // streamed_response with end_of_stream seen, or trailers answered
  bool body_seen_ = false;      // a streamed_response came (maybe empty)
  std::string body_;            // the request body as the EPP streams it back
  HeaderMutations trailer_mutations_;
  ModeOverride mode_;
  std::optional<std::vector<std::string>> header_endpoints_;
  std::optional<std::vector<std::string>> metadata_endpoints_;
  HeaderMutations mutations_;
  std::string error_;
};

}  // namespace infergate::ext_proc::detail
