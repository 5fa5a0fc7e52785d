#include "gateway/kube/informer.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "config/json_fields.h"
#include "gateway/control/http_client.h"

namespace infergate::gateway::kube {

namespace {

constexpr size_t kPageSize = 500;
constexpr auto kInitialBackoff = std::chrono::milliseconds(800);
constexpr auto kMaxBackoff = std::chrono::milliseconds(30000);
// A CRD that is not installed may be installed later; asking again this rarely costs nothing.
constexpr auto kAbsentRetry = std::chrono::seconds(30);

bool is_gone(const ApiResponse& r) { return r.status == 410; }

}  // namespace

Informer::Informer(boost::asio::io_context& io, ApiClient& api, const ApiResource& resource, std::string ns,
                   Handlers h)
    : api_(api), resource_(resource), ns_(resource.namespaced ? std::move(ns) : std::string()),
      h_(std::move(h)), timer_(io), rng_(std::random_device{}()) {}

Informer::~Informer() {
  *alive_ = false;
  stop();
}

std::string Informer::describe() const {
  std::string gv = resource_.group.empty() ? std::string(resource_.version)
                                           : std::string(resource_.group) + "/" + std::string(resource_.version);
  return gv + " " + std::string(resource_.plural) + (ns_.empty() ? "" : " in " + ns_);
}

void Informer::start() {
  stopped_ = false;
  list_page({});
}

void Informer::stop() {
  stopped_ = true;
  timer_.cancel();
  if (watch_) watch_->cancel();
  watch_.reset();
}

std::chrono::milliseconds Informer::next_backoff() {
  backoff_ = backoff_.count() == 0 ? kInitialBackoff : std::min(backoff_ * 2, kMaxBackoff);
  // client-go's jitter 1.0: up to the same again, so replicas do not retry in step.
  std::uniform_int_distribution<int64_t> jitter(0, backoff_.count());
  return backoff_ + std::chrono::milliseconds(jitter(rng_));
}

void Informer::retry(void (Informer::*what)(), const std::string& why) {
  ++counters_.errors;
  const auto wait = next_backoff();
  spdlog::warn("kubernetes: {}: {}; retrying in {} ms", describe(), why, wait.count());
  timer_.expires_after(wait);
  timer_.async_wait([this, what, alive = alive_](const boost::system::error_code& ec) {
    if (ec || !*alive || stopped_) return;
    (this->*what)();
  });
}

void Informer::list_page(std::string continue_token) {
  if (stopped_) return;
  if (continue_token.empty()) pending_.clear();
  std::string target = collection_path(resource_, ns_) + "?limit=" + std::to_string(kPageSize);
  if (!continue_token.empty()) target += "&continue=" + percent_encode(continue_token);
  ++counters_.lists;
  api_.request("GET", std::move(target), {}, {}, [this, alive = alive_](ApiResponse r) {
    if (!*alive || stopped_) return;
    if (r.status == 404) {
      // The kind's CRD is not installed: nothing of it exists. Say so once, look again later.
      if (served_) spdlog::info("kubernetes: {} is not served by the API server (CRD not installed?)", describe());
      served_ = false;
      if (!synced_) {
        synced_ = true;
        if (h_.replace) h_.replace({});
      }
      timer_.expires_after(kAbsentRetry);
      timer_.async_wait([this, alive](const boost::system::error_code& ec) {
        if (!ec && *alive && !stopped_) list_page({});
      });
      return;
    }
    if (is_gone(r)) return retry(&Informer::start_list_again, "list continuation expired");
    if (!r.ok()) return retry(&Informer::start_list_again, "list failed: " + r.describe());
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    if (!j.is_object() || !j.contains("items") || !j["items"].is_array())
      return retry(&Informer::start_list_again, "list answer is not a list");
    for (auto& item : j["items"])
      if (item.is_object()) pending_.push_back(std::move(item));
    const nlohmann::json& meta = config::json_member(j, "metadata", nlohmann::json::value_t::object);
    const std::string next = config::json_string(meta, "continue");
    if (!next.empty()) return list_page(next);
    if (!served_) spdlog::info("kubernetes: {} is served now", describe());
    served_ = true;
    rv_ = config::json_string(meta, "resourceVersion");
    synced_ = true;
    backoff_ = std::chrono::milliseconds(0);
    // A list answers without kind/apiVersion on its items; the parsers need them.
    const std::string api_version = resource_.group.empty()
                                        ? std::string(resource_.version)
                                        : std::string(resource_.group) + "/" + std::string(resource_.version);
    for (auto& item : pending_) {
      if (!item.contains("apiVersion")) item["apiVersion"] = api_version;
      if (!item.contains("kind")) item["kind"] = std::string(resource_.kind);
    }
    if (h_.replace) h_.replace(std::move(pending_));
    pending_.clear();
    start_watch();
  });
}

void Informer::start_list_again() { list_page({}); }

void Informer::start_watch() {
  if (stopped_) return;
  // client-go: a random timeout between 5 and 10 minutes, so watches of many clients do not
  // all end at once.
  std::uniform_int_distribution<int> timeout(300, 599);
  std::string target = collection_path(resource_, ns_) + "?watch=1&allowWatchBookmarks=true&timeoutSeconds=" +
                       std::to_string(timeout(rng_));
  if (!rv_.empty()) target += "&resourceVersion=" + percent_encode(rv_);
  ++counters_.watches;
  relist_ = false;
  watch_started_ = std::chrono::steady_clock::now();
  watch_ = api_.watch(
      std::move(target), [this, alive = alive_](std::string_view line) {
        if (*alive && !stopped_) on_line(line);
      },
      [this, alive = alive_](ApiResponse r) {
        if (*alive && !stopped_) on_watch_end(r);
      });
}

void Informer::on_line(std::string_view line) {
  auto ev = nlohmann::json::parse(line, nullptr, false);
  if (!ev.is_object() || !ev.contains("type") || !ev["type"].is_string() || !ev.contains("object")) return;
  const std::string type = ev["type"].get<std::string>();
  nlohmann::json& obj = ev["object"];
  if (type == "ERROR") {
    // The stream's own way to say 410 Gone: the history we asked for is compacted.
    const auto c = obj.is_object() ? obj.find("code") : obj.end();
    const int code = c != obj.end() && c->is_number_integer() ? static_cast<int>(std::clamp<int64_t>(c->get<int64_t>(), 0, 999)) : 0;
    if (code == 410) relist_ = true;
    else spdlog::warn("kubernetes: {}: watch error: {}", describe(), obj.dump());
    if (watch_) watch_->cancel();
    watch_.reset();
    ApiResponse r;
    r.status = code;
    on_watch_end(r);
    return;
  }
  if (!obj.is_object()) return;  // not an object: no event the handlers could use
  if (auto meta = obj.find("metadata"); meta != obj.end() && meta->is_object()) {
    auto rv = meta->find("resourceVersion");
    if (rv != meta->end() && rv->is_string() && !rv->get_ref<const std::string&>().empty()) rv_ = rv->get<std::string>();
  }
  // The stream works: the next failure starts its backoff from the beginning again.
  backoff_ = std::chrono::milliseconds(0);
  if (type == "BOOKMARK") return;
  if (type != "ADDED" && type != "MODIFIED" && type != "DELETED") return;
  ++counters_.events;
  if (h_.event) h_.event(type, std::move(obj));
}

void Informer::on_watch_end(const ApiResponse& r) {
  watch_.reset();
  if (relist_ || is_gone(r)) {
    ++counters_.relists;
    spdlog::info("kubernetes: {}: resourceVersion {} is too old; listing again", describe(), rv_);
    rv_.clear();
    return list_page({});
  }
  const bool healthy = r.error.empty() && r.status == 200 &&
                       std::chrono::steady_clock::now() - watch_started_ > std::chrono::seconds(1);
  if (healthy) {
    // The server's timeout (or a bookmark-only quiet period) ended it: resume at once.
    backoff_ = std::chrono::milliseconds(0);
    return start_watch();
  }
  retry(&Informer::start_watch, "watch ended: " + (r.status ? r.describe() : r.error.empty() ? "closed" : r.error));
}

}  // namespace infergate::gateway::kube
