// The request path as a chain of filters: Envoy's HTTP filter chain in Proxygen's small
// vocabulary.
//
// An ActiveStream (proxy/active_stream.h) runs one request through its filters: decode_*
// calls go through them in chain order on the way in, encode_* calls in reverse order on
// the way out. The last filter is the router: it sends the request upstream and starts the
// response, which the filters before it then see.
//
// A decode call returns Continue (the next filter gets the call), StopIteration (the chain
// waits there until the filter calls continue_decoding(), e.g. after a timer or an answer
// from the endpoint picker), or answers the request itself with send_local_reply() and
// returns StopIteration. Request body that arrives while iteration is stopped is held by
// the stream in StreamState::pending_body; the filters after the stopping one find it there
// when their decode_headers runs, and get decode_data only for what arrives after. The
// router keeps adding to it until its upstream connection is ready.
//
// On the way out, encode_headers may return StopIteration too (the endpoint picker waits for
// the EPP's answer to the response headers): the stream holds the response, pauses the
// upstream, and sends it on when the filter calls continue_encoding(); the filter may change
// the head it was given until then.
//
// Filters see the stream only through FilterCallbacks: no sockets, no Asio, so each filter
// is unit-tested with fake callbacks (tests/unit/proxy/).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

#include "gateway/http/stream.h"
#include "gateway/proxy/response_flags.h"
#include "routing/http_message.h"

namespace infergate::pools {
class Cluster;
struct EndpointState;
}

namespace infergate::gateway {

struct Snapshot;
struct StreamState;
struct DownstreamTls;
struct ProxyStats;
struct ClusterStats;
struct SecurityStats;
struct ConnectionBudget;
struct DownstreamInfo;
class MirrorStream;

enum class FilterStatus : uint8_t { Continue, StopIteration };

// What a decode_data call asks of the body it saw.
enum class FilterDataStatus : uint8_t {
  Continue,
  // Hold the body without backpressure: the filter reads it whole (bounded by its own limit).
  StopIterationAndBuffer,
};

// What the stream offers its filters.
class FilterCallbacks {
 public:
  virtual ~FilterCallbacks() = default;
  virtual StreamState& state() = 0;
  // The config snapshot the request started on (never null while filters run).
  virtual const Snapshot& snapshot() const = 0;
  virtual const DownstreamInfo& downstream() const = 0;
  virtual const ProxyStats& stats() const = 0;
  virtual const SecurityStats& security() const = 0;
  virtual uint64_t random() = 0;

  // Resumes the decode iteration after the filter that stopped it.
  virtual void continue_decoding() = 0;
  // Resumes the encode iteration (response headers) after the filter that stopped it.
  virtual void continue_encoding() = 0;
  // Answers the request with Envoy's local reply shape; whatever runs upstream is stopped.
  virtual void send_local_reply(int status, std::string_view body, ResponseFlag flag, HeaderMap extra = {}) = 0;
  // Runs `fn` on the stream's thread after `delay`, unless the stream ended first.
  virtual void schedule(std::chrono::milliseconds delay, std::function<void()> fn) = 0;
  // Runs `fn` on the stream's thread soon, unless the stream ended first; safe to call from
  // any thread (the endpoint picker answers on its gRPC thread).
  virtual std::function<void(std::function<void()>)> poster() = 0;
  // The route's backend for this request: chosen once, the first time a filter asks (weights,
  // session, canary header; then the model rewrite and the route's request changes). False
  // when the request was answered instead (no such cluster).
  virtual bool resolve_backend() = 0;
  // The deadlines changed (the router's request and per-try timeouts): re-arm the timer.
  virtual void deadlines_changed() = 0;

  // The router's side: where upstream streams come from, shadows, and the response going out.
  // A stream to `endpoint` of `cluster` from the worker's connection pools; nullptr when a
  // connection limit refuses (the pool's, or the cluster's `budget`).
  virtual UpstreamStream* new_upstream_stream(const pools::Cluster& cluster, const pools::EndpointState& endpoint,
                                              UpstreamCallbacks& callbacks, const ClusterStats& stats,
                                              const ConnectionBudget* budget) = 0;
  // A copy of the request as forwarded (`head`) to an endpoint of `cluster`; nullptr when it
  // could not start (counted by the mirror).
  virtual std::shared_ptr<MirrorStream> start_mirror(const pools::Cluster& cluster, const RequestHead& head,
                                                     bool end_stream) = 0;
  virtual void encode_headers(ResponseHead&& head, bool end_stream) = 0;
  virtual void encode_data(std::string_view data, bool end_stream) = 0;
  virtual void encode_trailers(HeaderMap&& trailers) = 0;
  // Stop or resume reading the request body from the client (watermarks).
  virtual void pause_request_body(bool paused) = 0;
  // Response bytes the client has not taken yet (watermarks).
  virtual size_t downstream_buffered_bytes() const = 0;
  // The response is complete: the stream finishes.
  virtual void response_complete() = 0;
  // The upstream failed mid-response: the client must learn the response is truncated.
  virtual void reset_downstream() = 0;
};

class StreamFilter {
 public:
  virtual ~StreamFilter() = default;
  // `end_stream`: the request came without a body (a resumed chain passes the same value;
  // StreamState::request_complete says what has arrived since).
  virtual FilterStatus decode_headers(bool end_stream) {
    (void)end_stream;
    return FilterStatus::Continue;
  }
  virtual FilterDataStatus decode_data(std::string_view data, bool end_stream) {
    (void)data, (void)end_stream;
    return FilterDataStatus::Continue;
  }
  // The trailers are in StreamState::request_trailers.
  virtual FilterStatus decode_trailers() { return FilterStatus::Continue; }
  // `head` stays valid (and may still be changed) until continue_encoding() when the filter
  // stops the iteration.
  virtual FilterStatus encode_headers(ResponseHead& head, bool end_stream) {
    (void)head, (void)end_stream;
    return FilterStatus::Continue;
  }
  // The response trailers, before they go to the client (may be changed).
  virtual void encode_trailers(HeaderMap& trailers) { (void)trailers; }
  // The stream ends (answered, reset, timed out, finished): stop anything still running for it.
  virtual void on_stream_end() {}
};

// The last filter: it owns the upstream side.
class TerminalFilter : public StreamFilter {
 public:
  // The attempt ran past its per-try timeout.
  virtual void on_try_timeout() = 0;
  // The upstream stream is done with: released to its pool when the response completed
  // (`success`), else reset (a local reply, a timeout, the client gone). No-op without one.
  virtual void detach_upstream(bool success) = 0;
  // Stop or resume reading the response (watermarks).
  virtual void pause_response(bool paused) = 0;
  virtual void on_downstream_writable() = 0;
};

using FilterFactory = std::function<std::unique_ptr<StreamFilter>(FilterCallbacks&)>;

}  // namespace infergate::gateway
