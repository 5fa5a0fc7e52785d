#include "gateway/control/dns_discovery.h"

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include <stdexcept>
#include <utility>

#include "gateway/control/endpoint_resolver.h"
#include "metrics/labels.h"

namespace infergate::gateway {

namespace {

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace

// One endpoint that names a host: Envoy's per-cluster STRICT_DNS state and statistics.
struct DnsDiscovery::Tracked {
  explicit Tracked(boost::asio::io_context& io) : timer(io) {}
  std::string name, host;
  config::DnsLookupFamily family = config::DnsLookupFamily::Auto;
  std::vector<std::string> addresses;  // the last good answer, sorted
  boost::asio::steady_timer timer;
  bool asking = false;
  uint64_t failing = 0;  // failed refreshes in a row: logged when it starts and when it ends
  bool gone = false;  // no longer in the config: an answer still in flight is ignored
  metrics::Counter attempt, success, failure, empty, membership_change;
  metrics::Gauge membership_total;
};

// What prepare() found, made current by activate().
struct DnsDiscovery::Pending {
  config::Config unresolved;
  struct Fresh {
    std::vector<std::string> addresses;
    std::chrono::seconds ttl{0};
  };
  std::map<std::string, Fresh> fresh;  // by endpoint name: resolved by prepare() itself
};

DnsDiscovery::DnsDiscovery(boost::asio::io_context& control, metrics::Registry& registry, std::function<void()> changed)
    : control_(control), registry_(registry), changed_(std::move(changed)) {
  // Envoy's c-ares resolver statistics (dns.cares.*).
  resolve_total_ = registry_.counter("envoy_dns_cares_resolve_total", "DNS queries started", {}, "dns.cares.resolve_total");
  not_found_ = registry_.counter("envoy_dns_cares_not_found", "DNS answers: no such name or record", {},
                                 "dns.cares.not_found");
  timeouts_ = registry_.counter("envoy_dns_cares_timeouts", "DNS queries that timed out", {}, "dns.cares.timeouts");
  get_addr_failure_ = registry_.counter("envoy_dns_cares_get_addr_failure", "DNS queries that failed", {},
                                        "dns.cares.get_addr_failure");
  pending_resolutions_ = registry_.gauge("envoy_dns_cares_pending_resolutions", "DNS queries in flight", {},
                                         "dns.cares.pending_resolutions");
}

DnsDiscovery::~DnsDiscovery() {
  for (auto& [name, t] : tracked_) {
    t->gone = true;
    t->timer.cancel();
  }
}

std::shared_ptr<DnsDiscovery::Tracked> DnsDiscovery::make_tracked(const std::string& name, const std::string& host) {
  auto t = std::make_shared<Tracked>(control_);
  t->name = name;
  t->host = host;
  // Envoy's STRICT_DNS cluster statistics (cluster.<name>.update_*), per endpoint here:
  // dns.endpoint.<name>.*; a name /stats cannot show is in the Prometheus labels only.
  const metrics::Labels labels{{"envoy_dns_endpoint_name", name}};
  const std::string base = "dns.endpoint." + name + ".";
  const bool flat = metrics::is_valid_envoy_name(base + "x");
  auto counter = [&](const char* stat, const char* help) {
    return registry_.counter(std::string("envoy_dns_endpoint_") + stat, help, labels, flat ? base + stat : "");
  };
  t->attempt = counter("update_attempt", "Resolutions of an endpoint's host name started");
  t->success = counter("update_success", "Resolutions answered (addresses kept or changed)");
  t->failure = counter("update_failure", "Resolutions failed; the last good addresses keep serving");
  t->empty = counter("update_empty", "Resolutions answered with no address");
  t->membership_change = counter("membership_change", "Times the endpoint's address set changed");
  t->membership_total =
      registry_.gauge("envoy_dns_endpoint_membership_total", "Addresses the endpoint's host name resolves to", labels,
                      flat ? base + "membership_total" : "");
  return t;
}

void DnsDiscovery::prepare(config::Config& cfg, std::vector<config::Diagnostic>* errors,
                           std::chrono::milliseconds wait_at_most) {
  auto p = std::make_unique<Pending>();
  p->unresolved = cfg;
  const config::DnsConfig& dns = cfg.gateway.dns;
  std::map<std::string, std::vector<std::string>> resolved;
  std::vector<size_t> ask;
  for (size_t i = 0; i < cfg.endpoints.size(); ++i) {
    const auto& ep = cfg.endpoints[i];
    if (is_ip_literal(ep.address)) continue;
    auto it = tracked_.find(ep.name);
    if (it != tracked_.end() && it->second->host == ep.address && it->second->family == dns.lookup_family &&
        settings_.resolvers == dns.resolvers) {
      resolved[ep.name] = it->second->addresses;
      continue;
    }
    ask.push_back(i);
  }
  auto fail = [&](size_t i, const std::string& why) {
    if (!errors) return;
    const auto& ep = cfg.endpoints[i];
    config::Diagnostic d;
    d.file = ep.source.file;
    d.document = ep.source.document;
    d.line = ep.source.line;
    d.resource = "GatewayConfig";
    d.path = "spec.endpoints[" + std::to_string(i) + "].address";
    d.message = "cannot resolve host \"" + ep.address + "\": " + why;
    errors->push_back(std::move(d));
  };
  if (!ask.empty()) {
    // A private io_context: prepare() may run inside a control-thread handler, and the
    // first answers are worth a short wait (the snapshot is useless without addresses).
    boost::asio::io_context io;
    std::map<size_t, DnsAnswer> answers;
    std::string broken;
    try {
      DnsResolver resolver(io, dns.resolvers);
      for (size_t i : ask) {
        resolve_total_.inc();
        resolver.resolve(cfg.endpoints[i].address, dns.lookup_family,
                         [&answers, i](DnsAnswer a) { answers[i] = std::move(a); });
      }
      const auto deadline = std::chrono::steady_clock::now() + wait_at_most;
      while (answers.size() < ask.size() && io.run_one_until(deadline) > 0) {
      }
    } catch (const std::exception& e) {
      broken = e.what();
    }
    for (size_t i : ask) {
      const auto& ep = cfg.endpoints[i];
      auto it = answers.find(i);
      if (it == answers.end()) {
        get_addr_failure_.inc();
        fail(i, broken.empty() ? "no answer within " + std::to_string(wait_at_most.count()) + " ms" : broken);
        continue;
      }
      const DnsAnswer& a = it->second;
      timeouts_.inc(static_cast<uint64_t>(a.timeouts));
      if (a.not_found) not_found_.inc();
      if (!a.ok) {
        if (!a.not_found) get_addr_failure_.inc();
        fail(i, a.error);
        continue;
      }
      auto addresses = select_addresses(dns.lookup_family, a.v4, a.v6);
      if (addresses.empty()) {
        fail(i, "no address of the lookup family (spec.dns.lookupFamily)");
        continue;
      }
      resolved[ep.name] = addresses;
      p->fresh[ep.name] = {std::move(addresses), a.ttl};
    }
  }
  cfg.endpoints = expand_endpoints(cfg.endpoints, resolved);
  pending_ = std::move(p);
}

void DnsDiscovery::activate() {
  if (!pending_) return;
  std::unique_ptr<Pending> p = std::move(pending_);
  const config::DnsConfig& dns = p->unresolved.gateway.dns;
  const bool settings_changed = !(settings_ == dns);
  if (!resolver_ || settings_.resolvers != dns.resolvers) {
    resolver_.reset();  // its queries in flight are dropped: whoever asked is rescheduled below
    try {
      resolver_ = std::make_unique<DnsResolver>(control_, dns.resolvers);
    } catch (const std::exception& e) {
      spdlog::error("dns: {}; host names are not refreshed", e.what());
    }
    for (auto& [name, t] : tracked_)
      if (t->asking) {
        t->asking = false;
        pending_resolutions_.sub(1);
      }
  }
  settings_ = dns;
  std::map<std::string, std::shared_ptr<Tracked>> next;
  for (const auto& ep : p->unresolved.endpoints) {
    if (is_ip_literal(ep.address) || next.contains(ep.name)) continue;
    if (auto f = p->fresh.find(ep.name); f != p->fresh.end()) {
      auto t = make_tracked(ep.name, ep.address);
      t->family = dns.lookup_family;
      t->addresses = f->second.addresses;
      t->attempt.inc();
      t->success.inc();
      t->membership_total.set(static_cast<double>(t->addresses.size()));
      spdlog::info("dns: endpoint {}: {} resolves to {}", ep.name, ep.address, joined(t->addresses));
      schedule(t, refresh_delay(settings_, f->second.ttl, false));
      next[ep.name] = std::move(t);
    } else if (auto old = tracked_.find(ep.name); old != tracked_.end()) {
      // Its schedule runs on (every apply would otherwise push it back), unless the settings
      // changed: then it is asked with them after the new refresh rate.
      if (settings_changed && !old->second->asking)
        schedule(old->second, refresh_delay(settings_, std::chrono::seconds(0), false));
      next[ep.name] = old->second;
    }
  }
  for (auto& [name, t] : tracked_) {
    auto n = next.find(name);
    if (n != next.end() && n->second == t) continue;
    t->gone = true;
    t->timer.cancel();
  }
  tracked_ = std::move(next);
  unresolved_ = std::move(p->unresolved);
}

config::Config DnsDiscovery::unresolved(const config::Config& serving) const {
  return unresolved_ ? *unresolved_ : serving;
}

void DnsDiscovery::schedule(const std::shared_ptr<Tracked>& t, std::chrono::milliseconds delay) {
  t->timer.expires_after(delay);
  t->timer.async_wait([this, t](const boost::system::error_code& ec) {
    if (ec || t->gone) return;
    refresh(t);
  });
}

void DnsDiscovery::refresh(const std::shared_ptr<Tracked>& t) {
  if (t->asking) return;
  if (!resolver_) {
    schedule(t, settings_.refresh_rate);
    return;
  }
  t->asking = true;
  t->attempt.inc();
  resolve_total_.inc();
  pending_resolutions_.add(1);
  resolver_->resolve(t->host, t->family, [this, t](DnsAnswer a) { answered(t, std::move(a)); });
}

void DnsDiscovery::answered(const std::shared_ptr<Tracked>& t, DnsAnswer a) {
  if (!t->asking) return;  // asked through a resolver since replaced
  t->asking = false;
  pending_resolutions_.sub(1);
  timeouts_.inc(static_cast<uint64_t>(a.timeouts));
  if (t->gone) return;
  if (!a.ok && !a.not_found) {
    // Envoy STRICT_DNS: a failed resolution changes nothing; the last good addresses serve.
    t->failure.inc();
    get_addr_failure_.inc();
    if (t->failing++ == 0)
      spdlog::warn("dns: endpoint {}: resolving {} failed ({}); keeping {} address(es) until it answers", t->name,
                   t->host, a.error, t->addresses.size());
    else
      spdlog::debug("dns: endpoint {}: resolving {} failed again ({})", t->name, t->host, a.error);
    schedule(t, refresh_delay(settings_, std::chrono::seconds(0), true));
    return;
  }
  // Envoy takes "no such name" and "no such record" as an answer: no addresses (a headless
  // Service scaled to zero), counted as update_empty.
  if (a.not_found) not_found_.inc();
  if (t->failing > 0) spdlog::info("dns: endpoint {}: {} answers again after {} failure(s)", t->name, t->host, t->failing);
  t->failing = 0;
  std::vector<std::string> addresses = a.ok ? select_addresses(t->family, a.v4, a.v6) : std::vector<std::string>{};
  t->success.inc();
  if (addresses.empty()) t->empty.inc();
  if (addresses != t->addresses) {
    spdlog::info("dns: endpoint {}: {} now resolves to [{}] (was [{}])", t->name, t->host, joined(addresses),
                 joined(t->addresses));
    t->addresses = std::move(addresses);
    t->membership_change.inc();
    t->membership_total.set(static_cast<double>(t->addresses.size()));
    post_change();
  }
  schedule(t, refresh_delay(settings_, a.ttl, false));
}

// Several names may change within one refresh: one new snapshot for all of them.
void DnsDiscovery::post_change() {
  if (change_posted_) return;
  change_posted_ = true;
  boost::asio::post(control_, [this] {
    change_posted_ = false;
    changed_();
  });
}

}  // namespace infergate::gateway
