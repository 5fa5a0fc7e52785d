#include "bench/modelsim/server_context.hpp"

#include <algorithm>
#include <chrono>

#include "bench/modelsim/engine_driver.hpp"
#include "bench/modelsim/openai_format.hpp"

namespace modelsim {

AdapterRegistry::AdapterRegistry(const std::vector<std::string>& names, bool dynamic)
    : dynamic_(dynamic), ever_(dynamic || !names.empty()) {
  for (const std::string& name : names) {
    if (std::none_of(adapters_.begin(), adapters_.end(), [&](const Adapter& a) { return a.name == name; })) {
      adapters_.push_back({name, ""});
    }
  }
}

bool AdapterRegistry::serves(const std::string& name) {
  std::lock_guard lock(mutex_);
  for (const Adapter& a : adapters_) {
    if (a.name == name) return true;
  }
  if (!dynamic_) return false;
  adapters_.push_back({name, ""});
  return true;
}

bool AdapterRegistry::add(const std::string& name, const std::string& path) {
  std::lock_guard lock(mutex_);
  ever_ = true;
  for (const Adapter& a : adapters_) {
    if (a.name == name) return false;
  }
  adapters_.push_back({name, path});
  return true;
}

bool AdapterRegistry::remove(const std::string& name) {
  std::lock_guard lock(mutex_);
  return std::erase_if(adapters_, [&](const Adapter& a) { return a.name == name; }) > 0;
}

std::vector<AdapterRegistry::Adapter> AdapterRegistry::list() const {
  std::lock_guard lock(mutex_);
  return adapters_;
}

bool AdapterRegistry::any() const {
  std::lock_guard lock(mutex_);
  return ever_;
}

ServerContext::ServerContext(Options opts, std::string instance_name)
    : options(std::move(opts)),
      instance(std::move(instance_name)),
      model_json(json_quote(options.model)),
      started_at(std::chrono::duration_cast<std::chrono::seconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count()),
      scheduler(options.max_num_seqs, std::make_unique<TokenCountKvModel>()),
      adapters(options.lora_adapters, options.lora_dynamic),
      error_rate(options.error_rate),
      delay_ms(options.delay_ms),
      crash_after(options.crash_after) {
  if (!options.request_log.empty()) request_log = std::make_unique<RequestLog>(options.request_log);
}

ServerContext::~ServerContext() = default;

}  // namespace modelsim
