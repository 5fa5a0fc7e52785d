#include "fake_stream.h"

#include <gtest/gtest.h>

#include "config/loader.h"
#include "gateway/proxy/backend_choice.h"

namespace infergate::gateway::testing {

namespace {

const char* const kGatewayConfig = R"(apiVersion: infergate.dev/v1alpha1
kind: GatewayConfig
metadata: {name: gc}
spec:
  endpoints:
  - {name: a1, address: 10.0.0.1, labels: {app: llm}}
  - {name: a2, address: 10.0.0.2, labels: {app: llm}}
  - {name: s1, address: 10.0.1.1, labels: {app: solo}}
  - {name: p1, address: 10.0.2.1, labels: {app: pool}}
)";

const char* const kBaseYaml = R"(---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  listeners: [{name: http, port: 8080, protocol: HTTP}]
---
apiVersion: v1
kind: Service
metadata: {name: llm}
spec:
  selector: {app: llm}
  ports: [{name: http, port: 80, targetPort: 8000}]
---
apiVersion: v1
kind: Service
metadata: {name: solo}
spec:
  selector: {app: solo}
  ports: [{name: http, port: 80, targetPort: 8000}]
)";

}  // namespace

FakeWorker::FakeWorker(const std::string& extra_yaml, const std::string& gateway_spec)
    : stats(registry), security(registry) {
  const config::LoadResult loaded =
      config::load_string(kGatewayConfig + gateway_spec + kBaseYaml + extra_yaml, "test.yaml");
  if (!loaded.ok()) {
    ADD_FAILURE() << "config does not load: " << (loaded.errors.empty() ? "" : loaded.errors[0].message);
    return;
  }
  std::vector<config::Diagnostic> errors;
  snapshot = build_snapshot(std::make_shared<config::Config>(*loaded.config), 1, "test", endpoints, registry, &errors);
  EXPECT_TRUE(errors.empty()) << errors[0].message;
  listener.keys = {"default/gw/http"};
  listener.hostnames = {""};
  listener.port = 8080;
}

FakeStream::FakeStream(FakeWorker& worker, std::string peer) : worker_(worker), peer_(std::move(peer)) {
  info_.peer_address = peer_;
  info_.listener = &worker_.listener;
}

FakeStream::~FakeStream() {
  if (router_) router_->detach_upstream(false);
  for (auto& f : filters_) f->on_stream_end();
}

void FakeStream::add_filter(std::unique_ptr<StreamFilter> filter) {
  router_ = dynamic_cast<TerminalFilter*>(filter.get());
  filters_.push_back(std::move(filter));
}

void FakeStream::start(RequestHead head, bool end_stream) {
  state_.start = state_.last_activity = std::chrono::steady_clock::now();
  state_.request = std::move(head);
  state_.request_complete = end_stream;
  headers_only_ = end_stream;
  info_.listener_key = worker_.listener.select(state_.request.authority);
  decode_headers_from(0);
}

void FakeStream::decode_headers_from(size_t index) {
  stopped_ = false;
  for (size_t i = index; i < filters_.size(); ++i) {
    decoded_ = i + 1;
    const FilterStatus status = filters_[i]->decode_headers(headers_only_);
    if (finished_) return;
    if (status == FilterStatus::StopIteration) {
      stopped_ = true;
      return;
    }
  }
}

void FakeStream::data(std::string_view chunk, bool end_stream) {
  if (end_stream) state_.request_complete = true;
  if (finished_ || response_done_) return;
  if (stopped_) state_.pending_body.append(chunk);
  const size_t seen = decoded_;
  for (size_t i = 0; i < seen; ++i) {
    if (filters_[i]->decode_data(chunk, end_stream) == FilterDataStatus::StopIterationAndBuffer || finished_) return;
  }
}

void FakeStream::trailers(HeaderMap t) {
  state_.request_complete = true;
  state_.request_trailers = std::move(t);
  state_.has_request_trailers = true;
  if (finished_ || response_done_) return;
  const size_t seen = decoded_;
  for (size_t i = 0; i < seen; ++i) {
    if (filters_[i]->decode_trailers() == FilterStatus::StopIteration || finished_) return;
  }
}

void FakeStream::fire(size_t i) {
  if (!finished_) scheduled.at(i).fn();
}

// A fixed sequence, so the backend and endpoint draws are the same on every run.
uint64_t FakeStream::random() { return draw_ += 0x9E3779B97F4A7C15ull; }

void FakeStream::continue_decoding() {
  ++continues;
  if (finished_ || !stopped_) return;
  decode_headers_from(decoded_);
}

void FakeStream::send_local_reply(int status, std::string_view body, ResponseFlag flag, HeaderMap extra) {
  if (flag != ResponseFlag::None) state_.flags.set(flag);
  if (router_) router_->detach_upstream(false);
  replies.push_back(LocalReply{status, std::string(body), flag, std::move(extra)});
  state_.response_started = true;
  state_.response_code = status;
  response_done_ = true;
  finish();
}

void FakeStream::schedule(std::chrono::milliseconds delay, std::function<void()> fn) {
  if (!finished_) scheduled.push_back(Scheduled{delay, std::move(fn)});
}

std::function<void(std::function<void()>)> FakeStream::poster() {
  return [this](std::function<void()> fn) {
    if (!finished_) fn();
  };
}

bool FakeStream::resolve_backend() {
  if (state_.backend_resolved) return state_.cluster != nullptr;
  state_.backend_resolved = true;
  ++backend_choices;
  return choose_backend(*this, SplitSequences{worker_.backend_draws, worker_.model_draws});
}

UpstreamStream* FakeStream::new_upstream_stream(const pools::Cluster&, const pools::EndpointState& endpoint,
                                                UpstreamCallbacks& callbacks, const ClusterStats&,
                                                const ConnectionBudget*) {
  if (refuse_streams) return nullptr;
  FakeUpstream& u = upstreams.emplace_back();
  u.endpoint = endpoint.key();
  u.callbacks = &callbacks;
  return &u;
}

void FakeStream::encode_headers(ResponseHead&& head, bool end_stream) {
  if (finished_) return;
  encoding_head = std::move(head);
  encoding_end_ = end_stream;
  encode_from(filters_.size());
}

// Runs the encoder filters below `end` in reverse, stopping where one stops.
void FakeStream::encode_from(size_t end) {
  for (size_t i = end; i-- > 0;) {
    if (filters_[i].get() == router_) continue;
    if (filters_[i]->encode_headers(encoding_head, encoding_end_) == FilterStatus::StopIteration) {
      encode_stopped_at_ = i;
      encode_stopped = true;
      return;
    }
  }
  response_head = std::move(encoding_head);
  response_head_end = encoding_end_;
  if (encoding_end_) response_complete();
}

void FakeStream::continue_encoding() {
  ++continue_encoding_calls;
  if (finished_ || !encode_stopped) return;
  encode_stopped = false;
  encode_from(encode_stopped_at_);
}

void FakeStream::encode_data(std::string_view data, bool end_stream) {
  if (finished_) return;
  response_body.append(data);
  response_body_end = end_stream;
  if (end_stream) response_complete();
}

void FakeStream::encode_trailers(HeaderMap&& t) {
  for (size_t i = filters_.size(); i-- > 0;)
    if (filters_[i].get() != router_) filters_[i]->encode_trailers(t);
  if (finished_) return;
  response_trailers = std::move(t);
  response_complete();
}

void FakeStream::response_complete() {
  ++completions;
  response_done_ = true;
  if (router_) router_->detach_upstream(true);
  finish();
}

void FakeStream::reset_downstream() {
  ++downstream_resets;
  finish();
}

void FakeStream::finish() {
  if (finished_) return;
  finished_ = true;
  for (auto& f : filters_) f->on_stream_end();
}

RequestHead request(std::string method, std::string path, std::string authority,
                    std::vector<std::pair<std::string, std::string>> headers) {
  RequestHead r;
  r.method = std::move(method);
  r.path = std::move(path);
  r.authority = std::move(authority);
  for (auto& [name, value] : headers) r.headers.add(name, value);
  return r;
}

}  // namespace infergate::gateway::testing
