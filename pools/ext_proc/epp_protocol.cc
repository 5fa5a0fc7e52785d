#include "pools/ext_proc/epp_protocol.h"

#include <arpa/inet.h>

#include <cctype>
#include <charconv>
#include <utility>

namespace infergate::ext_proc {

std::string_view to_string(FailureKind kind) {
  switch (kind) {
    case FailureKind::kUnavailable: return "unavailable";
    case FailureKind::kTimeout: return "timeout";
    case FailureKind::kProtocolError: return "protocol_error";
    case FailureKind::kStreamError: return "stream_error";
    case FailureKind::kClosedEarly: return "closed_early";
  }
  return "unknown";
}

namespace {

// Header names go to and come from the EPP lower-cased, as Envoy sends them.
void lower(std::string& s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool valid_port(std::string_view p) {
  if (p.empty() || p.size() > 5) return false;
  unsigned v = 0;
  auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
  return ec == std::errc() && ptr == p.data() + p.size() && v >= 1 && v <= 65535;
}

bool valid_endpoint(std::string_view e) {
  std::string host;
  std::string_view port;
  int family = AF_INET;
  if (!e.empty() && e.front() == '[') {
    auto close = e.find("]:");
    if (close == std::string_view::npos) return false;
    host.assign(e.substr(1, close - 1));
    port = e.substr(close + 2);
    family = AF_INET6;
  } else {
    auto colon = e.rfind(':');
    if (colon == std::string_view::npos) return false;
    host.assign(e.substr(0, colon));
    port = e.substr(colon + 1);
  }
  if (host.empty() || !valid_port(port)) return false;
  unsigned char buf[16];
  return inet_pton(family, host.c_str(), buf) == 1;
}

}  // namespace

std::optional<std::vector<std::string>> parse_endpoint_list(std::string_view value) {
  std::vector<std::string> out;
  while (true) {
    auto comma = value.find(',');
    auto item = trim(value.substr(0, comma));
    if (!valid_endpoint(item)) return std::nullopt;
    out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return out;
}

namespace detail {

std::string header_value(const core::HeaderValue& h) {
  return h.raw_value().empty() ? h.value() : h.raw_value();
}

void fill_header_map(const Headers& headers, core::HeaderMap* out) {
  out->mutable_headers()->Reserve(static_cast<int>(headers.size()));
  for (const auto& [name, value] : headers) {
    auto* h = out->add_headers();
    std::string key(name);
    lower(key);
    h->set_key(std::move(key));
    h->set_raw_value(value);
  }
}

pb::ProcessingRequest make_request_headers(const Headers& headers, bool end_of_stream,
                                           const EppCallOptions& options) {
  using Mode = ::envoy::extensions::filters::http::ext_proc::v3::ProcessingMode;
  pb::ProcessingRequest req;
  auto* h = req.mutable_request_headers();
  fill_header_map(headers, h->mutable_headers());
  h->set_end_of_stream(end_of_stream);
  auto* pc = req.mutable_protocol_config();
  pc->set_request_body_mode(Mode::FULL_DUPLEX_STREAMED);
  pc->set_response_body_mode(options.send_response_body ? Mode::FULL_DUPLEX_STREAMED
                                                        : Mode::NONE);
  if (options.subset_hint && !options.subset_hint->empty()) {
    auto& ns = (*req.mutable_metadata_context()->mutable_filter_metadata())[std::string(
        kSubsetHintNamespace)];
    auto* list =
        (*ns.mutable_fields())[std::string(kDestinationEndpointSubsetKey)].mutable_list_value();
    for (const auto& e : *options.subset_hint) list->add_values()->set_string_value(e);
  }
  return req;
}

pb::ProcessingRequest make_request_body(std::string_view chunk, bool end_of_stream) {
  pb::ProcessingRequest req;
  auto* b = req.mutable_request_body();
  b->set_body(std::string(chunk));
  b->set_end_of_stream(end_of_stream);
  return req;
}

pb::ProcessingRequest make_request_trailers(const Headers& trailers) {
  pb::ProcessingRequest req;
  fill_header_map(trailers, req.mutable_request_trailers()->mutable_trailers());
  return req;
}

pb::ProcessingRequest make_response_headers(const Headers& headers, bool end_of_stream,
                                            const std::string& served) {
  pb::ProcessingRequest req;
  auto* h = req.mutable_response_headers();
  fill_header_map(headers, h->mutable_headers());
  h->set_end_of_stream(end_of_stream);
  if (!served.empty()) {
    auto& ns = (*req.mutable_metadata_context()->mutable_filter_metadata())[std::string(kLbMetadataNamespace)];
    (*ns.mutable_fields())[std::string(kDestinationEndpointServedHeader)].set_string_value(served);
  }
  return req;
}

pb::ProcessingRequest make_response_trailers(const Headers& trailers) {
  pb::ProcessingRequest req;
  fill_header_map(trailers, req.mutable_response_trailers()->mutable_trailers());
  return req;
}

HeaderMutations header_mutations(const pb::HeaderMutation& hm) {
  HeaderMutations out;
  for (const auto& opt : hm.set_headers()) {
    HeaderSet set;
    set.key = opt.header().key();
    lower(set.key);
    set.value = header_value(opt.header());
    set.keep_empty_value = opt.keep_empty_value();
    if (opt.has_append()) {
      set.action = opt.append().value() ? AppendAction::kAppendIfExistsOrAdd
                                        : AppendAction::kOverwriteIfExistsOrAdd;
    } else {
      switch (opt.append_action()) {
        case core::HeaderValueOption::ADD_IF_ABSENT: set.action = AppendAction::kAddIfAbsent; break;
        case core::HeaderValueOption::OVERWRITE_IF_EXISTS_OR_ADD:
          set.action = AppendAction::kOverwriteIfExistsOrAdd;
          break;
        case core::HeaderValueOption::OVERWRITE_IF_EXISTS:
          set.action = AppendAction::kOverwriteIfExists;
          break;
        default: set.action = AppendAction::kAppendIfExistsOrAdd; break;
      }
    }
    out.set.push_back(std::move(set));
  }
  for (const auto& r : hm.remove_headers()) {
    std::string key = r;
    lower(key);
    out.remove.push_back(std::move(key));
  }
  return out;
}

pb::ProcessingRequest make_response_body(std::string_view chunk, bool end_of_stream) {
  pb::ProcessingRequest req;
  auto* b = req.mutable_response_body();
  b->set_body(std::string(chunk));
  b->set_end_of_stream(end_of_stream);
  return req;
}

EppResult failure(FailureKind kind, std::string message, int grpc_code) {
  EppResult r;
  r.kind = ResultKind::kFailure;
  r.failure.kind = kind;
  r.failure.grpc_code = grpc_code;
  r.failure.message = std::move(message);
  return r;
}

bool RequestPhase::absorb(const pb::CommonResponse& common) {
  if (common.clear_route_cache()) mutations_.clear_route_cache = true;
  if (!common.has_header_mutation()) return true;
  HeaderMutations m = header_mutations(common.header_mutation());
  for (auto& set : m.set) {
    if (set.key == kDestinationEndpointHeader) {
      auto eps = parse_endpoint_list(set.value);
      if (!eps) {
        error_ = "malformed " + std::string(kDestinationEndpointHeader) + " value '" +
                 set.value + "'";
        return false;
      }
      header_endpoints_ = std::move(eps);
    }
    mutations_.set.push_back(std::move(set));
  }
  for (auto& r : m.remove) mutations_.remove.push_back(std::move(r));
  return true;
}

bool RequestPhase::absorb_metadata(const pb::ProcessingResponse& response) {
  if (!response.has_dynamic_metadata()) return true;
  const auto& top = response.dynamic_metadata().fields();
  auto ns = top.find(std::string(kLbMetadataNamespace));
  if (ns == top.end() || !ns->second.has_struct_value()) return true;
  const auto& fields = ns->second.struct_value().fields();
  auto it = fields.find(std::string(kDestinationEndpointHeader));
  if (it == fields.end()) return true;
  std::string value;
  if (it->second.has_string_value()) {
    value = it->second.string_value();
  } else if (it->second.has_list_value()) {
    for (const auto& v : it->second.list_value().values()) {
      if (!value.empty()) value += ',';
      value += v.string_value();
    }
  }
  auto eps = parse_endpoint_list(value);
  if (!eps) {
    error_ = "malformed dynamic metadata " + std::string(kLbMetadataNamespace) + "/" +
             std::string(kDestinationEndpointHeader) + " value '" + value + "'";
    return false;
  }
  metadata_endpoints_ = std::move(eps);
  return true;
}

EppResult RequestPhase::endpoints_result() const {
  EppResult r;
  r.kind = ResultKind::kEndpoints;
  r.endpoints = header_endpoints_ ? *header_endpoints_ : *metadata_endpoints_;
  r.endpoint_conflict = header_endpoints_ && metadata_endpoints_ && *header_endpoints_ != *metadata_endpoints_;
  r.mutations = mutations_;
  if (body_seen_) r.body = body_;
  r.trailer_mutations = trailer_mutations_;
  r.mode = mode_;
  return r;
}

std::optional<EppResult> RequestPhase::complete_if_ready(bool allow_early) {
  bool have = header_endpoints_ || metadata_endpoints_;
  bool complete = headers_answered_ && (no_body_ || body_answered_);
  if (allow_early && have && headers_answered_) return endpoints_result();
  if (!complete) return std::nullopt;
  if (!have) {
    return failure(FailureKind::kProtocolError,
                   "EPP answered without " + std::string(kDestinationEndpointHeader));
  }
  return endpoints_result();
}

std::optional<EppResult> RequestPhase::on_response(const pb::ProcessingResponse& response) {
  using R = pb::ProcessingResponse;
  using Mode = ::envoy::extensions::filters::http::ext_proc::v3::ProcessingMode;
  if (response.has_mode_override()) {
    const auto& mo = response.mode_override();
    if (mo.response_header_mode() != Mode::DEFAULT) mode_.skip_response_headers = mo.response_header_mode() == Mode::SKIP;
    if (mo.response_trailer_mode() != Mode::DEFAULT) mode_.skip_response_trailers = mo.response_trailer_mode() == Mode::SKIP;
    mode_.send_response_body = mo.response_body_mode() != Mode::NONE;
  }
  switch (response.response_case()) {
    case R::kImmediateResponse: {
      const auto& ir = response.immediate_response();
      EppResult r;
      r.kind = ResultKind::kImmediateResponse;
      int code = ir.has_status() ? static_cast<int>(ir.status().code()) : 0;
      if (code == 0) code = 200;  // Envoy's default for an unset status
      if (code < 200 || code > 599) {
        return failure(FailureKind::kProtocolError,
                       "immediate_response with invalid status " + std::to_string(code));
      }
      r.immediate.status = code;
      r.immediate.body = ir.body();
      r.immediate.details = ir.details();
      if (ir.has_grpc_status()) r.immediate.grpc_status = ir.grpc_status().status();
      for (const auto& opt : ir.headers().set_headers()) {
        r.immediate.headers.emplace_back(opt.header().key(), header_value(opt.header()));
      }
      return r;
    }
    case R::kRequestHeaders: {
      if (headers_answered_) {
        return failure(FailureKind::kProtocolError, "duplicate request_headers response");
      }
      headers_answered_ = true;
      if (!absorb(response.request_headers().response()) || !absorb_metadata(response)) {
        return failure(FailureKind::kProtocolError, error_);
      }
      return complete_if_ready(result_on_endpoint_);
    }
    case R::kRequestBody: {
      if (!headers_answered_) {
        return failure(FailureKind::kProtocolError,
                       "request_body response before the request_headers response");
      }
      if (no_body_) {
        return failure(FailureKind::kProtocolError,
                       "request_body response for a request without body");
      }
      if (body_answered_) {
        return failure(FailureKind::kProtocolError,
                       "request_body response after the body's end_of_stream");
      }
      const auto& common = response.request_body().response();
      if (!absorb(common) || !absorb_metadata(response)) {
        return failure(FailureKind::kProtocolError, error_);
      }
      if (common.has_body_mutation()) {
        const auto& bm = common.body_mutation();
        if (bm.mutation_case() != pb::BodyMutation::kStreamedResponse) {
          return failure(FailureKind::kProtocolError,
                         "body_mutation without streamed_response in FULL_DUPLEX_STREAMED mode");
        }
        body_seen_ = true;
        if (body_.size() + bm.streamed_response().body().size() > max_body_) {
          return failure(FailureKind::kProtocolError,
                         "body mutation larger than " + std::to_string(max_body_) + " bytes");
        }
        body_ += bm.streamed_response().body();
        if (bm.streamed_response().end_of_stream()) body_answered_ = true;
      }
      return complete_if_ready(false);
    }
    case R::kRequestTrailers: {
      if (!headers_answered_ || no_body_ || body_answered_) {
        return failure(FailureKind::kProtocolError, "request_trailers response out of order");
      }
      trailer_mutations_ = header_mutations(response.request_trailers().header_mutation());
      body_answered_ = true;  // trailers end the request: the body echo is complete
      return complete_if_ready(false);
    }
    case R::RESPONSE_NOT_SET:
      return failure(FailureKind::kProtocolError, "ProcessingResponse without a response");
    default:
      return failure(FailureKind::kProtocolError,
                     "response type " + std::to_string(static_cast<int>(response.response_case())) +
                         " during the request phase");
  }
}

EppResult RequestPhase::on_closed_ok() const {
  if (headers_answered_ && (header_endpoints_ || metadata_endpoints_)) return endpoints_result();
  return failure(FailureKind::kClosedEarly, "EPP closed the stream before answering");
}

}  // namespace detail
}  // namespace infergate::ext_proc
