#pragma once
// Upstream clusters: the endpoints behind one InferencePool, or behind one (Service, port).
// A ClusterSet is immutable and belongs to a config snapshot; the EndpointStates inside are
// shared with older and newer snapshots through the EndpointRegistry.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/diagnostic.h"
#include "config/model.h"
#include "pools/endpoint_state.h"
#include "pools/outlier_detection.h"

namespace infergate::pools {

enum class UpstreamProtocol { Http1, H2c };

class Cluster {
 public:
  std::string name;  // config/cluster_names.h
  UpstreamProtocol protocol = UpstreamProtocol::Http1;
  std::vector<std::shared_ptr<EndpointState>> endpoints;
  std::optional<config::EndpointPickerRef> endpoint_picker;  // InferencePool's EPP, if any
  OutlierDetection outlier;

  // Least-request with power of two choices (Envoy's LEAST_REQUEST default choice_count 2):
  // two endpoints derived from `draw`, the one with fewer active requests wins. Only healthy,
  // non-ejected endpoints are candidates. `exclude` (the endpoint a retry just failed on) is
  // avoided while any other candidate exists. nullptr when there is no candidate: the caller
  // answers 503 "no healthy upstream". (Envoy's panic threshold is not implemented.)
  const EndpointState* pick(uint64_t draw, const EndpointState* exclude = nullptr) const;
  const EndpointState* pick(uint64_t draw, const EndpointState* exclude, int64_t now_ms) const;

  // Passive outlier detection: a failure (5xx, connect/reset error) counts toward
  // outlier.consecutive_failures; reaching it ejects the endpoint for
  // base_ejection_ms * times_ejected (capped at max_ejection_ms), unless that would eject more
  // than max_ejection_percent of the cluster (rounded up, at least one). Ejected endpoints come
  // back by themselves when the time passes. Racing workers may briefly exceed the cap.
  void report_result(EndpointState& endpoint, bool success) const;
  void report_result(EndpointState& endpoint, bool success, int64_t now_ms) const;

  // Endpoints that pick() may currently choose.
  size_t available(int64_t now_ms) const;
};

class ClusterSet {
 public:
  // One cluster per InferencePool (every pod x every targetPort, or the endpoint's own port)
  // and one per (Service, port) that some HTTPRoute backendRef names (targetPort, or the
  // endpoint's own port; appProtocol "kubernetes.io/h2c" -> H2c). Problems that make a backend
  // unusable (e.g. a named targetPort with no endpoint port override) go to *errors.
  static std::shared_ptr<const ClusterSet> build(const config::Config& config,
                                                 EndpointRegistry& registry,
                                                 std::vector<config::Diagnostic>* errors);

  const Cluster* find(std::string_view name) const;
  const std::vector<Cluster>& clusters() const { return clusters_; }

 private:
  std::vector<Cluster> clusters_;  // sorted by name
};

}  // namespace infergate::pools
