#include "bench/modelsim/routes.hpp"

#include <signal.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include <boost/asio/steady_timer.hpp>

#include "bench/modelsim/completion_run.hpp"
#include "bench/modelsim/engine_driver.hpp"
#include "bench/modelsim/metrics_text.hpp"
#include "bench/modelsim/openai_format.hpp"
#include "bench/modelsim/transfer_handlers.hpp"

namespace modelsim {
namespace {

constexpr std::string_view kJson = "application/json";

bool is_completion(std::string_view method, std::string_view path) {
  return method == "POST" && (path == "/v1/chat/completions" || path == "/v1/completions");
}

// A uniform draw in [0, 1) per call; each io thread has its own generator.
double draw() {
  thread_local std::uint64_t state = 0x9E3779B97F4A7C15ull ^ reinterpret_cast<std::uintptr_t>(&state);
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return static_cast<double>(state >> 11) * 0x1.0p-53;
}

using SteadyClock = std::chrono::steady_clock;

// A crash: no cleanup, no flushing of sockets; the kernel resets the connections.
[[noreturn]] void crash_now() {
  std::fputs("modelsim: crashing (fault injection)\n", stderr);
  std::fflush(nullptr);
  ::kill(::getpid(), SIGKILL);
  std::_Exit(137);
}

double stall_left_ms(const ServerContext& ctx) {
  const auto left = ctx.stall_until() - SteadyClock::now();
  return left.count() <= 0 ? 0.0 : std::chrono::duration<double, std::milli>(left).count();
}

std::string faults_body(const ServerContext& ctx) {
  nlohmann::json j{{"error_rate", ctx.error_rate.load()},
                   {"delay_ms", ctx.delay_ms.load()},
                   {"stall_ms", stall_left_ms(ctx)},
                   {"crash_after", ctx.crash_after.load()},
                   {"health_status", ctx.health_status.load()}};
  return j.dump();
}

// POST /modelsim/faults {"error_rate": 0.2, "delay_ms": 150, "stall_ms": 2000,
// "crash_after": 10, "crash": true}: any of the fields. error_rate and delay_ms apply to the
// completions that start from now on; stall_ms stops the server answering and generating for
// that long from now (0 ends a stall); crash_after N kills the process when the N+1-th
// completion from now arrives (0 = never); crash kills it right after this answer;
// health_status N makes GET /health answer N (200..599; 0 = the usual 200) while the rest
// serves as before: a server its health check should take out of rotation.
// Answers the faults in force.
void handle_faults(ServerContext& ctx, const HttpRequest& request, std::shared_ptr<ResponseWriter> writer) {
  bool crash = false;
  if (request.method == "POST") {
    auto j = nlohmann::json::parse(request.body, nullptr, false);
    if (!j.is_object()) return respond_error(*writer, 400, "body must be a JSON object");
    auto number = [&](const char* key, double max) -> std::optional<double> {
      if (!j.contains(key)) return std::nullopt;
      if (!j[key].is_number() || j[key].get<double>() < 0 || j[key].get<double>() > max) return -1.0;
      return j[key].get<double>();
    };
    const auto rate = number("error_rate", 1.0);
    const auto delay = number("delay_ms", 3600.0 * 1000.0);
    const auto stall = number("stall_ms", 3600.0 * 1000.0);
    const auto crash_after = number("crash_after", 1e15);
    if ((rate && *rate < 0) || (delay && *delay < 0) || (stall && *stall < 0) || (crash_after && *crash_after < 0))
      return respond_error(*writer, 400,
                           "error_rate must be 0..1, delay_ms and stall_ms 0..3600000, crash_after a count");
    if (j.contains("crash") && !j["crash"].is_boolean()) return respond_error(*writer, 400, "crash must be a boolean");
    const auto health = number("health_status", 599);
    if (health && *health != 0 && (*health < 200 || *health != static_cast<int>(*health)))
      return respond_error(*writer, 400, "health_status must be a status code 200..599, or 0 for the usual 200");
    crash = j.value("crash", false);
    if (rate) ctx.error_rate.store(*rate);
    if (health) ctx.health_status.store(static_cast<int>(*health));
    if (delay) ctx.delay_ms.store(*delay);
    if (stall) {
      const auto until = SteadyClock::now() + std::chrono::duration_cast<SteadyClock::duration>(
                                                  std::chrono::duration<double, std::milli>(*stall));
      ctx.stall_until_ns.store(*stall > 0 ? std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                until.time_since_epoch()).count()
                                          : 0);
    }
    if (crash_after) {
      ctx.completions_seen.store(0);
      ctx.crash_after.store(static_cast<std::uint64_t>(*crash_after));
    }
  }
  writer->respond(200, kJson, faults_body(ctx));
  if (crash) {
    // Long enough for the answer to leave.
    auto timer = std::make_shared<boost::asio::steady_timer>(writer->executor(), std::chrono::milliseconds(50));
    timer->async_wait([timer](boost::system::error_code) { crash_now(); });
  }
}

void respond_vllm_error(ResponseWriter& writer, int status, const std::string& message, const char* type) {
  nlohmann::json j{{"error", {{"message", message}, {"type", type}, {"param", nullptr}, {"code", status}}}};
  writer.respond(status, kJson, j.dump());
}

// vLLM's runtime adapter API (VLLM_ALLOW_RUNTIME_LORA_UPDATING=True): same bodies and answers.
void handle_load_lora(ServerContext& ctx, const HttpRequest& request, ResponseWriter& writer) {
  auto j = nlohmann::json::parse(request.body, nullptr, false);
  const bool ok = j.is_object() && j.contains("lora_name") && j["lora_name"].is_string() &&
                  !j["lora_name"].get_ref<const std::string&>().empty() && j.contains("lora_path") &&
                  j["lora_path"].is_string();
  if (!ok) return respond_vllm_error(writer, 400, "Both 'lora_name' and 'lora_path' must be provided.", "BadRequestError");
  const std::string name = j["lora_name"].get<std::string>();
  if (name == ctx.options.model || !ctx.adapters.add(name, j["lora_path"].get<std::string>())) {
    return respond_vllm_error(writer, 400, "The lora adapter '" + name + "' has already been loaded.",
                              "BadRequestError");
  }
  writer.respond(200, "text/plain; charset=utf-8", "Success: LoRA adapter '" + name + "' added successfully.");
}

void handle_unload_lora(ServerContext& ctx, const HttpRequest& request, ResponseWriter& writer) {
  auto j = nlohmann::json::parse(request.body, nullptr, false);
  if (!j.is_object() || !j.contains("lora_name") || !j["lora_name"].is_string()) {
    return respond_vllm_error(writer, 400, "'lora_name' needs to be provided to unload a LoRA adapter.",
                              "BadRequestError");
  }
  const std::string name = j["lora_name"].get<std::string>();
  if (!ctx.adapters.remove(name)) {
    return respond_vllm_error(writer, 404, "The lora adapter '" + name + "' cannot be found.", "NotFoundError");
  }
  if (ctx.engine) ctx.engine->engine().evict_adapter(name);
  writer.respond(200, "text/plain; charset=utf-8", "Success: LoRA adapter '" + name + "' removed successfully.");
}

std::string metrics_text(const ServerContext& ctx) {
  MetricsSnapshot snapshot = ctx.scheduler.snapshot();
  if (ctx.engine) {
    const EngineStats e = ctx.engine->engine().stats();
    snapshot.running = e.running;
    snapshot.waiting = e.waiting;
    snapshot.kv_cache_usage = e.kv_cache_usage;
    snapshot.engine = true;
    snapshot.prefix_caching = ctx.engine->engine().config().enable_prefix_caching;
    snapshot.prefix_queries = e.prefix_queries;
    snapshot.prefix_hits = e.prefix_hits;
    snapshot.preemptions = e.preemptions;
    snapshot.block_size = e.block_size;
    snapshot.num_gpu_blocks = e.num_blocks;
    snapshot.lora_loads = e.lora_loads;
    snapshot.lora = ctx.adapters.any();
    snapshot.max_lora = e.max_loras;
    snapshot.running_adapters = e.running_adapters;
    snapshot.waiting_adapters = e.waiting_adapters;
    snapshot.unix_time = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  }
  return render_metrics(snapshot, ctx.options.model,
                        ctx.options.metrics_format == Options::MetricsFormat::kSglang ? MetricsFlavor::kSglang
                                                                                      : MetricsFlavor::kVllm);
}

std::vector<AdapterEntry> adapter_entries(const ServerContext& ctx) {
  std::vector<AdapterEntry> out;
  for (auto& a : ctx.adapters.list()) out.push_back({std::move(a.name), std::move(a.path)});
  return out;
}

std::optional<std::uint64_t> parse_number(std::string_view text, std::uint64_t max) {
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value > max) return std::nullopt;
  return value;
}

void route(ServerContext& ctx, const HttpRequest& request, std::shared_ptr<ResponseWriter> writer) {
  if (auto status = request.header("x-modelsim-status"); !status.empty()) {
    auto code = parse_number(status, 599);
    if (!code || *code < 200) {
      respond_error(*writer, 400, "x-modelsim-status must be a status code 200..599");
      return;
    }
    respond_error(*writer, static_cast<int>(*code),
                  "modelsim: injected status " + std::string(status), "modelsim_injected_error");
    return;
  }

  const std::string_view path = request.path();
  const std::string_view method = request.method;
  if (is_completion(method, path)) {
    const double rate = ctx.error_rate.load(std::memory_order_relaxed);
    if (rate > 0 && draw() < rate) {
      respond_error(*writer, 500, "modelsim: injected fault (error_rate " + std::to_string(rate) + ")",
                    "modelsim_injected_error");
      return;
    }
  }
  if (method == "POST" && path == "/v1/chat/completions") {
    start_completion(ctx, Endpoint::kChat, request, std::move(writer));
  } else if (method == "POST" && path == "/v1/completions") {
    start_completion(ctx, Endpoint::kCompletion, request, std::move(writer));
  } else if (method == "GET" && path == "/v1/models") {
    writer->respond(200, kJson, models_body(ctx.model_json, ctx.started_at, adapter_entries(ctx)));
  } else if (method == "POST" && path == "/v1/load_lora_adapter") {
    handle_load_lora(ctx, request, *writer);
  } else if (method == "POST" && path == "/v1/unload_lora_adapter") {
    handle_unload_lora(ctx, request, *writer);
  } else if (method == "GET" && path == "/health") {
    if (const int status = ctx.health_status.load(std::memory_order_relaxed); status != 0)
      respond_error(*writer, status, "modelsim: injected health status", "modelsim_injected_error");
    else
      writer->respond(200, {}, {});
  } else if (method == "GET" && path == "/metrics") {
    writer->respond(200, kMetricsContentType, metrics_text(ctx));
  } else if ((method == "GET" || method == "POST") && path == "/modelsim/faults") {
    handle_faults(ctx, request, std::move(writer));
  } else if ((method == "GET" || method == "POST") && path == "/echo") {
    handle_echo(ctx, request, *writer);
  } else if (method == "GET" && path == "/bytes") {
    start_byte_stream(request, std::move(writer));
  } else if (method == "POST" && path == "/upload") {
    handle_upload(request, *writer);
  } else if (ctx.options.echo_any_path) {
    handle_echo(ctx, request, *writer);
  } else {
    respond_error(*writer, 404,
                  "no route for " + std::string(method) + " " + std::string(path),
                  "not_found_error");
  }
}

}  // namespace

void respond_error(ResponseWriter& writer, int status, std::string message, std::string type) {
  ApiError error;
  error.status = status;
  error.message = std::move(message);
  error.type = std::move(type);
  writer.respond(status, kJson, error_body(error));
}

void handle_request(ServerContext& ctx, const HttpRequest& request,
                    std::shared_ptr<ResponseWriter> writer) {
  if (ctx.request_log) ctx.request_log->record(request.method, request.target);
  auto delay_header = request.header("x-modelsim-delay-ms");
  double delay = 0;
  if (!delay_header.empty()) {
    auto delay_ms = parse_number(delay_header, 3'600'000);
    if (!delay_ms) {
      respond_error(*writer, 400, "x-modelsim-delay-ms must be 0..3600000");
      return;
    }
    delay = static_cast<double>(*delay_ms);
  }
  const bool completion = is_completion(request.method, request.path());
  if (completion) {
    delay += ctx.delay_ms.load(std::memory_order_relaxed);
    if (const auto limit = ctx.crash_after.load(std::memory_order_relaxed);
        limit > 0 && ctx.completions_seen.fetch_add(1, std::memory_order_relaxed) >= limit) {
      crash_now();
    }
  }
  // A stalled server answers nothing (but the fault API) until the stall ends.
  if (ctx.stall_until_ns.load(std::memory_order_relaxed) != 0 && request.path() != "/modelsim/faults") {
    delay += stall_left_ms(ctx);
  }
  if (delay <= 0) {
    route(ctx, request, std::move(writer));
    return;
  }
  auto held = std::make_shared<HttpRequest>(request);
  auto timer = std::make_shared<boost::asio::steady_timer>(writer->executor());
  timer->expires_after(std::chrono::microseconds(static_cast<int64_t>(delay * 1000)));
  timer->async_wait([&ctx, held, timer, writer](boost::system::error_code ec) {
    if (ec || writer->gone()) return;
    route(ctx, *held, writer);
  });
}

}  // namespace modelsim
