// GatewayConfig spec.flowControl (config/model/flow_control.h). Our own kind: unknown fields
// are errors. Names follow the Inference Extension's flow-control config where it has them.
#include "config/str_cat.h"

#include <algorithm>
#include <cctype>

#include "config/parsers.h"

namespace infergate::config::detail {

namespace {

constexpr int64_t kU32 = 0xFFFFFFFFll;
// A wait beyond an hour is a client that has given up long ago.
constexpr std::chrono::milliseconds kMaxTtl{3600 * 1000};

void parse_band_limits(ParseContext& ctx, const MapView& m, FlowBandLimits& b) {
  if (auto v = m.integer("maxRequests", 1, kU32)) b.max_requests = static_cast<uint32_t>(*v);
  if (auto v = m.integer("maxBytes", 1, INT64_MAX)) b.max_bytes = static_cast<uint64_t>(*v);
  if (auto d = m.duration("ttl")) {
    if (d->count() <= 0 || *d > kMaxTtl)
      ctx.error(*m.find("ttl"), m.path_of("ttl"), "must be more than 0 and at most 1h");
    else
      b.ttl = *d;
  }
  if (auto d = m.duration("deadline")) {
    if (d->count() < 0 || *d > kMaxTtl)
      ctx.error(*m.find("deadline"), m.path_of("deadline"), "must be from 0 to 1h");
    else
      b.deadline = *d;
  }
}

// RFC 9110 token characters, lower-cased by the caller: what a header name may consist of.
bool valid_header_name(std::string_view h) {
  if (h.empty()) return false;
  for (char c : h) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

}  // namespace

void parse_flow_control(ParseContext& ctx, const MapView& m, FlowControlConfig& fc) {
  m.allow({"enabled", "queueDepthThreshold", "kvCacheUtilThreshold", "maxConcurrencyPerEndpoint", "fairness",
           "ordering", "deadlineHeader", "defaultBand", "bands", "maxRequests", "maxBytes"});
  fc.source = ctx.location(m.node());
  fc.enabled = m.boolean("enabled").value_or(true);
  if (auto v = m.integer("queueDepthThreshold", 1, kU32)) fc.queue_depth_threshold = static_cast<uint32_t>(*v);
  if (auto v = number(ctx, m, "kvCacheUtilThreshold", 0.01, 1)) fc.kv_cache_util_threshold = *v;
  if (auto v = m.integer("maxConcurrencyPerEndpoint", 0, kU32))
    fc.max_concurrency_per_endpoint = static_cast<uint32_t>(*v);
  // GIE writes them in kebab case; camelCase is accepted as our own kinds write names.
  if (auto f = one_of(ctx, m, "fairness", {"round-robin", "roundRobin", "global-strict", "globalStrict"}))
    fc.fairness = f->starts_with("global") ? FlowFairness::GlobalStrict : FlowFairness::RoundRobin;
  if (auto o = one_of(ctx, m, "ordering", {"fcfs", "edf"}))
    fc.ordering = *o == "edf" ? FlowOrdering::Edf : FlowOrdering::Fcfs;
  if (auto h = m.string("deadlineHeader")) {
    std::string lower = *h;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    if (!valid_header_name(lower))
      ctx.error(*m.find("deadlineHeader"), m.path_of("deadlineHeader"), "must be an HTTP header name");
    else
      fc.deadline_header = std::move(lower);
  }
  if (auto v = m.integer("maxRequests", 1, kU32)) fc.max_requests = static_cast<uint32_t>(*v);
  if (auto v = m.integer("maxBytes", 1, INT64_MAX)) fc.max_bytes = static_cast<uint64_t>(*v);
  if (auto d = m.map("defaultBand")) {
    d->allow({"maxRequests", "maxBytes", "ttl", "deadline"});
    parse_band_limits(ctx, *d, fc.default_band);
  }
  std::vector<std::string> paths;  // of fc.bands[i], for duplicate priorities
  for (const auto& [path, node] : m.list("bands")) {
    MapView b(ctx, node, path);
    if (!b.valid()) continue;
    b.allow({"priority", "maxRequests", "maxBytes", "ttl", "deadline"});
    auto priority = b.integer("priority", INT32_MIN, INT32_MAX, /*required=*/true);
    if (!priority) continue;
    FlowBand band;
    band.priority = static_cast<int32_t>(*priority);
    band.line = b.line();
    band.limits = fc.default_band;  // what a band does not write, the default band says
    parse_band_limits(ctx, b, band.limits);
    bool duplicate = false;
    for (size_t i = 0; i < fc.bands.size() && !duplicate; ++i) {
      if (fc.bands[i].priority != band.priority) continue;
      ctx.error(*b.find("priority"), b.path_of("priority"),
                cat("priority ", band.priority, " already has a band at ", paths[i]));
      duplicate = true;
    }
    if (duplicate) continue;
    paths.push_back(path);
    fc.bands.push_back(band);
  }
  std::sort(fc.bands.begin(), fc.bands.end(), [](const FlowBand& a, const FlowBand& b) { return a.priority > b.priority; });
  for (const auto& band : fc.bands) {
    if (band.limits.max_requests > fc.max_requests)
      ctx.error(m.node(), m.path_of("bands"),
                cat("the band of priority ", band.priority, " allows ", band.limits.max_requests,
                    " requests, more than the pool's maxRequests ", fc.max_requests));
  }
}

}  // namespace infergate::config::detail
