// List and watch one resource as client-go's reflector does: a paginated list (limit /
// continue) gives the full set and a resourceVersion; a watch from that resourceVersion with
// bookmarks gives every change after it. A watch that ends (the server's timeout, a dropped
// connection) resumes from the last resourceVersion seen; 410 Gone (the server compacted past
// it) means list again. Failures back off exponentially with jitter (client-go: 800 ms
// doubling to 30 s). No polling: once watching, the informer sends nothing until the stream
// ends.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "gateway/kube/api_client.h"
#include "gateway/kube/resources.h"

namespace infergate::gateway::kube {

struct InformerCounters {
  uint64_t lists = 0, watches = 0, relists = 0, errors = 0, events = 0;
};

class Informer {
 public:
  struct Handlers {
    // The whole set, after every (re)list: objects not in it are gone.
    std::function<void(std::vector<nlohmann::json> items)> replace;
    // One watch event: "ADDED", "MODIFIED" or "DELETED".
    std::function<void(const std::string& type, nlohmann::json object)> event;
  };

  // `ns` "" = all namespaces (and always for cluster-scoped resources).
  Informer(boost::asio::io_context& io, ApiClient& api, const ApiResource& resource, std::string ns, Handlers h);
  ~Informer();
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  void start();
  void stop();

  bool synced() const { return synced_; }         // listed at least once
  bool served() const { return served_; }         // false while the API answers 404 (CRD absent)
  const ApiResource& resource() const { return resource_; }
  const std::string& ns() const { return ns_; }
  const std::string& resource_version() const { return rv_; }
  const InformerCounters& counters() const { return counters_; }
  std::string describe() const;  // "gateway.networking.k8s.io/v1 httproutes (all namespaces)"

 private:
  void list_page(std::string continue_token);
  void start_list_again();
  void start_watch();
  void on_line(std::string_view line);
  void on_watch_end(const ApiResponse& r);
  void retry(void (Informer::*what)(), const std::string& why);
  std::chrono::milliseconds next_backoff();

  ApiClient& api_;
  const ApiResource& resource_;
  std::string ns_;
  Handlers h_;
  boost::asio::steady_timer timer_;
  std::unique_ptr<WatchHandle> watch_;
  std::vector<nlohmann::json> pending_;  // pages of the list under way
  std::string rv_;
  bool synced_ = false;
  bool served_ = true;
  bool stopped_ = true;
  bool relist_ = false;  // the watch said 410: list again when it ends
  std::chrono::milliseconds backoff_{0};
  std::chrono::steady_clock::time_point watch_started_;
  std::minstd_rand rng_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  InformerCounters counters_;
};

}  // namespace infergate::gateway::kube
