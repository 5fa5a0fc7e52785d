#pragma once
// An ApiClient for unit tests: an in-memory API server for the few objects a test needs
// (GET, POST, PUT of an object or its /status with resourceVersion preconditions, as the API
// server does), every request recorded, answers posted to the io_context like the real client's,
// and faults on demand (an error status for the next requests, or no answer at all).
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gateway/kube/api_client.h"

namespace infergate::gateway::kube::testing {

struct RecordedRequest {
  std::string method, target, body;
};

class FakeApiClient : public ApiClient {
 public:
  explicit FakeApiClient(boost::asio::io_context& io) : io_(io) {}

  // Objects by path (".../leases/x"); metadata.resourceVersion is managed here.
  std::map<std::string, nlohmann::json> objects;
  std::vector<RecordedRequest> requests;
  // Answers to give instead of the store's, first one first (e.g. {409} for one conflict).
  std::deque<int> scripted_statuses;
  int fail_status = 0;   // when set, every request gets it
  bool hang = false;     // when set, requests get no answer at all
  // Called before the store answers a request (a test can change the store in between).
  std::function<void(const RecordedRequest&)> before_answer;

  size_t count(const std::string& method, const std::string& suffix = "") const {
    size_t n = 0;
    for (const auto& r : requests)
      if (r.method == method && r.target.ends_with(suffix)) ++n;
    return n;
  }

  void put_object(const std::string& path, nlohmann::json object) {
    object["metadata"]["resourceVersion"] = std::to_string(++version_);
    objects[path] = std::move(object);
  }

  void request(std::string_view method, std::string target, std::string body, std::string,
               Done done) override {
    RecordedRequest r{std::string(method), std::move(target), std::move(body)};
    requests.push_back(r);
    if (hang) return;
    ApiResponse answer;
    if (fail_status) {
      answer.status = fail_status;
    } else if (!scripted_statuses.empty()) {
      answer.status = scripted_statuses.front();
      scripted_statuses.pop_front();
    } else {
      if (before_answer) before_answer(r);
      answer = serve(r);
    }
    boost::asio::post(io_, [done = std::move(done), answer = std::move(answer)]() mutable { done(std::move(answer)); });
  }

  std::unique_ptr<WatchHandle> watch(std::string, std::function<void(std::string_view)>, Done) override {
    return nullptr;
  }

 private:
  ApiResponse serve(const RecordedRequest& r) {
    ApiResponse a;
    std::string path = r.target;
    const bool status = path.ends_with("/status");
    if (status) path.resize(path.size() - 7);
    if (r.method == "GET") {
      auto it = objects.find(path);
      if (it == objects.end()) return {"", 404, R"({"kind":"Status","code":404})"};
      return {"", 200, it->second.dump()};
    }
    auto body = nlohmann::json::parse(r.body, nullptr, false);
    if (!body.is_object()) return {"", 400, ""};
    if (r.method == "POST") {
      path += "/" + body["metadata"]["name"].get<std::string>();
      if (objects.count(path)) return {"", 409, R"({"kind":"Status","reason":"AlreadyExists"})"};
      put_object(path, body);
      return {"", 201, objects[path].dump()};
    }
    if (r.method == "PUT") {
      auto it = objects.find(path);
      if (it == objects.end()) return {"", 404, ""};
      if (body["metadata"].value("resourceVersion", "") != it->second["metadata"]["resourceVersion"])
        return {"", 409, R"({"kind":"Status","reason":"Conflict"})"};
      nlohmann::json next = it->second;
      if (status) next["status"] = body["status"];
      else next = body;
      put_object(path, next);
      return {"", 200, objects[path].dump()};
    }
    return {"", 405, ""};
  }

  boost::asio::io_context& io_;
  uint64_t version_ = 100;
};

}  // namespace infergate::gateway::kube::testing
