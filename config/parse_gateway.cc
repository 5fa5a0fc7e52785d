// Gateway API Gateway: each spec.listeners[] entry becomes a Listener.
#include <absl/strings/ascii.h>

#include "config/str_cat.h"

#include "config/parsers.h"

namespace infergate::config::detail {

void parse_gateway(ParseContext& ctx, const MapView& doc, Collected& out) {
  ObjectMeta meta;
  auto spec = parse_object(ctx, doc, &meta);
  if (!spec) return;
  out.gateways.push_back(GatewayRecord{meta.ns, meta.name, ctx.resource(), meta.source});
  spec->allow({"gatewayClassName", "listeners", "addresses", "infrastructure", "backendTLS",
               "allowedListeners"});

  Gateway gateway;
  gateway.meta = meta;
  if (auto c = spec->string("gatewayClassName")) gateway.class_name = *c;
  std::string address = "0.0.0.0";
  auto addresses = spec->list("addresses");
  for (size_t i = 0; i < addresses.size(); ++i) {
    MapView a(ctx, addresses[i].second, addresses[i].first);
    if (!a.valid()) continue;
    a.allow({"type", "value"});
    auto type = one_of(ctx, a, "type", {"IPAddress", "Hostname", "NamedAddress"});
    auto value = a.string("value", true);
    if (!value) continue;
    gateway.addresses.push_back(GatewayAddress{type.value_or("IPAddress"), *value});
    if (type && *type == "NamedAddress") {
      ctx.error(addresses[i].second, a.path_of("type"),
                "NamedAddress cannot be bound outside a cluster; use IPAddress");
      continue;
    }
    if (i == 0) address = *value;
    else
      ctx.warning(addresses[i].second, addresses[i].first,
                  "only the first address is bound; this one is ignored");
  }

  out.config.gateways.push_back(std::move(gateway));
  auto listeners = spec->list("listeners", true);
  if (spec->find("listeners") && listeners.empty())
    ctx.error(spec->node(), spec->path_of("listeners"), "must have at least one listener");
  for (const auto& [path, node] : listeners) {
    MapView m(ctx, node, path);
    if (!m.valid()) continue;
    m.allow({"name", "hostname", "port", "protocol", "tls", "allowedRoutes"});
    Listener l;
    l.gateway_ns = meta.ns;
    l.gateway_name = meta.name;
    l.address = address;
    l.source = ctx.location(node);
    auto name = m.string("name", true);
    auto port = m.integer("port", 1, 65535, true);
    auto protocol = one_of(ctx, m, "protocol", {"HTTP", "HTTPS"}, true);
    if (auto h = m.string("hostname")) {
      // Requests are matched on a lower-cased :authority.
      if (valid_hostname(*h)) {
        l.hostname = absl::AsciiStrToLower(*h);
      } else {
        ctx.error(*m.find("hostname"), m.path_of("hostname"),
                  cat("\"", *h, "\" is not a valid hostname"));
      }
    }
    if (auto tls = m.map("tls")) {
      tls->allow({"mode", "certificateRefs", "options", "frontendValidation"});
      one_of(ctx, *tls, "mode", {"Terminate"});
      for (const auto& [cpath, cnode] : tls->list("certificateRefs")) {
        MapView c(ctx, cnode, cpath);
        if (!c.valid()) continue;
        c.allow({"group", "kind", "name", "namespace"});
        if (auto n = c.string("name", true)) l.certificate_refs.push_back(*n);
      }
    }
    if (!name || !port || !protocol) continue;
    l.name = *name;
    l.port = static_cast<uint16_t>(*port);
    l.protocol = *protocol == "HTTPS" ? ListenerProtocol::Https : ListenerProtocol::Http;
    if (l.protocol == ListenerProtocol::Https && l.certificate_refs.empty())
      ctx.error(node, m.path_of("tls.certificateRefs"), "an HTTPS listener needs a certificate");
    out.config.listeners.push_back(std::move(l));
  }
}

}  // namespace infergate::config::detail
