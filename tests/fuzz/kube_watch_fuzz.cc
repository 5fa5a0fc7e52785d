// libFuzzer target for Kubernetes watch events: the real informers and cluster source
// (gateway/kube/informer.h, cluster_source.h) against a fake API whose lists are empty (but
// for our GatewayClass) and whose watch streams carry the input. Each input line is one
// event; its first byte picks the watched resource, the rest is the JSON the API server
// would send ({"type":"ADDED","object":{...}}, BOOKMARK, ERROR with a Status...). Afterwards
// the cluster's manifests and endpoints go through the loader, as a commit would.
// No crash, leak or uncaught exception (an exception on the control thread ends the process).
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "config/loader.h"
#include "gateway/kube/cluster_source.h"
#include "gateway/kube/resources.h"

using namespace infergate;
using namespace infergate::gateway::kube;

namespace {

class FakeApi final : public ApiClient {
 public:
  struct Watch {
    std::function<void(std::string_view)> on_event;
    bool cancelled = false;
  };
  class Handle final : public WatchHandle {
   public:
    explicit Handle(std::shared_ptr<Watch> w) : w_(std::move(w)) {}
    ~Handle() override { cancel(); }
    void cancel() override { w_->cancelled = true; }

   private:
    std::shared_ptr<Watch> w_;
  };

  explicit FakeApi(boost::asio::io_context& io) : io_(io) {}

  void request(std::string_view method, std::string target, std::string, std::string, Done done) override {
    ApiResponse r{"", 200, R"({"metadata":{"resourceVersion":"1"},"items":[]})"};
    if (method != "GET" || target.find("/secrets/") != std::string::npos) r = {"", 404, R"({"kind":"Status","code":404})"};
    else if (target.rfind("/apis/gateway.networking.k8s.io/v1/gatewayclasses", 0) == 0)
      r.body = R"({"metadata":{"resourceVersion":"1"},"items":[{"metadata":{"name":"ours"},)"
               R"("spec":{"controllerName":"infergate.dev/gateway-controller"}}]})";
    boost::asio::post(io_, [done = std::move(done), r] { done(r); });
  }

  std::unique_ptr<WatchHandle> watch(std::string target, std::function<void(std::string_view)> on_event,
                                     Done) override {
    auto w = std::make_shared<Watch>(Watch{std::move(on_event)});
    watches_[target.substr(0, target.find('?'))] = w;
    return std::make_unique<Handle>(w);
  }

  // The open watch of the resource, if its informer is watching now.
  std::shared_ptr<Watch> open(const ApiResource& r) {
    auto it = watches_.find(collection_path(r, ""));
    return it == watches_.end() || it->second->cancelled ? nullptr : it->second;
  }

 private:
  boost::asio::io_context& io_;
  std::map<std::string, std::shared_ptr<Watch>> watches_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = [] {
    spdlog::set_level(spdlog::level::off);
    return true;
  }();
  (void)quiet;
  boost::asio::io_context io;
  FakeApi api(io);
  ClusterSourceOptions opts;
  opts.debounce = std::chrono::milliseconds(0);
  {
    ClusterSource source(io, api, opts, nullptr);
    source.start();
    io.poll();
    const auto resources = watched_resources();
    std::string_view rest(reinterpret_cast<const char*>(data), size);
    while (!rest.empty()) {
      const size_t nl = rest.find('\n');
      std::string_view line = rest.substr(0, nl);
      rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
      if (line.empty()) continue;
      const ApiResource& r = resources[static_cast<uint8_t>(line[0]) % resources.size()];
      line.remove_prefix(1);
      if (auto w = api.open(r)) w->on_event(line);
      io.restart();
      io.poll();
    }
    const auto manifests = source.manifests();
    const auto endpoints = source.endpoints();
    (void)source.describe();
    (void)source.rollout_states();
    (void)source.our_gateway_classes();
    const config::LoadResult loaded = config::load_manifests(*manifests, *endpoints);
    if (!loaded.errors.empty() && loaded.config) std::abort();
    source.stop();
  }
  return 0;
}
