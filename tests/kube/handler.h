// The HTTP API as functions of a parsed request: discovery documents, resource paths, verbs,
// query parameters. No sockets here; the server (server.cc) feeds requests in and streams
// watches out.
#pragma once

#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/kube/store.h"

namespace infergate::testing::kube {

struct HttpRequest {
  std::string method;
  std::string target;  // as sent, with the query
  std::string path;    // percent-decoded, without the query
  std::map<std::string, std::string> query;  // decoded
  std::string content_type;
  std::string accept;
  std::string body;
};

struct HttpResponse {
  int code = 200;
  std::string content_type = "application/json";
  std::string body;
};

struct WatchRequest {
  Filter filter;
  std::string resource_version;
  bool bookmarks = false;
  bool send_initial_events = false;  // the WatchList protocol: ADDEDs, then a marked BOOKMARK
  int timeout_seconds = 0;  // 0: until the client or the server ends it
  std::string api_version;  // of the URL, for BOOKMARK objects
};

struct Routed {
  std::string verb;  // get, list, watch, create, update, patch, delete, discovery
  std::optional<HttpResponse> response;  // set unless this is a watch
  std::optional<WatchRequest> watch;
};

Routed route(Store& store, const HttpRequest& req, const std::string& host_port);

// Splits a request target into a decoded path and query.
void parse_target(const std::string& target, std::string& path, std::map<std::string, std::string>& query);

HttpResponse json_response(int code, const nlohmann::json& body);

// Discovery (/version, /api, /apis, /api/v1, /apis/G, /apis/G/V) and OpenAPI; nullopt when
// the path is none of them.
std::optional<HttpResponse> discovery(const HttpRequest& req, const std::string& host_port);

}  // namespace infergate::testing::kube
