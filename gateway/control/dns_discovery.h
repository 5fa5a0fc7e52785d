// Static endpoints that name a host, kept resolved as Envoy keeps a STRICT_DNS cluster: one
// endpoint per address, the name asked again every refresh (gateway/control/endpoint_resolver.h
// has the rules), a failed refresh keeps the last good addresses, and a changed address set
// makes the server publish a new snapshot from the config it last loaded (no file is read).
//
// Control thread only. With a config, Server::apply calls prepare() (which resolves names it
// does not track yet, waiting a bounded time: an unresolvable name is a configuration error,
// so the snapshot serving keeps serving) and, once the snapshot is published, activate().
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/diagnostic.h"
#include "config/model.h"
#include "gateway/control/dns_resolver.h"
#include "metrics/registry.h"

namespace infergate::gateway {

class DnsDiscovery {
 public:
  // `changed` runs (posted, on the control thread) when a refresh changed some name's
  // addresses; it is expected to apply unresolved() again.
  DnsDiscovery(boost::asio::io_context& control, metrics::Registry& registry, std::function<void()> changed);
  ~DnsDiscovery();

  // Replaces `cfg.endpoints` that name hosts by one endpoint per address. Names tracked with
  // the same host and settings take their current addresses; the others are resolved now, and
  // a failure is appended to *errors. Nothing changes until activate().
  void prepare(config::Config& cfg, std::vector<config::Diagnostic>* errors, std::chrono::milliseconds wait_at_most = std::chrono::seconds(5));
  // The config of the last prepare() now serves: track its names, drop the others.
  void activate();
  // The config last activated as written (host names, not addresses); `serving` before any.
  config::Config unresolved(const config::Config& serving) const;

 private:
  struct Tracked;
  struct Pending;
  void schedule(const std::shared_ptr<Tracked>& t, std::chrono::milliseconds delay);
  void refresh(const std::shared_ptr<Tracked>& t);
  void answered(const std::shared_ptr<Tracked>& t, DnsAnswer a);
  std::shared_ptr<Tracked> make_tracked(const std::string& name, const std::string& host);
  void post_change();

  boost::asio::io_context& control_;
  metrics::Registry& registry_;
  std::function<void()> changed_;
  config::DnsConfig settings_;
  std::unique_ptr<DnsResolver> resolver_;  // for refreshes; made with settings_.resolvers
  std::map<std::string, std::shared_ptr<Tracked>> tracked_;  // by endpoint name
  std::unique_ptr<Pending> pending_;
  std::optional<config::Config> unresolved_;
  bool change_posted_ = false;
  metrics::Counter resolve_total_, not_found_, timeouts_, get_addr_failure_;
  metrics::Gauge pending_resolutions_;
};

}  // namespace infergate::gateway
