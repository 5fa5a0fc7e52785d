#include <cstdint>
#include <limits>

#include "config/parsers.h"

namespace infergate::config::detail {

ObjectMeta parse_metadata(ParseContext& ctx, const MapView& doc, bool name_optional) {
  ObjectMeta meta;
  meta.source = ctx.location(doc.node());
  auto m = doc.map("metadata", !name_optional);
  if (!m) return meta;
  // metadata carries many server-managed fields (uid, resourceVersion, managedFields, ...):
  // none of them are ours to judge, so unknown keys are not reported here.
  if (auto name = m->string("name", !name_optional)) {
    if (name->empty() || name->size() > 253)
      ctx.error(m->node(), m->path_of("name"), "must be 1 to 253 characters");
    else
      meta.name = *name;
  }
  if (auto ns = m->string("namespace")) {
    if (ns->empty() || ns->size() > 63)
      ctx.error(m->node(), m->path_of("namespace"), "must be 1 to 63 characters");
    else
      meta.ns = *ns;
  }
  if (auto labels = m->labels("labels")) meta.labels = std::move(*labels);
  if (auto ts = m->string("creationTimestamp")) meta.creation_timestamp = *ts;
  // What status conditions' observedGeneration echo (config/kubernetes_status.h).
  if (auto g = m->integer("generation", 0, std::numeric_limits<int64_t>::max())) meta.generation = *g;
  return meta;
}

std::optional<MapView> parse_object(ParseContext& ctx, const MapView& doc, ObjectMeta* meta) {
  doc.allow({"apiVersion", "kind", "metadata", "spec", "status"});
  *meta = parse_metadata(ctx, doc);
  auto spec = doc.map("spec", true);
  if (meta->name.empty() || !spec) return std::nullopt;
  return spec;
}

}  // namespace infergate::config::detail
