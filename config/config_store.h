#pragma once
// What the running configuration is made of: the documents of the config files (the base)
// and the changes made at run time through the admin API (the overlay), merged the way
// `kubectl apply` merges into a cluster: a run-time document replaces the file document of the
// same resource (group, kind, namespace, name), a deletion hides it, others are added.
//
// When both the file and the overlay change one resource, the later writer wins. Each overlay
// entry remembers a hash of the file document it replaced (or that the files had none); when
// the files are read again and that document changed, appeared or went away, the file is the
// newer word and the entry is dropped (set_base returns it, so the operator is told).
//
// A store is a value: the control thread copies it, changes the copy, loads and validates the
// copy's effective() manifests, and keeps the copy only when they validate. That is how a
// rejected change leaves the old configuration serving.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/manifests.h"
#include "config/model/infergate.h"

namespace infergate::config {

class ConfigStore {
 public:
  struct Change {
    ResourceKey key;
    bool deleted = false;
    Manifest manifest;                  // the applied document; unused when deleted
    std::optional<uint64_t> base_hash;  // the file document it covers; nullopt = there was none
    std::string source;                 // "POST /config", "POST /weights", "DELETE /config"
    std::string applied_at;             // RFC 3339 UTC
    bool operator==(const Change&) const = default;
  };

  // Replaces the file documents; returns the overlay entries dropped because their file
  // document changed since (see above).
  std::vector<Change> set_base(std::vector<Manifest> base);

  // Adds or replaces the overlay entry for `m.key` (which must not be empty).
  void apply(Manifest m, std::string source, std::string applied_at);
  // Hides the resource `key`; false when no effective document has that key.
  bool remove(const ResourceKey& key, std::string source, std::string applied_at);
  // Drops the overlay entry of `key` (false when there is none), or all of them.
  bool revert(const ResourceKey& key);
  void revert_all() { overlay_.clear(); }

  // The objects read from the Kubernetes API (Origin::Kubernetes) and the endpoints of its
  // ready pods and EndpointSlices: a layer after the files, replaced whole whenever the watch
  // brings a change. Shared, because a store is copied for every change and a cluster has
  // thousands of pods.
  void set_cluster(std::shared_ptr<const std::vector<Manifest>> objects,
                   std::shared_ptr<const std::vector<Endpoint>> endpoints);
  const std::vector<Manifest>& cluster() const { return *cluster_; }
  const std::vector<Endpoint>& cluster_endpoints() const { return *cluster_endpoints_; }
  // Whether the cluster layer is the one `other` holds (no copy compared).
  bool same_cluster(const ConfigStore& other) const {
    return cluster_ == other.cluster_ && cluster_endpoints_ == other.cluster_endpoints_;
  }

  // Files first, in file order, then the cluster's objects, each replaced in place by its
  // overlay entry (or left out when deleted), then the documents the overlay adds, in the
  // order they were applied.
  std::vector<Manifest> effective() const;
  // The effective document of `key`; nullptr when none (or when it is deleted).
  const Manifest* find(const ResourceKey& key) const;
  const std::vector<Change>& overlay() const { return overlay_; }
  const std::vector<Manifest>& base() const { return base_; }

  // The overlay as JSON, to persist in a state directory.
  std::string overlay_json() const;
  // Restores an overlay_json() text over the current base (call set_base first). Entries whose
  // file document changed while the process was down are dropped into *dropped. False, with
  // *error, when the text is not a saved overlay; the store is then unchanged.
  bool restore_overlay(std::string_view json, std::vector<Change>* dropped, std::string* error);

 private:
  const Manifest* base_document(const ResourceKey& key) const;
  bool still_valid(const Change& c) const;

  std::vector<Manifest> base_;
  std::shared_ptr<const std::vector<Manifest>> cluster_ = std::make_shared<const std::vector<Manifest>>();
  std::shared_ptr<const std::vector<Endpoint>> cluster_endpoints_ = std::make_shared<const std::vector<Endpoint>>();
  std::vector<Change> overlay_;
};

// Stable hash of a document's text (xxHash3), the base_hash of a Change.
uint64_t document_hash(std::string_view text);

// Writes `contents` to `path` so that a crash leaves either the old or the new file: a
// temporary file next to it, fsync, rename. False with *error on failure.
bool write_file_atomically(const std::string& path, std::string_view contents, std::string* error);

// Now as RFC 3339 UTC with seconds ("2026-12-02T10:00:00Z").
std::string rfc3339_now();
// Unix milliseconds as RFC 3339 UTC with milliseconds ("2026-12-02T04:58:13.003Z").
std::string rfc3339_ms(int64_t unix_ms);

}  // namespace infergate::config
