// FilterCallbacks without sockets or Asio: a real Snapshot built from YAML, a StreamState, and
// a record of everything a filter asks of its stream (local replies, resumptions, timers,
// backpressure, the response going out, upstream streams). It drives a filter list the way
// ActiveStream does (decode in order, stop and resume, body held while stopped, encode in
// reverse), so a filter is tested through the same calls the real stream makes.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/control/snapshot.h"
#include "gateway/proxy/filter.h"
#include "gateway/proxy/proxy_stats.h"
#include "gateway/proxy/security_stats.h"
#include "gateway/proxy/stream_state.h"
#include "metrics/registry.h"
#include "pools/endpoint_state.h"
#include "routing/weighted_choice.h"

namespace infergate::gateway::testing {

// What a worker shares between its streams: one snapshot (so rate-limit buckets carry over
// from one request to the next), the statistics and the backend draws.
//
// The config: GatewayConfig endpoints (a1, a2: app llm; s1: app solo; p1: app pool), a Gateway
// listener "default/gw/http" on 8080 and two Services: "llm" (two endpoints, so a retry has
// somewhere to go) and "solo" (one). `extra_yaml` adds documents (routes, pools, policies),
// `gateway_spec` lines under the GatewayConfig's spec (indented two spaces).
struct FakeWorker {
  explicit FakeWorker(const std::string& extra_yaml, const std::string& gateway_spec = "");

  metrics::Registry registry{1};
  pools::EndpointRegistry endpoints;
  std::shared_ptr<const Snapshot> snapshot;
  ProxyStats stats;
  SecurityStats security;
  ListenerInfo listener;
  routing::WeightedSequence backend_draws, model_draws;
};

struct LocalReply {
  int status = 0;
  std::string body;
  ResponseFlag flag = ResponseFlag::None;
  HeaderMap headers;
};

struct Scheduled {
  std::chrono::milliseconds delay{0};
  std::function<void()> fn;
};

// An upstream stream the router drives; the test plays the upstream codec through `callbacks`.
class FakeUpstream final : public UpstreamStream {
 public:
  void send_headers(const RequestHead& head, bool end_stream) override {
    headers.push_back(head);
    headers_end = end_stream;
  }
  void send_data(std::string_view data, bool end_stream) override {
    body.append(data);
    ++data_calls;
    data_end = end_stream;
  }
  void send_trailers(const HeaderMap& t) override { trailers = t; }
  void reset() override { ++resets; }
  size_t buffered_bytes() const override { return buffered; }
  void pause_response(bool paused) override { response_paused = paused; }
  void release() override { ++releases; }

  std::string endpoint;  // the key of the endpoint it was opened to
  UpstreamCallbacks* callbacks = nullptr;
  std::vector<RequestHead> headers;
  bool headers_end = false;
  std::string body;
  int data_calls = 0;
  bool data_end = false;
  std::optional<HeaderMap> trailers;
  int resets = 0, releases = 0;
  size_t buffered = 0;
  bool response_paused = false;
};

class FakeStream final : public FilterCallbacks {
 public:
  explicit FakeStream(FakeWorker& worker, std::string peer = "10.1.2.3");
  ~FakeStream() override;

  // The filters, in chain order; a TerminalFilter last is the router (local replies and the
  // response's end detach its upstream, as ActiveStream does).
  template <typename F>
  F& add() {
    auto f = std::make_unique<F>(*this);
    F& ref = *f;
    add_filter(std::move(f));
    return ref;
  }
  void add_filter(std::unique_ptr<StreamFilter> filter);

  // ActiveStream's on_request_headers / on_request_data / on_request_trailers, minus the
  // connection manager's own header policy.
  void start(RequestHead head, bool end_stream);
  void data(std::string_view chunk, bool end_stream);
  void trailers(HeaderMap t);
  // A timer the filters scheduled fires (never once the stream finished, as with Asio).
  void fire(size_t i);

  bool stopped() const { return stopped_; }
  bool finished() const { return finished_; }
  size_t decoded() const { return decoded_; }

  // FilterCallbacks
  StreamState& state() override { return state_; }
  const Snapshot& snapshot() const override { return *worker_.snapshot; }
  const DownstreamInfo& downstream() const override { return info_; }
  const ProxyStats& stats() const override { return worker_.stats; }
  const SecurityStats& security() const override { return worker_.security; }
  uint64_t random() override;
  void continue_decoding() override;
  void continue_encoding() override;
  void send_local_reply(int status, std::string_view body, ResponseFlag flag, HeaderMap extra = {}) override;
  void schedule(std::chrono::milliseconds delay, std::function<void()> fn) override;
  std::function<void(std::function<void()>)> poster() override;
  bool resolve_backend() override;
  void deadlines_changed() override { ++deadline_changes; }
  UpstreamStream* new_upstream_stream(const pools::Cluster& cluster, const pools::EndpointState& endpoint,
                                      UpstreamCallbacks& callbacks, const ClusterStats& stats,
                                      const ConnectionBudget* budget) override;
  // Records the copies asked for; a MirrorStream needs a worker's connection pools, so none
  // is started (the mirrors' own behaviour is covered end to end).
  std::shared_ptr<MirrorStream> start_mirror(const pools::Cluster& cluster, const RequestHead& head,
                                             bool end_stream) override {
    mirrors_started.push_back({cluster.name, head, end_stream});
    return nullptr;
  }
  struct MirrorStart {
    std::string cluster;
    RequestHead head;
    bool end_stream;
  };
  std::vector<MirrorStart> mirrors_started;
  void encode_headers(ResponseHead&& head, bool end_stream) override;
  void encode_data(std::string_view data, bool end_stream) override;
  void encode_trailers(HeaderMap&& t) override;
  void pause_request_body(bool paused) override { pauses.push_back(paused); }
  size_t downstream_buffered_bytes() const override { return downstream_buffered; }
  void response_complete() override;
  void reset_downstream() override;

  // What the filters did.
  std::vector<LocalReply> replies;
  int continues = 0;
  std::vector<Scheduled> scheduled;
  int deadline_changes = 0;
  std::vector<bool> pauses;
  int backend_choices = 0;  // choose_backend() runs
  std::optional<ResponseHead> response_head;  // as sent, once the encoder filters let it go
  bool response_head_end = false;
  ResponseHead encoding_head;  // what the encoder filters see (held while one stops)
  bool encode_stopped = false;
  int continue_encoding_calls = 0;
  std::string response_body;
  bool response_body_end = false;
  std::optional<HeaderMap> response_trailers;
  int completions = 0;
  int downstream_resets = 0;
  // Upstream streams handed out, in order; refuse_streams simulates a connection limit.
  std::deque<FakeUpstream> upstreams;
  bool refuse_streams = false;
  size_t downstream_buffered = 0;

 private:
  void decode_headers_from(size_t index);
  void encode_from(size_t end);
  bool encoding_end_ = false;
  size_t encode_stopped_at_ = 0;
  void finish();

  FakeWorker& worker_;
  std::string peer_;
  DownstreamInfo info_;
  StreamState state_;
  uint64_t draw_ = 0;
  bool headers_only_ = false;
  bool stopped_ = false;
  bool finished_ = false;
  bool response_done_ = false;
  size_t decoded_ = 0;
  TerminalFilter* router_ = nullptr;
  // Last: the filters go first, while the upstreams and state they touch still exist.
  std::vector<std::unique_ptr<StreamFilter>> filters_;
};

// A request as the downstream codec would deliver it.
RequestHead request(std::string method, std::string path, std::string authority = "llm.example.com",
                    std::vector<std::pair<std::string, std::string>> headers = {});

// Records what reaches the filter after the one under test.
class ProbeFilter final : public StreamFilter {
 public:
  explicit ProbeFilter(FilterCallbacks& stream) : stream_(stream) {}
  FilterStatus decode_headers(bool) override {
    ++headers_calls;
    if (const std::string* m = stream_.state().request.headers.get("x-gateway-model-name")) model_header = *m;
    pending_at_headers = stream_.state().pending_body;
    return FilterStatus::Continue;
  }
  FilterDataStatus decode_data(std::string_view data, bool end_stream) override {
    data_seen.append(data);
    data_end = end_stream;
    return FilterDataStatus::Continue;
  }

  int headers_calls = 0;
  std::optional<std::string> model_header;
  std::string pending_at_headers;
  std::string data_seen;
  bool data_end = false;

 private:
  FilterCallbacks& stream_;
};

// A filter under test on its own stream, after the filters `Before` (e.g. RouteReplyFilter,
// which matches the route), with a ProbeFilter after it.
template <typename Filter, typename... Before>
struct FilterUnderTest {
  explicit FilterUnderTest(FakeWorker& w) : stream(w), filter(add_chain(stream)), next(stream.add<ProbeFilter>()) {}
  FakeStream stream;
  Filter& filter;
  ProbeFilter& next;

 private:
  static Filter& add_chain(FakeStream& s) {
    (s.add<Before>(), ...);
    return s.add<Filter>();
  }
};

}  // namespace infergate::gateway::testing
