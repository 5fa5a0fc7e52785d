// libFuzzer target for admin request bodies: the gate's checks (gateway/admin/admin_input.h)
// and what POST /weights (gateway/admin/weights_request.h) and POST /config (manifests through
// the loader) do with a body the gate lets through. The input's first line is the
// Content-Type, the rest the body; the first byte's low bit picks the endpoint.
// Checks, besides no crash: the nesting estimates the gate refuses deep bodies by are never
// low (JSON: at least nlohmann's depth; YAML: yaml-cpp's tree is at most twice as deep as the
// estimate that let it through), so no body under the limit reaches a recursive parser deep.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "config/loader.h"
#include "config/manifests.h"
#include "config/yaml_documents.h"
#include "gateway/admin/admin_input.h"
#include "gateway/admin/weights_request.h"

using namespace infergate;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

constexpr size_t kLimit = 32;  // spec.admin.limits.maxNestingDepth's default

size_t json_depth(const nlohmann::json& j) {
  if (!j.is_structured()) return 0;
  size_t d = 0;
  for (const auto& e : j) d = std::max(d, json_depth(e));
  return d + 1;
}

// Depth of a YAML tree, visiting at most `budget` nodes (aliases can make a small text a huge tree).
size_t yaml_depth(const YAML::Node& n, size_t& budget) {
  if (budget == 0 || !n.IsDefined()) return 0;
  --budget;
  size_t d = 0;
  if (n.IsSequence()) {
    for (const auto& e : n) d = std::max(d, yaml_depth(e, budget));
  } else if (n.IsMap()) {
    for (const auto& kv : n) d = std::max({d, yaml_depth(kv.first, budget), yaml_depth(kv.second, budget)});
  } else {
    return 0;
  }
  return d + 1;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const bool config_endpoint = data[0] & 1;
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  const size_t nl = rest.find('\n');
  const std::string_view content_type = rest.substr(0, nl);
  const std::string body(nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1));

  (void)gateway::media_type(content_type);
  (void)gateway::content_type_refusal(content_type, body.size(), config_endpoint);
  (void)gateway::cross_site_refusal({std::string(content_type), std::string(body.substr(0, 64)), "", false});
  (void)gateway::loopback_host(content_type);

  if (!config_endpoint) {
    const size_t depth = gateway::json_nesting_depth(body, kLimit);
    if (depth > kLimit) return 0;  // refused: 400 too_deep
    const auto j = nlohmann::json::parse(body, nullptr, false);
    // Never below the parser's depth (nlohmann stops at a NUL byte, the estimate reads on: it may be higher).
    if (!j.is_discarded()) check(json_depth(j) <= depth);
    std::string error;
    const auto change = gateway::parse_weights_request(body, &error);
    check(change.has_value() == error.empty());
    if (change) check(!change->name.empty() && !change->weights.empty());
    return 0;
  }
  const size_t depth = gateway::yaml_nesting_depth(body, kLimit);
  if (depth > kLimit) return 0;
  try {
    // The loader's own load (yaml-cpp's LoadAll can loop forever on a stalled token).
    for (const YAML::Node& doc : config::detail::load_all_documents(body)) {
      size_t budget = 100000;
      check(yaml_depth(doc, budget) <= 2 * std::max<size_t>(depth, 1));
    }
  } catch (const YAML::Exception&) {
  }
  for (const auto& m : config::split_manifests("POST /config", body)) {
    const config::LoadResult r = config::load_manifests({m});
    check(r.errors.empty() || !r.config);
  }
  return 0;
}
