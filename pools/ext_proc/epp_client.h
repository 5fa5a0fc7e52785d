// Client for an external endpoint picker (the Gateway API Inference Extension EPP) over
// Envoy's ext_proc gRPC protocol (envoy.service.ext_proc.v3.ExternalProcessor/Process),
// speaking it the way Envoy does with request bodies in FULL_DUPLEX_STREAMED mode.
//
// This header is the contract for the gateway:
//  * EppChannel: one per EPP target ("host:port"), created on the control thread, shared by
//    every worker through shared_ptr. Thread-safe.
//  * EppCall: one per HTTP request, owned by the worker that runs the request. Its methods
//    are called from that worker only and never block: every message goes out on gRPC's own
//    threads, and the single result is handed back through the `post` function the worker
//    supplies (it posts into the worker's io_context), so the result callback runs on the
//    worker.
//  * The client only reports what happened (EppResult). Whether a Failure fails open (use
//    the pool's own picker / any endpoint) or closed (answer 5xx) is the gateway's decision,
//    taken from the pool's endpointPickerRef.failureMode.
// README.md next to this file describes the message sequence and the failure mapping.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace grpc {
class Channel;
}

namespace infergate::ext_proc {

// Header names of the GIE EPP protocol.
inline constexpr std::string_view kDestinationEndpointHeader = "x-gateway-destination-endpoint";
inline constexpr std::string_view kDestinationEndpointServedHeader =
    "x-gateway-destination-endpoint-served";
inline constexpr std::string_view kDestinationEndpointSubsetKey =
    "x-gateway-destination-endpoint-subset";
// Dynamic metadata namespaces.
inline constexpr std::string_view kLbMetadataNamespace = "envoy.lb";
inline constexpr std::string_view kSubsetHintNamespace = "envoy.lb.subset_hint";

// Header list in wire order; request headers include the pseudo-headers :method, :path,
// :authority and :scheme (response headers: :status). Names are sent lower-cased.
using Headers = std::vector<std::pair<std::string, std::string>>;

// Mirrors envoy.config.core.v3.HeaderValueOption.HeaderAppendAction.
enum class AppendAction : std::uint8_t {
  kAppendIfExistsOrAdd = 0,
  kAddIfAbsent = 1,
  kOverwriteIfExistsOrAdd = 2,
  kOverwriteIfExists = 3,
};

struct HeaderSet {
  std::string key;  // lower-case as sent by the EPP
  std::string value;
  AppendAction action = AppendAction::kAppendIfExistsOrAdd;
  bool keep_empty_value = false;
};

// Every request-header mutation the EPP asked for, in arrival order (headers response first,
// then body responses). Includes the x-gateway-destination-endpoint set itself: Envoy applies
// it to the upstream request, so the model server sees it too.
struct HeaderMutations {
  std::vector<HeaderSet> set;
  std::vector<std::string> remove;
  bool clear_route_cache = false;
  bool empty() const { return set.empty() && remove.empty(); }
};

struct ImmediateResponse {
  int status = 0;  // HTTP status code: 429 when the EPP sheds, 503 when no endpoint is ready
  Headers headers;  // from ImmediateResponse.headers set_headers
  std::string body;
  std::string details;
  std::optional<std::uint32_t> grpc_status;
};

enum class FailureKind : std::uint8_t {
  kUnavailable,    // cannot connect / connection lost / gRPC UNAVAILABLE or CANCELLED by peer
  kTimeout,        // no complete answer within the message timeout (or DEADLINE_EXCEEDED)
  kProtocolError,  // EPP answered garbage: wrong response type for the phase, duplicate or
                   // out-of-order response, no endpoint, malformed ip:port
  kStreamError,    // EPP ended the stream with another non-OK gRPC status (INTERNAL, ...)
  kClosedEarly,    // EPP ended the stream with OK before answering. Envoy then continues the
                   // request without the processor (no endpoint chosen).
};
std::string_view to_string(FailureKind kind);

struct Failure {
  FailureKind kind = FailureKind::kUnavailable;
  int grpc_code = 0;  // grpc::StatusCode when the stream ended, 0 otherwise
  std::string message;
};

enum class ResultKind : std::uint8_t { kEndpoints, kImmediateResponse, kFailure };

// What the EPP's mode_override asked of the response phase (Envoy honours it once per stream).
struct ModeOverride {
  bool skip_response_headers = false;  // response_header_mode SKIP: no response headers sent
  std::optional<bool> send_response_body;  // response_body_mode: NONE = false, else true
  bool skip_response_trailers = false;
};

struct EppResult {
  ResultKind kind = ResultKind::kFailure;
  // kEndpoints: "ip:port" (IPv6 as "[addr]:port"), primary first then fallbacks, from the
  // x-gateway-destination-endpoint header mutation (comma-separated, trimmed), or when that
  // is absent from dynamic metadata envoy.lb / x-gateway-destination-endpoint.
  std::vector<std::string> endpoints;
  HeaderMutations mutations;  // kEndpoints: apply to the upstream request
  // kEndpoints: the request body as the EPP streamed it back (FULL_DUPLEX_STREAMED
  // streamed_response chunks), which Envoy forwards instead of its own copy; nullopt when the
  // request had no body.
  std::optional<std::string> body;
  HeaderMutations trailer_mutations;  // kEndpoints: from the request trailers response
  ModeOverride mode;                  // kEndpoints
  // The header and the envoy.lb metadata named different endpoints; the header's are used
  // (the protocol leaves the precedence open; Envoy applies the header mutation).
  bool endpoint_conflict = false;
  ImmediateResponse immediate;  // kImmediateResponse
  Failure failure;              // kFailure
  std::chrono::microseconds latency{0};  // start() to result
};

// Parses "ip:port[, ip:port...]"; nullopt when empty or any entry is not a literal
// IPv4/[IPv6] address with a port in 1..65535.
std::optional<std::vector<std::string>> parse_endpoint_list(std::string_view value);

// TLS to the EPP (GIE's EPP serves TLS by default, --secure-serving).
struct EppTlsOptions {
  bool enabled = false;
  std::string ca_pem;                 // roots to verify the EPP's certificate; empty: system roots
  bool insecure_skip_verify = false;  // Envoy Gateway's default for the EPP; logged as a warning
  std::string server_name;            // expected name (and authority); empty: the target host
  std::string cert_pem, key_pem;      // client certificate for mTLS; optional
  bool operator==(const EppTlsOptions&) const = default;
};

struct EppChannelOptions {
  std::string target;  // "host:port" (any gRPC target URI works: dns:///epp.ns:9002)
  // HTTP/2 keepalive. grpc-go servers (the EPP) answer pings more often than every 5 minutes
  // with GOAWAY(too_many_pings) unless configured otherwise, so the default stays at 5 min
  // and never pings without active calls.
  std::chrono::milliseconds keepalive_time{300000};
  std::chrono::milliseconds keepalive_timeout{20000};
  // Reconnect backoff after the EPP went away, so a restarted EPP is used again quickly.
  std::chrono::milliseconds reconnect_backoff_min{100};
  std::chrono::milliseconds reconnect_backoff_max{2000};
  // Default per-call message timeout, see EppCallOptions::message_timeout.
  std::chrono::milliseconds message_timeout{1000};
  // After finish(), how long the EPP may take to close its side before the stream is
  // cancelled.
  std::chrono::milliseconds finish_grace{5000};
  // Body chunks bigger than this go out as several HttpBody messages.
  std::size_t max_body_chunk = 64 * 1024;
  // Largest message accepted from the EPP (it echoes the body back).
  int max_receive_message_bytes = 64 * 1024 * 1024;
  // Largest request body the EPP may stream back; a bigger one is a protocol error.
  std::size_t max_body_mutation_bytes = 8u << 20;
  EppTlsOptions tls;
  // gRPC health checking (grpc.health.v1.Health/Check) of `health_service`, every
  // `health_interval` (zero: off). NOT_SERVING, or no answer `health_unhealthy_threshold`
  // times in a row, makes the channel not ready; one SERVING makes it ready again. An EPP
  // without the health service (UNIMPLEMENTED) counts as serving.
  std::chrono::milliseconds health_interval{0};
  std::chrono::milliseconds health_timeout{1000};
  int health_unhealthy_threshold = 2;
  std::string health_service = "envoy.service.ext_proc.v3.ExternalProcessor";
  // Channels with equal options are interchangeable (the gateway shares one across reloads).
  bool operator==(const EppChannelOptions&) const = default;
};

// Counters for the gateway's stats; monotonic, relaxed atomics.
struct EppChannelStats {
  std::atomic<std::uint64_t> calls{0};
  std::atomic<std::uint64_t> endpoints{0};
  std::atomic<std::uint64_t> immediate{0};
  std::atomic<std::uint64_t> failures{0};
  std::atomic<std::uint64_t> timeouts{0};
  std::atomic<std::uint64_t> unavailable{0};
  std::atomic<std::uint64_t> protocol_errors{0};
  std::atomic<std::uint64_t> cancelled{0};
  std::atomic<std::uint64_t> body_mutations{0};        // forwarded bodies the EPP changed
  std::atomic<std::uint64_t> endpoint_conflicts{0};    // header and metadata disagreed
  std::atomic<std::uint64_t> response_mutations{0};    // response header answers applied
  std::atomic<std::uint64_t> response_timeouts{0};     // response header answers given up on
  std::atomic<std::uint64_t> health_checks{0};
  std::atomic<std::uint64_t> health_failures{0};       // NOT_SERVING or no answer
};

class EppChannel {
 public:
  // Does not connect: the first call does (and reconnects after failures).
  static std::shared_ptr<EppChannel> create(EppChannelOptions options);
  ~EppChannel();
  EppChannel(const EppChannel&) = delete;
  EppChannel& operator=(const EppChannel&) = delete;

  const EppChannelOptions& options() const { return options_; }
  // False while the EPP's health service says NOT_SERVING (or does not answer); true
  // before the first check and when health checking is off.
  bool ready() const { return ready_.load(std::memory_order_relaxed); }
  EppChannelStats& stats() { return stats_; }
  const EppChannelStats& stats() const { return stats_; }

  struct Impl;
  Impl& impl() { return *impl_; }

 private:
  explicit EppChannel(EppChannelOptions options);
  void health_loop();
  EppChannelOptions options_;
  EppChannelStats stats_;
  std::atomic<bool> ready_{true};
  std::unique_ptr<Impl> impl_;
};

struct EppCallOptions {
  // Time the EPP has to complete its answer, counted from the moment the last request
  // message (headers with end_of_stream, or the body chunk with end_of_stream) was handed to
  // send: the GIE EPP only answers once it has the whole body. Zero: the channel's default.
  // Expiry gives Failure{kTimeout} and cancels the stream (Envoy's message_timeout; Envoy's
  // own default is 200 ms).
  std::chrono::milliseconds message_timeout{0};
  // Deliver the result as soon as the EPP's headers response names an endpoint instead of
  // waiting for it to finish echoing the streamed body (saves the body round trip on long
  // prompts; later protocol errors are then only counted).
  bool result_on_endpoint = false;
  // Sent as metadata_context envoy.lb.subset_hint {x-gateway-destination-endpoint-subset:
  // [...]} with the request headers when not empty: the endpoints the EPP may choose from.
  // Shared: a pool's list is the same for every request until an endpoint's state changes.
  std::shared_ptr<const std::vector<std::string>> subset_hint;
  // Also stream the response body to the EPP (GIE reads token usage from it). Off: only the
  // response headers are reported.
  bool send_response_body = false;
};

class EppCall {
 public:
  // Runs `fn` on the owning worker; must be thread-safe and must not run `fn` inline on the
  // calling thread (post into an io_context). Called from gRPC threads.
  using PostFn = std::function<void(std::function<void()>)>;
  using ResultFn = std::function<void(EppResult)>;

  // `on_result` runs exactly once through `post`, unless cancel() (or the destructor) runs
  // first, after which it never runs.
  EppCall(std::shared_ptr<EppChannel> channel, PostFn post, ResultFn on_result,
          EppCallOptions options = {});
  // Cancels the stream unless finish() was called (a dropped handle is a request reset).
  ~EppCall();
  EppCall(const EppCall&) = delete;
  EppCall& operator=(const EppCall&) = delete;

  // Opens the stream and sends request_headers (with protocol_config: request body
  // FULL_DUPLEX_STREAMED). end_of_stream = true when the request has no body; then the
  // result is ready once the EPP answered the headers.
  void start(const Headers& request_headers, bool end_of_stream);
  // A request body chunk (HttpBody). The last one has end_of_stream = true (an empty chunk
  // is fine). The gateway keeps and forwards its own copy of the body.
  void send_body(std::string_view chunk, bool end_of_stream);
  // Request trailers (request_trailers): they end the request; the EPP's body echo then
  // ends with its trailers response.
  void send_trailers(const Headers& trailers);
  // The response headers, with metadata_context envoy.lb
  // {x-gateway-destination-endpoint-served: served} (proposal 004). `on_answer` runs once
  // through `post` with the EPP's header mutation for the response, or nullopt when it did
  // not answer within the message timeout or the stream ended (the response then goes on
  // unchanged). False when the stream already ended: on_answer never runs then. Like
  // on_result, on_answer never runs after cancel().
  using ResponseAnswerFn = std::function<void(std::optional<HeaderMutations>)>;
  bool send_response_headers(const Headers& response_headers, bool end_of_stream,
                             const std::string& served, ResponseAnswerFn on_answer);
  // Observability-style reports: the EPP's answers are read and dropped, never waited for.
  void send_response_body(std::string_view chunk, bool end_of_stream);  // if options allow
  void send_response_trailers(const Headers& trailers);
  // No more messages: half-closes the stream; the EPP closes its side (or is cancelled after
  // finish_grace). A result not delivered yet is still delivered.
  void finish();
  // Drops the call: the stream is cancelled and on_result never runs. Idempotent.
  void cancel();

  bool started() const { return started_; }
  bool result_delivered() const;

  class Stream;  // the gRPC reactor; owns itself until gRPC is done with it

 private:
  std::shared_ptr<Stream> stream_;
  bool started_ = false;
  bool closed_ = false;  // finish() or cancel() ran
};

}  // namespace infergate::ext_proc
