// Writes the status the gateway owes cluster objects (config/kubernetes_status.h) back to the
// API server: only while this replica leads, only where what the server holds differs (so a
// steady state makes no request at all), a burst of changes coalesced into one write per
// object.
//
// Inputs, all on the control thread:
//  - set_desired(): after every commit of the configuration (compute_statuses);
//  - observe() / forget(): the informers' view of the objects (add/update, delete), which is
//    what "the server holds" means here; a successful write updates it too;
//  - set_leading(): the leader elector's verdict.
// A write is a PUT of the object's /status subresource carrying the metadata.resourceVersion it
// was computed from, so a status changed meanwhile (another writer, an older term of ours) is
// never overwritten blindly: on 409 the object is read again (GET), the status recomputed and
// written again, a bounded number of times; other failures are retried with exponential
// backoff. A 404 means the object is gone: it is forgotten.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include "config/kubernetes_status.h"
#include "gateway/kube/api_client.h"
#include "gateway/kube/resources.h"
#include "metrics/handles.h"

namespace infergate::metrics {
class Registry;
}

namespace infergate::gateway::kube {

struct StatusWriterConfig {
  std::chrono::milliseconds coalesce{100};          // changes within this window = one pass
  std::chrono::milliseconds backoff_initial{500};   // after a failed write, doubled up to max
  std::chrono::milliseconds backoff_max{30000};
  int max_conflict_retries = 5;                     // 409 → GET → write again, at most this often
};

class StatusWriter {
 public:
  struct Stats {
    uint64_t writes = 0;     // successful status writes
    uint64_t conflicts = 0;  // 409 answers
    uint64_t failures = 0;   // other failures (each retried later)
  };

  // `registry` (optional) gets infergate_kubernetes_status_writes_total{result=ok|conflict|failure}.
  StatusWriter(boost::asio::io_context& io, ApiClient& api, StatusWriterConfig config = {},
               metrics::Registry* registry = nullptr);
  ~StatusWriter();
  StatusWriter(const StatusWriter&) = delete;
  StatusWriter& operator=(const StatusWriter&) = delete;

  void set_desired(config::DesiredStatuses desired);
  // An object as the informer of `resource` saw it (the whole object: metadata, spec, status).
  // Objects of resources without a status subresource are ignored.
  void observe(const ApiResource& resource, nlohmann::json object);
  void forget(const config::ResourceKey& key);
  // Writes start (everything is checked again) when true; no new write starts while false.
  void set_leading(bool leading);

  const Stats& stats() const { return stats_; }
  // Objects not yet known to be in step: to be compared (a follower keeps them so), being
  // written, or waiting to retry. 0 in a leader's steady state.
  size_t pending() const;

  // The key status_writer uses for `object` of `resource`: group and kind from the resource,
  // metadata.namespace ("" for cluster-scoped kinds) and metadata.name.
  static config::ResourceKey key_of(const ApiResource& resource, const nlohmann::json& object);

 private:
  struct Entry {
    const ApiResource* resource = nullptr;
    nlohmann::json object;
    bool dirty = true;        // to be compared (and written if it differs)
    bool in_flight = false;   // a GET or PUT is on its way
    bool waiting = false;     // in backoff after a failure
    int conflicts = 0;        // 409s in a row
    std::chrono::milliseconds backoff{0};
  };

  void schedule_pass();
  void pass();
  void check(const config::ResourceKey& key, Entry& e);
  void write(const config::ResourceKey& key, Entry& e, nlohmann::json status);
  void reread(const config::ResourceKey& key);
  void retry_later(const config::ResourceKey& key);

  boost::asio::io_context& io_;
  ApiClient& api_;
  StatusWriterConfig config_;
  config::DesiredStatuses desired_;
  std::map<config::ResourceKey, Entry> objects_;
  bool leading_ = false;
  bool pass_scheduled_ = false;
  boost::asio::steady_timer pass_timer_;
  Stats stats_;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
  metrics::Counter ok_, conflict_, failure_;
};

}  // namespace infergate::gateway::kube
