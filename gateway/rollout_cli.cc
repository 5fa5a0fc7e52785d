#include "gateway/rollout_cli.h"

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "gateway/control/http_client.h"

namespace infergate::gateway {

namespace {

using nlohmann::json;

constexpr const char* kUsage =
    "usage: infergate rollout status [NAME] [--namespace NS] [--admin HOST:PORT] [--admin-token-file PATH]\n"
    "       infergate rollout promote|abort|pause|resume|retry NAME [--namespace NS] [--reason TEXT]\n"
    "                 [--admin HOST:PORT] [--admin-token-file PATH]\n"
    "Talks to the admin API (default 127.0.0.1:9901): GET /rollouts, POST /rollouts/<action>.\n"
    "An admin with spec.admin.auth.tokenFile needs a token: --admin-token-file reads the first\n"
    "token of such a file (\"name:token\" or a bare token), or set INFERGATE_ADMIN_TOKEN.\n";

// One rollout as a few lines a person reads.
void print_rollout(const json& r) {
  std::cout << r.value("namespace", "") << "/" << r.value("name", "") << "  " << r.value("phase", "") << "  step "
            << r.value("step", 0) << "/" << r["steps"].size() << "  canary " << r.value("canary", "") << " at "
            << r.value("canary_weight", 0) << "%  (stable " << r.value("stable", "") << ")\n";
  if (r.contains("analysis") && r["analysis"].is_object()) {
    const json& a = r["analysis"];
    std::cout << "  last analysis " << a.value("time", "") << ": " << a.value("verdict", "");
    for (const auto& reason : a["reasons"]) std::cout << "; " << reason.get<std::string>();
    const json& c = a["canary"];
    const json& s = a["stable"];
    char line[160];
    std::snprintf(line, sizeof line, "\n  canary: %d requests, errors %.1f%%;  stable: %d requests, errors %.1f%%\n",
                  c.value("requests", 0), c.value("error_rate", 0.0) * 100, s.value("requests", 0),
                  s.value("error_rate", 0.0) * 100);
    std::cout << line;
  }
  const json& events = r["events"];
  const size_t from = events.size() > 5 ? events.size() - 5 : 0;
  for (size_t i = from; i < events.size(); ++i)
    std::cout << "  " << events[i].value("time", "") << "  " << events[i].value("type", "") << ": "
              << events[i].value("message", "") << "\n";
}

// The first token of an admin token file ("name:token" or a bare token per line, '#'
// comments), "" with *error when there is none.
std::string read_admin_token(const std::string& path, std::string* error) {
  std::ifstream in(path);
  if (!in) {
    *error = "cannot read " + path;
    return "";
  }
  std::string line;
  while (std::getline(in, line)) {
    const size_t b = line.find_first_not_of(" \t\r");
    if (b == std::string::npos || line[b] == '#') continue;
    const size_t e = line.find_last_not_of(" \t\r");
    line = line.substr(b, e - b + 1);
    const size_t colon = line.find(':');
    if (colon == std::string::npos) return line;
    const size_t token = line.find_first_not_of(" \t", colon + 1);
    if (token == std::string::npos) {
      *error = path + ": the first token line has a name and no token after its ':'";
      return "";
    }
    return line.substr(token);
  }
  *error = path + " holds no token";
  return "";
}

}  // namespace

int rollout_cli(int argc, char** argv) {
  std::vector<std::string> args(argv + 2, argv + argc);
  std::string admin = "127.0.0.1:9901", ns = "default", reason, action, name, token_file;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> std::optional<std::string> {
      if (i + 1 >= args.size()) return std::nullopt;
      return args[++i];
    };
    if (a == "--help" || a == "-h") {
      std::cout << kUsage;
      return 0;
    }
    if (a == "--admin" || a == "--namespace" || a == "--reason" || a == "--admin-token-file") {
      auto v = value();
      if (!v) {
        std::cerr << "infergate rollout: " << a << " needs a value\n" << kUsage;
        return 2;
      }
      (a == "--admin" ? admin : a == "--namespace" ? ns : a == "--reason" ? reason : token_file) = *v;
    } else if (action.empty()) {
      action = a;
    } else if (name.empty()) {
      name = a;
    } else {
      std::cerr << "infergate rollout: unexpected argument '" << a << "'\n" << kUsage;
      return 2;
    }
  }
  const bool status = action == "status";
  const bool known = status || action == "promote" || action == "abort" || action == "pause" || action == "resume" ||
                     action == "retry";
  if (!known || (!status && name.empty())) {
    std::cerr << (action.empty() ? "infergate rollout: which action?\n"
                  : !known       ? "infergate rollout: unknown action '" + action + "'\n"
                                 : "infergate rollout: " + action + " needs a rollout NAME\n")
              << kUsage;
    return 2;
  }
  std::string url = "http://" + admin + (status ? "/rollouts" : "/rollouts/" + action);
  std::string sep = "?";
  if (!name.empty()) {
    url += "?name=" + percent_encode(name) + "&namespace=" + percent_encode(ns);
    sep = "&";
  }
  if (!reason.empty()) url += sep + "reason=" + percent_encode(reason);

  std::vector<std::pair<std::string, std::string>> headers;
  std::string token;
  if (!token_file.empty()) {
    std::string error;
    token = read_admin_token(token_file, &error);
    if (token.empty()) {
      std::cerr << "infergate rollout: --admin-token-file: " << error << "\n";
      return 2;
    }
  } else if (const char* env = std::getenv("INFERGATE_ADMIN_TOKEN"); env && *env) {
    token = env;
  }
  if (!token.empty()) headers.emplace_back("Authorization", "Bearer " + token);

  boost::asio::io_context io;
  HttpResult result;
  async_http_request(io, status ? "GET" : "POST", url, std::move(headers), {}, std::chrono::seconds(10),
                     [&](HttpResult r) { result = std::move(r); });
  io.run();
  if (!result.error.empty()) {
    std::cerr << "infergate rollout: " << admin << ": " << result.error << "\n";
    return 1;
  }
  auto j = json::parse(result.body, nullptr, false);
  if (result.status != 200 || !j.is_object() || !j.contains("rollouts")) {
    std::string message = j.is_object() && j.contains("error") ? j["error"].dump() : result.body;
    std::cerr << "infergate rollout: " << action << ": HTTP " << result.status << ": " << message << "\n";
    return 1;
  }
  if (j["rollouts"].empty()) std::cout << "no rollouts\n";
  for (const auto& r : j["rollouts"]) print_rollout(r);
  return 0;
}

}  // namespace infergate::gateway
