#pragma once
// Gateway API Inference Extension kinds: InferencePool, the model kinds that apply to a pool
// (InferenceModel, InferenceObjective, InferenceModelRewrite), and how a pool picks its model
// server (GatewayConfig spec.endpointPicker). Conventions: config/model.h.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/model/common.h"
#include "config/model/health_check.h"
#include "config/source_location.h"

namespace infergate::config {

// Gateway API Inference Extension InferencePool, v1 (inference.networking.k8s.io) and
// v1alpha2 (inference.networking.x-k8s.io), normalised into one struct.

enum class AppProtocol { Http, H2c };
enum class FailureMode { FailClose, FailOpen };

struct EndpointPickerRef {
  std::string name;          // a Service in the pool's namespace
  uint16_t port = 9002;      // v1 port.number / v1alpha2 portNumber; GIE convention 9002
  FailureMode failure_mode = FailureMode::FailClose;  // API default
};

struct InferencePool {
  ObjectMeta meta;
  std::string api_version;          // as written, to tell v1 from v1alpha2 in dumps
  Labels selector;                  // spec.selector.matchLabels (v1alpha2: spec.selector)
  std::vector<uint16_t> target_ports;  // 1..8 entries (v1alpha2: the one targetPortNumber)
  AppProtocol app_protocol = AppProtocol::Http;
  std::optional<EndpointPickerRef> endpoint_picker;  // v1 endpointPickerRef / v1alpha2 extensionRef
};

// ---------------------------------------------------------------------------------------------
// How an InferencePool chooses the model server for a request (pools/endpoint_picker.h).
// Profiles: the Inference Extension's default scheduler (scraped queue, KV cache and
// prefix-cache scorers), infergate's (the same plus LoRA affinity, with the gateway's own
// in-flight counts so picks between two scrapes do not herd onto one server), or a plain
// load balancer for comparison.
enum class PickerProfile { Infergate, InferenceExtension, LeastRequest, RoundRobin };

struct ScorerWeights {
  double queue = 2, kv_cache = 2, prefix_cache = 3, lora_affinity = 1;
  double prefill = 2;  // infergate's: pending prefill bytes (the Inference Extension has none)
};

// How the gateway talks to an InferencePool's external endpoint picker (endpointPickerRef):
// GatewayConfig spec.endpointPicker.extProc, per pool in pools[].extProc.
struct EppConnectionSettings {
  // Time the EPP has to answer a request (from its last message) and the response headers;
  // past it the request fails open or closed as the pool says. Envoy's message_timeout.
  std::chrono::milliseconds message_timeout{1000};
  // TLS to the EPP. GIE's EPP serves TLS by default (--secure-serving, a self-signed
  // certificate), so infergate connects with TLS by default and, like Envoy Gateway, without
  // verifying (logged as a warning) until a caFile says whom to trust. tls.enabled: false for
  // a plaintext EPP.
  bool tls = true;
  std::string ca_file;  // PEM roots; empty: the system's
  bool insecure_skip_verify = true;  // false once caFile is given (or insecureSkipVerify: false)
  std::string server_name;           // the name to verify (and the :authority); empty: the target host
  std::string cert_file, key_file;   // client certificate (mTLS), optional
  // gRPC health checking of the EPP (proposal 004): `health_service` every interval (0: off).
  // While NOT_SERVING, requests skip the EPP and fail open or closed at once.
  std::chrono::milliseconds health_interval{5000};
  std::string health_service = "envoy.service.ext_proc.v3.ExternalProcessor";
  // Send the pool's ready endpoints as the subset hint (envoy.lb.subset_hint), so an EPP
  // never picks one the gateway knows is down.
  bool subset_hint = true;
  // Largest request body the EPP may stream back (a body mutation).
  uint64_t max_body_mutation_bytes = 8u << 20;
  SourceLocation source;
};

struct PickerSettings {
  PickerProfile profile = PickerProfile::Infergate;
  std::optional<ScorerWeights> weights;  // nullopt = the profile's (the Inference Extension: no LoRA)
  // Saturation (the Inference Extension's defaults): waiting queue >= 5 or KV-cache use >= 0.8.
  // When every endpoint is saturated, sheddable requests get 429.
  uint32_t queue_threshold = 5;
  double kv_cache_threshold = 0.8;
  // Prefix-cache affinity: prompt blocks of 64 bytes (~16 tokens), the first 256 hashed, an
  // index of 31250 blocks per server (the Inference Extension's defaults).
  uint32_t prefix_block_bytes = 64;
  uint32_t prefix_max_blocks = 256;
  uint32_t prefix_blocks_per_server = 31250;
  // Passive outlier detection of the pool's endpoints, Istio's outlierDetection fields;
  // nullopt = Envoy's defaults (5 consecutive 5xx, 30 s base ejection, 10 %).
  std::optional<IstioOutlierDetection> outlier_detection;
  // Active HTTP health check of the pool's endpoints (config/model/health_check.h); nullopt or
  // !enabled = none. A pool entry's replaces the default's whole.
  std::optional<HealthCheck> health_check;
  EppConnectionSettings ext_proc;
  SourceLocation source;
};

struct PoolPickerSettings {
  std::string ns, name;  // the InferencePool
  PickerSettings settings;
  std::string field_path;  // for validation messages
};

struct EndpointPickerConfig {
  PickerSettings defaults;                 // every InferencePool without its own entry
  std::vector<PoolPickerSettings> pools;   // spec.endpointPicker.pools[]
  // The settings pool ns/name uses.
  const PickerSettings& for_pool(std::string_view ns, std::string_view name) const {
    for (const auto& p : pools)
      if (p.ns == ns && p.name == name) return p.settings;
    return defaults;
  }
};

// ---------------------------------------------------------------------------------------------
// Gateway API Inference Extension model kinds: InferenceModel (v1alpha2,
// inference.networking.x-k8s.io), InferenceObjective (v1alpha2 x-k8s.io, and under
// inference.networking.k8s.io), InferenceModelRewrite (v1alpha2, either group). They never
// route by themselves: once a request's backend is an InferencePool, the pool's models say
// how the body's `model` is rewritten and how important the request is.

// A reference to an InferencePool in the referring resource's namespace (GIE forbids others).
struct PoolRef {
  std::string group;          // as written; "" when absent
  std::string kind = "InferencePool";
  std::string name;
  std::string ns;             // resolved: the referring resource's namespace
  int line = 0;
};

enum class Criticality { Critical, Standard, Sheddable };

struct TargetModel {          // InferenceModel spec.targetModels[]
  std::string name;
  uint32_t weight = 1;        // 1..1000000 (GIE: all written or none; none = equal split)
  int line = 0;
};

struct InferenceModel {
  ObjectMeta meta;
  std::string api_version;
  std::string model_name;                 // spec.modelName: the body's `model` it claims
  Criticality criticality = Criticality::Standard;  // absent = Standard
  bool criticality_written = false;
  std::vector<TargetModel> target_models;  // empty = forwarded under model_name unchanged
  PoolRef pool_ref;
};

struct InferenceObjective {
  ObjectMeta meta;
  std::string api_version;
  std::optional<int32_t> priority;        // unset = 0 for consumers; negative = sheddable
  PoolRef pool_ref;
};

struct ModelRewriteTarget {   // InferenceModelRewrite spec.rules[].targets[]
  std::string model_rewrite;
  uint32_t weight = 1;        // absent = 1 (equal split among unweighted targets)
  int line = 0;
};

struct ModelRewriteRule {     // spec.rules[]
  // matches[].model.value (type Exact, the only one GIE defines). Empty = this rule matches
  // every model not matched by an exact rule (GIE's generic fallback).
  std::vector<std::string> exact_models;
  std::vector<ModelRewriteTarget> targets;  // at least one
  int line = 0;
};

struct InferenceModelRewrite {
  ObjectMeta meta;
  std::string api_version;
  PoolRef pool_ref;
  std::vector<ModelRewriteRule> rules;
};

}  // namespace infergate::config
