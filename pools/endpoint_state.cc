#include "pools/endpoint_state.h"

#include <chrono>

namespace infergate::pools {

int64_t steady_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string endpoint_key(std::string_view address, uint16_t port) {
  std::string key;
  const bool v6 = address.find(':') != std::string_view::npos && !address.starts_with("[");
  if (v6) key.push_back('[');
  key.append(address);
  if (v6) key.push_back(']');
  key.push_back(':');
  key.append(std::to_string(port));
  return key;
}

std::string EndpointState::key() const { return endpoint_key(address, port); }

std::shared_ptr<EndpointState> EndpointRegistry::get_or_create(
    std::string_view address, uint16_t port, std::string_view name,
    const std::map<std::string, std::string>& labels) {
  std::string key = endpoint_key(address, port);
  std::lock_guard lock(mu_);
  auto it = states_.find(key);
  if (it != states_.end() && it->second->name == name && it->second->labels == labels)
    return it->second;
  // New, or its description changed: descriptions are read lock-free by workers, so they are
  // never rewritten in place; the old object lives on in the snapshots that hold it.
  auto state = std::make_shared<EndpointState>();
  state->address = std::string(address);
  state->port = port;
  state->name = std::string(name);
  state->labels = labels;
  states_[key] = state;
  return state;
}

std::shared_ptr<EndpointState> EndpointRegistry::find(std::string_view address,
                                                      uint16_t port) const {
  std::lock_guard lock(mu_);
  auto it = states_.find(endpoint_key(address, port));
  return it == states_.end() ? nullptr : it->second;
}

std::shared_ptr<ClusterLoad> EndpointRegistry::cluster_load(const std::string& name) {
  std::lock_guard lock(mu_);
  auto& slot = loads_[name];
  if (!slot) slot = std::make_shared<ClusterLoad>();
  return slot;
}

size_t EndpointRegistry::prune() {
  std::lock_guard lock(mu_);
  std::erase_if(loads_, [](const auto& kv) { return kv.second.use_count() == 1; });
  return std::erase_if(states_, [](const auto& kv) { return kv.second.use_count() == 1; });
}

size_t EndpointRegistry::size() const {
  std::lock_guard lock(mu_);
  return states_.size();
}

}  // namespace infergate::pools
