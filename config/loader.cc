#include "config/loader.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>

#include "config/str_cat.h"
#include "config/parse_context.h"
#include "config/parsers.h"
#include "config/resource_kinds.h"
#include "config/validate.h"
#include "config/yaml_documents.h"

namespace infergate::config {

namespace {

using detail::cat;
using detail::Collected;
using detail::KindClass;
using detail::MapView;
using detail::ParseContext;

// 1-based number of the last line of `text`, ignoring trailing line breaks.
int last_line(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  return 1 + static_cast<int>(std::count(text.begin(), text.end(), '\n'));
}

std::string scalar_or_empty(const YAML::Node& doc, const char* key) {
  for (const auto& kv : doc) {
    if (kv.first.IsScalar() && kv.first.Scalar() == key && kv.second.IsScalar())
      return kv.second.Scalar();
  }
  return {};
}

std::string metadata_name(const YAML::Node& doc) {
  for (const auto& kv : doc) {
    if (kv.first.IsScalar() && kv.first.Scalar() == "metadata" && kv.second.IsMap())
      return scalar_or_empty(kv.second, "name");
  }
  return {};
}

void load_document(ParseContext& ctx, const YAML::Node& doc, Collected& out) {
  if (!doc.IsMap()) {
    ctx.error(doc, "", "a document must be a mapping with apiVersion and kind");
    return;
  }
  const std::string api_version = scalar_or_empty(doc, "apiVersion");
  const std::string kind = scalar_or_empty(doc, "kind");
  const std::string name = metadata_name(doc);
  ctx.set_resource(kind.empty() ? std::string() : cat(kind, "/", name));
  if (api_version.empty() || kind.empty()) {
    ctx.error(doc, api_version.empty() ? "apiVersion" : "kind", "is required");
    return;
  }
  MapView view(ctx, doc, "");
  switch (detail::classify(api_version, kind)) {
    case KindClass::GatewayConfig:
      ctx.set_strict_fields(true);
      detail::parse_gateway_config(ctx, view, out);
      return;
    case KindClass::Rollout:
      if (auto r = detail::parse_rollout(ctx, view)) out.config.rollouts.push_back(std::move(*r));
      return;
    case KindClass::Gateway:
      detail::parse_gateway(ctx, view, out);
      return;
    case KindClass::HttpRoute:
      if (auto r = detail::parse_http_route(ctx, view)) out.config.routes.push_back(std::move(*r));
      return;
    case KindClass::Service:
      if (auto s = detail::parse_service(ctx, view)) out.config.services.push_back(std::move(*s));
      return;
    case KindClass::InferencePool:
      if (auto p = detail::parse_inference_pool(ctx, view, api_version))
        out.config.pools.push_back(std::move(*p));
      return;
    case KindClass::VirtualService:
      if (auto vs = detail::parse_virtual_service(ctx, view, api_version))
        out.config.virtual_services.push_back(std::move(*vs));
      return;
    case KindClass::DestinationRule:
      if (auto dr = detail::parse_destination_rule(ctx, view, api_version))
        out.config.destination_rules.push_back(std::move(*dr));
      return;
    case KindClass::InferenceModel:
      if (auto m = detail::parse_inference_model(ctx, view, api_version))
        out.config.inference_models.push_back(std::move(*m));
      return;
    case KindClass::InferenceObjective:
      if (auto o = detail::parse_inference_objective(ctx, view, api_version))
        out.config.inference_objectives.push_back(std::move(*o));
      return;
    case KindClass::InferenceModelRewrite:
      if (auto rw = detail::parse_model_rewrite(ctx, view, api_version))
        out.config.model_rewrites.push_back(std::move(*rw));
      return;
    case KindClass::HealthCheckPolicy:
      if (auto hc = detail::parse_health_check_policy(ctx, view))
        out.config.health_check_policies.push_back(std::move(*hc));
      return;
    case KindClass::Secret:
      // Only TLS material matters to a data plane; other Secrets are ignored as before.
      if (auto sec = detail::parse_secret(ctx, view)) out.config.secrets.push_back(std::move(*sec));
      return;
    case KindClass::PeerAuthentication:
      if (auto pa = detail::parse_peer_authentication(ctx, view))
        out.config.peer_authentications.push_back(std::move(*pa));
      return;
    case KindClass::AuthorizationPolicy:
      if (auto ap = detail::parse_authorization_policy(ctx, view))
        out.config.authorization_policies.push_back(std::move(*ap));
      return;
    case KindClass::Ignored:
      ctx.warning(doc, "", cat(api_version, " ", kind,
                                        " is not used by the gateway; ignored"));
      return;
    case KindClass::NotYetSupported:
      ctx.warning(doc, "", cat(api_version, " ", kind,
                                        " is not yet supported; ignored for now"));
      return;
    case KindClass::UnknownVersion:
      ctx.error(doc, "apiVersion",
                cat("kind ", kind, " is not supported in apiVersion \"", api_version,
                             "\""));
      return;
    case KindClass::Unknown:
      break;
  }
  ctx.error(doc, "kind",
            cat("unknown kind \"", kind, "\" (apiVersion \"", api_version, "\")"));
}

void load_manifest(const Manifest& m, Collected& out, LoadResult& result) {
  std::vector<YAML::Node> docs;
  try {
    docs = detail::load_all_documents(m.text);
  } catch (const YAML::Exception& e) {
    // yaml-cpp marks an unclosed construct where the text ran out, which is the next
    // document's "---"; the piece's last line is where the reader should look.
    int line = e.mark.is_null() ? 0 : std::min(e.mark.line + 1, last_line(m.text)) + m.line_offset;
    result.errors.push_back(
        Diagnostic{m.file, m.document, "", "", line, cat("YAML syntax error: ", e.msg)});
    return;
  } catch (const std::exception& e) {
    result.errors.push_back(Diagnostic{m.file, m.document, "", "", m.line_offset + 1,
                                       cat("cannot parse YAML: ", e.what())});
    return;
  }
  int document = m.document;
  for (const YAML::Node& doc : docs) {
    if (!doc.IsDefined() || doc.IsNull()) continue;
    ParseContext ctx(m.file, document++, m.line_offset, &result.errors, &result.warnings);
    try {
      load_document(ctx, doc, out);
    } catch (const std::exception& e) {
      // yaml-cpp accessors are only used where they cannot throw; this is a last line of
      // defence so a surprise becomes an error message, not a crash.
      ctx.error(doc, "", cat("internal error while reading: ", e.what()));
    }
  }
}

LoadResult finish(Collected& collected, LoadResult& result) {
  if (result.errors.empty()) detail::validate(collected, &result.errors, &result.warnings);
  if (result.errors.empty()) result.config = std::move(collected.config);
  return std::move(result);
}

}  // namespace

LoadResult load_manifests(const std::vector<Manifest>& manifests) {
  return load_manifests(manifests, {});
}

LoadResult load_manifests(const std::vector<Manifest>& manifests, const std::vector<Endpoint>& cluster_endpoints) {
  LoadResult result;
  Collected collected;
  for (const Manifest& m : manifests) load_manifest(m, collected, result);
  auto& eps = collected.config.endpoints;
  eps.insert(eps.end(), cluster_endpoints.begin(), cluster_endpoints.end());
  return finish(collected, result);
}

LoadResult load_documents(const std::vector<std::pair<std::string, std::string>>& named_texts) {
  std::vector<Manifest> all;
  for (const auto& [name, text] : named_texts)
    for (Manifest& m : split_manifests(name, text)) all.push_back(std::move(m));
  return load_manifests(all);
}

LoadResult load_string(std::string_view yaml, std::string_view file_name) {
  return load_manifests(split_manifests(file_name, yaml));
}

LoadResult load_path(const std::string& path) {
  std::vector<Diagnostic> read_errors;
  std::vector<Manifest> manifests = read_manifests(path, &read_errors);
  if (manifests.empty() && !read_errors.empty()) {
    LoadResult r;
    r.errors = std::move(read_errors);
    return r;
  }
  LoadResult result = load_manifests(manifests);
  if (!read_errors.empty()) {
    result.errors.insert(result.errors.begin(), read_errors.begin(), read_errors.end());
    result.config.reset();
  }
  return result;
}

}  // namespace infergate::config
