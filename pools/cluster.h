#pragma once
// Upstream clusters: the endpoints behind one InferencePool, or behind one (Service, port).
// A ClusterSet is immutable and belongs to a config snapshot; the EndpointStates inside are
// shared with older and newer snapshots through the EndpointRegistry.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/diagnostic.h"
#include "config/model.h"
#include "pools/endpoint_picker.h"
#include "pools/endpoint_state.h"
#include "pools/flow_control.h"
#include "pools/outlier_detection.h"
#include "pools/upstream_protocol.h"

namespace infergate::pools {

// How pick() chooses among candidates (DestinationRule loadBalancer; Istio's default is
// LEAST_REQUEST, which every non-Istio cluster uses too).
enum class LbPolicy { LeastRequest, RoundRobin, Random, ConsistentHash };

// DestinationRule connectionPool limits (Envoy circuit breakers), enforced by the gateway on
// the cluster's ClusterLoad: over a limit a request is answered 503 with flag UO (there is no
// waiting queue: Envoy's behaviour with max_pending_requests reached). nullopt = no limit
// beyond the gateway's own. Connections are pooled per worker but counted per cluster, so a
// maxConnections below the worker count leaves some workers without one (as in Envoy).
// maxRequestsPerConnection and http.idleTimeout are not enforced yet (the loader warns).
struct ConnectionLimits {
  std::optional<uint32_t> max_connections;              // tcp.maxConnections
  std::optional<uint32_t> max_pending_requests;         // http.http1MaxPendingRequests
  std::optional<uint32_t> max_requests;                 // http.http2MaxRequests
  std::optional<uint32_t> max_requests_per_connection;  // http.maxRequestsPerConnection
  std::optional<uint32_t> max_retries;                  // http.maxRetries
  std::optional<std::chrono::milliseconds> connect_timeout;  // tcp.connectTimeout
  std::optional<std::chrono::milliseconds> idle_timeout;     // http.idleTimeout
};

class Cluster {
 public:
  std::string name;  // config/cluster_names.h
  UpstreamProtocol protocol = UpstreamProtocol::Http1;
  std::vector<std::shared_ptr<EndpointState>> endpoints;
  std::optional<config::EndpointPickerRef> endpoint_picker;  // InferencePool's EPP, if any
  // Where that EPP listens, "host:port": the first static endpoint of the Service it names
  // (the endpoint's port, else the ref's), or the Service name as a DNS name in a cluster.
  std::string epp_target;
  config::EppConnectionSettings epp;  // how to talk to it (GatewayConfig endpointPicker.extProc)
  // InferencePool clusters with a scoring profile (GatewayConfig endpointPicker): picks by
  // load, KV cache, prefix and adapter instead of `lb`. nullptr = `lb` decides.
  std::shared_ptr<const EndpointPicker> picker;
  // InferencePool clusters under GatewayConfig flowControl: requests wait in its queue while
  // every server is saturated (pools/flow_control.h). nullptr = no flow control.
  std::shared_ptr<const FlowPolicy> flow;
  OutlierDetection outlier;
  // The active HTTP health check of its endpoints (config/model/health_check.h says which one
  // a cluster gets); nullptr = none. Run by gateway/control/health_checker.h.
  std::shared_ptr<const config::HealthCheck> health_check;
  LbPolicy lb = LbPolicy::LeastRequest;
  ConnectionLimits limits;
  std::shared_ptr<ClusterLoad> load = std::make_shared<ClusterLoad>();  // shared across snapshots
  // Istio clusters ("outbound|..."): the Service and subset they stand for ("" otherwise).
  std::string service_ns, service_name, subset;

  // One endpoint among the healthy, non-ejected ones, by `lb`:
  //  - LeastRequest: power of two choices (Envoy's default choice_count 2): two endpoints
  //    derived from `draw`, the one with fewer active requests wins;
  //  - Random: one derived from `draw`;
  //  - RoundRobin: the next in turn (a counter shared by every worker; `draw` unused);
  //  - ConsistentHash: `draw` is the request's hash (routing::request_hash, or a random draw
  //    when the request lacks the key); rendezvous hashing, so only the clients of an
  //    endpoint that goes away move.
  // `exclude` (the endpoint a retry just failed on) is avoided while any other candidate
  // exists. nullptr when there is no candidate: the caller answers 503 "no healthy upstream".
  // (Envoy's panic threshold is not implemented.)
  EndpointState* pick(uint64_t draw, const EndpointState* exclude = nullptr) const;
  EndpointState* pick(uint64_t draw, const EndpointState* exclude, int64_t now_ms) const;

  // Passive outlier detection: a failure (5xx, connect/reset error) counts toward
  // outlier.consecutive_failures; reaching it ejects the endpoint for
  // base_ejection_ms * times_ejected (capped at max_ejection_ms), unless that would eject more
  // than max_ejection_percent of the cluster (rounded up, at least one). Ejected endpoints come
  // back by themselves when the time passes. Racing workers may briefly exceed the cap.
  void report_result(EndpointState& endpoint, bool success) const;
  void report_result(EndpointState& endpoint, bool success, int64_t now_ms) const;

  // Endpoints that pick() may currently choose.
  size_t available(int64_t now_ms) const;

 private:
  // RoundRobin's turn; shared so that copies of a Cluster keep one rotation.
  std::shared_ptr<std::atomic<uint64_t>> rr_cursor_ = std::make_shared<std::atomic<uint64_t>>(0);
};

class ClusterSet {
 public:
  // One cluster per InferencePool (every pod x every targetPort, or the endpoint's own port)
  // and one per (Service, port) that some HTTPRoute backendRef names (targetPort, or the
  // endpoint's own port; appProtocol "kubernetes.io/h2c" -> H2c). Problems that make a backend
  // unusable (e.g. a named targetPort with no endpoint port override) go to *errors.
  // Plus one "outbound|<port>|<subset>|<fqdn>" cluster per VirtualService destination and
  // mirror (see pools/outbound_clusters.h): the Service's endpoints narrowed by the subset's
  // labels, with the DestinationRule's traffic policy.
  static std::shared_ptr<const ClusterSet> build(const config::Config& config,
                                                 EndpointRegistry& registry,
                                                 std::vector<config::Diagnostic>* errors);

  const Cluster* find(std::string_view name) const;
  const std::vector<Cluster>& clusters() const { return clusters_; }

 private:
  std::vector<Cluster> clusters_;  // sorted by name
};

}  // namespace infergate::pools
