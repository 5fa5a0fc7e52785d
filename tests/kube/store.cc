#include "tests/kube/store.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <random>

namespace infergate::testing::kube {
namespace {

using nlohmann::json;

std::string now_rfc3339() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string random_hex(size_t n) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) s += digits[rng() % 16];
  return s;
}

std::string new_uid() {
  const std::string h = random_hex(32);
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-4" + h.substr(13, 3) + "-a" + h.substr(17, 3) + "-" + h.substr(20, 12);
}

std::string key_of(const std::string& ns, const std::string& name) { return ns + "/" + name; }

// "pods", "httproutes.gateway.networking.k8s.io": how the real server names a resource in
// its messages.
std::string qualified(const ResourceKind& k) { return k.group.empty() ? k.resource : k.resource + "." + k.group; }

json details(const ResourceKind& k, const std::string& name) {
  return {{"name", name}, {"group", k.group}, {"kind", k.resource}};
}

ApiResult not_found(const ResourceKind& k, const std::string& name) {
  return failure(404, "NotFound", qualified(k) + " \"" + name + "\" not found", details(k, name));
}

ApiResult conflict(const ResourceKind& k, const std::string& name) {
  return failure(409, "Conflict",
                 "Operation cannot be fulfilled on " + qualified(k) + " \"" + name +
                     "\": the object has been modified; please apply your changes to the latest version and try again",
                 details(k, name));
}

std::string str(const json& obj, const char* a, const char* b) {
  if (!obj.is_object()) return "";
  auto ia = obj.find(a);
  if (ia == obj.end() || !ia->is_object()) return "";
  auto ib = ia->find(b);
  return ib != ia->end() && ib->is_string() ? ib->get<std::string>() : "";
}

// Everything the generation counts: the object without metadata and status.
json spec_part(json o) {
  o.erase("metadata");
  o.erase("status");
  return o;
}

bool matches(const Filter& f, const json& o) {
  if (!f.ns.empty() && str(o, "metadata", "namespace") != f.ns) return false;
  return f.labels.matches(o) && f.fields.matches(o);
}

std::string hex(const std::string& s) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out += d[c >> 4];
    out += d[c & 15];
  }
  return out;
}

std::optional<std::string> unhex(const std::string& s) {
  if (s.size() % 2 != 0) return std::nullopt;
  std::string out;
  for (size_t i = 0; i < s.size(); i += 2) {
    const auto v = [](char c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1; };
    const int hi = v(s[i]), lo = v(s[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
  }
  return out;
}

}  // namespace

json status_error(int code, const std::string& reason, const std::string& message, json details) {
  json s = {{"kind", "Status"}, {"apiVersion", "v1"}, {"metadata", json::object()},
            {"status", "Failure"}, {"message", message}, {"reason", reason}, {"code", code}};
  if (!details.empty()) s["details"] = std::move(details);
  return s;
}

ApiResult failure(int code, const std::string& reason, const std::string& message, json details) {
  return {code, status_error(code, reason, message, std::move(details))};
}

std::optional<std::pair<std::string, json>> filter_event(const Filter& f, const Event& e) {
  if (e.kind != f.kind) return std::nullopt;
  const bool now = matches(f, e.object);
  if (e.type != "MODIFIED") {
    if (!now) return std::nullopt;
    return std::make_pair(e.type, e.object);
  }
  const bool before = matches(f, e.previous);
  if (before && now) return std::make_pair(std::string("MODIFIED"), e.object);
  if (now) return std::make_pair(std::string("ADDED"), e.object);
  if (before) return std::make_pair(std::string("DELETED"), e.object);
  return std::nullopt;
}

Store::Store(size_t history) : history_limit_(std::max<size_t>(history, 1)) {
  // The namespaces a fresh cluster has.
  for (const char* ns : {"default", "kube-system"}) {
    create(*find_kind("", "namespaces"), "v1", "",
           {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns}}}, {"status", {{"phase", "Active"}}}});
  }
}

void Store::set_sink(Sink sink) {
  std::lock_guard lock(mu_);
  sink_ = std::move(sink);
}

uint64_t Store::current_rv() const {
  std::lock_guard lock(mu_);
  return rv_;
}

void Store::compact() {
  std::lock_guard lock(mu_);
  history_.clear();
  floor_ = rv_;
  ++compactions_;
}

void Store::emit(const ResourceKind& k, const std::string& type, const json& object, json previous) {
  auto e = std::make_shared<Event>(Event{rv_, type, &k, object, std::move(previous)});
  history_.push_back(e);
  while (history_.size() > history_limit_) {
    floor_ = history_.front()->rv;
    history_.pop_front();
  }
  if (sink_) sink_(e);
}

ApiResult Store::get(const ResourceKind& k, const std::string& ns, const std::string& name) const {
  std::lock_guard lock(mu_);
  auto d = data_.find(&k);
  if (d != data_.end()) {
    auto it = d->second.find(key_of(ns, name));
    if (it != d->second.end()) return {200, it->second};
  }
  return not_found(k, name);
}

ApiResult Store::list(const ResourceKind& k, const std::string& version, const Filter& f,
                      const ListOptions& o) const {
  std::lock_guard lock(mu_);
  std::string after;
  if (!o.continue_token.empty()) {
    // "rv|compactions|key": a token from before a compaction is as dead as one from before
    // the oldest kept event.
    const auto raw = unhex(o.continue_token);
    const auto bar1 = raw ? raw->find('|') : std::string::npos;
    const auto slash = bar1 == std::string::npos ? bar1 : raw->find('|', bar1 + 1);
    if (slash == std::string::npos) return failure(400, "BadRequest", "invalid continue token");
    const uint64_t token_rv = std::strtoull(raw->substr(0, bar1).c_str(), nullptr, 10);
    const uint64_t token_epoch = std::strtoull(raw->substr(bar1 + 1, slash - bar1 - 1).c_str(), nullptr, 10);
    if (token_rv < floor_ || token_epoch != compactions_) {
      return failure(410, "Expired",
                     "The provided continue parameter is too old to display a consistent list result. "
                     "You can start a new list without the continue parameter.");
    }
    after = raw->substr(slash + 1);
  }
  json items = json::array();
  size_t remaining = 0;
  std::string last;
  auto d = data_.find(&k);
  if (d != data_.end()) {
    for (auto it = after.empty() ? d->second.begin() : d->second.upper_bound(after); it != d->second.end(); ++it) {
      if (!matches(f, it->second)) continue;
      if (o.limit != 0 && items.size() >= o.limit) {
        ++remaining;
        continue;
      }
      items.push_back(it->second);
      last = it->first;
    }
  }
  json meta = {{"resourceVersion", std::to_string(rv_)}};
  if (remaining > 0) {
    meta["continue"] = hex(std::to_string(rv_) + "|" + std::to_string(compactions_) + "|" + last);
    meta["remainingItemCount"] = remaining;
  }
  return {200, {{"kind", k.kind + "List"}, {"apiVersion", k.group.empty() ? version : k.group + "/" + version},
                {"metadata", meta}, {"items", std::move(items)}}};
}

ApiResult Store::create(const ResourceKind& k, const std::string& version, const std::string& ns, json body) {
  if (!body.is_object()) return failure(400, "BadRequest", "the body of the request must be a JSON object");
  const std::string api_version = k.group.empty() ? version : k.group + "/" + version;
  if (!body.contains("apiVersion")) body["apiVersion"] = api_version;
  if (!body.contains("kind")) body["kind"] = k.kind;
  if (body["kind"] != k.kind) {
    return failure(400, "BadRequest", "the kind of the object (" + body["kind"].dump() + ") does not match the resource " + qualified(k));
  }
  json& meta = body["metadata"];
  if (!meta.is_object()) meta = json::object();
  std::string name = str(body, "metadata", "name");
  if (name.empty()) {
    const std::string prefix = str(body, "metadata", "generateName");
    if (prefix.empty()) return failure(400, "BadRequest", "name or generateName is required");
    name = prefix + random_hex(5);
    meta["name"] = name;
  }
  std::string obj_ns = str(body, "metadata", "namespace");
  if (k.namespaced) {
    if (obj_ns.empty()) obj_ns = ns.empty() ? "default" : ns;
    if (!ns.empty() && obj_ns != ns) {
      return failure(400, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request");
    }
    meta["namespace"] = obj_ns;
  } else {
    obj_ns.clear();
    meta.erase("namespace");
  }
  if (k.status_subresource) body.erase("status");
  std::lock_guard lock(mu_);
  auto& objs = objects(k);
  const std::string key = key_of(obj_ns, name);
  if (objs.count(key) != 0) {
    return failure(409, "AlreadyExists", qualified(k) + " \"" + name + "\" already exists", details(k, name));
  }
  meta["uid"] = new_uid();
  meta["resourceVersion"] = std::to_string(++rv_);
  meta["creationTimestamp"] = now_rfc3339();
  meta["generation"] = 1;
  meta.erase("deletionTimestamp");
  meta.erase("deletionGracePeriodSeconds");
  objs[key] = body;
  emit(k, "ADDED", body);
  return {201, body};
}

ApiResult Store::replace(const ResourceKind& k, const std::string& ns, const std::string& name, json body, bool status) {
  std::lock_guard lock(mu_);
  return replace_locked(k, ns, name, std::move(body), status);
}

ApiResult Store::replace_locked(const ResourceKind& k, const std::string& ns, const std::string& name, json body,
                                bool status) {
  if (!body.is_object()) return failure(400, "BadRequest", "the body of the request must be a JSON object");
  if (status && !k.status_subresource) return not_found(k, name);
  auto& objs = objects(k);
  const std::string key = key_of(k.namespaced ? ns : "", name);
  auto it = objs.find(key);
  if (it == objs.end()) return not_found(k, name);
  const json& stored = it->second;
  const std::string body_name = str(body, "metadata", "name");
  if (!body_name.empty() && body_name != name) {
    return failure(400, "BadRequest", "the name of the object (" + body_name + ") does not match the name on the URL (" + name + ")");
  }
  const std::string body_ns = str(body, "metadata", "namespace");
  if (k.namespaced && !body_ns.empty() && body_ns != ns) {
    return failure(400, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request");
  }
  const std::string want_rv = str(body, "metadata", "resourceVersion");
  if (!want_rv.empty() && want_rv != str(stored, "metadata", "resourceVersion")) return conflict(k, name);
  if (body.contains("kind") && body["kind"] != k.kind) {
    return failure(400, "BadRequest", "the kind of the object does not match the resource " + qualified(k));
  }

  json next;
  if (status) {
    next = stored;
    if (body.contains("status")) {
      next["status"] = body["status"];
    } else {
      next.erase("status");
    }
  } else {
    next = std::move(body);
    if (!next["metadata"].is_object()) next["metadata"] = json::object();
    json& meta = next["metadata"];
    const json& old = stored["metadata"];
    for (const char* f : {"name", "namespace", "uid", "creationTimestamp", "generation", "deletionTimestamp",
                          "deletionGracePeriodSeconds"}) {
      if (old.contains(f)) {
        meta[f] = old[f];
      } else {
        meta.erase(f);
      }
    }
    if (!next.contains("apiVersion")) next["apiVersion"] = stored["apiVersion"];
    if (!next.contains("kind")) next["kind"] = k.kind;
    if (k.status_subresource) {
      if (stored.contains("status")) {
        next["status"] = stored["status"];
      } else {
        next.erase("status");
      }
    }
  }
  return commit_update(k, key, std::move(next));
}

ApiResult Store::commit_update(const ResourceKind& k, const std::string& key, json next) {
  auto& objs = objects(k);
  json& stored = objs[key];
  json& meta = next["metadata"];
  meta["resourceVersion"] = stored["metadata"]["resourceVersion"];
  if (spec_part(next) != spec_part(stored)) meta["generation"] = stored["metadata"].value("generation", 0) + 1;
  const bool terminating = meta.contains("deletionTimestamp");
  const bool finalized = !meta.contains("finalizers") || meta["finalizers"].empty();
  // A write that changes nothing is not a new version and wakes no watcher.
  if (next == stored && !(terminating && finalized)) return {200, stored};
  meta["resourceVersion"] = std::to_string(++rv_);
  if (terminating && finalized) {
    objs.erase(key);
    emit(k, "DELETED", next);
    return {200, next};
  }
  json previous = std::exchange(stored, next);
  emit(k, "MODIFIED", next, std::move(previous));
  return {200, next};
}

ApiResult Store::patch(const ResourceKind& k, const std::string& ns, const std::string& name,
                       const std::string& content_type, const std::string& body, bool status) {
  const bool json_patch = content_type == "application/json-patch+json";
  // Strategic merge differs from a merge patch only for lists with patch strategies, which
  // the kinds served here do not declare to clients: a merge patch is what kubectl expects.
  const bool merge = content_type == "application/merge-patch+json" || content_type == "application/strategic-merge-patch+json";
  if (!json_patch && !merge) {
    return failure(415, "UnsupportedMediaType", "the body of the request was in an unknown format - accepted media types include: "
                   "application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json");
  }
  json p = json::parse(body, nullptr, false);
  if (p.is_discarded()) return failure(400, "BadRequest", "the patch is not valid JSON");
  if (merge && !p.is_object()) return failure(400, "BadRequest", "a merge patch must be a JSON object");
  if (json_patch && !p.is_array()) return failure(400, "BadRequest", "a JSON patch must be a JSON array");
  std::lock_guard lock(mu_);
  if (status && !k.status_subresource) return not_found(k, name);
  auto& objs = objects(k);
  auto it = objs.find(key_of(k.namespaced ? ns : "", name));
  if (it == objs.end()) return not_found(k, name);
  json patched = it->second;
  if (merge) {
    patched.merge_patch(p);
  } else {
    try {
      patched = patched.patch(p);
    } catch (const std::exception& e) {
      return failure(422, "Invalid", std::string("the JSON patch could not be applied: ") + e.what());
    }
  }
  if (!patched.is_object()) return failure(422, "Invalid", "the patched object is not a JSON object");
  // A resourceVersion the patch leaves in the object is a precondition, as on a PUT; the
  // stored one (untouched by the patch) always passes.
  return replace_locked(k, ns, name, std::move(patched), status);
}

ApiResult Store::remove(const ResourceKind& k, const std::string& ns, const std::string& name, const json& options) {
  std::lock_guard lock(mu_);
  auto& objs = objects(k);
  const std::string key = key_of(k.namespaced ? ns : "", name);
  auto it = objs.find(key);
  if (it == objs.end()) return not_found(k, name);
  json& stored = it->second;
  if (options.is_object() && options.contains("preconditions") && options["preconditions"].is_object()) {
    const json& pre = options["preconditions"];
    if (pre.contains("resourceVersion") && pre["resourceVersion"] != stored["metadata"]["resourceVersion"]) return conflict(k, name);
    if (pre.contains("uid") && pre["uid"] != stored["metadata"]["uid"]) return conflict(k, name);
  }
  json& meta = stored["metadata"];
  if (meta.contains("finalizers") && !meta["finalizers"].empty()) {
    // The finalizers' owners finish the deletion by removing them (see commit_update).
    if (meta.contains("deletionTimestamp")) return {200, stored};
    json previous = stored;
    meta["deletionTimestamp"] = now_rfc3339();
    meta["deletionGracePeriodSeconds"] = 0;
    meta["resourceVersion"] = std::to_string(++rv_);
    emit(k, "MODIFIED", stored, std::move(previous));
    return {200, stored};
  }
  json gone = std::move(stored);
  objs.erase(it);
  gone["metadata"]["resourceVersion"] = std::to_string(++rv_);
  emit(k, "DELETED", gone);
  return {200, gone};
}

WatchStart Store::start_watch(const Filter& f, const std::string& rv,
                              const std::function<void(uint64_t)>& on_registered) {
  WatchStart w;
  uint64_t from = 0;
  const bool from_now = rv.empty() || rv == "0";
  if (!from_now) {
    char* end = nullptr;
    from = std::strtoull(rv.c_str(), &end, 10);
    if (end == rv.c_str() || *end != '\0') {
      w.error = failure(400, "BadRequest", "invalid resourceVersion \"" + rv + "\"");
      return w;
    }
  }
  std::lock_guard lock(mu_);
  if (!from_now && from < floor_) {
    w.error = failure(410, "Expired", "too old resource version: " + rv + " (" + std::to_string(floor_) + ")");
    return w;
  }
  if (from_now) {
    auto d = data_.find(f.kind);
    if (d != data_.end()) {
      for (const auto& [key, obj] : d->second) {
        if (matches(f, obj)) w.initial.emplace_back("ADDED", obj);
      }
    }
  } else {
    for (const auto& e : history_) {
      if (e->rv <= from) continue;
      if (auto seen = filter_event(f, *e)) w.initial.push_back(std::move(*seen));
    }
  }
  w.rv = rv_;
  on_registered(rv_);
  return w;
}

}  // namespace infergate::testing::kube
