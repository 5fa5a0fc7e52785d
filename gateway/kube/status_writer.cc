#include "gateway/kube/status_writer.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "config/json_fields.h"
#include "metrics/registry.h"

namespace infergate::gateway::kube {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

std::string meta_string(const json& object, const char* key) {
  return config::json_string(config::json_member(object, "metadata", json::value_t::object), key);
}

json status_of(const json& object) {
  auto it = object.find("status");
  return it == object.end() ? json() : *it;
}

}  // namespace

StatusWriter::StatusWriter(asio::io_context& io, ApiClient& api, StatusWriterConfig config,
                           metrics::Registry* registry)
    : io_(io), api_(api), config_(config), pass_timer_(io) {
  if (registry) {
    const char* name = "infergate_kubernetes_status_writes_total";
    const char* help = "Status writes to the Kubernetes API by result";
    ok_ = registry->counter(name, help, {{"result", "ok"}}, "infergate.kubernetes.status_write_ok");
    conflict_ = registry->counter(name, help, {{"result", "conflict"}}, "infergate.kubernetes.status_write_conflict");
    failure_ = registry->counter(name, help, {{"result", "failure"}}, "infergate.kubernetes.status_write_failure");
  }
}

StatusWriter::~StatusWriter() { alive_.reset(); }

config::ResourceKey StatusWriter::key_of(const ApiResource& resource, const json& object) {
  return config::ResourceKey{std::string(resource.group), std::string(resource.kind),
                             resource.namespaced ? meta_string(object, "namespace") : std::string(),
                             meta_string(object, "name")};
}

void StatusWriter::set_desired(config::DesiredStatuses desired) {
  desired_ = std::move(desired);
  // Everything may have changed, including objects that no longer have an entry of ours.
  for (auto& [key, e] : objects_) e.dirty = true;
  schedule_pass();
}

void StatusWriter::observe(const ApiResource& resource, json object) {
  if (!resource.has_status || !object.is_object()) return;
  config::ResourceKey key = key_of(resource, object);
  if (key.name.empty()) return;
  Entry& e = objects_[key];
  e.resource = &resource;
  e.object = std::move(object);
  e.dirty = true;
  schedule_pass();
}

void StatusWriter::forget(const config::ResourceKey& key) { objects_.erase(key); }

void StatusWriter::set_leading(bool leading) {
  leading_ = leading;
  if (!leading) return;
  for (auto& [key, e] : objects_) e.dirty = true;
  schedule_pass();
}

size_t StatusWriter::pending() const {
  return static_cast<size_t>(std::count_if(objects_.begin(), objects_.end(), [](const auto& kv) {
    return kv.second.dirty || kv.second.in_flight || kv.second.waiting;
  }));
}

void StatusWriter::schedule_pass() {
  if (pass_scheduled_) return;
  pass_scheduled_ = true;
  pass_timer_.expires_after(config_.coalesce);
  std::weak_ptr<int> alive = alive_;
  pass_timer_.async_wait([this, alive](const boost::system::error_code& ec) {
    if (ec || alive.expired()) return;
    pass_scheduled_ = false;
    pass();
  });
}

void StatusWriter::pass() {
  if (!leading_) return;  // dirty entries wait for set_leading(true)
  // Keys first: an answer may come back inside request() and change the map.
  std::vector<config::ResourceKey> due;
  for (const auto& [key, e] : objects_)
    if (e.dirty && !e.in_flight && !e.waiting) due.push_back(key);
  for (const auto& key : due)
    if (auto it = objects_.find(key); it != objects_.end() && leading_) check(key, it->second);
}

void StatusWriter::check(const config::ResourceKey& key, Entry& e) {
  e.dirty = false;
  const json current = status_of(e.object);
  json next = config::status_to_write(desired_, key, current);
  if (config::same_status(current, next)) {
    e.conflicts = 0;
    return;
  }
  write(key, e, std::move(next));
}

void StatusWriter::write(const config::ResourceKey& key, Entry& e, json status) {
  e.in_flight = true;
  json object = e.object;  // carries metadata.resourceVersion: the write's precondition
  object["status"] = std::move(status);
  std::weak_ptr<int> alive = alive_;
  api_.request("PUT", object_path(*e.resource, key.ns, key.name, "status"), object.dump(), "application/json",
               [this, alive, key](ApiResponse r) {
                 if (alive.expired()) return;
                 auto it = objects_.find(key);
                 if (it == objects_.end()) return;  // forgotten meanwhile
                 Entry& e = it->second;
                 e.in_flight = false;
                 if (r.ok()) {
                   ++stats_.writes;
                   ok_.inc();
                   e.conflicts = 0;
                   e.backoff = std::chrono::milliseconds(0);
                   json written = json::parse(r.body, nullptr, false);
                   if (written.is_object()) e.object = std::move(written);
                   if (e.dirty) schedule_pass();  // observed or desired changed meanwhile
                   return;
                 }
                 if (r.error.empty() && r.status == 404) {
                   objects_.erase(it);
                   return;
                 }
                 if (r.error.empty() && r.status == 409) {
                   ++stats_.conflicts;
                   conflict_.inc();
                   if (++e.conflicts <= config_.max_conflict_retries) return reread(key);
                   e.conflicts = 0;
                   return retry_later(key);
                 }
                 ++stats_.failures;
                 failure_.inc();
                 retry_later(key);
               });
}

// After a conflict: the object as it is now, then the comparison again (its status may already
// say what we wanted, or another controller's part changed).
void StatusWriter::reread(const config::ResourceKey& key) {
  auto it = objects_.find(key);
  if (it == objects_.end()) return;
  it->second.in_flight = true;
  std::weak_ptr<int> alive = alive_;
  api_.request("GET", object_path(*it->second.resource, key.ns, key.name), "", "", [this, alive, key](ApiResponse r) {
    if (alive.expired()) return;
    auto it = objects_.find(key);
    if (it == objects_.end()) return;
    Entry& e = it->second;
    e.in_flight = false;
    if (r.error.empty() && r.status == 404) {
      objects_.erase(it);
      return;
    }
    json fresh = r.ok() ? json::parse(r.body, nullptr, false) : json();
    if (!fresh.is_object()) {
      ++stats_.failures;
      failure_.inc();
      return retry_later(key);
    }
    e.object = std::move(fresh);
    if (leading_) check(key, e);
    else e.dirty = true;
  });
}

void StatusWriter::retry_later(const config::ResourceKey& key) {
  auto it = objects_.find(key);
  if (it == objects_.end()) return;
  Entry& e = it->second;
  e.backoff = e.backoff.count() == 0 ? config_.backoff_initial : std::min(e.backoff * 2, config_.backoff_max);
  e.waiting = true;
  e.dirty = true;
  auto timer = std::make_shared<asio::steady_timer>(io_, e.backoff);
  std::weak_ptr<int> alive = alive_;
  timer->async_wait([this, alive, key, timer](const boost::system::error_code& ec) {
    if (ec || alive.expired()) return;
    auto it = objects_.find(key);
    if (it == objects_.end()) return;
    it->second.waiting = false;
    schedule_pass();
  });
}

}  // namespace infergate::gateway::kube
