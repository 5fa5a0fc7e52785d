// GIE InferencePool, v1 (inference.networking.k8s.io) and v1alpha2
// (inference.networking.x-k8s.io), normalised into one model struct.
#include "config/str_cat.h"

#include "config/parsers.h"

namespace infergate::config::detail {

namespace {

std::optional<FailureMode> parse_failure_mode(ParseContext& ctx, const MapView& m) {
  auto f = one_of(ctx, m, "failureMode", {"FailClose", "FailOpen"});
  if (!f) return std::nullopt;
  return *f == "FailOpen" ? FailureMode::FailOpen : FailureMode::FailClose;
}

void parse_v1(ParseContext& ctx, const MapView& spec, InferencePool& pool) {
  spec.allow({"selector", "targetPorts", "appProtocol", "endpointPickerRef"});
  if (auto sel = spec.map("selector", true)) {
    sel->allow({"matchLabels", "matchExpressions"});
    if (sel->has("matchExpressions"))
      ctx.error(sel->node(), sel->path_of("matchExpressions"),
                "matchExpressions is not supported; use matchLabels");
    if (auto labels = sel->labels("matchLabels")) pool.selector = std::move(*labels);
    else if (!sel->has("matchLabels"))
      ctx.error(sel->node(), sel->path_of("matchLabels"), "is required");
  }
  auto ports = spec.list("targetPorts", true);
  if (spec.has("targetPorts") && (ports.empty() || ports.size() > 8))
    ctx.error(spec.node(), spec.path_of("targetPorts"), "must have 1 to 8 entries");
  for (const auto& [path, node] : ports) {
    MapView p(ctx, node, path);
    if (!p.valid()) continue;
    p.allow({"number"});
    if (auto n = p.integer("number", 1, 65535, true)) {
      for (uint16_t existing : pool.target_ports)
        if (existing == *n) ctx.error(node, p.path_of("number"), "duplicate target port");
      pool.target_ports.push_back(static_cast<uint16_t>(*n));
    }
  }
  if (auto proto = one_of(ctx, spec, "appProtocol", {"http", "kubernetes.io/h2c"}))
    pool.app_protocol = *proto == "http" ? AppProtocol::Http : AppProtocol::H2c;
  if (auto ref = spec.map("endpointPickerRef")) {
    ref->allow({"group", "kind", "name", "port", "failureMode"});
    EndpointPickerRef epp;
    if (auto n = ref->string("name", true)) epp.name = *n;
    if (auto port = ref->map("port")) {
      port->allow({"number"});
      if (auto n = port->integer("number", 1, 65535, true)) epp.port = static_cast<uint16_t>(*n);
    } else {
      ctx.warning(ref->node(), ref->path_of("port"), "not given; using the EPP convention 9002");
    }
    if (auto f = parse_failure_mode(ctx, *ref)) epp.failure_mode = *f;
    pool.endpoint_picker = std::move(epp);
  }
}

void parse_v1alpha2(ParseContext& ctx, const MapView& spec, InferencePool& pool) {
  spec.allow({"selector", "targetPortNumber", "extensionRef"});
  if (auto labels = spec.labels("selector")) pool.selector = std::move(*labels);
  else if (!spec.has("selector"))
    ctx.error(spec.node(), spec.path_of("selector"), "is required");
  if (auto n = spec.integer("targetPortNumber", 1, 65535, true))
    pool.target_ports.push_back(static_cast<uint16_t>(*n));
  if (auto ref = spec.map("extensionRef")) {
    ref->allow({"group", "kind", "name", "portNumber", "failureMode"});
    EndpointPickerRef epp;
    if (auto n = ref->string("name", true)) epp.name = *n;
    if (auto n = ref->integer("portNumber", 1, 65535)) epp.port = static_cast<uint16_t>(*n);
    if (auto f = parse_failure_mode(ctx, *ref)) epp.failure_mode = *f;
    pool.endpoint_picker = std::move(epp);
  }
}

}  // namespace

std::optional<InferencePool> parse_inference_pool(ParseContext& ctx, const MapView& doc,
                                                  const std::string& api_version) {
  InferencePool pool;
  pool.api_version = api_version;
  auto spec = parse_object(ctx, doc, &pool.meta);
  if (!spec) return std::nullopt;
  const size_t errors_before = ctx.error_count();
  if (api_version.starts_with("inference.networking.k8s.io/"))
    parse_v1(ctx, *spec, pool);
  else
    parse_v1alpha2(ctx, *spec, pool);
  if (ctx.error_count() != errors_before) return std::nullopt;
  return pool;
}

}  // namespace infergate::config::detail
