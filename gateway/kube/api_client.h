// The Kubernetes API as the gateway's control thread sees it: asynchronous requests and
// watch streams against one API server, over HTTPS with the cluster's CA and a bearer token
// (re-read from its file, as projected service-account tokens rotate) or a client
// certificate. Every callback runs on the control thread's io_context; nothing here ever
// blocks or touches a worker.
//
// An interface so that the pieces built on it (informers, leader election, status writer)
// are tested against a fake as well as against tests/kube's API server.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace infergate::gateway::kube {

struct ApiResponse {
  std::string error;  // transport failure ("" when a response arrived); status is then 0
  int status = 0;     // HTTP status
  std::string body;   // JSON (a Status object on API errors)
  bool ok() const { return error.empty() && status >= 200 && status < 300; }
  // "409 Conflict: the object has been modified..." / "connect: connection refused"
  std::string describe() const;
};

// An open watch; destroying or cancelling it ends the stream without calling on_end.
class WatchHandle {
 public:
  virtual ~WatchHandle() = default;
  virtual void cancel() = 0;
};

class ApiClient {
 public:
  virtual ~ApiClient() = default;
  using Done = std::function<void(ApiResponse)>;

  // One request. `target` is the path and query ("/apis/coordination.k8s.io/v1/namespaces/
  // ns/leases/x"); `content_type` matters for PATCH ("application/merge-patch+json",
  // "application/json-patch+json").
  virtual void request(std::string_view method, std::string target, std::string body,
                       std::string content_type, Done done) = 0;

  // A GET whose response is a stream of newline-separated JSON events (`?watch=1`):
  // `on_event` gets each line; `on_end` once when the stream ends for any reason other than
  // cancel() (error set on a transport failure, status non-2xx when refused).
  virtual std::unique_ptr<WatchHandle> watch(std::string target, std::function<void(std::string_view line)> on_event,
                                             Done on_end) = 0;
};

}  // namespace infergate::gateway::kube
