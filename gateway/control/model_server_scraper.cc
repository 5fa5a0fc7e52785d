#include "gateway/control/model_server_scraper.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <optional>

#include "config/cluster_names.h"
#include "gateway/control/snapshot.h"
#include "pools/model_server_metrics.h"

namespace infergate::gateway {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {
// A model server's /metrics is tens of KiB; more than this is not one.
constexpr uint64_t kMaxMetricsBytes = 8u << 20;
}  // namespace

struct ModelServerScraper::Target {
  explicit Target(asio::io_context& io, std::shared_ptr<pools::EndpointState> e) : endpoint(std::move(e)), stream(io) {}
  std::shared_ptr<pools::EndpointState> endpoint;
  beast::tcp_stream stream;
  beast::flat_buffer buffer;
  http::request<http::empty_body> request;
  std::optional<http::response_parser<http::string_body>> parser;
  bool busy = false, connected = false, retired = false;
};

ModelServerScraper::ModelServerScraper(asio::io_context& io, metrics::Registry& registry)
    : io_(io), registry_(registry), timer_(io) {
  scrapes_ok_ = registry_.counter("infergate_model_server_scrapes_total", "Scrapes of model servers' /metrics by result",
                                  {{"result", "success"}}, "infergate.model_server.scrape_success");
  scrapes_failed_ = registry_.counter("infergate_model_server_scrapes_total",
                                      "Scrapes of model servers' /metrics by result", {{"result", "failure"}},
                                      "infergate.model_server.scrape_failure");
}

ModelServerScraper::~ModelServerScraper() { stop(); }

void ModelServerScraper::stop() {
  stopped_ = true;
  timer_.cancel();
  for (auto& [key, t] : targets_) {
    t->retired = true;
    beast::error_code ignored;
    t->stream.socket().close(ignored);
  }
  targets_.clear();
}

void ModelServerScraper::update(const std::shared_ptr<const Snapshot>& snap) {
  if (stopped_) return;
  snapshot_ = snap;
  options_ = snap->config->gateway.model_server_metrics;
  std::map<std::string, std::shared_ptr<Target>> next;
  pools_.clear();
  for (const pools::Cluster& c : snap->clusters->clusters()) {
    if (!config::is_inference_pool_cluster(c.name)) continue;
    const metrics::Labels name{{"name", std::string(config::cluster_object_name(c.name))}};
    pools_.push_back(PoolGauges{
        &c,
        registry_.gauge("inference_pool_average_kv_cache_utilization",
                        "The average kv cache utilization for an inference server pool.", name),
        registry_.gauge("inference_pool_average_queue_size",
                        "The average number of requests pending in the model server queue.", name),
        registry_.gauge("inference_pool_ready_pods", "The number of ready pods in the inference server pool.", name),
        c.flow ? registry_.gauge("inference_extension_flow_control_pool_saturation",
                                 "The share of the pool's ready model servers that flow control finds saturated.",
                                 {{"inference_pool", std::string(config::cluster_object_name(c.name))}})
               : metrics::Gauge()});
    if (!options_.enabled) continue;
    for (const auto& ep : c.endpoints) {
      const std::string key = ep->key();
      if (next.contains(key)) continue;
      auto it = targets_.find(key);
      // A reload that changed the endpoint (name, labels) gave it a new state: start afresh.
      if (it != targets_.end() && it->second->endpoint == ep) {
        next.emplace(key, it->second);
        targets_.erase(it);
      } else {
        next.emplace(key, std::make_shared<Target>(io_, ep));
      }
    }
  }
  for (auto& [key, t] : targets_) {  // no pool selects these any more
    t->retired = true;
    beast::error_code ignored;
    t->stream.socket().close(ignored);
  }
  targets_ = std::move(next);
  if (!running_) {
    running_ = true;
    tick();
  }
}

void ModelServerScraper::tick() {
  if (stopped_) return;
  for (auto& [key, t] : targets_)
    if (!t->busy) scrape(t);
  refresh_pool_gauges();
  timer_.expires_after(options_.interval);
  timer_.async_wait([this](beast::error_code ec) {
    if (!ec) tick();
  });
}

void ModelServerScraper::scrape(const std::shared_ptr<Target>& t) {
  t->busy = true;
  // Built per scrape, never while one is in flight: async_write reads it until it completes,
  // and a reload may change the path.
  t->request = http::request<http::empty_body>(http::verb::get, options_.path, 11);
  t->request.set(http::field::host, t->endpoint->key());
  t->request.set(http::field::user_agent, "infergate-scraper");
  t->request.keep_alive(true);
  t->stream.expires_after(options_.timeout);
  auto fail = [this, t](const std::string& why) {
    t->busy = false;
    t->connected = false;
    beast::error_code ignored;
    t->stream.socket().close(ignored);
    if (t->retired) return;
    scrapes_failed_.inc();
    t->endpoint->scrape_failures.fetch_add(1, std::memory_order_relaxed);
    std::lock_guard lock(t->endpoint->detail_mu);
    t->endpoint->detail.last_error = why;
  };
  auto read = [this, t, fail] {
    t->parser.emplace();
    t->parser->body_limit(kMaxMetricsBytes);
    http::async_read(t->stream, t->buffer, *t->parser, [this, t, fail](beast::error_code ec, size_t) {
      if (t->retired) return;
      if (ec) return fail("read: " + ec.message());
      const auto& res = t->parser->get();
      if (res.result_int() != 200) return fail("HTTP " + std::to_string(res.result_int()));
      const pools::ModelServerSignals s = pools::parse_model_server_metrics(res.body());
      if (s.empty()) return fail("no model-server metrics (vLLM, SGLang or TensorRT-LLM names) in the answer");
      pools::EndpointState& ep = *t->endpoint;
      ep.queue_size.store(s.waiting.value_or(0), std::memory_order_relaxed);
      ep.running_requests.store(s.running.value_or(0), std::memory_order_relaxed);
      ep.kv_cache_usage.store(s.kv_cache.value_or(0), std::memory_order_relaxed);
      ep.scraped_at_ms.store(pools::steady_now_ms(), std::memory_order_relaxed);
      // The queue now shows the attempts sent so far that are still waiting.
      ep.scrape_generation.fetch_add(1, std::memory_order_relaxed);
      ep.held_since_scrape.store(0, std::memory_order_relaxed);
      ep.scrape_failures.store(0, std::memory_order_relaxed);
      {
        std::lock_guard lock(ep.detail_mu);
        ep.detail.running_adapters = s.running_adapters;
        ep.detail.waiting_adapters = s.waiting_adapters;
        ep.detail.max_loras = s.max_loras;
        ep.publish_adapters(s.running_adapters, s.waiting_adapters, s.max_loras);
        ep.detail.last_error.clear();
      }
      scrapes_ok_.inc();
      t->busy = false;
      // A scrape that shows room lets waiting requests of the endpoint's pools go on.
      const int64_t now = pools::steady_now_ms();
      for (const PoolGauges& p : pools_)
        if (p.cluster->flow) p.cluster->flow->queue->capacity_changed(*p.cluster->flow, p.cluster->endpoints, now);
      if (!res.keep_alive()) {
        t->connected = false;
        beast::error_code ignored;
        t->stream.socket().close(ignored);
      }
    });
  };
  auto write = [t, read, fail] {
    http::async_write(t->stream, t->request, [t, read, fail](beast::error_code ec, size_t) {
      if (t->retired) return;
      if (ec) return fail("write: " + ec.message());
      read();
    });
  };
  if (t->connected) return write();
  beast::error_code ec;
  const auto address = asio::ip::make_address(t->endpoint->address, ec);
  if (ec) return fail("address: " + ec.message());
  t->buffer.clear();
  t->stream.async_connect(asio::ip::tcp::endpoint(address, t->endpoint->port), [t, write, fail](beast::error_code ec) {
    if (t->retired) return;
    if (ec) {
      if (t->endpoint->scrape_failures.load(std::memory_order_relaxed) + 1 >= kUnreadyAfter)
        t->endpoint->healthy.store(false, std::memory_order_relaxed);
      return fail("connect: " + ec.message());
    }
    t->connected = true;
    t->endpoint->healthy.store(true, std::memory_order_relaxed);
    write();
  });
}

void ModelServerScraper::refresh_pool_gauges() {
  const int64_t now = pools::steady_now_ms();
  for (const PoolGauges& p : pools_) {
    double kv = 0, queue = 0;
    size_t ready = 0, fresh = 0;
    for (const auto& ep : p.cluster->endpoints) {
      if (!ep->eligible(now)) continue;
      ++ready;
      const int64_t at = ep->scraped_at_ms.load(std::memory_order_relaxed);
      if (at == 0 || now - at > options_.stale_after.count()) continue;
      ++fresh;
      kv += ep->kv_cache_usage.load(std::memory_order_relaxed);
      queue += ep->queue_size.load(std::memory_order_relaxed);
    }
    p.ready.set(static_cast<double>(ready));
    p.kv_cache.set(fresh ? kv / static_cast<double>(fresh) : 0);
    p.queue.set(fresh ? queue / static_cast<double>(fresh) : 0);
    if (const auto& flow = p.cluster->flow)
      p.saturation.set(pools::FlowQueue::saturation(flow->settings, p.cluster->endpoints, now,
                                                     options_.stale_after.count()));
  }
}

}  // namespace infergate::gateway
