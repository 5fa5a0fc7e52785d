// The canary console (docs/CONSOLE.md): GET /console and its static files, baked into the
// binary (console_assets.h), and GET /versions, the windowed per-version figures its charts
// draw (console_history.h), sampled once a second on the control thread.
#include <nlohmann/json.hpp>

#include "gateway/admin/console_assets.h"
#include "gateway/net/server.h"

namespace infergate::gateway {

namespace {

int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

AdminResponse asset(const ConsoleAsset& a) {
  AdminResponse r;
  r.content_type = std::string(a.content_type);
  r.body = std::string(a.body);
  // The page runs only what it was served with: no inline script, no other origin, no frames.
  r.headers.emplace_back("Content-Security-Policy",
                         "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                         "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  r.headers.emplace_back("Cache-Control", "no-cache");
  return r;
}

}  // namespace

bool is_console_asset(std::string_view path) {
  if (path == "/console") return true;
  for (const auto& a : console_assets())
    if (a.path == path) return true;
  return false;
}

void Server::register_console() {
  const auto& assets = console_assets();
  admin_.add("/console", "GET", "the canary console: routes and weights, live per-version charts, rollouts, pools",
             [&assets](const AdminRequest&) { return asset(assets.front()); });
  for (const auto& a : assets)
    admin_.add(std::string(a.path), "GET", "the console's static file", [&a](const AdminRequest&) { return asset(a); });
  admin_.add("/versions", "GET",
             "per route, backend and version: requests/s, share, error rate, p50/p99, TTFT/TPOT p90, output "
             "tokens/s and weight over the last 15 minutes (a point a second, each over 5 s); ?since=UNIX_MS",
             [this](const AdminRequest& req) {
               int64_t since = 0;
               if (req.has_param("since")) {
                 try {
                   since = std::stoll(req.param("since"));
                 } catch (const std::exception&) {
                   return AdminResponse::error(400, "since must be unix milliseconds");
                 }
               }
               nlohmann::json j = console_history_.to_json(since);
               j["version"] = version_;
               return AdminResponse::json(j.dump() + "\n");
             });
  sample_console();
}

void Server::sample_console() {
  if (current_) console_history_.sample(*current_, unix_ms());
  console_timer_.expires_after(std::chrono::milliseconds(ConsoleHistory::kIntervalMs));
  console_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || state_ == ServerState::Stopping) return;
    sample_console();
  });
}

}  // namespace infergate::gateway
