// Envoy-named statistics of the connection manager and of each upstream cluster.
//
// Handles are resolved once (at start-up, or when a snapshot is built for clusters),
// so the request path only does relaxed atomic adds. Names follow Envoy:
// http.<prefix>.downstream_*, cluster.<name>.upstream_*; their Prometheus form uses
// Envoy's tag names (envoy_http_conn_manager_prefix, envoy_cluster_name,
// envoy_response_code_class).
#pragma once

#include <array>
#include <string>
#include <string_view>

#include "metrics/registry.h"

namespace infergate::gateway {

// Why a downstream connection or request was refused before reaching the router.
enum class RejectReason : uint8_t {
  Malformed,         // 400: syntax, smuggling vectors, bad chunks
  HeadersTooLarge,   // 431
  BodyTooLarge,      // 413
  H2ProtocolError,   // stream or connection error from the HTTP/2 codec
  H2Flood,           // rapid reset / CONTINUATION floods
  kCount,
};

// What body-based routing made of a request body (see config::BodyRouting).
enum class BodyModelResult : uint8_t {
  Found,     // a top-level string "model": X-Gateway-Model-Name set
  Absent,    // a JSON object without one
  NotJson,   // not a JSON object (or broken JSON)
  TooLarge,  // the object did not end within maxBytes: routed on what was read
  kCount,
};

// Request mirrors (shadows): copies sent, and copies given up on because the mirror could not
// keep pace (its buffer filled) or failed.
enum class MirrorResult : uint8_t { Sent, Dropped, Failed, kCount };

struct ProxyStats {
  ProxyStats() = default;
  ProxyStats(metrics::Registry& r, std::string_view prefix = "ingress_http");

  metrics::Counter downstream_cx_total, downstream_cx_http1_total, downstream_cx_http2_total,
      downstream_cx_protocol_error, downstream_cx_destroy_remote_active_rq, downstream_cx_drain_close,
      downstream_cx_idle_timeout, downstream_cx_rx_bytes_total, downstream_cx_tx_bytes_total;
  metrics::Gauge downstream_cx_active, downstream_rq_active;
  metrics::Counter downstream_rq_total, downstream_rq_http1_total, downstream_rq_http2_total,
      downstream_rq_rx_reset, downstream_rq_tx_reset, downstream_rq_timeout, downstream_rq_idle_timeout, downstream_rq_header_timeout, no_route,
      no_cluster;
  std::array<metrics::Counter, 5> downstream_rq_xx;  // 1xx..5xx
  std::array<metrics::Counter, static_cast<size_t>(RejectReason::kCount)> rejected;
  metrics::Histogram downstream_rq_time;  // ms
  std::array<metrics::Counter, static_cast<size_t>(BodyModelResult::kCount)> body_model;
  metrics::Counter model_rewritten;
  // Bodies with more than one top-level "model" (counted once each), and bodies refused with 400
  // because the model the server would see is not the one the gateway acted on.
  metrics::Counter duplicate_model, model_conflict;
  // Request bodies refused (415) as JSON in UTF-16/32: the server would read their model, we cannot.
  metrics::Counter body_unsupported_encoding;
  std::array<metrics::Counter, static_cast<size_t>(MirrorResult::kCount)> mirror;
  // Path normalization (GatewayConfig spec.pathNormalization), Envoy's names: refused with 400,
  // answered 307 to the unescaped path (UNESCAPE_AND_REDIRECT).
  metrics::Counter downstream_rq_failed_path_normalization, downstream_rq_redirected_with_normalized_path;

  void count_response(int status) const {
    if (status >= 100 && status < 600) downstream_rq_xx[status / 100 - 1].inc();
  }
  void reject(RejectReason r) const { rejected[static_cast<size_t>(r)].inc(); }
  void count(BodyModelResult r) const { body_model[static_cast<size_t>(r)].inc(); }
  void count(MirrorResult r) const { mirror[static_cast<size_t>(r)].inc(); }
};

struct FlowStats;

// "cluster.<name>." with the name flattened as Envoy stat names need it (our cluster names
// use '/': kind/ns/name): the prefix of every per-cluster /stats name.
std::string envoy_cluster_stat_prefix(std::string_view cluster);

struct ClusterStats {
  ClusterStats() = default;
  ClusterStats(metrics::Registry& r, const std::string& cluster);

  metrics::Counter upstream_rq_total, upstream_rq_timeout, upstream_rq_per_try_timeout,
      upstream_rq_retry, upstream_rq_retry_overflow, upstream_rq_rx_reset, upstream_rq_tx_reset,
      upstream_rq_pending_overflow, upstream_cx_overflow,
      upstream_cx_total, upstream_cx_connect_fail, upstream_cx_connect_timeout,
      upstream_cx_destroy_remote_with_active_rq, upstream_cx_protocol_error, upstream_cx_none_healthy,
      upstream_cx_rx_bytes_total, upstream_cx_tx_bytes_total;
  metrics::Gauge upstream_cx_active, upstream_rq_active;
  std::array<metrics::Counter, 5> upstream_rq_xx;
  metrics::Histogram upstream_rq_time;  // ms
  // InferencePool endpoint picker (pools/endpoint_picker.h): decisions by outcome, and the
  // prompt blocks of picked requests the primary was known to hold (prefix-cache affinity).
  enum PickOutcome : size_t { kPicked, kFallback, kShed, kNoEndpoint, kPickOutcomes };
  std::array<metrics::Counter, kPickOutcomes> picker_decisions;
  metrics::Counter picker_prefix_blocks_hit, picker_prefix_blocks_total;
  // External endpoint picker (ext_proc) answers: an endpoint, an immediate response (429 /
  // 503), a failure that failed open (built-in picker) or closed (500).
  enum EppOutcome : size_t { kEppEndpoint, kEppImmediate, kEppFailOpen, kEppFailClose, kEppOutcomes };
  std::array<metrics::Counter, kEppOutcomes> epp_results;
  // Why an EPP answer was not used: the failure kinds of the client (ext_proc/epp_client.h),
  // an answer naming no ready endpoint of the pool, and a call skipped while the EPP's
  // health service said NOT_SERVING.
  enum EppError : size_t {
    kEppUnavailable, kEppTimeout, kEppProtocolError, kEppStreamError, kEppClosedEarly,
    kEppRejectedEndpoint, kEppNotServing, kEppErrors
  };
  std::array<metrics::Counter, kEppErrors> epp_errors;
  // Requests whose body the EPP changed (forwarded as the EPP streamed it back), and
  // responses whose headers the EPP's answer changed.
  metrics::Counter epp_body_mutations, epp_response_mutations;
  // Flow control of an InferencePool under GatewayConfig flowControl (proxy/flow_stats.h).
  std::shared_ptr<const FlowStats> flow;

  void count_response(int status) const {
    if (status >= 100 && status < 600) upstream_rq_xx[status / 100 - 1].inc();
  }
};

}  // namespace infergate::gateway
