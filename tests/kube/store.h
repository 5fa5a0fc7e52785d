// The object store behind the test API server: every write path's semantics (metadata,
// status subresource, preconditions, finalizers, generation), the event history for watch
// resume, and the initial events of a new watch. Thread-safe; HTTP and direct test calls
// share it.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/kube/api_server.h"
#include "tests/kube/kinds.h"
#include "tests/kube/selectors.h"

namespace infergate::testing::kube {

// A meta/v1 Status with status Failure.
nlohmann::json status_error(int code, const std::string& reason, const std::string& message,
                            nlohmann::json details = nlohmann::json::object());
ApiResult failure(int code, const std::string& reason, const std::string& message,
                  nlohmann::json details = nlohmann::json::object());

struct Event {
  uint64_t rv = 0;
  std::string type;  // ADDED, MODIFIED, DELETED
  const ResourceKind* kind = nullptr;
  nlohmann::json object;
  nlohmann::json previous;  // the object before a MODIFIED, for selector transitions
};
using EventPtr = std::shared_ptr<const Event>;

struct Filter {
  const ResourceKind* kind = nullptr;
  std::string ns;  // "" = every namespace
  Selector labels, fields;
};

// What a watcher with this filter sees of the event: a type and object, or nothing. An object
// that stops (starts) matching the selectors is DELETED (ADDED) for that watcher, as the real
// server's watch cache does.
std::optional<std::pair<std::string, nlohmann::json>> filter_event(const Filter& f, const Event& e);

struct ListOptions {
  size_t limit = 0;  // 0 = all
  std::string continue_token;
};

struct WatchStart {
  ApiResult error;  // code 0 when the watch can start; 410 Expired for a compacted resourceVersion
  std::vector<std::pair<std::string, nlohmann::json>> initial;
  uint64_t rv = 0;  // the store's resourceVersion the initial events bring the watcher to
};

class Store {
 public:
  // Called under the store's lock for every event, in resourceVersion order.
  using Sink = std::function<void(const EventPtr&)>;

  explicit Store(size_t history);
  void set_sink(Sink sink);

  // version is the URL's (used for apiVersion when a body has none and for the list kind).
  ApiResult get(const ResourceKind& k, const std::string& ns, const std::string& name) const;
  ApiResult list(const ResourceKind& k, const std::string& version, const Filter& f,
                 const ListOptions& o) const;
  ApiResult create(const ResourceKind& k, const std::string& version, const std::string& ns,
                   nlohmann::json body);
  ApiResult replace(const ResourceKind& k, const std::string& ns, const std::string& name,
                    nlohmann::json body, bool status);
  ApiResult patch(const ResourceKind& k, const std::string& ns, const std::string& name,
                  const std::string& content_type, const std::string& body, bool status);
  ApiResult remove(const ResourceKind& k, const std::string& ns, const std::string& name,
                   const nlohmann::json& options);

  // rv "" or "0": an ADDED for every matching object; otherwise the kept events after rv.
  // on_registered runs under the lock with the resulting rv, so that the caller can start
  // taking live events from exactly there.
  WatchStart start_watch(const Filter& f, const std::string& rv,
                         const std::function<void(uint64_t)>& on_registered);

  void compact();
  uint64_t current_rv() const;

 private:
  using Objects = std::map<std::string, nlohmann::json>;  // "ns/name" -> object
  Objects& objects(const ResourceKind& k) { return data_[&k]; }
  ApiResult replace_locked(const ResourceKind& k, const std::string& ns, const std::string& name,
                           nlohmann::json body, bool status);
  ApiResult commit_update(const ResourceKind& k, const std::string& key, nlohmann::json next);
  void emit(const ResourceKind& k, const std::string& type, const nlohmann::json& object,
            nlohmann::json previous = nullptr);

  mutable std::mutex mu_;
  std::map<const ResourceKind*, Objects> data_;
  uint64_t rv_ = 0;
  uint64_t floor_ = 0;  // history holds every event after this resourceVersion
  uint64_t compactions_ = 0;
  size_t history_limit_;
  std::deque<EventPtr> history_;
  Sink sink_;
};

}  // namespace infergate::testing::kube
