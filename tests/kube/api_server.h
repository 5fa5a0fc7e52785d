// A Kubernetes API server for tests: enough of the real API conventions (discovery, CRUD,
// status subresources, selectors, pagination, watch with resume and bookmarks, bearer auth)
// that the real kubectl and a client-go style reflector work against it. Objects live in
// memory; nothing is validated against a schema and nothing is converted between versions.
//
// Standalone on purpose: it is a peer of the gateway in tests, so it includes nothing of the
// gateway's own code.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace infergate::testing {

struct ApiServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 0;  // 0: the kernel picks one; port() tells which
  // Both empty: plain HTTP. Otherwise HTTPS with this certificate (see make_apiserver_certs).
  std::string cert_pem_path, key_pem_path;
  // Accepted bearer tokens; empty: every request is accepted.
  std::vector<std::string> tokens;
  // How often a watch that asked for allowWatchBookmarks=true gets a BOOKMARK.
  std::chrono::milliseconds bookmark_interval{1000};
  // Events kept for watch resume; a watch from before the oldest kept one gets 410 Expired.
  size_t history = 10000;
};

// The outcome of a direct write: the HTTP status the API would have answered and its body
// (the object, or a meta/v1 Status on failure).
struct ApiResult {
  int code = 0;
  nlohmann::json body;
  bool ok() const { return code >= 200 && code < 300; }
};

class TestApiServer {
 public:
  // Listens before it returns (throws std::runtime_error when it cannot) and serves on its own
  // io thread until destroyed.
  explicit TestApiServer(ApiServerOptions options);
  ~TestApiServer();
  TestApiServer(const TestApiServer&) = delete;
  TestApiServer& operator=(const TestApiServer&) = delete;

  uint16_t port() const;
  std::string url() const;  // "https://127.0.0.1:PORT" (http:// without a certificate)

  // --- test controls; all thread-safe and synchronous (done when they return) ---
  // stop(): close the listener and every connection at once (watches end without their last
  // chunk, as when the server dies). start(): listen again on the same port. Objects, the
  // resourceVersion counter and the event history survive.
  void stop();
  void start();
  // End every open watch response (cleanly, with the last chunk); clients must re-watch.
  void drop_watches();
  // Forget the event history: a watch or a list continue token from a resourceVersion older
  // than now gets 410 Expired ("too old resource version").
  void compact();
  void set_tokens(std::vector<std::string> tokens);

  // --- direct object access; same semantics and watch events as the HTTP API, no auth ---
  // group "" is the core group; resource is the plural ("pods", "httproutes"); ns "" for
  // cluster-scoped kinds. get: null when absent. list: the objects of every namespace,
  // sorted by namespace/name (a JSON array).
  nlohmann::json get(const std::string& group, const std::string& resource, const std::string& ns,
                     const std::string& name) const;
  nlohmann::json list(const std::string& group, const std::string& resource) const;
  // Create, replace (the main resource or, with status=true, only .status), delete. The
  // object's apiVersion/kind pick the resource; metadata.namespace defaults to "default" for
  // namespaced kinds.
  ApiResult create(const nlohmann::json& object);
  ApiResult update(const nlohmann::json& object, bool status = false);
  ApiResult remove(const std::string& group, const std::string& resource, const std::string& ns,
                   const std::string& name);
  std::string resource_version() const;  // the current global resourceVersion

  // --- request accounting, for "no polling" checks ---
  // Counts of HTTP requests on resources by verb: "get", "list", "watch", "create", "update",
  // "patch", "delete"; "discovery" for /api, /apis, /version, /openapi; "total" for all
  // (unauthorized ones included). Direct calls above are not counted.
  std::map<std::string, uint64_t> request_counts() const;
  uint64_t open_watches() const;
  // One line per HTTP request, "METHOD TARGET" (TARGET with its query string).
  std::vector<std::string> request_log() const;
  void reset_request_accounting();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Writes a self-signed CA (ca.pem) and a server certificate for 127.0.0.1 and localhost signed
// by it (server.pem, server-key.pem) into dir, with the openssl command-line tool. Throws
// std::runtime_error when that fails.
struct ApiServerFiles {
  std::string ca_pem, cert_pem, key_pem;
};
ApiServerFiles make_apiserver_certs(const std::string& dir);

// Writes a kubeconfig at path with one cluster (server_url, the CA inlined as
// certificate-authority-data), one user (the bearer token) and a current context with
// default_namespace, so that `kubectl --kubeconfig path ...` talks to the test server.
// Returns path.
std::string write_kubeconfig(const std::string& path, const std::string& server_url,
                             const std::string& ca_pem_path, const std::string& token,
                             const std::string& default_namespace = "default");

}  // namespace infergate::testing
