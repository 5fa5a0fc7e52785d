#include "config/config_store.h"

#include <absl/time/clock.h>
#include <absl/time/time.h>
#include <fcntl.h>
#include <unistd.h>
#include <xxhash.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

namespace infergate::config {

namespace {

using nlohmann::json;

json key_json(const ResourceKey& k) {
  return {{"group", k.group}, {"kind", k.kind}, {"namespace", k.ns}, {"name", k.name}};
}

ResourceKey key_from(const json& j) {
  ResourceKey k;
  k.group = j.at("group").get<std::string>();
  k.kind = j.at("kind").get<std::string>();
  k.ns = j.at("namespace").get<std::string>();
  k.name = j.at("name").get<std::string>();
  return k;
}

}  // namespace

uint64_t document_hash(std::string_view text) { return XXH3_64bits(text.data(), text.size()); }

std::string rfc3339_now() {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::Now(), absl::UTCTimeZone());
}

std::string rfc3339_ms(int64_t unix_ms) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::FromUnixMillis(unix_ms), absl::UTCTimeZone());
}

const Manifest* ConfigStore::base_document(const ResourceKey& key) const {
  for (const Manifest& m : base_)
    if (!m.key.empty() && m.key == key) return &m;
  for (const Manifest& m : *cluster_)
    if (!m.key.empty() && m.key == key) return &m;
  return nullptr;
}

void ConfigStore::set_cluster(std::shared_ptr<const std::vector<Manifest>> objects,
                              std::shared_ptr<const std::vector<Endpoint>> endpoints) {
  if (objects) cluster_ = std::move(objects);
  if (endpoints) cluster_endpoints_ = std::move(endpoints);
}

bool ConfigStore::still_valid(const Change& c) const {
  const Manifest* b = base_document(c.key);
  if (!b) return !c.base_hash.has_value();
  return c.base_hash && *c.base_hash == document_hash(b->text);
}

std::vector<ConfigStore::Change> ConfigStore::set_base(std::vector<Manifest> base) {
  base_ = std::move(base);
  std::vector<Change> dropped, kept;
  for (Change& c : overlay_) (still_valid(c) ? kept : dropped).push_back(std::move(c));
  overlay_ = std::move(kept);
  return dropped;
}

void ConfigStore::apply(Manifest m, std::string source, std::string applied_at) {
  Change c;
  c.key = m.key;
  c.manifest = std::move(m);
  c.source = std::move(source);
  c.applied_at = std::move(applied_at);
  if (const Manifest* b = base_document(c.key)) c.base_hash = document_hash(b->text);
  for (Change& existing : overlay_) {
    if (existing.key == c.key) {
      existing = std::move(c);
      return;
    }
  }
  overlay_.push_back(std::move(c));
}

bool ConfigStore::remove(const ResourceKey& key, std::string source, std::string applied_at) {
  if (!find(key)) return false;
  const Manifest* b = base_document(key);
  if (!b) {
    // Only the overlay has it: forgetting the entry removes it.
    revert(key);
    return true;
  }
  Change c;
  c.key = key;
  c.deleted = true;
  c.base_hash = document_hash(b->text);
  c.source = std::move(source);
  c.applied_at = std::move(applied_at);
  for (Change& existing : overlay_) {
    if (existing.key == key) {
      existing = std::move(c);
      return true;
    }
  }
  overlay_.push_back(std::move(c));
  return true;
}

bool ConfigStore::revert(const ResourceKey& key) {
  for (auto it = overlay_.begin(); it != overlay_.end(); ++it) {
    if (it->key == key) {
      overlay_.erase(it);
      return true;
    }
  }
  return false;
}

std::vector<Manifest> ConfigStore::effective() const {
  std::vector<Manifest> out;
  out.reserve(base_.size() + cluster_->size() + overlay_.size());
  std::vector<bool> used(overlay_.size(), false);
  auto layer = [&](const std::vector<Manifest>& docs) {
    for (const Manifest& m : docs) {
      const Change* over = nullptr;
      if (!m.key.empty())
        for (size_t i = 0; i < overlay_.size() && !over; ++i)
          if (overlay_[i].key == m.key) {
            over = &overlay_[i];
            used[i] = true;
          }
      if (!over) out.push_back(m);
      else if (!over->deleted) out.push_back(over->manifest);
    }
  };
  layer(base_);
  layer(*cluster_);
  for (size_t i = 0; i < overlay_.size(); ++i)
    if (!used[i] && !overlay_[i].deleted) out.push_back(overlay_[i].manifest);
  return out;
}

const Manifest* ConfigStore::find(const ResourceKey& key) const {
  for (const Change& c : overlay_)
    if (c.key == key) return c.deleted ? nullptr : &c.manifest;
  return base_document(key);
}

std::string ConfigStore::overlay_json() const {
  json entries = json::array();
  for (const Change& c : overlay_) {
    json e = {{"key", key_json(c.key)},
              {"deleted", c.deleted},
              {"source", c.source},
              {"applied_at", c.applied_at}};
    // JSON numbers lose 64-bit precision in many readers: the hash travels as hex.
    if (c.base_hash) {
      char hex[17];
      std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(*c.base_hash));
      e["base_hash"] = hex;
    }
    if (!c.deleted)
      e["manifest"] = {{"file", c.manifest.file},
                       {"document", c.manifest.document},
                       {"line_offset", c.manifest.line_offset},
                       {"text", c.manifest.text}};
    entries.push_back(std::move(e));
  }
  return json{{"kind", "infergate-overlay"}, {"version", 1}, {"changes", entries}}.dump(2) + "\n";
}

bool ConfigStore::restore_overlay(std::string_view text, std::vector<Change>* dropped, std::string* error) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || j.value("kind", "") != "infergate-overlay" ||
      !j.contains("changes") || !j["changes"].is_array()) {
    *error = "not an infergate overlay (expected JSON with \"kind\": \"infergate-overlay\")";
    return false;
  }
  std::vector<Change> restored;
  try {
    for (const json& e : j["changes"]) {
      Change c;
      c.key = key_from(e.at("key"));
      c.deleted = e.at("deleted").get<bool>();
      c.source = e.value("source", "");
      c.applied_at = e.value("applied_at", "");
      if (e.contains("base_hash")) c.base_hash = std::stoull(e["base_hash"].get<std::string>(), nullptr, 16);
      if (!c.deleted) {
        const json& m = e.at("manifest");
        c.manifest.file = m.at("file").get<std::string>();
        c.manifest.document = m.at("document").get<int>();
        c.manifest.line_offset = m.at("line_offset").get<int>();
        c.manifest.text = m.at("text").get<std::string>();
        c.manifest.key = c.key;
      }
      if (c.key.empty()) throw std::runtime_error("a change without kind or name");
      restored.push_back(std::move(c));
    }
  } catch (const std::exception& e) {
    *error = std::string("malformed overlay entry: ") + e.what();
    return false;
  }
  overlay_.clear();
  for (Change& c : restored) (still_valid(c) ? overlay_ : *dropped).push_back(std::move(c));
  return true;
}

bool write_file_atomically(const std::string& path, std::string_view contents, std::string* error) {
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    *error = "cannot write " + tmp + ": " + std::strerror(errno);
    return false;
  }
  size_t done = 0;
  while (done < contents.size()) {
    ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      *error = "cannot write " + tmp + ": " + std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      return false;
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    *error = "cannot flush " + tmp + ": " + std::strerror(errno);
    ::unlink(tmp.c_str());
    return false;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    *error = "cannot rename " + tmp + " to " + path + ": " + std::strerror(errno);
    ::unlink(tmp.c_str());
    return false;
  }
  return true;
}

}  // namespace infergate::config
