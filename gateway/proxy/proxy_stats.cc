#include "gateway/proxy/proxy_stats.h"

namespace infergate::gateway {

namespace {

constexpr std::array<std::string_view, 5> kClasses = {"1", "2", "3", "4", "5"};
constexpr std::array<std::string_view, static_cast<size_t>(RejectReason::kCount)> kRejectNames = {
    "malformed", "headers_too_large", "body_too_large", "h2_protocol_error", "h2_flood"};
constexpr std::array<std::string_view, static_cast<size_t>(BodyModelResult::kCount)> kBodyModelNames = {
    "found", "absent", "not_json", "too_large"};
constexpr std::array<std::string_view, static_cast<size_t>(MirrorResult::kCount)> kMirrorNames = {
    "sent", "dropped", "failed"};
constexpr std::array<std::string_view, ClusterStats::kPickOutcomes> kPickNames{"picked", "fallback", "shed",
                                                                              "no_endpoint"};
constexpr std::array<std::string_view, ClusterStats::kEppOutcomes> kEppNames{"endpoint", "immediate_response",
                                                                            "fail_open", "fail_close"};
constexpr std::array<std::string_view, ClusterStats::kEppErrors> kEppErrorNames{
    "unavailable", "timeout", "protocol_error", "stream_error", "closed_early", "rejected_endpoint", "not_serving"};

// One counter of `family` per value of `label` (reason="malformed", ...), shown in /stats as
// `envoy_prefix` + value.
template <size_t N>
void counters_by(metrics::Registry& r, std::array<metrics::Counter, N>& out, std::string_view family,
                 std::string_view help, const metrics::Labels& tags, const char* label,
                 const std::array<std::string_view, N>& values, const std::string& envoy_prefix, bool sparse = false) {
  for (size_t i = 0; i < N; ++i) {
    metrics::Labels l = tags;
    l.emplace_back(label, std::string(values[i]));
    const std::string envoy = envoy_prefix + std::string(values[i]);
    out[i] = sparse ? r.sparse_counter(family, help, l, envoy) : r.counter(family, help, l, envoy);
  }
}

}  // namespace

ProxyStats::ProxyStats(metrics::Registry& r, std::string_view prefix) {
  const metrics::Labels tags{{"envoy_http_conn_manager_prefix", std::string(prefix)}};
  const std::string base = "http." + std::string(prefix) + ".";
  auto counter = [&](std::string_view stat, std::string_view help) {
    return r.counter("envoy_http_" + std::string(stat), help, tags, base + std::string(stat));
  };
  auto gauge = [&](std::string_view stat, std::string_view help) {
    return r.gauge("envoy_http_" + std::string(stat), help, tags, base + std::string(stat));
  };
  downstream_cx_total = counter("downstream_cx_total", "Downstream connections accepted");
  downstream_cx_http1_total = counter("downstream_cx_http1_total", "Downstream HTTP/1.1 connections");
  downstream_cx_http2_total = counter("downstream_cx_http2_total", "Downstream HTTP/2 connections");
  downstream_cx_protocol_error = counter("downstream_cx_protocol_error", "Downstream connections closed for a protocol error");
  downstream_cx_destroy_remote_active_rq = counter("downstream_cx_destroy_remote_active_rq", "Downstream connections closed by the peer with requests in flight");
  downstream_cx_drain_close = counter("downstream_cx_drain_close", "Downstream connections closed by draining");
  downstream_cx_idle_timeout = counter("downstream_cx_idle_timeout", "Downstream connections closed for idleness");
  downstream_cx_rx_bytes_total = counter("downstream_cx_rx_bytes_total", "Bytes received from downstream");
  downstream_cx_tx_bytes_total = counter("downstream_cx_tx_bytes_total", "Bytes sent to downstream");
  downstream_cx_active = gauge("downstream_cx_active", "Open downstream connections");
  downstream_rq_active = gauge("downstream_rq_active", "Downstream requests in flight");
  downstream_rq_total = counter("downstream_rq_total", "Downstream requests");
  downstream_rq_http1_total = counter("downstream_rq_http1_total", "Downstream HTTP/1.1 requests");
  downstream_rq_http2_total = counter("downstream_rq_http2_total", "Downstream HTTP/2 requests");
  downstream_rq_rx_reset = counter("downstream_rq_rx_reset", "Downstream requests reset by the client");
  downstream_rq_tx_reset = counter("downstream_rq_tx_reset", "Downstream requests reset by the gateway");
  downstream_rq_timeout = counter("downstream_rq_timeout", "Downstream requests that timed out");
  downstream_rq_idle_timeout =
      counter("downstream_rq_idle_timeout", "Downstream requests closed by the stream idle timeout");
  downstream_rq_header_timeout =
      counter("downstream_rq_header_timeout", "Downstream connections closed because a request head did not arrive in time");
  no_route = counter("no_route", "Requests that matched no route");
  no_cluster = counter("no_cluster", "Requests whose route named an unknown cluster");
  for (size_t i = 0; i < kClasses.size(); ++i) {
    metrics::Labels l = tags;
    l.emplace_back("envoy_response_code_class", std::string(kClasses[i]));
    downstream_rq_xx[i] = r.counter("envoy_http_downstream_rq_xx", "Downstream responses by status class", l,
                                    base + "downstream_rq_" + std::string(kClasses[i]) + "xx");
  }
  counters_by(r, rejected, "infergate_downstream_rejected_total",
              "Downstream requests or connections refused before routing, by reason", tags, "reason", kRejectNames,
              base + "rejected.");
  counters_by(r, body_model, "infergate_body_routing_total",
              "Request bodies read for their \"model\" (body-based routing), by result", tags, "result", kBodyModelNames,
              base + "body_routing.");
  model_rewritten = r.counter("infergate_model_rewrite_total",
                              "Request bodies whose \"model\" an InferenceModel or InferenceModelRewrite changed", tags,
                              base + "body_routing.model_rewritten");
  duplicate_model = r.counter("infergate_body_routing_duplicate_model_total",
                              "Request bodies with more than one top-level \"model\" key", tags,
                              base + "body_routing.duplicate_model");
  model_conflict = r.counter("infergate_body_routing_model_conflict_total",
                             "Requests refused (400) because a \"model\" after the part the gateway routed on "
                             "named another model, or the body had too many \"model\" keys",
                             tags, base + "body_routing.model_conflict");
  body_unsupported_encoding = r.counter("infergate_body_routing_unsupported_encoding_total",
                                        "Request bodies refused (415) as JSON in UTF-16 or UTF-32, which the model "
                                        "server would read a model from and the gateway cannot",
                                        tags, base + "body_routing.unsupported_encoding");
  counters_by(r, mirror, "infergate_mirror_requests_total", "Request copies sent to mirror clusters, by result", tags,
              "result", kMirrorNames, base + "mirror.");
  downstream_rq_failed_path_normalization = counter(
      "downstream_rq_failed_path_normalization", "Downstream requests refused because their path could not be normalized");
  downstream_rq_redirected_with_normalized_path =
      counter("downstream_rq_redirected_with_normalized_path",
              "Downstream requests redirected to their path with escaped slashes decoded");
  downstream_rq_time = r.histogram("envoy_http_downstream_rq_time", "Downstream request time (ms)",
                                   metrics::kEnvoyLatencyBucketsMs, tags, base + "downstream_rq_time");
}

std::string envoy_cluster_stat_prefix(std::string_view cluster) {
  // Envoy stat names are dot-separated; our cluster names use '/' (kind/ns/name).
  std::string out = "cluster.";
  for (char ch : cluster)
    out.push_back((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_'
                      ? ch
                      : '_');
  out.push_back('.');
  return out;
}

ClusterStats::ClusterStats(metrics::Registry& r, const std::string& cluster) {
  const metrics::Labels tags{{"envoy_cluster_name", cluster}};
  const std::string base = envoy_cluster_stat_prefix(cluster);
  auto counter = [&](std::string_view stat, std::string_view help) {
    return r.counter("envoy_cluster_" + std::string(stat), help, tags, base + std::string(stat));
  };
  auto gauge = [&](std::string_view stat, std::string_view help) {
    return r.gauge("envoy_cluster_" + std::string(stat), help, tags, base + std::string(stat));
  };
  upstream_rq_total = counter("upstream_rq_total", "Upstream requests");
  upstream_rq_timeout = counter("upstream_rq_timeout", "Upstream requests that timed out");
  upstream_rq_per_try_timeout = counter("upstream_rq_per_try_timeout", "Upstream attempts that hit the per-try timeout");
  upstream_rq_retry = counter("upstream_rq_retry", "Upstream request retries");
  upstream_rq_retry_overflow =
      counter("upstream_rq_retry_overflow", "Retries not made because the cluster's maxRetries were in flight");
  upstream_cx_overflow =
      counter("upstream_cx_overflow", "Connections not opened because the cluster's maxConnections were open");
  upstream_rq_rx_reset = counter("upstream_rq_rx_reset", "Upstream requests reset by the upstream");
  upstream_rq_tx_reset = counter("upstream_rq_tx_reset", "Upstream requests reset by the gateway");
  upstream_rq_pending_overflow = counter("upstream_rq_pending_overflow", "Upstream requests refused by pool limits");
  upstream_cx_total = counter("upstream_cx_total", "Upstream connections opened");
  upstream_cx_connect_fail = counter("upstream_cx_connect_fail", "Upstream connection failures");
  upstream_cx_connect_timeout = counter("upstream_cx_connect_timeout", "Upstream connection timeouts");
  upstream_cx_destroy_remote_with_active_rq = counter("upstream_cx_destroy_remote_with_active_rq", "Upstream connections closed by the upstream with requests in flight");
  upstream_cx_protocol_error = counter("upstream_cx_protocol_error", "Upstream connections closed for a protocol error");
  upstream_cx_none_healthy = counter("upstream_cx_none_healthy", "Requests refused because no endpoint was healthy");
  upstream_cx_rx_bytes_total = counter("upstream_cx_rx_bytes_total", "Bytes received from upstream");
  upstream_cx_tx_bytes_total = counter("upstream_cx_tx_bytes_total", "Bytes sent to upstream");
  upstream_cx_active = gauge("upstream_cx_active", "Open upstream connections");
  upstream_rq_active = gauge("upstream_rq_active", "Upstream requests in flight");
  for (size_t i = 0; i < kClasses.size(); ++i) {
    metrics::Labels l = tags;
    l.emplace_back("envoy_response_code_class", std::string(kClasses[i]));
    upstream_rq_xx[i] = r.counter("envoy_cluster_upstream_rq_xx", "Upstream responses by status class", l,
                                  base + "upstream_rq_" + std::string(kClasses[i]) + "xx");
  }
  counters_by(r, picker_decisions, "infergate_endpoint_picker_decisions_total",
              "Endpoint picker decisions of InferencePool clusters, by outcome", tags, "outcome", kPickNames,
              base + "endpoint_picker.", /*sparse=*/true);
  counters_by(r, epp_results, "infergate_endpoint_picker_epp_total",
              "External endpoint picker (ext_proc) answers, by outcome", tags, "outcome", kEppNames,
              base + "endpoint_picker.epp.", /*sparse=*/true);
  counters_by(r, epp_errors, "infergate_endpoint_picker_epp_errors_total",
              "External endpoint picker answers not used, by reason", tags, "reason", kEppErrorNames,
              base + "endpoint_picker.epp.error.", /*sparse=*/true);
  epp_body_mutations = r.sparse_counter("infergate_endpoint_picker_epp_body_mutations_total",
                                        "Requests forwarded with the body the external endpoint picker changed",
                                        tags, base + "endpoint_picker.epp.body_mutation");
  epp_response_mutations = r.sparse_counter(
      "infergate_endpoint_picker_epp_response_mutations_total",
      "Responses whose headers the external endpoint picker's answer changed", tags,
      base + "endpoint_picker.epp.response_mutation");
  picker_prefix_blocks_hit = r.sparse_counter("infergate_endpoint_picker_prefix_blocks_hit_total",
                                              "Prompt blocks of picked requests the chosen server was sent before",
                                              tags, base + "endpoint_picker.prefix_blocks_hit");
  picker_prefix_blocks_total = r.sparse_counter("infergate_endpoint_picker_prefix_blocks_total",
                                                "Prompt blocks of picked requests", tags,
                                                base + "endpoint_picker.prefix_blocks");
  upstream_rq_time = r.histogram("envoy_cluster_upstream_rq_time", "Upstream request time to last byte (ms)",
                                 metrics::kEnvoyLatencyBucketsMs, tags, base + "upstream_rq_time");
}

}  // namespace infergate::gateway
