// A real Prometheus for end-to-end tests: started on a loopback port, scraping one admin port
// with the repository's recording and alerting rules, queried through its HTTP API.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "tests/e2e/e2e_test.h"

namespace infergate::e2e {

inline std::string url_encode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

// A Prometheus server on a loopback port scraping one admin port every second, with the
// repository's rules file loaded.
class Prometheus {
 public:
  Prometheus(const std::string& binary, uint16_t admin_port) : port_(free_port()) {
    const std::string config = dir_.write(
        "prometheus.yml", "global: {scrape_interval: 1s, evaluation_interval: 1s}\nrule_files: ['" +
                              source_path("docker/prometheus/infergate-rules.yml") +
                              "']\nscrape_configs:\n- job_name: infergate\n  metrics_path: /stats/prometheus\n"
                              "  static_configs: [{targets: ['127.0.0.1:" +
                              std::to_string(admin_port) + "']}]\n");
    process_ = std::make_unique<Process>(std::vector<std::string>{
        binary, "--config.file=" + config, "--storage.tsdb.path=" + dir_.file("data"),
        "--web.listen-address=127.0.0.1:" + std::to_string(port_), "--log.level=warn"});
  }

  // The result array of an instant query; a JSON null when the query failed.
  nlohmann::json query(const std::string& promql) {
    HttpResponse r = http_request(port_, "GET", "/api/v1/query?query=" + url_encode(promql));
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    if (r.status != 200 || !j.is_object() || j.value("status", "") != "success") {
      last_error_ = std::to_string(r.status) + " " + r.body;
      return nullptr;
    }
    return j["data"]["result"];
  }
  // label value -> sample value, for a query aggregated by `label`.
  std::map<std::string, double> by(const std::string& promql, const std::string& label) {
    std::map<std::string, double> out;
    nlohmann::json result = query(promql);
    if (!result.is_array()) return out;
    for (const auto& s : result) out[s["metric"].value(label, "")] = std::stod(s["value"][1].get<std::string>());
    return out;
  }
  // Polls until `done(by(promql, label))`.
  template <typename Done>
  bool wait_for(const std::string& promql, const std::string& label, Done done, milliseconds timeout) {
    const auto until = Clock::now() + timeout;
    while (Clock::now() < until) {
      if (done(by(promql, label))) return true;
      std::this_thread::sleep_for(milliseconds(250));
    }
    return false;
  }
  const std::string& last_error() const { return last_error_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string describe() { return process_->describe(); }

 private:
  TempDir dir_;
  uint16_t port_;
  std::unique_ptr<Process> process_;
  std::string last_error_;
};

}  // namespace infergate::e2e
