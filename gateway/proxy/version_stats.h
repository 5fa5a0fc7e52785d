// Per-version request metrics, the numbers a canary step is judged on, and the Gateway API
// Inference Extension's objective metrics, resolved for one config snapshot.
//
// Every label set a request can land in is created when the snapshot is built, so the
// request path does a lookup by pointer and model name and then relaxed atomic adds: it never
// formats a string, allocates or locks. Series outlive snapshots in the registry, so a weight
// change (a new snapshot) continues the same series.
//
// Labels of the infergate_version_* families:
//   route    "<namespace>/<name>" of the HTTPRoute or VirtualService that matched
//   backend  the backendRef or destination as written: the InferencePool's or Service's name
//   version  the DestinationRule subset of the destination; else the `version` label every
//            endpoint of the backend has in common; else the backend name (an InferencePool
//            per version, as in the GKE rollout guide)
//   model    the body's "model" (body-based routing) when the config names it: an
//            InferenceModel modelName or targetModel, an InferenceModelRewrite match or target,
//            or a route match on X-Gateway-Model-Name. Any other model counts as "other", so
//            clients cannot grow the label space; "" when the request named none.
//   adapter  the model forwarded instead (InferenceModel targetModels, InferenceModelRewrite:
//            usually a LoRA adapter version); "" when the model went as asked.
// Requests answered before a backend was chosen (no route, a fault abort) are not here: they
// are in envoy_http_downstream_rq_xx.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/model.h"
#include "gateway/proxy/response_flags.h"
#include "metrics/registry.h"
#include "pools/cluster.h"
#include "routing/model_rewrite.h"
#include "routing/route_table.h"

namespace infergate::gateway {

// The Inference Extension's error_code values we produce (its errutil codes).
enum class ObjectiveError : uint8_t {
  BadRequest,                      // the model server answered 4xx
  ModelServerError,                // the model server answered 5xx
  ServiceUnavailable,              // no ready endpoint (503 UH)
  InferencePoolResourceExhausted,  // 429: shed or overflowed
  Internal,                        // anything else the gateway failed: resets, timeouts
  kCount,
};

// One infergate_version_* label set.
struct VersionSeries {
  std::array<metrics::Counter, 5> requests;                  // by status class 1xx..5xx
  std::array<metrics::Counter, kResponseFlagCount> errors;   // by response flag (sparse)
  metrics::Counter reset;        // ended without a status: the stream was reset
  metrics::Histogram duration;   // seconds, request headers in to last byte out
  metrics::Histogram ttft;       // seconds to the first response body byte, of 2xx answers
  metrics::Histogram tpot;       // seconds per output token after the first (streams)
  metrics::Counter input_tokens, output_tokens;
};

// One inference_objective_* label set {model_name, target_model_name}, for InferencePools.
struct ObjectiveSeries {
  metrics::Counter requests;
  std::array<metrics::Counter, static_cast<size_t>(ObjectiveError::kCount)> errors;
  metrics::Histogram duration, normalized_tpot, input_tokens, output_tokens, request_sizes, response_sizes;
  metrics::Gauge running;
};

// What a finished request is recorded with.
struct RequestOutcome {
  int status = 0;  // 0: reset before a response was sent
  bool local_reply = false;  // the gateway answered, not the model server
  ResponseFlags flags;
  std::chrono::steady_clock::duration duration{};
  std::optional<std::chrono::steady_clock::duration> ttft;           // first body byte
  std::optional<std::chrono::steady_clock::duration> last_byte;      // since the start
  uint32_t stream_events = 0;  // SSE data events; 0 for other bodies
  std::optional<uint64_t> input_tokens, output_tokens;
  uint64_t request_bytes = 0, response_bytes = 0;
};

class VersionStats {
 public:
  struct Series {
    const VersionSeries* version = nullptr;
    const ObjectiveSeries* objective = nullptr;  // InferencePool backends only
  };

  // Label sets for every (route, backend) of `routes`, every model the config names and
  // every adapter a rewrite can pick for it.
  static std::shared_ptr<const VersionStats> build(const config::Config& config, const routing::RouteTable& routes,
                                                   const pools::ClusterSet& clusters,
                                                   const routing::ModelRewriteTable& models, metrics::Registry& registry);

  // The series of a request sent to `backend` (a BackendRef of the table built from), with
  // body model `model` (nullopt: none) forwarded as `adapter` ("" when not rewritten). Both
  // pointers null for a backend the table does not know.
  Series find(const routing::BackendRef* backend, std::optional<std::string_view> model,
              std::string_view adapter) const;

  static void record(const Series& s, const RequestOutcome& outcome);

  size_t label_sets() const { return label_set_list_.size(); }

  // Every label set with its series, for readers that aggregate (a Rollout's analysis).
  struct LabelSet {
    std::string route, backend, version, model, adapter;
    const VersionSeries* series = nullptr;
  };
  const std::vector<LabelSet>& label_set_list() const { return label_set_list_; }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct ModelEntry {
    std::vector<std::pair<std::string, Series>> adapters;  // [0] is adapter ""
  };
  struct BackendEntry {
    std::unordered_map<std::string, ModelEntry, Hash, std::equal_to<>> models;
    ModelEntry none, other;
  };
  std::vector<std::unique_ptr<VersionSeries>> version_series_;
  std::vector<std::unique_ptr<ObjectiveSeries>> objective_series_;
  std::unordered_map<const routing::BackendRef*, BackendEntry> backends_;
  std::vector<LabelSet> label_set_list_;
  friend class VersionStatsBuilder;
};

// The version label of a cluster, as described above.
std::string version_of(const pools::Cluster& cluster);

}  // namespace infergate::gateway
