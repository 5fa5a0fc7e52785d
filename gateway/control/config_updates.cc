// How the configuration changes while serving: every source (file change, SIGHUP, the admin
// API) builds a candidate ConfigStore and hands it to Server::commit, which validates it whole
// and either publishes a new snapshot or changes nothing.
#include <spdlog/spdlog.h>

#include "gateway/control/config_state.h"
#include "gateway/control/endpoint_resolver.h"
#include "gateway/net/server.h"

namespace infergate::gateway {

namespace {

bool same_documents(const std::vector<config::Manifest>& a, const std::vector<config::Manifest>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].text != b[i].text || a[i].file != b[i].file) return false;
  return true;
}

config::Diagnostic note(std::string message) {
  config::Diagnostic d;
  d.message = std::move(message);
  return d;
}

std::string listener_line(const config::Listener& l) {
  return l.key() + " " + l.address + ":" + std::to_string(l.port) +
         (l.protocol == config::ListenerProtocol::Https ? " HTTPS" : " HTTP") +
         (l.hostname.empty() ? "" : " " + l.hostname);
}

}  // namespace

// Sockets, worker threads, the admin listener and the access log file are set up once, at
// start: a change to them is accepted (routes may depend on it) but reported, because it only
// takes effect after a restart.
std::vector<config::Diagnostic> Server::restart_only_changes(const config::Config& next) const {
  std::vector<config::Diagnostic> out;
  std::vector<std::string> now, then;
  for (const auto& l : initial_.listeners) now.push_back(listener_line(l));
  for (const auto& l : next.listeners) then.push_back(listener_line(l));
  std::sort(now.begin(), now.end());
  std::sort(then.begin(), then.end());
  if (now != then) out.push_back(note("Gateway listener changes take effect after a restart; still listening as before"));
  const auto& a = initial_.gateway;
  const auto& b = next.gateway;
  if (a.workers != b.workers || a.admin.address != b.admin.address || a.admin.port != b.admin.port ||
      a.access_log.path != b.access_log.path || a.access_log.format != b.access_log.format)
    out.push_back(note("GatewayConfig workers, admin and accessLog changes take effect after a restart"));
  if (!(a.admin == b.admin) || a.stats != b.stats)
    out.push_back(note("GatewayConfig admin (auth, tls, limits, auditLog) and stats changes take effect after a "
                       "restart; the token file itself is re-read whenever it changes"));
  return out;
}

ChangeResult Server::commit(config::ConfigStore candidate, const std::string& source, bool dry_run) {
  ChangeResult r;
  r.version = version_;
  std::vector<config::Manifest> docs = candidate.effective();
  if (same_documents(docs, store_.effective()) && candidate.same_cluster(store_) && !dry_run) {
    // The overlay may differ in bookkeeping only (an entry the files caught up with).
    keep_store(std::move(candidate));
    r.ok = true;
    r.unchanged = true;
    return r;
  }
  config::ClusterLoad cluster_load = load_for_serving(candidate);
  config::LoadResult loaded = std::move(cluster_load.loaded);
  r.warnings = loaded.warnings;
  if (!loaded.ok()) {
    r.errors = std::move(loaded.errors);
    if (!dry_run) reload_failed_.inc();
    for (const auto& e : r.errors) spdlog::error("config from {} rejected, keeping version {}: {}", source, version_, e.to_string());
    return r;
  }
  const std::vector<config::Diagnostic> restart_only = restart_only_changes(*loaded.config);
  r.warnings.insert(r.warnings.end(), restart_only.begin(), restart_only.end());
  if (dry_run) {
    // Everything a snapshot build could complain about, without touching shared state.
    pools::EndpointRegistry scratch;
    routing::RouteTable::build(*loaded.config, &r.errors);
    pools::ClusterSet::build(*loaded.config, scratch, &r.errors);
    r.ok = r.errors.empty();
    return r;
  }
  std::vector<config::Diagnostic> errors;
  if (!apply(std::move(loaded), source, &errors)) {
    r.errors = std::move(errors);
    for (const auto& e : r.errors) spdlog::error("config from {} rejected, keeping version {}: {}", source, version_, e.to_string());
    return r;
  }
  r.ok = true;
  r.version = version_;
  note_rejected(std::move(cluster_load.rejected));
  cluster_warnings_ = r.warnings;
  for (const auto& w : restart_only) spdlog::warn("config: {}", w.message);
  if (std::string error = keep_store(std::move(candidate)); !error.empty())
    r.notes.push_back("applied but not saved: " + error);
  return r;
}

std::string Server::keep_store(config::ConfigStore candidate) {
  const bool overlay_changed = candidate.overlay() != store_.overlay();
  store_ = std::move(candidate);
  std::string error;
  if (opts_.state_dir && overlay_changed && !save_overlay(*opts_.state_dir, store_, &error))
    spdlog::error("run-time config changes not saved: {}", error);
  return error;
}

ChangeResult Server::reload_files(const std::string& why) {
  std::vector<config::Diagnostic> read_errors;
  // Kubernetes mode may run without files: then there is nothing to read again.
  std::vector<config::Manifest> files;
  if (!opts_.config_path.empty()) files = config::read_manifests(opts_.config_path, &read_errors);
  if (!read_errors.empty()) {
    ChangeResult r;
    r.version = version_;
    r.errors = std::move(read_errors);
    reload_failed_.inc();
    for (const auto& e : r.errors) spdlog::error("{}: config rejected, keeping version {}: {}", why, version_, e.to_string());
    return r;
  }
  // An editor saving a broken file fires several events: say so once, not once per event.
  uint64_t fingerprint = 0;
  for (const auto& m : files) fingerprint = fingerprint * 1099511628211ull ^ config::document_hash(m.text);
  if (why == "file change" && fingerprint == last_rejected_files_) return ChangeResult{};
  config::ConfigStore candidate = store_;
  std::vector<std::string> dropped;
  for (const auto& c : candidate.set_base(std::move(files)))
    dropped.push_back(c.key.to_string() + " (" + c.source + " at " + c.applied_at + ")");
  ChangeResult r = commit(std::move(candidate), "file", false);
  const bool was_rejected = last_rejected_files_ != 0;
  last_rejected_files_ = r.ok ? 0 : fingerprint;
  if (r.unchanged) {
    // Put back as they were after a broken save: tell whoever is watching the log.
    if (was_rejected) spdlog::info("{}: config files valid again, as served by version {}", why, version_);
    else spdlog::debug("{}: config files unchanged", why);
    return r;
  }
  if (r.ok) {
    spdlog::info("{}: config files reloaded, version {}", why, r.version);
    for (const auto& d : dropped) {
      spdlog::warn("run-time change to {} dropped: the file's version is newer", d);
      r.notes.push_back("run-time change to " + d + " dropped: the file's version is newer");
    }
  }
  return r;
}

}  // namespace infergate::gateway
